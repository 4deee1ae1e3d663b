"""Catalog search: filters, Vietnamese with and without diacritics, paging, hostile input."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection, func, select

from archive import catalog as c
from archive.search import decode_cursor, search


@pytest.fixture
def corpus(make_record) -> dict[str, int]:
    return {
        "dieu_dong": make_record(
            sender="000.00.00.H26",
            number="15",
            notation="QĐ-UBND",
            subject="Về việc điều động cán bộ đi công tác",
            promulgation_date=date(2024, 3, 5),
        ),
        "chuyen_doi_so": make_record(
            sender="000.00.00.H26",
            number="7",
            notation="KH-UBND",
            subject="Kế hoạch chuyển đổi số năm 2024",
            promulgation_date=date(2024, 1, 10),
        ),
        "bo_tai_chinh": make_record(
            sender="000.00.00.G06",
            number="15",
            notation="QĐ-BTC",
            subject="Quyết định điều chỉnh dự toán ngân sách",
            promulgation_date=date(2023, 6, 1),
        ),
        "thong_bao": make_record(
            sender="000.00.00.G06",
            number="120",
            notation="TB-BTC",
            subject="Thông báo lịch họp giao ban",
            promulgation_date=date(2024, 5, 20),
        ),
    }


def ids(page) -> set[int]:  # type: ignore[no-untyped-def]
    return {row["id"] for row in page.items}


def test_agency_and_date_range(conn: Connection, corpus) -> None:
    assert ids(search(conn, agency="000.00.00.H26")) == {
        corpus["dieu_dong"],
        corpus["chuyen_doi_so"],
    }
    assert ids(search(conn, agency="000.00.00.H26", date_from=date(2024, 2, 1))) == {
        corpus["dieu_dong"]
    }
    assert ids(search(conn, date_from=date(2024, 1, 1), date_to=date(2024, 3, 5))) == {
        corpus["dieu_dong"],
        corpus["chuyen_doi_so"],
    }


def test_words_with_and_without_diacritics(conn: Connection, corpus) -> None:
    expected = {corpus["dieu_dong"]}
    for words in ("điều động", "dieu dong", "ĐIỀU ĐỘNG", "Dieu   dong cán bo"):
        assert ids(search(conn, text=words)) == expected, words
    assert ids(search(conn, text="chuyển đổi số")) == {corpus["chuyen_doi_so"]}
    assert ids(search(conn, text="ngan sach", agency="000.00.00.G06")) == {corpus["bo_tai_chinh"]}
    assert ids(search(conn, text="ngân sách", agency="000.00.00.H26")) == set()
    assert ids(search(conn, text="không có từ này")) == set()


def test_type_and_number_symbol(conn: Connection, corpus) -> None:
    assert ids(search(conn, type_name="Quyết định")) == {
        corpus["dieu_dong"],
        corpus["bo_tai_chinh"],
    }
    assert ids(search(conn, type_name="thong bao")) == {corpus["thong_bao"]}
    assert ids(search(conn, number="15/QĐ-UBND")) == {corpus["dieu_dong"]}
    assert ids(search(conn, number="15/qd-ubnd")) == {corpus["dieu_dong"]}
    assert ids(search(conn, number="15")) == {corpus["dieu_dong"], corpus["bo_tai_chinh"]}
    assert ids(search(conn, text="15/QĐ-BTC")) == {corpus["bo_tai_chinh"]}


def test_results_are_newest_first_and_page_with_a_cursor(conn: Connection, corpus) -> None:
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        page = search(conn, limit=1, cursor=cursor)
        seen += [row["id"] for row in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [
        corpus["thong_bao"],
        corpus["dieu_dong"],
        corpus["chuyen_doi_so"],
        corpus["bo_tai_chinh"],
    ]
    first = search(conn, limit=2)
    assert first.items[0]["number_symbol"] == "120/TB-BTC"
    assert decode_cursor(first.next_cursor)[0] == date(2024, 3, 5)


@pytest.mark.parametrize(
    "hostile",
    [
        "'; DROP TABLE archive_records; --",
        '" OR 1=1 --',
        "NEAR(a b) OR x*",
        "search_text:foo",
        "^start AND (",
        "\\x00\x00",
        "%_%",
        "a" * 5000,
        'điều động" AND NOT "x',
        "*",
        "",
    ],
)
def test_hostile_input_is_harmless(conn: Connection, corpus, hostile: str) -> None:
    search(conn, text=hostile, agency=hostile, number=hostile, type_name=hostile, limit=10)
    search(conn, text=hostile)
    assert conn.execute(select(func.count()).select_from(c.records)).scalar_one() == 4


def test_bad_cursor_and_limits(conn: Connection, corpus) -> None:
    with pytest.raises(ValueError):
        search(conn, cursor="not-a-cursor")
    with pytest.raises(ValueError):
        search(conn, cursor="W10")  # base64 of "[]"
    assert len(search(conn, limit=0).items) == 1  # clamped to at least one
    assert len(search(conn, limit=10_000).items) == 4


@pytest.mark.parametrize(
    "caps",
    [
        # (rows-first probe, rows-first walk)
        pytest.param((0, 0), id="full-text-index-only"),
        pytest.param((1, 1), id="walk-one-row"),
        pytest.param((1, 3), id="probe-one-walk-three"),
        pytest.param((2, 10**9), id="probe-two-walk-all"),
        pytest.param((10**9, 10**9), id="walk-everything"),
    ],
)
def test_every_plan_gives_the_same_answers(
    conn: Connection, make_record, monkeypatch, caps
) -> None:
    """The plan chosen at run time changes the cost, never the answer (paging included)."""
    from archive import search as s

    ids = [
        make_record(
            number=str(n),
            subject=f"Về việc điều động cán bộ đợt {n}",
            promulgation_date=date(2024, 1, 1 + n % 28),
        )
        for n in range(12)
    ]
    ids.append(make_record(number="99", subject="Thông báo khác"))
    queries = [
        {"text": "điều động"},
        {"text": "dieu dong", "agency": "000.00.00.G22", "date_from": date(2024, 1, 5)},
        {"text": "thong bao"},
        {"text": "không có"},
    ]
    expected = [[r["id"] for r in _all_pages(conn, q)] for q in queries]
    monkeypatch.setattr(s, "ROWS_FIRST_PROBE", caps[0])
    monkeypatch.setattr(s, "ROWS_FIRST_SCAN", caps[1])
    monkeypatch.setattr(s, "ROWS_FIRST_SCAN_PG", caps[1])
    assert [[r["id"] for r in _all_pages(conn, q)] for q in queries] == expected
    assert len(expected[0]) == 12 and len(expected[2]) == 1 and expected[3] == []
    assert len(ids) == 13


def _all_pages(conn: Connection, q: dict) -> list[dict]:
    out, cursor = [], None
    while True:
        page = search(conn, limit=5, cursor=cursor, **q)
        out += page.items
        cursor = page.next_cursor
        if cursor is None:
            return out
