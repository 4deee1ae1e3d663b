"""Client commands for an agency operator: talk to a running hub over HTTP."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True)
console = Console()
err = Console(stderr=True)

Url = Annotated[str, typer.Option("--url", envvar="AXIS_URL", help="the hub's base URL")]
Key = Annotated[
    str, typer.Option("--key", envvar="AXIS_KEY", help="your agency's API key", show_default=False)
]
JsonOut = Annotated[bool, typer.Option("--json", help="print JSON for machines")]


def _client(url: str, key: str) -> httpx.Client:
    if not key:
        err.print("[red]no API key:[/] pass --key or set AXIS_KEY")
        raise typer.Exit(2)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def _call(url: str, key: str, method: str, path: str, **kwargs) -> httpx.Response:
    try:
        with _client(url, key) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the hub at {url}:[/] {exc}")
        raise typer.Exit(3) from exc
    if response.status_code >= 400:
        _explain(response)
        raise typer.Exit(1)
    return response


def _explain(response: httpx.Response) -> None:
    try:
        body = response.json()
    except ValueError:
        err.print(f"[red]{response.status_code}[/] {response.text[:500]}")
        return
    err.print(f"[red]{response.status_code} {body.get('error', '')}[/]: {body.get('message', '')}")
    for f in body.get("findings", []):
        err.print(f"  [bold]{f['code']}[/] ({f['severity']}) at {f['path']}: {f['message']}")


def _print(data: dict, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        console.print_json(data=data)


@app.command()
def send(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    url: Url = "http://127.0.0.1:8080",
    key: Key = "",
    as_json: JsonOut = False,
) -> None:
    """Send an edXML package (document or status) to the hub."""
    response = _call(
        url,
        key,
        "POST",
        "/v1/messages",
        content=file.read_bytes(),
        headers={"Content-Type": "application/xml"},
    )
    receipt = response.json()
    if as_json:
        _print(receipt, True)
        return
    again = " (already accepted earlier; nothing sent twice)" if response.status_code == 200 else ""
    console.print(f"[green]accepted[/] {receipt['kind']} {receipt['document_id']}{again}")
    console.print(f"  id {receipt['id']}  to {', '.join(receipt['recipients'])}")
    for f in receipt.get("findings", []):
        console.print(f"  [yellow]{f['code']}[/] ({f['severity']}): {f['message']}")


@app.command()
def inbox(
    url: Url = "http://127.0.0.1:8080",
    key: Key = "",
    as_json: JsonOut = False,
    limit: int = 100,
    cursor: str | None = None,
) -> None:
    """List items waiting in your inbox (not yet acknowledged), oldest first."""
    params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
    page = _call(url, key, "GET", "/v1/inbox", params=params).json()
    if as_json:
        _print(page, True)
        return
    table = Table("id", "kind", "from", "document", "subject", "received")
    for item in page["items"]:
        kind = item["kind"] if item["kind"] == "edoc" else f"status {item['status_code']}"
        table.add_row(
            item["id"],
            kind,
            item["from"],
            item["document_id"],
            item["subject"],
            item["received_at"],
        )
    console.print(table)
    if page["next_cursor"]:
        console.print(f"more: --cursor {page['next_cursor']}")


@app.command()
def fetch(
    message_id: str,
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    url: Url = "http://127.0.0.1:8080",
    key: Key = "",
) -> None:
    """Download a package (to a file with -o, else to standard output)."""
    response = _call(url, key, "GET", f"/v1/messages/{message_id}")
    if output:
        output.write_bytes(response.content)
        console.print(f"wrote {len(response.content)} bytes to {output}")
    else:
        sys.stdout.buffer.write(response.content)


@app.command()
def ack(
    message_ids: list[str],
    url: Url = "http://127.0.0.1:8080",
    key: Key = "",
    as_json: JsonOut = False,
) -> None:
    """Acknowledge receipt of one or more items (the sender gets status 01)."""
    results = _call(url, key, "POST", "/v1/inbox/ack", json={"ids": message_ids}).json()
    if as_json:
        _print(results, True)
    failed = [r for r in results["results"] if not r["acked"]]
    for r in results["results"]:
        if not as_json:
            console.print(
                f"{r['id']}: "
                + ("[green]acknowledged[/]" if r["acked"] else f"[red]{r['error']}[/]")
            )
    if failed:
        raise typer.Exit(1)


@app.command()
def status(
    message_id: str,
    code: str,
    description: str = "",
    staff: Annotated[str, typer.Option(help="who handles it")] = "",
    department: str = "",
    url: Url = "http://127.0.0.1:8080",
    key: Key = "",
    as_json: JsonOut = False,
) -> None:
    """Send a processing status (02-06, 15, 16) about a document you received."""
    body = {"code": code, "description": description}
    if staff or department:
        body["staff"] = {"staff": staff, "department": department}
    receipt = _call(url, key, "POST", f"/v1/messages/{message_id}/status", json=body).json()
    if as_json:
        _print(receipt, True)
    else:
        console.print(f"[green]status {code} sent[/] to {', '.join(receipt['recipients'])}")


@app.command()
def timeline(
    message_id: str, url: Url = "http://127.0.0.1:8080", key: Key = "", as_json: JsonOut = False
) -> None:
    """Show what happened to a document at each recipient."""
    data = _call(url, key, "GET", f"/v1/messages/{message_id}/timeline").json()
    if as_json:
        _print(data, True)
        return
    console.print(f"[bold]{data['document_id']}[/] from {data['from']} at {data['received_at']}")
    for line in data["recipients"]:
        console.print(
            f"  [bold]{line['agency']}[/] delivered {line['delivered_at']} "
            f"fetched {line['fetched_at']} acked {line['acked_at']}"
        )
        for e in line["events"]:
            console.print(
                f"    {e['at']}  {e['event']} {e['code'] or ''} "
                f"{e['meaning'] or ''} {e['description']}"
            )
