"""Periods of the Asia/Ho_Chi_Minh calendar the figures are kept in, and ranges over them.

A period is named by a label that sorts in time order and is a prefix of the labels of the
periods inside it: month '2026-11', day '2026-11-22', hour '2026-11-22T14', minute
'2026-11-22T14:05'. Vietnam has kept +07:00 without daylight saving since 1975, so calendar
arithmetic on naive local times is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from axis.domain import VIETNAM

GRAINS = ("M", "d", "h", "m")  # coarsest first
GRAIN_NAMES = {"month": "M", "day": "d", "hour": "h", "minute": "m"}
NAME_OF = {v: k for k, v in GRAIN_NAMES.items()}
LABEL_LEN = {"M": 7, "d": 10, "h": 13, "m": 16}


def local(at: datetime) -> datetime:
    """An aware time as naive Vietnam wall-clock time."""
    return at.astimezone(VIETNAM).replace(tzinfo=None)


def labels(at: datetime) -> tuple[tuple[str, str], ...]:
    """(grain, label) of the four periods an aware instant falls in."""
    s = label_of(local(at), "m")
    return (("M", s[:7]), ("d", s[:10]), ("h", s[:13]), ("m", s))


def label_of(wall: datetime, grain: str) -> str:
    text = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}T{wall.hour:02d}:{wall.minute:02d}"
    return text[: LABEL_LEN[grain]]


def floor(wall: datetime, grain: str) -> datetime:
    if grain == "M":
        return wall.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if grain == "d":
        return wall.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "h":
        return wall.replace(minute=0, second=0, microsecond=0)
    return wall.replace(second=0, microsecond=0)


def step(wall: datetime, grain: str) -> datetime:
    """The start of the next period (wall must be a period start)."""
    if grain == "M":
        return (
            wall.replace(year=wall.year + 1, month=1)
            if wall.month == 12
            else wall.replace(month=wall.month + 1)
        )
    return (
        wall + {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}[grain]
    )


def ceil(wall: datetime, grain: str) -> datetime:
    f = floor(wall, grain)
    return f if f == wall else step(f, grain)


def count_periods(start: datetime, end: datetime, grain: str) -> int:
    """How many periods of `grain` a range [start, end) touches."""
    if end <= start:
        return 0
    first, last = floor(start, grain), floor(end - timedelta(microseconds=1), grain)
    if grain == "M":
        return (last.year - first.year) * 12 + last.month - first.month + 1
    size = {"d": 86400, "h": 3600, "m": 60}[grain]
    return int((last - first).total_seconds() // size) + 1


@dataclass(frozen=True)
class Piece:
    """Rows of one grain with labels in [first, stop)."""

    grain: str
    first: str
    stop: str


def label_start(label: str) -> datetime:
    """The wall time a label's period starts at."""
    pad = {7: "-01T00:00", 10: "T00:00", 13: ":00", 16: ""}[len(label)]
    return datetime.fromisoformat(label + pad)


def piece_labels(piece: Piece) -> list[str]:
    """Every label of a piece, in order (at most a few thousand: ranges are bounded)."""
    return periods(label_start(piece.first), label_start(piece.stop), piece.grain)


def decompose(start: datetime, end: datetime, top: str = "M") -> list[Piece]:
    """Cover [start, end) (minute-aligned wall times) exactly with whole periods, as coarse as
    allowed: full months in the middle, then days, hours and minutes at the edges."""
    pieces: list[Piece] = []
    _cover(start, end, GRAINS.index(top), pieces)
    return pieces


def _cover(start: datetime, end: datetime, level: int, out: list[Piece]) -> None:
    if start >= end:
        return
    grain = GRAINS[level]
    a, b = ceil(start, grain), floor(end, grain)
    if grain == "m" or a < b:
        out.append(Piece(grain, label_of(a, grain), label_of(b, grain)))
        if grain != "m":
            _cover(start, a, level + 1, out)
            _cover(b, end, level + 1, out)
        return
    _cover(start, end, level + 1, out)


def periods(start: datetime, end: datetime, grain: str) -> list[str]:
    """Labels of every period of `grain` touching [start, end), in order."""
    out, at = [], floor(start, grain)
    while at < end:
        out.append(label_of(at, grain))
        at = step(at, grain)
    return out


def due_deadline(due_date: str | None) -> datetime | None:
    """The instant a DueDate 'yyyy/MM/dd' passes: the midnight that ends that day, +07:00."""
    if not due_date:
        return None
    try:
        day = datetime.strptime(due_date.strip(), "%Y/%m/%d").date()
    except ValueError:
        return None
    # In UTC: SQLite keeps the wall time without its offset, and UTCDateTime reads it as UTC.
    return datetime.combine(
        day + timedelta(days=1), datetime.min.time(), tzinfo=VIETNAM
    ).astimezone(UTC)


def today() -> date:
    return datetime.now(VIETNAM).date()
