"""Property-based run over the hub's own OpenAPI document (schemathesis + hypothesis), against
the real server on SQLite and PostgreSQL: whatever a client sends within (or around) the
documented shapes, no answer is a 5xx and every status is one the document lists.

Sized for CI (AXIS_FUZZ_EXAMPLES cases per operation and key, default 15, and a time budget
per database); a deeper run: AXIS_FUZZ_EXAMPLES=300 AXIS_FUZZ_BUDGET_S=1200.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from axis.api.app import create_app
from tests.hub.conftest import document

EXAMPLES = int(os.environ.get("AXIS_FUZZ_EXAMPLES", "15"))
BUDGET_S = float(os.environ.get("AXIS_FUZZ_BUDGET_S", "60"))
SENDER, RECIPIENT = "000.00.00.G22", "000.00.00.G06"


@schemathesis.serializer("application/pdf", "application/xml")
def _raw_body(ctx, value) -> bytes | None:  # noqa: ANN001
    """The raw-body routes (a package, a PDF) take the generated text as its bytes."""
    if value is None:
        return None
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _documented(operation, status: int) -> bool:  # noqa: ANN001
    responses = operation.definition.raw.get("responses", {})
    return str(status) in responses or f"{str(status)[0]}XX" in responses or "default" in responses


@pytest.mark.timeout(BUDGET_S + 240)  # a deep run is given its budget, and setup besides
def test_no_5xx_and_only_documented_statuses(live_hub):
    keys = {
        "sender": live_hub.add_agency(SENDER),
        "recipient": live_hub.add_agency(RECIPIENT),
        "operator": live_hub.staff_key("operator"),
        "archivist": live_hub.staff_key("archivist"),
    }
    with live_hub.client(keys["sender"]) as c:
        body = document(recipients=[RECIPIENT])
        r = c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})
        assert r.status_code == 202
    spec = create_app(live_hub.hub.settings, hub=live_hub.hub).openapi()
    schema = schemathesis.openapi.from_dict(spec)
    stats = Stats(started=time.monotonic())
    with httpx.Client(base_url=live_hub.url, timeout=30) as http:
        for result in schema.get_all_operations():
            _runner(result.ok(), http, live_hub.url, keys, stats)()
    took = time.monotonic() - stats.started
    print(f"\nfuzz: {stats.cases} requests, slowest {stats.slowest:.2f} s, {took:.0f} s")
    assert stats.cases > 0
    assert stats.server_errors == [], stats.server_errors[:10]
    assert stats.undocumented == [], sorted(set(stats.undocumented))[:20]


@dataclass
class Stats:
    started: float
    cases: int = 0
    slowest: float = 0.0
    server_errors: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)


def _runner(operation, http: httpx.Client, base_url: str, keys: dict, stats: Stats):  # noqa: ANN001, ANN202
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases on every run: a failure is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case) -> None:  # noqa: ANN001
        if time.monotonic() - stats.started > BUDGET_S:
            return
        for who in ("operator", "sender", "archivist"):
            kwargs = case.as_transport_kwargs(base_url=base_url)
            headers = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {keys[who]}"}
            t0 = time.monotonic()
            stats.cases += 1
            what = f"{who} {case.method} {case.formatted_path} {kwargs.get('params')}"
            try:
                response = http.request(
                    kwargs["method"],
                    kwargs["url"],
                    params=kwargs.get("params"),
                    headers=headers,
                    cookies=kwargs.get("cookies"),
                    content=_content(kwargs),
                )
            except httpx.TransportError as exc:  # a connection dropped mid-answer: as bad
                stats.server_errors.append(f"{what} -> {type(exc).__name__}: {exc}")
                continue
            stats.slowest = max(stats.slowest, time.monotonic() - t0)
            if response.status_code >= 500:
                stats.server_errors.append(
                    f"{what} -> {response.status_code} {response.text[:300]}"
                )
            elif not _documented(operation, response.status_code):
                where = f"{case.method} {operation.path}"
                stats.undocumented.append(f"{where} -> {response.status_code}")

    return run


def _content(kwargs: dict) -> bytes | None:
    if "json" in kwargs:
        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("content", kwargs.get("data"))
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    return data


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
