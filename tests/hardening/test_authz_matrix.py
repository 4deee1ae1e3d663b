"""The authorization matrix (docs/security.md): every route of the app × every kind of
principal, with the status each must get, against the real server on SQLite and PostgreSQL.

The routes are walked from the app itself: a route added without a row here fails the test,
and so does a row for a route that no longer exists. A cell is the HTTP status, or for the
national protocol (/vxp, which always answers 200 with an envelope) the envelope's status
("OK") or error code.

Principals: none (no credentials), bad (a well-formed key the hub never issued), revoked,
inactive (a key of a deactivated agency), other (an agency with no part in the document),
sender, recipient (of the document), system (a connected system, HMAC-signed; it hosts the
recipient), signer, archivist, operator.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from axis.api.app import create_app, route_infos
from axis.service import agencies, keys, push, systems
from formats import vxp
from tests.hub.conftest import document

SENDER, RECIPIENT, OTHER = "000.00.00.G22", "000.00.00.G06", "000.00.00.G12"
INACTIVE, TARGET, HOSTED = "000.00.00.H26", "000.00.00.H29", "000.00.00.H53"
SYSTEM_ID = "QLVB-MATRIX"
PRINCIPALS = (
    "none",
    "bad",
    "revoked",
    "inactive",
    "other",
    "sender",
    "recipient",
    "system",
    "signer",
    "archivist",
    "operator",
)
TS = "03122026T080315+0484"


@dataclass
class World:
    live: object
    keys: dict[str, str | None]
    system_secret: str
    message_id: str
    document_id: str
    record: str
    spare_keys: list[str] = field(default_factory=list)
    http: httpx.Client | None = None


@dataclass(frozen=True)
class Call:
    """How to call a route: path parameters filled in, query, JSON or raw body."""

    path: str
    params: dict | None = None
    json: object = None
    content: bytes | None = None
    headers: dict | None = None
    before: Callable[[World], None] | None = None


def _pdf() -> bytes:
    from tests.factories import minimal_pdf

    return minimal_pdf()


def _ensure_webhook(world: World) -> None:
    push.set_webhook(world.live.hub.db, RECIPIENT, "http://10.1.2.3/push")


def _calls(world: World) -> dict[tuple[str, str], Call]:
    m = world.message_id
    xml = {"Content-Type": "application/xml"}
    return {
        ("GET", "/healthz"): Call("/healthz"),
        ("GET", "/metrics"): Call("/metrics"),
        ("POST", "/v1/messages"): Call(
            "/v1/messages", content=document(number="31", recipients=[RECIPIENT]), headers=xml
        ),
        ("GET", "/v1/inbox"): Call("/v1/inbox"),
        ("POST", "/v1/inbox/ack"): Call("/v1/inbox/ack", json={"ids": [m]}),
        ("GET", "/v1/messages/{message_id}"): Call(f"/v1/messages/{m}"),
        ("POST", "/v1/messages/{message_id}/ack"): Call(f"/v1/messages/{m}/ack"),
        ("POST", "/v1/messages/{message_id}/status"): Call(
            f"/v1/messages/{m}/status", json={"code": "03"}
        ),
        ("GET", "/v1/messages/{message_id}/timeline"): Call(f"/v1/messages/{m}/timeline"),
        ("GET", "/v1/messages/{message_id}/report"): Call(f"/v1/messages/{m}/report"),
        ("GET", "/v1/messages/{message_id}/evidence"): Call(f"/v1/messages/{m}/evidence"),
        ("GET", "/v1/agencies"): Call("/v1/agencies", params={"q": "G"}),
        ("POST", "/v1/agencies"): Call(
            "/v1/agencies", json={"code": "000.00.00.K01", "name": "Hội đồng nhân dân"}
        ),
        ("POST", "/v1/agencies/{code}/keys"): Call(f"/v1/agencies/{TARGET}/keys"),
        ("POST", "/v1/agencies/{code}/deactivate"): Call(f"/v1/agencies/{TARGET}/deactivate"),
        ("POST", "/v1/agencies/{code}/activate"): Call(f"/v1/agencies/{TARGET}/activate"),
        ("DELETE", "/v1/keys/{key_id}"): Call(f"/v1/keys/{world.spare_keys[0].split('_')[1]}"),
        ("PUT", "/v1/admin/webhooks/{agency_code}"): Call(
            f"/v1/admin/webhooks/{RECIPIENT}", json={"url": "http://10.1.2.3/push"}
        ),
        ("GET", "/v1/admin/webhooks"): Call("/v1/admin/webhooks"),
        ("DELETE", "/v1/admin/webhooks/{agency_code}"): Call(
            f"/v1/admin/webhooks/{RECIPIENT}", before=_ensure_webhook
        ),
        ("GET", "/v1/admin/deadletters"): Call("/v1/admin/deadletters"),
        ("POST", "/v1/admin/deadletters/retry"): Call(
            "/v1/admin/deadletters/retry", json={"job_ids": [1]}
        ),
        ("GET", "/v1/admin/push"): Call("/v1/admin/push"),
        ("GET", "/v1/admin/upstream"): Call("/v1/admin/upstream"),
        ("POST", "/v1/sign"): Call(
            "/v1/sign", content=_pdf(), headers={"Content-Type": "application/pdf"}
        ),
        ("GET", "/v1/archive/records"): Call("/v1/archive/records"),
        ("GET", "/v1/archive/records/{ident}"): Call(f"/v1/archive/records/{world.record}"),
        ("GET", "/v1/archive/records/{ident}/objects/{name}"): Call(
            f"/v1/archive/records/{world.record}/objects/package.edxml"
        ),
        ("POST", "/v1/archive/export"): Call("/v1/archive/export", json={"agency": SENDER}),
        ("GET", "/v1/archive/audit"): Call("/v1/archive/audit", params={"sample": 1}),
        ("GET", "/v1/stats/agencies"): Call("/v1/stats/agencies"),
        ("GET", "/v1/stats/agencies/{code}"): Call(f"/v1/stats/agencies/{SENDER}"),
        ("GET", "/v1/stats/overdue"): Call("/v1/stats/overdue"),
        ("GET", "/v1/stats/documents"): Call("/v1/stats/documents", params={"format": "json"}),
        ("GET", "/vxp/downloadEdoc"): Call("/vxp/downloadEdoc", params={"docId": f"{m}.{HOSTED}"}),
        ("GET", "/vxp/{name}"): Call("/vxp/getReceivedEdocList"),
        ("POST", "/vxp/{name}"): Call("/vxp/countReceiveEdoc"),
        **_console_calls(world),
    }


# The web console's pages (issue 19) are for people: sessions and CSRF tokens, never API keys
# (tests/console walks each role). Filled path parameters, by name:
_CONSOLE_PARAMS = {
    "ident": None,
    "name": "console.css",
    "index": "1",
    "draft_id": "1",
    "kind": "revoke",
}


def _console_calls(world: World) -> dict[tuple[str, str], Call]:
    values = {**_CONSOLE_PARAMS, "message_id": world.message_id, "ident": world.record}
    values["lang"] = "en"
    calls = {}
    for method, route in _routes():
        if route.startswith(("/v1/", "/vxp/", "/healthz", "/metrics")):
            continue
        path = route
        for param in re.findall(r"{(\w+)}", route):
            value = values[param]
            if route.startswith("/archive/records/") and param == "name":
                value = "package.edxml"
            elif route.startswith("/admin/users/"):
                value = "admin"
            path = path.replace("{" + param + "}", str(value))
        calls[(method, route)] = Call(path, content=b"" if method == "POST" else None)
    return calls


# fmt: off
# Columns in PRINCIPALS order:
#  none  bad  revoked inactive other sender recipient system signer archivist operator
NO_KEY = (401, 401, 401)
OPERATOR_ONLY = (*NO_KEY, 403, 403, 403, 403, 401, 403, 403)
CONSOLE: dict[tuple[str, str], tuple] = {
    # pages: to the sign-in page (303), whatever key is sent
    ("GET", "/"): (303,) * 11,
    ("GET", "/admin/agencies"): (303,) * 11,
    ("GET", "/admin/deadletters"): (303,) * 11,
    ("GET", "/admin/systems"): (303,) * 11,
    ("GET", "/admin/trust"): (303,) * 11,
    ("GET", "/admin/upstream"): (303,) * 11,
    ("GET", "/admin/users"): (303,) * 11,
    ("GET", "/admin/webhooks"): (303,) * 11,
    ("GET", "/archive"): (303,) * 11,
    ("GET", "/archive/records/{ident}"): (303,) * 11,
    ("GET", "/archive/records/{ident}/objects/{name}"): (303,) * 11,
    ("GET", "/compose"): (303,) * 11,
    ("GET", "/dashboard"): (303,) * 11,
    ("GET", "/dashboard/documents.csv"): (303,) * 11,
    ("GET", "/directory"): (303,) * 11,
    ("GET", "/documents/{message_id}"): (303,) * 11,
    ("GET", "/documents/{message_id}/change/{kind}"): (303,) * 11,
    ("GET", "/documents/{message_id}/files/{index}"): (303,) * 11,
    ("GET", "/drafts"): (303,) * 11,
    ("GET", "/drafts/{draft_id}"): (303,) * 11,
    ("GET", "/drafts/{draft_id}/files/{index}"): (303,) * 11,
    ("GET", "/drafts/{draft_id}/pdf"): (303,) * 11,
    ("GET", "/drafts/{draft_id}/preview"): (303,) * 11,
    ("GET", "/inbox"): (303,) * 11,
    ("GET", "/lang/{lang}"): (303,) * 11,
    ("GET", "/sent"): (303,) * 11,
    # forms: no session, to the sign-in page before anything is done
    ("POST", "/admin/agencies"): (303,) * 11,
    ("POST", "/admin/deadletters/retry"): (303,) * 11,
    ("POST", "/admin/users"): (303,) * 11,
    ("POST", "/admin/users/{name}/disable"): (303,) * 11,
    ("POST", "/admin/users/{name}/reset-password"): (303,) * 11,
    ("POST", "/admin/webhooks"): (303,) * 11,
    ("POST", "/archive/audit"): (303,) * 11,
    ("POST", "/archive/export"): (303,) * 11,
    ("POST", "/compose"): (303,) * 11,
    ("POST", "/documents/{message_id}/ack"): (303,) * 11,
    ("POST", "/documents/{message_id}/change/{kind}"): (303,) * 11,
    ("POST", "/documents/{message_id}/status"): (303,) * 11,
    ("POST", "/drafts/{draft_id}/refuse"): (303,) * 11,
    ("POST", "/drafts/{draft_id}/sign"): (303,) * 11,
    ("POST", "/logout"): (303,) * 11,
    # public: the sign-in page and the stylesheet; a sign-in without its CSRF token: 403
    ("GET", "/login"): (200,) * 11,
    # single sign-on: no provider configured on this hub, so no such door (tests/console)
    ("GET", "/login/sso"): (404,) * 11,
    ("GET", "/login/sso/callback"): (404,) * 11,
    ("GET", "/static/{name}"): (200,) * 11,
    ("POST", "/login"): (403,) * 11,
}
MATRIX: dict[tuple[str, str], tuple] = {
    ("GET", "/healthz"): (200,) * 11,
    ("GET", "/metrics"): (*OPERATOR_ONLY, 200),
    # agency systems: their own documents; a stranger hears "no such message" (no oracle)
    ("POST", "/v1/messages"): (*NO_KEY, 403, 403, 202, 403, 401, 403, 403, 403),
    ("GET", "/v1/inbox"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 403, 403),
    ("POST", "/v1/inbox/ack"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 403, 403),
    ("GET", "/v1/messages/{message_id}"): (*NO_KEY, 403, 404, 200, 200, 401, 403, 403, 403),
    ("POST", "/v1/messages/{message_id}/ack"): (*NO_KEY, 403, 404, 404, 200, 401, 403, 403, 403),
    ("POST", "/v1/messages/{message_id}/status"):
        (*NO_KEY, 403, 404, 422, 202, 401, 403, 403, 403),
    ("GET", "/v1/messages/{message_id}/timeline"):
        (*NO_KEY, 403, 404, 200, 200, 401, 403, 200, 200),
    ("GET", "/v1/messages/{message_id}/report"): (*NO_KEY, 403, 404, 200, 200, 401, 403, 200, 200),
    ("GET", "/v1/messages/{message_id}/evidence"):
        (*NO_KEY, 403, 404, 200, 200, 401, 403, 200, 200),
    # the directory: any key but a signer's; changing it: operators
    ("GET", "/v1/agencies"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 200, 200),
    ("POST", "/v1/agencies"): (*OPERATOR_ONLY, 201),
    ("POST", "/v1/agencies/{code}/keys"): (*OPERATOR_ONLY, 201),
    ("POST", "/v1/agencies/{code}/deactivate"): (*OPERATOR_ONLY, 200),
    ("POST", "/v1/agencies/{code}/activate"): (*OPERATOR_ONLY, 200),
    ("DELETE", "/v1/keys/{key_id}"): (*OPERATOR_ONLY, 200),
    ("PUT", "/v1/admin/webhooks/{agency_code}"): (*OPERATOR_ONLY, 200),
    ("GET", "/v1/admin/webhooks"): (*OPERATOR_ONLY, 200),
    ("DELETE", "/v1/admin/webhooks/{agency_code}"): (*OPERATOR_ONLY, 204),
    ("GET", "/v1/admin/deadletters"): (*OPERATOR_ONLY, 200),
    ("POST", "/v1/admin/deadletters/retry"): (*OPERATOR_ONLY, 200),
    ("GET", "/v1/admin/push"): (*OPERATOR_ONLY, 200),
    ("GET", "/v1/admin/upstream"): (*OPERATOR_ONLY, 200),
    # signer keys only sign: past the key check, this signer is not configured (404
    # SIGNER_NOT_FOUND); signing itself is tests/hub/test_sign_api.py
    ("POST", "/v1/sign"): (*NO_KEY, 403, 403, 403, 403, 401, 404, 403, 403),
    # archivists and operators
    ("GET", "/v1/archive/records"): (*NO_KEY, 403, 403, 403, 403, 401, 403, 200, 200),
    ("GET", "/v1/archive/records/{ident}"): (*NO_KEY, 403, 403, 403, 403, 401, 403, 200, 200),
    ("GET", "/v1/archive/records/{ident}/objects/{name}"):
        (*NO_KEY, 403, 403, 403, 403, 401, 403, 200, 200),
    ("POST", "/v1/archive/export"): (*NO_KEY, 403, 403, 403, 403, 401, 403, 200, 200),
    ("GET", "/v1/archive/audit"): (*NO_KEY, 403, 403, 403, 403, 401, 403, 200, 200),
    # figures: an agency its own, operators all
    ("GET", "/v1/stats/agencies"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 403, 200),
    ("GET", "/v1/stats/agencies/{code}"): (*NO_KEY, 403, 403, 200, 403, 401, 403, 403, 200),
    ("GET", "/v1/stats/overdue"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 403, 200),
    ("GET", "/v1/stats/documents"): (*NO_KEY, 403, 200, 200, 200, 401, 403, 403, 200),
    # the web console (issue 19): an API key opens nothing; pages send to the sign-in page,
    # forms without a session's CSRF token are refused
    **CONSOLE,
    # the national protocol: connected systems only (HMAC)
    ("GET", "/vxp/downloadEdoc"): (401,) * 7 + (200,) + (401,) * 3,
    ("GET", "/vxp/{name}"): ("VXP_UNSIGNED",) * 7 + ("OK",) + ("VXP_UNSIGNED",) * 3,
    ("POST", "/vxp/{name}"): ("VXP_UNSIGNED",) * 7 + ("OK",) + ("VXP_UNSIGNED",) * 3,
}
# fmt: on


def _routes() -> set[tuple[str, str]]:
    app = create_app(hub=None, settings=_settings_for_walk())
    return {
        (method, info.path)
        for info in route_infos(app)
        for method in info.methods
        if method != "HEAD"
    }


def _settings_for_walk():
    from axis.config import Settings

    return Settings(public_docs=False)


@pytest.fixture
def world(live_hub) -> Iterator[World]:
    hub = live_hub.hub
    db = hub.db
    k: dict[str, str | None] = {"none": None, "bad": "axis_0123456789abcdef_" + "x" * 43}
    k["sender"] = live_hub.add_agency(SENDER)
    k["recipient"] = live_hub.add_agency(RECIPIENT)
    k["other"] = live_hub.add_agency(OTHER)
    k["inactive"] = live_hub.add_agency(INACTIVE)
    live_hub.add_agency(TARGET)
    k["revoked"] = agencies.new_agency_key(db, SENDER)
    keys.revoke_key(db, k["revoked"].split("_")[1])
    with db.write() as session:
        k["signer"] = keys.issue_key(
            session, role="signer", agency_code=SENDER, signer_id="chu-tich"
        )
    k["archivist"] = live_hub.staff_key("archivist")
    k["operator"] = live_hub.staff_key("operator")
    secret = systems.add_system(db, hub.secret_box, SYSTEM_ID, "QLVB ma trận")
    agencies.add_hosted_agency(db, HOSTED, "Ủy ban nhân dân tỉnh", SYSTEM_ID)
    k["system"] = None
    with live_hub.client(k["sender"]) as c:
        body = document(recipients=[RECIPIENT, HOSTED])
        receipt = c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})
        assert receipt.status_code == 202, receipt.text
    agencies.set_active(db, INACTIVE, False)
    spare = [agencies.new_agency_key(db, TARGET) for _ in range(len(PRINCIPALS))]
    with httpx.Client(base_url=live_hub.url, timeout=60) as http:
        yield World(
            live_hub,
            k,
            secret,
            receipt.json()["id"],
            receipt.json()["document_id"],
            receipt.json()["id"],
            spare,
            http,
        )


def _request(world: World, who: str, method: str, route: str, call: Call) -> httpx.Response:
    headers = dict(call.headers or {})
    cookies = {}
    key = world.keys[who]
    if who == "system":
        params = {k: str(v) for k, v in (call.params or {}).items()}
        ctype = headers.get("Content-Type", "application/json")
        headers.update(
            vxp.sign(SYSTEM_ID, world.system_secret, {**params, "Content-Type": ctype}, TS)
        )
    elif key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if call.before is not None:
        call.before(world)
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    return world.http.request(
        method,
        call.path,
        params=call.params,
        json=call.json,
        content=call.content,
        headers=headers,
        follow_redirects=False,
    )


def _cell(route: str, response: httpx.Response):  # noqa: ANN202
    if route.startswith("/vxp/") and route != "/vxp/downloadEdoc" and response.status_code == 200:
        body = response.json()
        return body["status"] if body["status"] == "OK" else body["ErrorCode"]
    return response.status_code


def test_every_route_has_a_row():
    routes = _routes()
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes without a row in the authorization matrix: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_the_matrix_holds(world):
    calls = _calls(world)
    assert set(calls) >= set(MATRIX)
    got: dict[tuple[str, str], tuple] = {}
    for method, route in sorted(set(MATRIX) | set(calls)):
        row = []
        for i, who in enumerate(PRINCIPALS):
            call = calls[(method, route)]
            if route == "/v1/keys/{key_id}":
                call = Call(f"/v1/keys/{world.spare_keys[i].split('_')[1]}")
            row.append(_cell(route, _request(world, who, method, route, call)))
        got[(method, route)] = tuple(row)
    if os.environ.get("AXIS_MATRIX_PRINT"):
        for key, row in sorted(got.items()):
            print(f"    {key!r}: {row!r},")
    wrong = {k: (MATRIX[k], got[k]) for k in MATRIX if MATRIX[k] != got[k]}
    assert not wrong, "\n".join(
        f"{m} {r}: expected {e}, got {g}" for (m, r), (e, g) in sorted(wrong.items())
    )


def test_a_system_cannot_act_for_a_deactivated_agency_it_hosts(world):
    def call(name: str, params: dict, method: str = "POST") -> httpx.Response:
        headers = vxp.sign(
            SYSTEM_ID, world.system_secret, {**params, "Content-Type": "application/json"}, TS
        )
        return world.http.request(method, f"/vxp/{name}", headers=headers)

    doc_id = f"{world.message_id}.{HOSTED}"
    assert call("getEdoc", {"docId": doc_id}).json()["status"] == "OK"
    agencies.set_active(world.live.hub.db, HOSTED, False)
    assert call("getEdoc", {"docId": doc_id}).json()["ErrorCode"] == "AGENCY_INACTIVE"
    r = call("downloadEdoc", {"docId": doc_id}, method="GET")
    assert (r.status_code, r.headers["X-Axis-Error"]) == (403, "AGENCY_INACTIVE")
    assert call("getReceivedEdocList", {}).json()["data"] == []  # nothing listed for it
    body = document(sender=HOSTED, recipients=[RECIPIENT], number="41")
    params = {"from": HOSTED, "hash-file": vxp.file_hash(body), "Content-Type": "application/json"}
    headers = vxp.sign(SYSTEM_ID, world.system_secret, params, TS)
    sent = world.http.post("/vxp/sendEdoc", headers=headers, content=body + b"\r\n").json()
    assert sent["ErrorCode"] == "AGENCY_INACTIVE"
