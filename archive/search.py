"""Catalog search for archivists: agency, date range, type, number and symbol, full text.

Hostile input is harmless: every value is a bound parameter, and the full-text query is
rebuilt from the folded word tokens of the input (SQLite: each token quoted for FTS5;
PostgreSQL: `plainto_tsquery`), so no query syntax of the user's ever reaches the engine.
Words match with or without Vietnamese diacritics (see `archive.textfold`).

Results are ordered newest first (issued date, then record id) and paged by an opaque
keyset cursor, so page 1000 costs what page 1 costs.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, literal_column, or_, select
from sqlalchemy import text as sql_text

from archive import catalog as c
from archive.textfold import clean, fold, tokens

MAX_LIMIT = 500

SUMMARY_COLUMNS = (
    c.records.c.id,
    c.records.c.message_id,
    c.records.c.document_id,
    c.records.c.file_code,
    c.records.c.agency_id,
    c.records.c.agency_name,
    c.records.c.code_number,
    c.records.c.code_notation,
    c.records.c.issued_date,
    c.records.c.type_name,
    c.records.c.subject,
    c.records.c.state,
    c.records.c.legal_hold,
    c.records.c.access,
    c.records.c.retain_until,
    c.records.c.accepted_at,
)


@dataclass
class SearchPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class Query:
    """The filters of a search (also what `archive.export` takes to select records)."""

    agency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    type_name: str | None = None
    number: str | None = None
    text: str | None = None
    file_code: str | None = None
    state: str | None = None


def encode_cursor(issued: date, record_id: int) -> str:
    raw = json.dumps([issued.isoformat(), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[date, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        issued, record_id = json.loads(raw)
        return date.fromisoformat(issued), int(record_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("invalid cursor") from exc


def fts5_query(words: list[str]) -> str:
    """An FTS5 query matching all the words: each a quoted string, so nothing is syntax."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def text_condition(conn, words: list[str], *, ordered_walk: bool = False):  # type: ignore[no-untyped-def]
    """The full-text clause: every word, through the full-text index (text-first).

    SQLite, `ordered_walk`: the matches become a set that rows are checked against while an
    index is walked in result order (`+id` keeps SQLite from looking each match up by id and
    sorting them all); worth it when matches are not rare, as the walk stops at the page."""
    if c.dialect_of(conn) == "postgresql":
        return _pg_match(words)
    column = literal_column("+archive_records.id") if ordered_walk else c.records.c.id
    return column.in_(
        select(literal_column("rowid"))
        .select_from(sql_text(c.FTS_TABLE))
        .where(
            sql_text(f"{c.FTS_TABLE} MATCH :fts_q").bindparams(
                bindparam("fts_q", fts5_query(words))
            )
        )
    )


def _pg_match(words: list[str]):  # type: ignore[no-untyped-def]
    return literal_column("archive_records.search_tsv").op("@@")(
        func.plainto_tsquery(
            literal_column("'simple'::regconfig"), bindparam("fts_q", " ".join(words))
        )
    )


#: The rows-first attempt of `search` walks this many rows, newest first ...
ROWS_FIRST_PROBE = 1000
#: ... and walks this many when the probe's density says they will fill the page.
ROWS_FIRST_SCAN = 5000
#: PostgreSQL walks further: its fallback (the GIN index) fetches every match from the heap
#: to sort it, which costs more than walking contiguous newest rows.
ROWS_FIRST_SCAN_PG = 20000


def conditions(  # type: ignore[no-untyped-def]
    conn, q: Query, *, extra: list | None = None, with_text: bool = True, ordered_walk: bool = False
) -> list:
    """The WHERE clauses of a query (bound parameters only)."""
    r = c.records.c
    where: list = []
    q = Query(**{k: clean(v) if isinstance(v, str) else v for k, v in vars(q).items()})
    if q.agency:
        where.append(r.agency_id == q.agency.strip())
    if q.date_from:
        where.append(r.issued_date >= q.date_from)
    if q.date_to:
        where.append(r.issued_date <= q.date_to)
    if q.type_name:
        where.append(r.type_key == fold(q.type_name.strip()))
    if q.number:
        number = q.number.strip()
        if "/" in number:
            where.append(r.number_key == fold(number))
        else:
            where.append(r.code_number == number)
    if q.file_code:
        where.append(r.file_code == q.file_code.strip())
    if q.state:
        where.append(r.state == q.state)
    where.extend(extra or [])
    words = tokens(q.text or "") if with_text else []
    if words:
        where.append(text_condition(conn, words, ordered_walk=ordered_walk))
    return where


def search(  # type: ignore[no-untyped-def]
    conn,
    *,
    agency: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    type_name: str | None = None,
    number: str | None = None,
    text: str | None = None,
    file_code: str | None = None,
    state: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> SearchPage:
    """One page of records matching every filter given, newest first.
    `number` is "12/QĐ-UBND" (number and symbol) or just "12". Raises ValueError on a bad
    cursor."""
    q = Query(agency, date_from, date_to, type_name, number, text, file_code, state)
    limit = max(1, min(int(limit), MAX_LIMIT))
    r = c.records.c
    extra = []
    if cursor:
        issued, record_id = decode_cursor(cursor)
        extra.append(or_(r.issued_date < issued, and_(r.issued_date == issued, r.id < record_id)))
    pg = c.dialect_of(conn) == "postgresql"
    if pg:
        # JIT compilation costs ~10 ms and never pays off for a page of 50 rows; LOCAL: it
        # ends with the caller's transaction.
        conn.execute(sql_text("SET LOCAL jit = off"))
    words = tokens(clean(text or ""))
    rows: list[dict[str, Any]] | None = None
    seen = 0
    if words:
        structured = conditions(conn, q, extra=extra, with_text=False)
        rows, seen = _rows_first(conn, structured, words, limit + 1, pg)
    if rows is None:
        # No words, or the rows-first attempt did not settle the page: the words are rare
        # where the other filters point, so the full-text index leads. If the probe saw some
        # matches they are not that rare: walk in order against the set of matches.
        where = conditions(conn, q, extra=extra, ordered_walk=seen > 0)
        rows = _fetch(conn, where, limit)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(last["issued_date"], int(last["id"]))
    for row in rows:
        row["number_symbol"] = (
            f"{row['code_number']}/{row['code_notation']}"
            if row["code_notation"]
            else row["code_number"]
        )
    return SearchPage(rows, next_cursor)


def _fetch(conn, where: list, limit: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    r = c.records.c
    stmt = (
        select(*SUMMARY_COLUMNS)
        .where(*where)
        .order_by(r.issued_date.desc(), r.id.desc())
        .limit(limit + 1)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def _rows_first(  # type: ignore[no-untyped-def]
    conn, structured: list, words: list[str], want: int, pg: bool
) -> tuple[list[dict[str, Any]] | None, int]:
    """Walk the newest rows the other filters select (ROWS_FIRST_PROBE, then up to
    ROWS_FIRST_SCAN when the probe's density promises a full page), in result order, and
    keep those whose own text has every word; stop at `want`. Returns (the page, matches seen
    in the probe) when that settles it (enough matches, or no more rows to walk), else
    (None, matches seen): the words are rare where the filters point, and the full-text index
    should lead.

    Why: neither engine can order full-text matches by date. SQLite's FTS5 gives the planner
    no statistics; PostgreSQL multiplies word selectivities as if independent, which words of
    a subject are not ("hồ sơ đất đai"). Either may fetch and sort tens of thousands of
    matches for a page of 50, when common words would fill it from the newest rows at once.
    Each row is tested on what it stores: PostgreSQL its tsvector, SQLite its folded text with
    `instr(" word ")` — no pattern syntax, and no FTS5 doclist seek per row."""
    rows = _walk(conn, structured, words, want, pg, ROWS_FIRST_PROBE)
    seen = len(rows)
    if seen >= want:
        return rows, seen
    if _bounded_count(conn, structured, ROWS_FIRST_PROBE) < ROWS_FIRST_PROBE:
        return rows, seen  # walked every row the filters select
    scan = ROWS_FIRST_SCAN_PG if pg else ROWS_FIRST_SCAN
    if seen * scan < want * ROWS_FIRST_PROBE:
        return None, seen  # too sparse for the longer walk to fill the page: don't pay for it
    rows = _walk(conn, structured, words, want, pg, scan)
    if len(rows) >= want or _bounded_count(conn, structured, scan) < scan:
        return rows, seen
    return None, seen


def _bounded_count(conn, structured: list, cap: int) -> int:  # type: ignore[no-untyped-def]
    bounded = select(literal_column("1")).select_from(c.records).where(*structured).limit(cap)
    return int(conn.execute(select(func.count()).select_from(bounded.subquery())).scalar_one())


def _walk(  # type: ignore[no-untyped-def]
    conn, structured: list, words: list[str], want: int, pg: bool, scan: int
) -> list[dict[str, Any]]:
    """The first `want` rows with every word among the newest `scan` rows the filters select."""
    r = c.records.c
    cols = [*SUMMARY_COLUMNS]
    if pg:
        cols.append(literal_column("archive_records.search_tsv").label("tsv"))
    else:
        cols.append(r.search_text)
    prefix = (
        select(*cols)
        .where(*structured)
        .order_by(r.issued_date.desc(), r.id.desc())
        .limit(scan)
        .subquery()
    )
    if pg:
        tsq = func.plainto_tsquery(
            literal_column("'simple'::regconfig"), bindparam("fts_q", " ".join(words))
        )
        hits = [prefix.c.tsv.op("@@")(tsq)]
    else:
        padded = literal(" ") + prefix.c.search_text + literal(" ")
        hits = [
            func.instr(padded, bindparam(f"word_{i}", f" {w} ")) > 0 for i, w in enumerate(words)
        ]
    stmt = (
        select(*[prefix.c[col.name] for col in SUMMARY_COLUMNS])
        .where(*hits)
        .order_by(prefix.c.issued_date.desc(), prefix.c.id.desc())
        .limit(want)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def iter_ids(conn, q: Query, *, batch: int = 500):  # type: ignore[no-untyped-def]
    """Every record id matching a query, newest first, fetched in keyset batches (flat memory
    for exports of any size)."""
    r = c.records.c
    after: tuple[date, int] | None = None
    while True:
        extra = []
        if after is not None:
            extra.append(
                or_(r.issued_date < after[0], and_(r.issued_date == after[0], r.id < after[1]))
            )
        where = conditions(conn, q, extra=extra)
        rows = conn.execute(
            select(r.id, r.issued_date)
            .where(*where)
            .order_by(r.issued_date.desc(), r.id.desc())
            .limit(batch)
        ).all()
        for row in rows:
            yield int(row.id)
        if len(rows) < batch:
            return
        after = (rows[-1].issued_date, int(rows[-1].id))
