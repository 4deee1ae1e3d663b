"""`axis stats`: the figures per agency as a table, or the detailed list as CSV/XLSX.

Runs on the hub's host against its database (like `axis agency`), with operator rights.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from axis.domain import HubError, Principal

app = typer.Typer()
console = Console()
err = Console(stderr=True)
OPERATOR = Principal(key_id="cli", role="operator")

COLUMNS = (
    ("sent", "gửi"),
    ("received", "nhận"),
    ("accepted", "chấp nhận"),
    ("rejected", "từ chối"),
    ("acknowledged", "đã xác nhận"),
    ("completed", "hoàn thành"),
    ("overdue", "quá hạn"),
    ("on_time_rate", "đúng hạn"),
)


def _rate(value) -> str:  # noqa: ANN001
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return str(value)


@app.command("stats")
def stats_command(
    agency: Annotated[str | None, typer.Option(help="one agency's figures and series")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="first day, 2026-11-01 (Vietnam time)")
    ] = None,
    to: Annotated[str | None, typer.Option(help="last day, included")] = None,
    granularity: Annotated[str, typer.Option(help="minute, hour, day or month")] = "day",
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="write the detailed list of documents here")
    ] = None,
    xlsx_file: Annotated[
        Path | None, typer.Option("--xlsx", help="write the detailed list as a workbook")
    ] = None,
) -> None:
    """Documents sent, received, acknowledged, completed and overdue, per agency and period."""
    from axis.cli.main import _hub  # the hub of this host (settings, schema check)
    from axis.service import stats

    hub = _hub()
    try:
        rng = stats.parse_range(hub, from_, to, granularity)
        if csv_file or xlsx_file:
            code = stats.check_document_query(hub, OPERATOR, agency, "all", "sent")
            if csv_file:
                n = _write_csv(csv_file, stats.iter_documents(hub, code, rng))
                console.print(f"{n} rows written to {csv_file}")
            if xlsx_file:
                n = _write_xlsx(xlsx_file, stats.iter_documents(hub, code, rng))
                console.print(f"{n} rows written to {xlsx_file}")
            return
        if agency:
            data = stats.agency_stats(hub, OPERATOR, agency, rng)
            _print_series(data)
        else:
            data = stats.hub_stats(hub, OPERATOR, rng)
            _print_agencies(data)
        _print_totals(data)
    except HubError as exc:
        err.print(f"[red]{exc.code}[/]: {exc.message}")
        raise typer.Exit(1) from exc
    finally:
        hub.close()


def _print_agencies(data: dict) -> None:
    table = Table(
        "đơn vị",
        *(label for _, label in COLUMNS),
        title=f"{data['from']} → {data['to']}",
    )
    for row in data["agencies"]:
        table.add_row(row["code"], *(_rate(row[k]) for k, _ in COLUMNS))
    console.print(table)


def _print_series(data: dict) -> None:
    name = data["agency"]["name"] if data.get("agency") else "toàn hệ thống"
    fields = ("sent", "received", "acknowledged", "completed", "rejected")
    table = Table(data["granularity"], *fields, title=f"{name}: {data['from']} → {data['to']}")
    for row in data["series"]:
        if any(row[f] for f in fields):
            table.add_row(row["period"], *(str(row[f]) for f in fields))
    console.print(table)


def _print_totals(data: dict) -> None:
    t = data["totals"]
    table = Table("tổng", *(label for _, label in COLUMNS), "p50 xác nhận", "p95 hoàn thành")
    lat = t["latency"]
    table.add_row(
        data["agency"]["code"] if data.get("agency") else "hub",
        *(_rate(t[k]) for k, _ in COLUMNS),
        f"{lat['ack']['p50_s']} s" if lat["ack"]["count"] else "—",
        f"{lat['completion']['p95_s']} s" if lat["completion"]["count"] else "—",
    )
    console.print(table)
    if data["rejections"]:
        console.print(
            "từ chối theo mã: " + ", ".join(f"{c} {n}" for c, n in data["rejections"].items())
        )


def _write_csv(path: Path, rows) -> int:  # noqa: ANN001
    from axis.service.stats import CSV_COLUMNS, cells

    n = 0
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow(cells(row))
            n += 1
    return n


def _write_xlsx(path: Path, rows) -> int:  # noqa: ANN001
    from openpyxl import Workbook

    from axis.service.spreadsheet import xlsx_row
    from axis.service.stats import CSV_COLUMNS, cells

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("documents")
    ws.append(list(CSV_COLUMNS))
    n = 0
    for row in rows:
        ws.append(xlsx_row(ws, cells(row)))
        n += 1
    wb.save(path)
    return n
