"""The calendar of the figures: Vietnam periods, and ranges covered exactly by whole periods."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from axis.service.metrics import BUCKET_BASE, bucket_of, bucket_value
from axis.service.periods import count_periods, decompose, due_deadline, labels, periods


def test_an_instant_falls_in_the_vietnam_day_month_hour_and_minute():
    # 17:30 UTC on 31 December is 00:30 on 1 January in Hanoi.
    at = datetime(2025, 12, 31, 17, 30, 5, tzinfo=UTC)
    assert labels(at) == (
        ("M", "2026-01"),
        ("d", "2026-01-01"),
        ("h", "2026-01-01T00"),
        ("m", "2026-01-01T00:30"),
    )


def test_a_due_date_passes_at_the_midnight_that_ends_it_in_vietnam():
    assert due_deadline("2026/11/30") == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert due_deadline("30/11/2026") is None  # not yyyy/MM/dd: no deadline rather than a wrong one
    assert due_deadline(None) is None


def _interval(piece) -> tuple[datetime, datetime]:
    pad = {7: "-01T00:00", 10: "T00:00", 13: ":00", 16: ""}
    return (
        datetime.fromisoformat(piece.first + pad[len(piece.first)]),
        datetime.fromisoformat(piece.stop + pad[len(piece.stop)]),
    )


@pytest.mark.parametrize("seed", range(60))
def test_a_range_is_covered_by_whole_periods_exactly_once(seed):
    rnd = random.Random(seed)
    start = datetime(2024, 1, 1) + timedelta(minutes=rnd.randrange(0, 60 * 24 * 400))
    span = rnd.choice([1, 59, 61, 1439, 1441, 3 * 1440 + 7, 50 * 1440 + 3, 400 * 1440 + 77])
    end = start + timedelta(minutes=span)
    pieces = decompose(start, end)
    # The pieces, in time order, chain from start to end with no gap and no overlap.
    intervals = sorted(_interval(p) for p in pieces)
    assert intervals[0][0] == start and intervals[-1][1] == end
    for (_, stop), (first, _) in zip(intervals, intervals[1:], strict=False):
        assert stop == first
    assert all(first < stop for first, stop in intervals)
    # Whole months are read as months, not as their days: at most two pieces per finer grain.
    assert len(pieces) <= 1 + 2 * 3


def test_a_year_is_read_as_twelve_month_rows_per_agency():
    pieces = decompose(datetime(2025, 1, 1), datetime(2026, 1, 1))
    assert [(p.grain, p.first, p.stop) for p in pieces] == [("M", "2025-01", "2026-01")]


def test_series_periods_and_counts_agree():
    start, end = datetime(2026, 1, 30, 22, 0), datetime(2026, 3, 2, 1, 0)
    for grain in "Mdhm":
        assert len(periods(start, end, grain)) == count_periods(start, end, grain)
    assert periods(start, end, "M") == ["2026-01", "2026-02", "2026-03"]


def test_latency_buckets_are_within_their_stated_error():
    for ms in (1, 3, 17, 250, 999, 12_345, 3_600_000, 86_400_000 * 30):
        estimate = bucket_value(bucket_of(ms))
        assert abs(estimate - ms) / ms <= BUCKET_BASE**0.5 - 1 + 1e-9, ms
