"""`axis system …` and `axis agency add --system`, as an operator runs them on the hub's host."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def _axis(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run(
        [sys.executable, "-m", "axis.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        timeout=120,
        check=False,
    )
    assert (p.returncode == 0) == ok, p.stderr
    return p


def test_system_commands(tmp_path) -> None:  # noqa: ANN001
    env = {"AXIS_DATA_DIR": str(tmp_path / "data")}
    secret = _axis(env, "system", "add", "SYS-1", "Hệ thống một").stdout.strip().splitlines()[-1]
    assert len(secret) >= 40
    key_file = tmp_path / "data" / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    db = (tmp_path / "data" / "axis.db").read_bytes()
    assert secret.encode() not in db  # only the ciphertext is stored
    _axis(env, "agency", "add", "000.00.00.G22", "Văn phòng Chính phủ", "--system", "SYS-1")
    _axis(env, "agency", "add", "000.00.00.H41", "UBND tỉnh Nghệ An")  # an API-key agency
    _axis(env, "agency", "add", "000.00.00.H41", "x", "--system", "SYS-1")  # hosts it now
    _axis(env, "system", "add", "SYS-2", "Hệ thống hai")
    refused = _axis(env, "agency", "add", "000.00.00.H41", "x", "--system", "SYS-2", ok=False)
    assert "AGENCY_HOSTED_ELSEWHERE" in refused.stderr
    [one, two] = json.loads(_axis(env, "system", "list", "--json").stdout)
    assert one["agencies"] == ["000.00.00.G22", "000.00.00.H41"] and two["agencies"] == []
    assert "secret" not in json.dumps(one)
    rotated = json.loads(_axis(env, "system", "rotate", "SYS-1", "--json").stdout)["secret"]
    assert rotated != secret
    assert json.loads(_axis(env, "system", "revoke", "SYS-1", "--json").stdout)["revoked"]
    [one, _] = json.loads(_axis(env, "system", "list", "--json").stdout)
    assert one["revoked_at"] is not None
    # another master key cannot read the secrets: the database alone signs nothing
    other = {**env, "AXIS_SECRET_KEY_FILE": str(tmp_path / "missing.key")}
    assert "does not exist" in str(_axis(other, "system", "rotate", "SYS-2", ok=False))
