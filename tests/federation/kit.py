"""The national SDK kit (interop/vxp), found through AXIS_VXP_SDK_DIR (CI sets it), then beside
the repository, then /work/shared/interop/vxp. Missing in CI: the test fails, never skips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def kit_dir() -> Path:
    for c in (
        os.environ.get("AXIS_VXP_SDK_DIR"),
        str(ROOT.parent / "shared" / "interop" / "vxp"),
        "/work/shared/interop/vxp",
    ):
        if c and (Path(c) / "run.sh").is_file():
            return Path(c)
    problem = "the national SDK kit was not found: set AXIS_VXP_SDK_DIR (../shared/interop/vxp)"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


def sdk_sign_headers(kit: Path, system_id: str, secret: str, header_map: dict, tmp: Path) -> dict:
    """What the SDK itself would send for this header map (its private signer, offline)."""
    if shutil.which("javac") is None:
        problem = "the SDK kit needs a JDK (javac): run `make install-system-deps`"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    p = subprocess.run(
        [
            str(kit / "run.sh"),
            "http://127.0.0.1:9/vxp",
            system_id,
            secret,
            "signHeaders",
            json.dumps(header_map, ensure_ascii=False),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp)},
        timeout=300,
        check=False,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout)
