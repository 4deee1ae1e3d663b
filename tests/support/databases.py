"""Real PostgreSQL for the tests: the server at 127.0.0.1:5432 (or AXIS_TEST_DATABASE_URL),
else a throwaway cluster started from the PostgreSQL binaries found on this machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from functools import cached_property
from pathlib import Path

import psycopg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (base / name).exists():
            return str(base / name)
    return None


class DatabaseFactory:
    """Creates databases named axis_test_* on a PostgreSQL server and drops them afterwards."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self._cluster: Path | None = None
        self._reason = ""

    @cached_property
    def admin_url(self) -> str | None:
        url = os.environ.get("AXIS_TEST_DATABASE_URL") or DEFAULT_ADMIN_URL
        if self._reachable(url):
            return url
        self._reason = f"no server at {url}"
        return self._start_cluster()

    @property
    def available(self) -> bool:
        return self.admin_url is not None

    def describe(self) -> str:
        return self.admin_url or f"unavailable ({self._reason})"

    @staticmethod
    def _reachable(url: str) -> bool:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return True
        except psycopg.Error:
            return False

    def _start_cluster(self) -> str | None:
        """A throwaway cluster, run as the postgres user when we are root (initdb refuses root)."""
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and pg_ctl):
            self._reason += "; no PostgreSQL binaries to start one"
            return None
        root = Path(tempfile.mkdtemp(prefix="axis-pg-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        port = 55432 + os.getpid() % 1000
        try:
            subprocess.run(
                [*as_user, initdb, "-D", str(root / "data"), "-A", "trust", "-U", "postgres"],
                check=True,
                capture_output=True,
                timeout=120,
            )
            subprocess.run(
                [
                    *as_user,
                    pg_ctl,
                    "-D",
                    str(root / "data"),
                    "-l",
                    str(root / "log"),
                    "-o",
                    f"-p {port} -k {root} -c fsync=off",
                    "-w",
                    "start",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            self._reason += f"; starting a cluster failed: {exc}"
            return None
        self._cluster = root
        return f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def create(self) -> str:
        import pytest

        if not self.available:
            pytest.skip(f"PostgreSQL unavailable: {self._reason}")
        name = f"axis_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"

    def drop_all(self) -> None:
        if self.admin_url and self.created:
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                for name in self.created:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
        if self._cluster:
            pg_ctl = _pg_bin("pg_ctl")
            as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
            subprocess.run(
                [*as_user, pg_ctl, "-D", str(self._cluster / "data"), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
            shutil.rmtree(self._cluster, ignore_errors=True)
            time.sleep(0)
