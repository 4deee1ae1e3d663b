"""The statistics page of the console in a real headless browser (Debian chromium driven by
Playwright): a person signs in with a password (a server-side session in an HttpOnly cookie),
and the page shows the same figures as the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlencode

import pytest

from axis.service import users
from tests.metrics.conftest import B, C, generate_traffic, register, running, traffic_range
from tests.support.browser import chromium


@pytest.fixture
def browser():
    with chromium() as b:
        yield b


def _sign_in(page, url: str, name: str, password: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _value(page, name: str) -> str:
    return page.get_attribute(f'[data-figure="{name}"]', "data-value")


def test_the_dashboard_shows_the_figures_of_the_api(sqlite_env, browser):
    with running(sqlite_env) as live:
        keys = register(live)
        generate_traffic(live, keys)
        with live.client(keys.operator) as op:
            api = op.get("/v1/stats/agencies", params=traffic_range()).json()
            api_b = op.get(f"/v1/stats/agencies/{B}", params=traffic_range()).json()

        operator = users.add_user(live.hub.db, "admin", "operator")
        clerk_c = users.add_user(live.hub.db, "clerk.c", "clerk", C)

        context = browser.new_context()
        page = context.new_page()
        page.goto(f"{live.url}/dashboard?{urlencode(traffic_range())}")
        assert "/login" in page.url  # no session: the sign-in page, then back here
        page.fill("input[name=name]", "admin")
        page.fill("input[name=password]", operator)
        page.click("button[type=submit]")
        assert page.url.startswith(f"{live.url}/dashboard?")
        # The session is an opaque token in a cookie scripts cannot read; no key anywhere.
        [cookie] = [c for c in context.cookies() if c["name"] == "axis_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] in ("Lax", "Strict")
        assert page.evaluate("document.cookie") == ""

        for name in ("sent", "received", "accepted", "rejected", "acknowledged", "completed"):
            assert int(_value(page, name)) == api["totals"][name], name
        assert int(_value(page, "overdue")) == api["totals"]["overdue"] > 0
        assert float(_value(page, "on_time_rate")) == api["totals"]["on_time_rate"]
        shown = page.inner_text("#fig-received").replace(".", "")
        assert int(shown) == api["totals"]["received"]
        # Top senders, rejection reasons, the overdue list and the chart are there.
        top = page.locator("#top-senders tr[data-agency]").first
        assert (
            top.get_attribute("data-agency")
            == max(api["agencies"], key=lambda a: a["sent"])["code"]
        )
        for code, n in api["rejections"].items():
            assert page.locator(f"#rejections tr:has-text('{code}') td.n").inner_text() == str(n)
        assert page.locator("#overdue tr").count() - 1 == api["totals"]["overdue_open"]
        assert page.locator("#throughput polyline").count() == 3

        # One agency's page, reached from the form.
        page.fill("input[name=agency]", B)
        page.click("form.range button[type=submit]")
        assert int(_value(page, "received")) == api_b["totals"]["received"]
        assert int(_value(page, "completed")) == api_b["totals"]["completed"]

        # The CSV link carries the same list as the API, with the cookie.
        with page.expect_download() as download:
            page.click("#export-csv")
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
        assert len(rows) == api_b["totals"]["received"]  # B sent none: its rows are what it got
        assert {r["recipient"] for r in rows} == {B}
        context.close()

        # A clerk of an agency signs in and sees only its own figures (whatever it asks for).
        context = browser.new_context()
        page = context.new_page()
        _sign_in(page, live.url, "clerk.c", clerk_c)
        page.goto(f"{live.url}/dashboard?{urlencode({**traffic_range(), 'agency': B})}")
        assert C in page.inner_text("header")
        with live.client(keys.agencies[C]) as c:
            own = c.get(f"/v1/stats/agencies/{C}", params=traffic_range()).json()
        assert int(_value(page, "received")) == own["totals"]["received"]
        assert page.locator("#top-senders").count() == 0
        context.close()
