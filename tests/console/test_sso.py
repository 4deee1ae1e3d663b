"""Single sign-on with an OpenID Connect provider (issue 19): a real provider (panva's
oidc-provider, tests/support/idp.py) in front of the console, driven in Chromium."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from axis.service import users
from tests.console import a11y
from tests.console.conftest import People, sign_in
from tests.support import idp
from tests.support.live import LiveHub


@pytest.fixture
def sso(console_env):
    """A hub whose console offers single sign-on, and the provider it trusts."""
    port, issuer = idp.reserve()
    env = {**console_env, "AXIS_OIDC_ISSUER": issuer, "AXIS_OIDC_CLIENT_SECRET": idp.SECRET}
    with LiveHub.start(env) as live, idp.provider(port, f"{live.url}/login/sso/callback"):
        yield live


def _through_the_provider(chromium, live: LiveHub, login: str, path: str = "/login"):
    """Open `path`, choose single sign-on, type `login` at the provider, consent; return the
    page where the browser ends, in a fresh context (no earlier session at either end)."""
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{live.url}{path}")
    assert a11y.check(page) == []  # the sign-in page with its second door
    page.click("#sso")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything: the provider's development login")
    page.click("button[type=submit]")
    page.click("button[type=submit]")  # the provider's consent page: Continue
    page.wait_for_load_state()
    return context, page


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_clerk_signs_in_through_the_provider_and_lands_in_their_inbox(sso, chromium):
    people = People(sso)
    context, page = _through_the_provider(chromium, sso, "clerk.a")
    try:
        assert page.url == f"{sso.url}/inbox"
        assert "clerk.a" in page.inner_text("header")
        cookies = {c["name"]: c for c in context.cookies(sso.url)}
        assert cookies["axis_session"]["httpOnly"]
        assert "axis_sso" not in cookies  # the sign-in's state is gone once used
        # The session is an ordinary one: the same pages and the same role as a password's.
        assert page.goto(f"{sso.url}/admin/users").status == 403
    finally:
        context.close()
    # The password still works beside it.
    client = sign_in(sso, "clerk.a", people.passwords["clerk.a"])
    try:
        assert client.get("/inbox").status_code == 200
    finally:
        client.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_page_asked_for_is_where_sign_in_ends(sso, chromium):
    People(sso)
    context, page = _through_the_provider(chromium, sso, "clerk.a", "/sent")
    try:
        assert page.url == f"{sso.url}/sent"
    finally:
        context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_provider_account_without_an_axis_user_is_refused(sso, chromium):
    People(sso)
    users.disable_user(sso.hub.db, "clerk.b")
    for login in ("stranger", "clerk.b"):  # unknown here; disabled here
        context, page = _through_the_provider(chromium, sso, login)
        try:
            assert page.url.startswith(f"{sso.url}/login/sso/callback")
            assert "chưa được cấp quyền" in page.inner_text("#login-error")
            assert "axis_session" not in {c["name"] for c in context.cookies(sso.url)}
        finally:
            context.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_callback_this_browser_did_not_start_is_refused(sso):
    People(sso)
    with httpx.Client(base_url=sso.url) as client:
        # A code and state from elsewhere (a link someone sent): no sign-in cookie matches.
        r = client.get("/login/sso/callback", params={"code": "stolen", "state": "guess"})
        assert r.status_code == 401
        assert "không phải của trình duyệt này" in r.text
        # The right cookie shape with another state is refused too.
        client.cookies.set("axis_sso", "other|nonce|verifier|", path="/login/sso")
        r = client.get("/login/sso/callback", params={"code": "stolen", "state": "guess"})
        assert r.status_code == 401
        assert "axis_session" not in client.cookies


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stolen_callback_url_does_not_sign_in_elsewhere(sso, chromium):
    """Someone who copies the provider's redirect (its code and state) gets nothing: without
    the browser's sign-in cookie the state matches nothing, and with a forged cookie naming
    that state the code is refused (used once already, and bound to the browser's PKCE
    verifier)."""
    People(sso)
    context = chromium.new_context()
    page = context.new_page()
    seen: list[str] = []
    page.on("request", lambda r: "/login/sso/callback" in r.url and seen.append(r.url))
    try:
        page.goto(f"{sso.url}/login")
        page.click("#sso")
        page.fill("input[name=login]", "clerk.a")
        page.fill("input[name=password]", "x")
        page.click("button[type=submit]")
        page.click("button[type=submit]")
        page.wait_for_url(f"{sso.url}/inbox")  # the person it was meant for is in
    finally:
        context.close()
    assert len(seen) == 1
    state = parse_qs(urlparse(seen[0]).query)["state"][0]
    with httpx.Client() as other:
        r = other.get(seen[0])
        assert r.status_code == 401 and "axis_session" not in other.cookies
        other.cookies.set("axis_sso", f"{state}|guess|guess|", domain="127.0.0.1")
        r = other.get(seen[0])
        assert r.status_code == 401 and "axis_session" not in other.cookies
        assert "không hợp lệ" in r.text  # the provider refused the code


def test_without_a_provider_there_is_no_sso_door(people, live):
    page = httpx.get(f"{live.url}/login")
    assert 'id="sso"' not in page.text
    assert httpx.get(f"{live.url}/login/sso").status_code == 404
