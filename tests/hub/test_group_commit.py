"""SQLite's write path (axis.adapters.database): concurrent units of work share a commit, a unit
that fails takes only itself back, and writers of several processes take turns without
SQLite's sleeping busy handler. Real SQLite files, real threads and processes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from axis.adapters.database import Database
from axis.adapters.tables import Agency
from axis.domain import utcnow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'axis.db'}")
    database.create_all()
    yield database
    database.dispose()


def _committed(path: Path) -> set[str]:
    """What another connection sees: only committed rows."""
    with sqlite3.connect(path) as conn:
        return {code for (code,) in conn.execute("SELECT code FROM agencies")}


def _agency(code: str) -> Agency:
    return Agency(code=code, name=f"Cơ quan {code}", active=True, created_at=utcnow())


def test_a_failing_unit_takes_only_itself_back_and_each_returns_committed(db, tmp_path):
    path = tmp_path / "axis.db"
    first_in = threading.Event()
    outcomes: dict[str, str] = {}

    def write(code: str, *, fail: bool = False, hold: float = 0.0) -> None:
        try:
            with db.write() as session:
                session.add(_agency(code))
                session.flush()
                first_in.set()
                time.sleep(hold)  # the others queue meanwhile: they make one group
                if fail:
                    raise RuntimeError("the unit changed its mind")
            # Back from write(): the row is durable, visible to any other connection.
            outcomes[code] = "committed" if code in _committed(path) else "returned uncommitted"
        except RuntimeError:
            outcomes[code] = "failed"

    holder = threading.Thread(target=write, args=("000.00.00.A00",), kwargs={"hold": 0.3})
    holder.start()
    first_in.wait(5)
    others = [
        threading.Thread(target=write, args=(f"000.00.00.A{n:02d}",), kwargs={"fail": n == 4})
        for n in range(1, 9)
    ]
    for t in others:
        t.start()
    for t in [holder, *others]:
        t.join(10)
    assert outcomes.pop("000.00.00.A04") == "failed"
    assert set(outcomes.values()) == {"committed"}
    assert _committed(path) == set(outcomes)


def test_an_integrity_error_in_a_group_is_raised_to_its_unit_alone(db, tmp_path):
    with db.write() as session:
        session.add(_agency("000.00.00.B01"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def write(code: str) -> None:
        barrier.wait()
        try:
            with db.write() as session:
                session.add(_agency(code))
        except IntegrityError as exc:
            errors.append(exc)

    codes = ["000.00.00.B01", *(f"000.00.00.B{n:02d}" for n in range(2, 7))]
    threads = [threading.Thread(target=write, args=(c,)) for c in codes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(errors) == 1  # the duplicate key, and only it
    assert _committed(tmp_path / "axis.db") == set(codes)


WRITER = """
import sys
sys.path.insert(0, {root!r})
from axis.adapters.database import Database
from axis.adapters.tables import Agency
from axis.domain import utcnow
db = Database({url!r})
for n in range({count}):
    with db.write() as session:
        session.add(Agency(code=f"{prefix}.{{n:04d}}", name="x", active=True, created_at=utcnow()))
"""


def test_writers_in_several_processes_all_commit(db, tmp_path):
    """Three processes writing one file at once (taking turns on the flock): every unit commits
    and none meets 'database is locked'. That the flock waits less than SQLite's busy handler
    is not asserted: the difference is real but too noisy on a shared machine to test."""
    count = 150
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER.format(root=str(ROOT), url=db.url, count=count, prefix=p),
            ],
            stderr=subprocess.PIPE,
        )
        for p in ("P1", "P2")
    ]
    for n in range(count):
        with db.write() as session:
            session.add(_agency(f"P0.{n:04d}"))
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert len(_committed(tmp_path / "axis.db")) == 3 * count


def test_the_figures_of_a_failed_unit_are_not_written(db):
    """Figures are buffered per transaction and written at its commit: a unit that fails in a
    group takes its increments back with its rows."""
    from sqlalchemy import func, select

    from axis.adapters.metrics_tables import MetricPeriod
    from axis.service import metrics

    first_in = threading.Event()

    def write(n: int, *, fail: bool = False, hold: float = 0.0) -> None:
        try:
            with db.write() as session:
                metrics.pending(session).add(("000.00.00.C01",), utcnow(), accepted=1)
                session.add(_agency(f"000.00.00.C{n:02d}"))
                first_in.set()
                time.sleep(hold)
                if fail:
                    raise RuntimeError("refused after counting")
        except RuntimeError:
            pass

    holder = threading.Thread(target=write, args=(0,), kwargs={"hold": 0.3})
    holder.start()
    first_in.wait(5)
    others = [
        threading.Thread(target=write, args=(n,), kwargs={"fail": n % 3 == 0}) for n in range(1, 9)
    ]
    for t in others:
        t.start()
    for t in [holder, *others]:
        t.join(10)
    with db.read() as session:
        counted = session.scalar(
            select(func.sum(MetricPeriod.accepted)).where(
                MetricPeriod.agency_code == "000.00.00.C01", MetricPeriod.grain == "m"
            )
        )
    assert counted == 1 + 8 - 2  # the holder and the six units that did not fail


def test_a_nested_unit_that_fails_leaves_the_outer_one_whole(db, tmp_path):
    with db.write() as session:
        session.add(_agency("000.00.00.D01"))
        with pytest.raises(RuntimeError), db.write() as inner:
            inner.add(_agency("000.00.00.D02"))
            inner.flush()
            raise RuntimeError("the inner unit changed its mind")
        session.add(_agency("000.00.00.D03"))
    assert _committed(tmp_path / "axis.db") == {"000.00.00.D01", "000.00.00.D03"}
