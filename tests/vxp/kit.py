"""The national SDK kit (interop/vxp): found through AXIS_VXP_SDK_DIR, run unmodified."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def find_kit() -> Path | None:
    candidates = [
        os.environ.get("AXIS_VXP_SDK_DIR"),
        str(ROOT.parent / "shared" / "interop" / "vxp"),
        "/work/shared/interop/vxp",
    ]
    for c in candidates:
        if c and (Path(c) / "run.sh").is_file():
            return Path(c)
    return None


def require_kit() -> Path:
    kit = find_kit()
    problem = None
    if kit is None:
        problem = (
            "the national SDK kit was not found: set AXIS_VXP_SDK_DIR to the folder holding "
            "run.sh and edxml-ref.sh (../shared/interop/vxp)"
        )
    elif shutil.which("javac") is None:
        problem = "the SDK kit needs a JDK (javac): run `make install-system-deps`"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return kit  # type: ignore[return-value]


@dataclass
class Kit:
    path: Path
    tmp: Path

    def _run(self, args: list[str], stdin: str | None = None) -> tuple[int, object]:
        env = {**os.environ, "TMPDIR": str(self.tmp), "VXP_TIMEOUT_S": "120"}
        p = subprocess.run(
            args, input=stdin, capture_output=True, text=True, env=env, timeout=300, check=False
        )
        try:
            return p.returncode, json.loads(p.stdout)
        except ValueError:
            raise AssertionError(
                f"not JSON (rc {p.returncode}): {p.stdout!r} {p.stderr[-2000:]}"
            ) from None

    def call(self, endpoint: str, system: str, secret: str, command: str, *args: str) -> dict:
        rc, out = self._run([str(self.path / "run.sh"), endpoint, system, secret, command, *args])
        assert isinstance(out, dict), out
        return out

    def batch(self, endpoint: str, system: str, secret: str, steps: list[dict]) -> list[dict]:
        """Several calls on one pair of SDK objects (one JVM), as a long-running system."""
        rc, out = self._run(
            [str(self.path / "run.sh"), endpoint, system, secret, "batch", "-"],
            stdin=json.dumps(steps, ensure_ascii=False),
        )
        assert isinstance(out, list), out
        return out

    def ref(self, *args: str) -> dict:
        rc, out = self._run([str(self.path / "edxml-ref.sh"), *args])
        assert rc == 0 and isinstance(out, dict), out
        return out

    def build_edoc(self, doc: dict, out: Path) -> Path:
        spec = out.with_suffix(".json")
        spec.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        self.ref("build-edoc", str(spec), str(out))
        return out


def doc_spec(sender: str, recipients: list[str], number: str, tmp: Path, **extra) -> dict:  # noqa: ANN003
    """A document package for edxml-ref build-edoc, with one small PDF attachment."""
    pdf = tmp / f"main-{number}.pdf"
    pdf.write_bytes(b"%PDF-1.4\n% axis vxp test " + number.encode() + b"\n%%EOF\n")
    spec = {
        "from": {"organId": sender, "organName": f"Cơ quan {sender}"},
        "to": [{"organId": r, "organName": f"Cơ quan {r}"} for r in recipients],
        "documentId": f"{sender},2024/01/31,{number}/UBND-VP",
        "code": {"codeNumber": number, "codeNotation": "UBND-VP"},
        "promulgationInfo": {"place": "Hà Nội", "promulgationDate": "2024/01/31"},
        "documentType": {"type": 1, "typeName": "Công văn"},
        "subject": f"V/v thử nghiệm trục liên thông số {number}",
        "signerInfo": {"position": "Chủ tịch", "fullName": "Nguyễn Văn A"},
        "traceHeaders": [{"organId": sender, "timestamp": "2024/01/31 10:00:00"}],
        "attachments": [{"name": "main.pdf", "path": str(pdf)}],
    }
    spec.update(extra)
    return spec
