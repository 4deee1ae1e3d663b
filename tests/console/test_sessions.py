"""People sign in with a password (argon2), hold a server-side session, and nothing in the
console works without one or from another site."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from axis.domain import HubError
from axis.service import users
from tests.console.conftest import A, csrf_of, sign_in, totp_code

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["/", "/inbox", "/sent", "/compose", "/dashboard", "/archive", "/admin/users"]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "axis.cli", *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_makes_people_and_the_password_is_the_last_line(console_env, live):
    live.add_agency(A, "Văn phòng Chính phủ")
    out = _cli(console_env, "user", "add", "Admin", "--role", "operator")
    assert out.returncode == 0, out.stderr
    password = out.stdout.strip().splitlines()[-1]
    assert len(password) == 16
    out = _cli(console_env, "user", "add", "van.thu", "--role", "clerk", "--agency", A)
    clerk_password = out.stdout.strip().splitlines()[-1]
    # A clerk needs an agency (an operator has none); a name is taken once.
    bad = _cli(console_env, "user", "add", "x", "--role", "clerk")
    assert bad.returncode == 1 and "USER_AGENCY" in bad.stderr
    with pytest.raises(HubError) as exc:
        users.add_user(live.hub.db, "y", "operator", A)
    assert exc.value.code == "USER_AGENCY"
    with pytest.raises(HubError) as exc:
        users.add_user(live.hub.db, "ADMIN", "operator")
    assert exc.value.code == "USER_EXISTS"
    listed = json.loads(_cli(console_env, "user", "list", "--json").stdout)
    assert {(u["name"], u["role"], u["agency"]) for u in listed} == {
        ("admin", "operator", None),
        ("van.thu", "clerk", A),
    }
    assert "password" not in json.dumps(listed)

    client = sign_in(live, "admin", password)
    assert client.get("/admin/users").status_code == 200
    clerk = sign_in(live, "van.thu", clerk_password)
    assert clerk.get("/inbox").status_code == 200
    # reset-password: the old password and the person's sessions stop working at once.
    out = _cli(console_env, "user", "reset-password", "van.thu")
    new = out.stdout.strip().splitlines()[-1]
    assert new != clerk_password
    assert clerk.get("/inbox").status_code == 303
    sign_in(live, "van.thu", new)
    # disable: sessions end, sign-in refused.
    assert _cli(console_env, "user", "disable", "admin", "--json").returncode == 0
    assert client.get("/admin/users").status_code == 303
    page = httpx.get(f"{live.url}/login")
    r = httpx.post(
        f"{live.url}/login",
        data={"csrf": csrf_of(page.text), "name": "admin", "password": password},
        cookies=page.cookies,
    )
    assert r.status_code == 401


def test_passwords_are_stored_as_argon2_hashes(people):
    from sqlalchemy import select

    from axis.adapters.console_tables import User

    with people.live.hub.db.read() as session:
        hashes = session.scalars(select(User.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in people.passwords.values())


@pytest.mark.parametrize("path", PAGES)
def test_no_page_works_without_a_session(people, path):
    r = httpx.get(people.live.url + path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    # A forged or expired cookie is no session either.
    r = httpx.get(people.live.url + path, cookies={"axis_session": "forged"})
    assert r.status_code == 303


def test_the_session_cookie_is_opaque_httponly_and_samesite(people):
    client = people.client("clerk.a")
    cookie = next(c for c in client.cookies.jar if c.name == "axis_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite").lower() in ("lax", "strict")
    assert cookie.path == "/"
    assert len(cookie.value) >= 40 and people.passwords["clerk.a"] not in cookie.value
    assert not cookie.secure  # plain http here; Secure is set over https


def test_security_headers_on_every_page(people):
    client = people.client("admin")
    for path in ["/login", "/dashboard", "/admin/users", "/admin/agencies", "/archive"]:
        r = client.get(path)
        assert r.status_code == 200, path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-frame-options"] == "DENY"
        assert '<html lang="' in r.text


def test_a_cross_site_post_is_refused(people):
    client = people.client("clerk.a")
    page = client.get("/inbox")
    token = csrf_of(page.text)
    # Without a token, with a wrong one, or from another site's page: refused, still signed in.
    for data, headers in (
        ({}, {}),
        ({"csrf": "wrong"}, {}),
        ({"csrf": token}, {"Origin": "https://evil.example"}),
    ):
        r = client.post("/logout", data=data, headers=headers)
        assert r.status_code == 403 and "CSRF_FAILED" in r.text
        assert client.get("/inbox").status_code == 200
    # Sign-out is a POST with the token; afterwards the session is gone server-side.
    session_cookie = client.cookies["axis_session"]
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    r = httpx.get(f"{people.live.url}/inbox", cookies={"axis_session": session_cookie})
    assert r.status_code == 303
    # A GET cannot sign out.
    assert client.get("/logout").status_code in (404, 405)


def test_sign_in_is_rate_limited(people):
    live = people.live
    client = httpx.Client(base_url=live.url, headers={"Origin": live.url})
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        r = client.post("/login", data={"csrf": token, "name": "clerk.a", "password": "nope"})
        assert r.status_code == 401
        assert "không đúng" in r.text
    # Now even the right password waits: the name is throttled.
    r = client.post(
        "/login",
        data={"csrf": token, "name": "clerk.a", "password": people.passwords["clerk.a"]},
    )
    assert r.status_code == 429 and "15 phút" in r.text
    # Another person is not locked out by it.
    sign_in(live, "clerk.b", people.passwords["clerk.b"])


def test_sign_in_without_the_form_token_is_refused(people):
    r = httpx.post(
        f"{people.live.url}/login",
        data={"name": "clerk.a", "password": people.passwords["clerk.a"]},
    )
    assert r.status_code == 403


def test_next_stays_on_this_site(people):
    live = people.live
    client = httpx.Client(base_url=live.url, headers={"Origin": live.url})
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "csrf": token,
            "name": "clerk.a",
            "password": people.passwords["clerk.a"],
            "next": "//evil.example/x",
        },
    )
    assert r.headers["location"] == "/inbox"


def test_roles_see_only_their_pages(people):
    clerk = people.client("clerk.a")
    assert clerk.get("/admin/users").status_code == 403
    assert clerk.get("/archive").status_code == 403
    archivist = people.client("archivist")
    assert archivist.get("/inbox").status_code == 403


def test_a_second_factor_is_asked_at_sign_in_and_for_signing(people):
    live = people.live
    people.add("leader.a", "leader", A)
    uri = users.enable_totp(live.hub.db, live.hub.secret_box, "leader.a")
    assert uri.startswith("otpauth://totp/axis:leader.a?")
    password = people.passwords["leader.a"]
    client = httpx.Client(base_url=live.url, headers={"Origin": live.url})
    token = csrf_of(client.get("/login").text)
    for code in ("", "000000"):
        r = client.post(
            "/login", data={"csrf": token, "name": "leader.a", "password": password, "code": code}
        )
        assert r.status_code == 401, code
    leader = sign_in(live, "leader.a", password, totp_code(uri))
    # Signing asks the code again: without it, refused before any draft is looked at.
    token = csrf_of(leader.get("/drafts").text)
    r = leader.post("/drafts/1/sign", data={"csrf": token})
    assert r.status_code == 401 and "TOTP_FAILED" in r.text
    users.disable_totp(live.hub.db, "leader.a")
    sign_in(live, "leader.a", password)
