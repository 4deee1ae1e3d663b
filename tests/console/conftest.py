"""A live hub with people in it, and a browser-like HTTP client that signs in through the form."""

from __future__ import annotations

import re

import httpx
import pytest

from axis.service import users
from tests.support.browser import chromium as launch_chromium
from tests.support.live import LiveHub

A = "000.00.00.G22"
B = "000.00.00.G06"
C = "000.00.00.H26"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def totp_code(uri: str) -> str:
    """The current code of an otpauth:// URI, as an authenticator app computes it."""
    import base64
    import time
    from urllib.parse import parse_qs, urlparse

    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    secret = base64.b32decode(parse_qs(urlparse(uri).query)["secret"][0])
    totp = TOTP(secret, 6, SHA1(), 30, enforce_key_length=False)
    return totp.generate(int(time.time())).decode()


def sign_in(live: LiveHub, name: str, password: str, code: str = "") -> httpx.Client:
    """A client holding a session, signed in the way a browser does (GET the form, POST it)."""
    client = httpx.Client(base_url=live.url, timeout=30, headers={"Origin": live.url})
    page = client.get("/login")
    form = {"csrf": csrf_of(page.text), "name": name, "password": password, "code": code}
    r = client.post("/login", data=form)
    assert r.status_code == 303, r.text
    return client


@pytest.fixture
def console_env(tmp_path, database_url) -> dict[str, str]:
    return {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_MAX_BODY_BYTES": "200000",  # uploads past it: 413 (test_pages)
    }


class People:
    """Agencies A, B, C with a clerk each, an archivist and an operator; passwords by name."""

    def __init__(self, live: LiveHub) -> None:
        self.live = live
        self.keys = {
            code: live.add_agency(code, name)
            for code, name in (
                (A, "Văn phòng Chính phủ"),
                (B, "Bộ Tài chính"),
                (C, "UBND tỉnh Bắc Ninh"),
            )
        }
        self.passwords: dict[str, str] = {}
        for name, role, agency in (
            ("clerk.a", "clerk", A),
            ("clerk.b", "clerk", B),
            ("clerk.c", "clerk", C),
            ("archivist", "archivist", None),
            ("admin", "operator", None),
        ):
            self.add(name, role, agency)

    def add(self, name: str, role: str, agency: str | None = None, **kw) -> str:
        self.passwords[name] = users.add_user(self.live.hub.db, name, role, agency, **kw)
        return self.passwords[name]

    def client(self, name: str) -> httpx.Client:
        return sign_in(self.live, name, self.passwords[name])


@pytest.fixture
def live(console_env):
    with LiveHub.start(console_env) as hub:
        yield hub


@pytest.fixture
def people(live) -> People:
    return People(live)


@pytest.fixture(scope="module")
def chromium():
    """One browser per module: Playwright's sync API allows one at a time in a process, and
    other areas (tests/metrics) start their own."""
    with launch_chromium() as browser:
        yield browser
