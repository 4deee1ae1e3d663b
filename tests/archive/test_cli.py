"""The archivist's CLI end to end: `axis archive ...` on a hub's own configuration
(embedded SQLite and local store under AXIS_DATA_DIR), with records archived the hub's way."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("axis.cli.main")

from archive.export import validate_bag  # noqa: E402
from archive.records import add_record, archive_package  # noqa: E402
from tests.factories import make_document  # noqa: E402


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in list(os.environ):
        if key.startswith("AXIS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "data"))
    from axis.cli import archive_commands

    ctx = archive_commands.get_context()  # creates the embedded database like the hub does
    pkgs = [
        make_document(
            number="15",
            subject="Về việc điều động cán bộ",
            attachments=[("QĐ-15.pdf", b"%PDF-1.4 fifteen", "application/pdf")],
        ),
        make_document(
            number="16", subject="Kế hoạch chuyển đổi số", promulgation_date=date(2024, 4, 1)
        ),
        make_document(
            number="3",
            notation="TB-UBND",
            subject="Thông báo nghỉ lễ",
            promulgation_date=date(2012, 4, 1),
        ),
    ]
    ids = []
    for i, pkg in enumerate(pkgs):
        draft = archive_package(
            ctx.store,
            pkg,
            package=f"<edXML n='{i}'/>".encode(),
            report=b'{"findings": []}',
            message_id=f"msg-{i}",
            retention_years=5,
        )
        with ctx.engine.begin() as conn:
            ids.append(add_record(conn, draft))
    return ctx, ids


def run(*args: str):  # type: ignore[no-untyped-def]
    from axis.cli.main import app

    return CliRunner().invoke(app, ["archive", *args], catch_exceptions=False)


def test_search_show_get(hub_env, tmp_path: Path) -> None:
    ctx, ids = hub_env
    res = run("search", "--text", "dieu dong", "--json")
    assert res.exit_code == 0, res.output
    items = json.loads(res.stdout)["items"]
    assert [i["id"] for i in items] == [ids[0]]
    res = run("search", "--agency", "000.00.00.G22", "--from", "2024-01-01", "--to", "31/12/2024")
    assert res.exit_code == 0 and "15/QĐ-UBND" in res.stdout and "16/QĐ-UBND" in res.stdout
    assert run("search", "--number", "99/QĐ-UBND").exit_code == 1
    assert run("search", "--from", "yesterday").exit_code == 2

    res = run("show", str(ids[0]), "--json", "--actor", "archivist:lan")
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)
    assert shown["record"]["subject"] == "Về việc điều động cán bộ"
    assert shown["validation_report"] == {"findings": []}
    res = run("show", "msg-1")
    assert res.exit_code == 0, res.output
    assert "Kế hoạch chuyển đổi số" in res.stdout and "Validation report" in res.stdout
    assert "package.edxml" in res.stdout and "create" in res.stdout
    assert run("show", "424242").exit_code == 1

    out = tmp_path / "qd.pdf"
    res = run("get", str(ids[0]), "--object", "QĐ-15.pdf", "-o", str(out), "--actor", "lan")
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == b"%PDF-1.4 fifteen"
    events = json.loads(run("show", str(ids[0]), "--json").stdout)["events"]
    assert {("access", "archivist:lan"), ("download", "lan")} <= {
        (e["kind"], e["actor"]) for e in events
    }


def test_export_audit_and_disposition(hub_env, tmp_path: Path) -> None:
    ctx, ids = hub_env
    res = run(
        "export",
        "--agency",
        "000.00.00.G22",
        "--from",
        "2024-01-01",
        "--out",
        str(tmp_path / "bags"),
    )
    assert res.exit_code == 0, res.output
    bags = sorted((tmp_path / "bags").iterdir())
    assert [b.name for b in bags] == [f"record-{ids[0]}", f"record-{ids[1]}"]
    assert all(validate_bag(b) for b in bags)
    events = json.loads(run("show", str(ids[0]), "--json").stdout)["events"]
    assert [e["detail"] for e in events if e["kind"] == "export"] == [{"bag": f"record-{ids[0]}"}]

    res = run("audit")
    assert res.exit_code == 0 and "0 missing, 0 altered" in res.stdout
    res = run("disposition")
    assert res.exit_code == 0 and "1 record(s) past retention" in res.stdout
    res = run("audit", "--sample", "2", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["checked"] == 2
    key = json.loads(run("show", str(ids[1]), "--json").stdout)["record"]["package_sha256"]
    ctx.store.path_of(key).unlink()  # deleted behind the archive's back
    res = run("audit", "--json")
    assert res.exit_code == 1
    problems = json.loads(res.stdout)["problems"]
    assert [(p["record_id"], p["problem"]) for p in problems] == [(ids[1], "missing")]
    events = json.loads(run("show", str(ids[1]), "--json").stdout)["events"]
    assert any(e["kind"] == "audit" and e["detail"]["problems"] for e in events)
    res = run("audit", "--record", str(ids[0]), "--json")  # one record verified: intact
    assert res.exit_code == 0 and json.loads(res.stdout)["checked"] == 3
    assert run("audit", "--record", "msg-1").exit_code == 1  # its package is gone
    events = json.loads(run("show", str(ids[0]), "--json").stdout)["events"]
    assert [e["detail"]["checked"] for e in events if e["kind"] == "audit"] == [3]

    res = run("disposition", "--json")
    assert [d["record_id"] for d in json.loads(res.stdout)] == [ids[2]]  # 2012 + 5 years
    assert run("hold", str(ids[2]), "--reason", "thanh tra").exit_code == 0
    res = run(
        "disposition",
        "--approve",
        str(ids[2]),
        "--approved-by",
        "Giám đốc",
        "--approval-ref",
        "45/QĐ-LT",
    )
    assert res.exit_code == 1 and "legal hold" in res.output
    assert run("hold", str(ids[2]), "--release").exit_code == 0
    assert run("disposition", "--approve", str(ids[2])).exit_code == 2  # no approval given
    res = run(
        "disposition",
        "--approve",
        str(ids[2]),
        "--approved-by",
        "Giám đốc",
        "--approval-ref",
        "45/QĐ-LT",
    )
    assert res.exit_code == 0, res.output
    assert json.loads(run("show", str(ids[2]), "--json").stdout)["record"]["state"] == "disposed"
