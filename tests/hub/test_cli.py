"""The CLI a newcomer drives the hub with: `axis serve`, `axis agency add`, client commands."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from formats.edxml import build_document
from tests.factories import make_document

AXIS = [sys.executable, "-m", "axis.cli"]


def _axis(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*AXIS, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"axis {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return result


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """`axis serve` as its own process on the embedded default, as `make run` starts it."""
    port = _free_port()
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_PORT": str(port),
    }
    proc = subprocess.Popen(
        [*AXIS, "serve"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    # four API processes each import the whole hub: tens of seconds on a loaded 2-core machine
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()  # its API processes die with it (PR_SET_PDEATHSIG)
            out, _ = proc.communicate(timeout=30)
            raise AssertionError(f"axis serve did not start: {out.decode()}")
        time.sleep(0.1)
    yield url, env
    proc.terminate()
    proc.wait(10)


def test_a_newcomer_drives_the_hub_with_the_cli(served, tmp_path: Path):
    url, env = served
    keys = {}
    for code, name in [("000.00.00.G22", "Văn phòng Chính phủ"), ("000.00.00.G06", "Bộ Tài chính")]:
        out = _axis(env, "agency", "add", code, name).stdout
        keys[code] = out.strip().splitlines()[-1]
        assert keys[code].startswith("axis_")
    listed = json.loads(_axis(env, "agency", "list", "--json").stdout)
    assert {a["code"]: a["name"] for a in listed}["000.00.00.G22"] == "Văn phòng Chính phủ"

    package = tmp_path / "qd.edxml"
    package.write_bytes(build_document(make_document(recipients=["000.00.00.G06"])))
    sender = {**env, "AXIS_URL": url, "AXIS_KEY": keys["000.00.00.G22"]}
    receiver = {**env, "AXIS_URL": url, "AXIS_KEY": keys["000.00.00.G06"]}

    receipt = json.loads(_axis(sender, "send", str(package), "--json").stdout)
    assert receipt["recipients"] == ["000.00.00.G06"]
    again = _axis(sender, "send", str(package)).stdout
    assert "already accepted" in again

    inbox = json.loads(_axis(receiver, "inbox", "--json").stdout)
    assert [i["id"] for i in inbox["items"]] == [receipt["id"]]
    fetched = tmp_path / "got.edxml"
    _axis(receiver, "fetch", receipt["id"], "-o", str(fetched))
    assert fetched.read_bytes() == package.read_bytes()
    _axis(receiver, "ack", receipt["id"])
    _axis(receiver, "status", receipt["id"], "03", "--description", "Đã vào sổ")
    timeline = json.loads(_axis(sender, "timeline", receipt["id"], "--json").stdout)
    [line] = timeline["recipients"]
    assert [e["code"] for e in line["events"]] == ["01", "03"]
    assert line["events"][1]["description"] == "Đã vào sổ"

    # Revoking the receiver's key locks it out at once.
    key_id = keys["000.00.00.G06"].split("_")[1]
    _axis(env, "key", "revoke", key_id)
    denied = _axis(receiver, "inbox", check=False)
    assert denied.returncode == 1
    assert "AUTH_REVOKED" in denied.stderr


def test_cli_errors_tell_the_clerk_what_to_fix(served, tmp_path: Path):
    url, env = served
    key = _axis(env, "agency", "add", "000.00.00.G22", "VPCP").stdout.strip().splitlines()[-1]
    bad = tmp_path / "bad.edxml"
    bad.write_bytes(build_document(make_document(recipients=["000.00.00.H99"])))
    result = _axis({**env, "AXIS_URL": url, "AXIS_KEY": key}, "send", str(bad), check=False)
    assert result.returncode == 1
    assert "RECIPIENT_UNKNOWN" in result.stderr and "000.00.00.H99" in result.stderr
    dup = _axis(env, "agency", "add", "000.00.00.G22", "again", check=False)
    assert dup.returncode == 1 and "AGENCY_EXISTS" in dup.stderr
    malformed = _axis(env, "agency", "add", "not a code", "x", check=False)
    assert malformed.returncode == 1 and "AGENCY_CODE_INVALID" in malformed.stderr
    nokey = _axis({**env, "AXIS_URL": url, "AXIS_KEY": ""}, "inbox", check=False)
    assert nokey.returncode == 2 and "AXIS_KEY" in nokey.stderr
