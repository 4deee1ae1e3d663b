"""`axis archive`: archivists' commands, run on the hub's host against its configuration.

A thin layer over `archive.*`: each command opens the catalog (the hub's database) and the
object store through `get_context()`, calls one function and prints the result. Every read
of a record or object is logged under the archivist's name (`--actor`, default the OS user).
Exit codes: 0 success; 1 nothing found / problems found (audit: missing or altered objects);
2 the store or the database is unavailable or the input is invalid.
"""

from __future__ import annotations

import getpass
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine

from archive import audit as audit_mod
from archive import disposition as disp
from archive import export as export_mod
from archive import records
from archive.search import Query, search
from archive.store import ObjectStore, StoreError, StoreUnavailable
from axis.service import evidence_bundle

app = typer.Typer(
    help="The archive: search, view, download, export (BagIt), audit and disposition.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


@dataclass
class Context:
    engine: Engine  # reads (a plain BEGIN on SQLite: never blocks the hub)
    store: ObjectStore
    hub: Any = None  # axis.service.context.Hub, for what needs more than the catalog

    @property
    def writer(self) -> Engine:
        """For short transactions that write: on the hub's SQLite engine `axis_write` makes
        them BEGIN IMMEDIATE, so they queue behind the hub's writers instead of failing."""
        return self.engine.execution_options(axis_write=True)


def get_context() -> Context:
    """The catalog and store of this host's hub (AXIS_* settings, schema checked)."""
    from axis.cli.main import _hub

    hub = _hub()
    return Context(engine=hub.db.engine, store=hub.store, hub=hub)


def _actor(actor: str | None) -> str:
    return actor or f"cli:{getpass.getuser()}"


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    err.print(f"[red]INVALID_DATE[/]: {option} {value!r} (use 2024-03-05 or 05/03/2024)")
    raise typer.Exit(2)


@contextmanager
def _failures() -> Iterator[None]:
    try:
        yield
    except StoreUnavailable as exc:
        err.print(f"[red]STORE_UNAVAILABLE[/]: {exc}")
        raise typer.Exit(2) from exc
    except records.RecordNotFound as exc:
        err.print(f"[red]NOT_FOUND[/]: {exc}")
        raise typer.Exit(1) from exc
    except (records.ArchiveError, StoreError, ValueError) as exc:
        err.print(f"[red]ERROR[/]: {exc}")
        raise typer.Exit(2) from exc


def _json_default(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


AgencyOpt = Annotated[str | None, typer.Option("--agency", help="issuing agency code (OrganId)")]
FromOpt = Annotated[str | None, typer.Option("--from", help="first issued date, 2024-01-31")]
ToOpt = Annotated[str | None, typer.Option("--to", help="last issued date, included")]
TypeOpt = Annotated[str | None, typer.Option("--type", help="type name, e.g. 'Quyết định'")]
NumberOpt = Annotated[str | None, typer.Option("--number", help="number/notation, 15/QĐ-UBND")]
TextOpt = Annotated[str | None, typer.Option("--text", help="words of subject or content")]
FileCodeOpt = Annotated[str | None, typer.Option("--file-code", help="file (hồ sơ) code")]
ActorOpt = Annotated[str | None, typer.Option("--actor", help="who is acting (logged)")]


def _query(agency, from_, to, type_, number, text, file_code) -> Query:  # noqa: ANN001
    return Query(
        agency=agency,
        date_from=_date(from_, "--from"),
        date_to=_date(to, "--to"),
        type_name=type_,
        number=number,
        text=text,
        file_code=file_code,
    )


@app.command("search")
def search_command(
    agency: AgencyOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    type_: TypeOpt = None,
    number: NumberOpt = None,
    text: TextOpt = None,
    file_code: FileCodeOpt = None,
    limit: Annotated[int, typer.Option(help="records per page (at most 500)")] = 50,
    cursor: Annotated[str | None, typer.Option(help="next page: the cursor printed last")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Find records, newest first (words match with or without diacritics)."""
    q = _query(agency, from_, to, type_, number, text, file_code)
    ctx = get_context()
    with _failures(), ctx.engine.connect() as conn:
        page = search(
            conn,
            agency=q.agency,
            date_from=q.date_from,
            date_to=q.date_to,
            type_name=q.type_name,
            number=q.number,
            text=q.text,
            file_code=q.file_code,
            limit=limit,
            cursor=cursor,
        )
    if as_json:
        _print_json({"items": page.items, "next_cursor": page.next_cursor})
        return
    if not page.items:
        err.print("no record matches")
        raise typer.Exit(1)
    table = Table("id", "date", "number", "type", "agency", "subject", "state")
    for r in page.items:
        table.add_row(
            str(r["id"]),
            r["issued_date"].isoformat(),
            r["number_symbol"],
            r["type_name"],
            r["agency_id"],
            r["subject"][:80],
            r["state"] + (" (hold)" if r["legal_hold"] else ""),
        )
    console.print(table)
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}")


@app.command("show")
def show_command(
    ident: Annotated[str, typer.Argument(help="record id, message id or DocumentId")],
    actor: ActorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """A record: its metadata, objects, recipients, history and validation report."""
    ctx = get_context()
    with _failures(), ctx.writer.begin() as conn:
        view = records.get_record(conn, ident, actor=_actor(actor))
        report = _report(ctx.store, view)
    data = view.to_dict() | {"validation_report": report}
    if as_json:
        _print_json(data)
        return
    r = view.record
    number = f"{r['code_number']}/{r['code_notation']}" if r["code_notation"] else r["code_number"]
    meta = Table(show_header=False, box=None)
    for label, value in (
        ("Record", r["id"]),
        ("DocumentId", r["document_id"]),
        ("File code", r["file_code"]),
        ("Agency", f"{r['agency_id']} {r['agency_name']}"),
        ("Number", number),
        ("Type", r["type_name"]),
        ("Issued", f"{r['issued_date']} {r['issued_place']}"),
        ("Subject", r["subject"]),
        ("Signer", f"{r['signer_position']} {r['signer_name']}".strip()),
        ("Pages", r["page_amount"]),
        ("Language", r["language"]),
        ("Retention", "permanent" if r["permanent"] else f"{r['retention_years']} years"),
        ("Retain until", r["retain_until"]),
        ("Access", r["access"]),
        ("State", r["state"] + (" — legal hold" if r["legal_hold"] else "")),
        ("Accepted", r["accepted_at"]),
        ("To", ", ".join(f"{x['organ_id']} ({x['state']})" for x in view.recipients)),
    ):
        meta.add_row(f"[bold]{label}[/]", "" if value is None else str(value))
    console.print(meta)
    objs = Table("name", "role", "size", "sha256")
    for o in view.objects:
        objs.add_row(o["name"], o["role"], str(o["size"]), o["sha256"])
    console.print(objs)
    events = Table("at (UTC)", "event", "actor", "detail")
    for e in view.events:
        events.add_row(
            e["at"].isoformat(timespec="seconds"),
            e["kind"],
            e["actor"],
            json.dumps(e["detail"], ensure_ascii=False)[:80],
        )
    console.print(events)
    if report is not None:
        console.print("[bold]Validation report[/]")
        console.print_json(data=report) if not isinstance(report, str) else console.print(report)


def _report(store: ObjectStore, view: records.RecordView) -> Any:
    obj = next((o for o in view.objects if o["role"] == "report"), None)
    if obj is None or obj["destroyed_at"] is not None:
        return None
    data = store.get(obj["sha256"])
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


@app.command("get")
def get_command(
    ident: Annotated[str, typer.Argument(help="record id, message id or DocumentId")],
    output: Annotated[Path, typer.Option("-o", "--output", help="file to write ('-': stdout)")],
    object_name: Annotated[
        str | None, typer.Option("--object", help="object name (default: the package)")
    ] = None,
    actor: ActorOpt = None,
) -> None:
    """Download one object of a record (the edXML package by default)."""
    ctx = get_context()
    with _failures(), ctx.writer.begin() as conn:
        row, stream = records.open_object(conn, ctx.store, ident, object_name, actor=_actor(actor))
        with stream:
            if str(output) == "-":
                shutil.copyfileobj(stream, sys.stdout.buffer, 1024 * 1024)
                return
            tmp = output.with_name(output.name + ".part")
            with open(tmp, "wb") as f:
                shutil.copyfileobj(stream, f, 1024 * 1024)
            tmp.replace(output)
    err.print(f"{row['name']} ({row['size']} bytes, sha256 {row['sha256']}) -> {output}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="directory to write the bags in")],
    agency: AgencyOpt = None,
    from_: FromOpt = None,
    to: ToOpt = None,
    type_: TypeOpt = None,
    number: NumberOpt = None,
    text: TextOpt = None,
    file_code: FileCodeOpt = None,
    per: Annotated[str, typer.Option(help="one bag per 'record' or per 'file_code'")] = "record",
    actor: ActorOpt = None,
) -> None:
    """Export the matching records as BagIt bags (objects + metadata.xml, Circular 02/2019)."""
    if per not in ("record", "file_code"):
        err.print("[red]ERROR[/]: --per is 'record' or 'file_code'")
        raise typer.Exit(2)
    q = _query(agency, from_, to, type_, number, text, file_code)
    ctx = get_context()
    who = _actor(actor)

    def logged(bag: str, ids: list[int]) -> None:
        # One short write per bag: the export reads for minutes, the hub keeps writing.
        with ctx.writer.begin() as w:
            for rid in ids:
                records.log_event(w, rid, "export", who, {"bag": bag})

    with _failures(), ctx.engine.connect() as conn, _progress() as bar:
        task = bar.add_task("exporting", total=export_mod.count_matching(conn, q))
        result = export_mod.export_bags(
            conn,
            ctx.store,
            out,
            query=q,
            per=per,  # type: ignore[arg-type]
            actor=who,
            progress=lambda n: bar.advance(task, n),
            on_bag=logged,
            evidence=evidence_bundle.for_archive(ctx.hub) if ctx.hub is not None else None,
        )
    console.print(
        f"{result.bag_count} bag(s), {result.records} record(s), {result.objects} object(s), "
        f"{result.bytes} bytes -> {out}"
    )
    for p in result.problems:
        err.print(
            f"[red]{p.problem.upper()}[/]: record {p.record_id} {p.name} ({p.detail}); "
            f"bag {p.bag} not written"
        )
    if not result.ok:
        raise typer.Exit(1)


@app.command("audit")
def audit_command(
    sample: Annotated[int | None, typer.Option(help="check N objects chosen at random")] = None,
    since: Annotated[str | None, typer.Option(help="only objects archived since DATE")] = None,
    record: Annotated[
        str | None, typer.Option("--record", help="verify one record (id, message or DocumentId)")
    ] = None,
    actor: ActorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """Re-hash archived objects; exit 0 when all are intact, 1 when any is missing or altered."""
    since_date = _date(since, "--since")
    ctx = get_context()
    who = _actor(actor)
    # Read (and hash) outside any write transaction; record the audit in a short one after.
    with _failures(), ctx.engine.connect() as conn, _progress() as bar:
        rid = records.resolve_id(conn, record) if record else None
        total = audit_mod.count_objects(conn, sample=sample, since=since_date, record_id=rid)
        task = bar.add_task("auditing", total=total)
        report = audit_mod.audit(
            conn,
            ctx.store,
            sample=sample,
            since=since_date,
            record_id=rid,
            actor=who,
            progress=lambda n: bar.advance(task, n),
            record_event=False,
        )
    with _failures(), ctx.writer.begin() as conn:
        audit_mod.record_audit(
            conn, report, actor=who, sample=sample, since=since_date, record_id=rid
        )
    if as_json:
        _print_json(report.summary() | {"problems": [p.__dict__ for p in report.problems]})
    else:
        s = report.summary()
        console.print(
            f"{s['checked']} object(s) checked, {s['bytes']} bytes: "
            f"{s['missing']} missing, {s['altered']} altered"
        )
        for p in report.problems:
            err.print(
                f"[red]{p.problem.upper()}[/]: record {p.record_id} {p.name} {p.sha256} {p.detail}"
            )
    if not report.ok:
        raise typer.Exit(1)


@app.command("disposition")
def disposition_command(
    today: Annotated[str | None, typer.Option(help="as of this date (default: today)")] = None,
    approve: Annotated[
        list[int] | None, typer.Option("--approve", help="record id to destroy (repeatable)")
    ] = None,
    approved_by: Annotated[str, typer.Option(help="who approved the destruction")] = "",
    approval_ref: Annotated[str, typer.Option(help="the approval decision, 45/QĐ-LT")] = "",
    actor: ActorOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
) -> None:
    """List records past retention; with --approve IDs (and the approval), destroy them."""
    day = _date(today, "--today")
    ctx = get_context()
    if approve:
        with _failures(), ctx.writer.begin() as conn:
            result = disp.dispose(
                conn,
                ctx.store,
                approve,
                approved_by=approved_by,
                approval_ref=approval_ref,
                actor=_actor(actor),
                today=day,
            )
        if as_json:
            _print_json(result.__dict__)
        else:
            console.print(
                f"disposed of: {result.disposed or 'none'}; "
                f"{result.objects_deleted} object(s) destroyed"
            )
            for rid, why in result.refused.items():
                err.print(f"[yellow]REFUSED[/]: record {rid}: {why}")
        if result.refused:
            raise typer.Exit(1)
        return
    with _failures(), ctx.engine.connect() as conn:
        due = disp.due_for_disposition(conn, today=day)
    if as_json:
        _print_json([d.__dict__ for d in due])
        return
    table = Table("id", "number", "issued", "retain until", "agency", "subject", "hold")
    for d in due:
        table.add_row(
            str(d.record_id),
            d.number_symbol,
            d.issued_date.isoformat(),
            d.retain_until.isoformat(),
            d.agency_id,
            d.subject[:60],
            "yes" if d.legal_hold else "",
        )
    console.print(table)
    console.print(f"{len(due)} record(s) past retention")


@app.command("hold")
def hold_command(
    ident: Annotated[str, typer.Argument(help="record id, message id or DocumentId")],
    release: Annotated[bool, typer.Option("--release", help="lift the legal hold")] = False,
    reason: Annotated[str, typer.Option(help="why (logged)")] = "",
    actor: ActorOpt = None,
) -> None:
    """Put a record under legal hold (no disposition, objects locked in the store), or lift it."""
    ctx = get_context()
    with _failures(), ctx.writer.begin() as conn:
        rid = records.resolve_id(conn, ident)
        records.set_legal_hold(
            conn, ctx.store, rid, not release, actor=_actor(actor), reason=reason
        )
    console.print(f"record {rid}: legal hold {'lifted' if release else 'on'}")


@app.command("seal")
def seal_command(
    limit: Annotated[int, typer.Option(help="seal at most N records in this run")] = 1000,
) -> None:
    """Seal the status history of records older than AXIS_ARCHIVE_SEAL_AFTER_DAYS (documents
    that never completed; completed ones are sealed when their last 06 arrives)."""
    from axis.cli.main import _hub
    from axis.service.sealing import seal_due

    hub = _hub()
    try:
        with _failures():
            sealed = seal_due(hub, limit=limit)
    finally:
        hub.close()
    console.print(f"{len(sealed)} record(s) sealed")
