"""Bad questions get a clear 4xx with a stable code, quickly, and change no figure."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.metrics.conftest import XML, A, B, doc, register, running, vn_today


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    env = {
        "AXIS_DATA_DIR": str(base / "data"),
        "AXIS_DATABASE_URL": f"sqlite:///{base / 'axis.db'}",
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }
    with running(env) as live:
        keys = register(live)
        op, a = live.client(keys.operator), live.client(keys.agencies[A])
        yield live, keys, op, a
        op.close()
        a.close()


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        (
            "/v1/stats/agencies",
            {"from": "2026-12-01", "to": "2026-11-01"},
            422,
            "STATS_RANGE_REVERSED",
        ),
        (
            "/v1/stats/agencies",
            {"from": "2000-01-01", "to": "2026-11-01"},
            422,
            "STATS_RANGE_TOO_WIDE",
        ),
        (
            "/v1/stats/agencies",
            {"from": "2025-01-01", "to": "2025-12-31", "granularity": "minute"},
            422,
            "STATS_TOO_MANY_POINTS",
        ),
        ("/v1/stats/agencies", {"granularity": "week"}, 422, "STATS_GRANULARITY_UNKNOWN"),
        ("/v1/stats/agencies", {"from": "01/11/2026"}, 422, "STATS_DATE_INVALID"),
        ("/v1/stats/agencies", {"from": "2026-11-01T08:00:30"}, 422, "STATS_DATE_INVALID"),
        ("/v1/stats/agencies/000.00.00.X99", {}, 404, "AGENCY_NOT_FOUND"),
        ("/v1/stats/documents", {"agency": "000.00.00.X99"}, 404, "AGENCY_NOT_FOUND"),
        ("/v1/stats/documents", {"state": "lost"}, 422, "STATS_STATE_UNKNOWN"),
        ("/v1/stats/documents", {"format": "pdf"}, 422, "REQUEST_INVALID"),
        (
            "/v1/stats/documents",
            {"from": "2019-01-01", "to": "2026-01-01"},
            422,
            "STATS_RANGE_TOO_WIDE",
        ),
    ],
)
def test_bad_questions_get_a_clear_4xx(hub, path, params, status, code):
    _, _, op, _ = hub
    started = time.perf_counter()
    r = op.get(path, params=params)
    assert time.perf_counter() - started < 2
    assert r.status_code == status, r.text
    body = r.json()
    assert code in {body["error"], *(f["code"] for f in body["findings"])}, body
    assert body["message"]


def test_who_may_see_what(hub):
    live, keys, op, a = hub
    assert a.get(f"/v1/stats/agencies/{B}").json()["error"] == "STATS_OTHER_AGENCY"
    assert a.get("/v1/stats/documents", params={"agency": B}).status_code == 403
    assert a.get(f"/v1/stats/agencies/{A}").status_code == 200
    with live.client(live.staff_key("archivist")) as archivist:
        assert archivist.get("/v1/stats/agencies").json()["error"] == "ROLE_NOT_ALLOWED"
    with live.client() as anonymous:
        assert anonymous.get("/v1/stats/agencies").status_code == 401
        r = anonymous.get("/dashboard")  # the console's sign-in page
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_refused_package_counts_as_rejected_and_nothing_else(hub):
    _, _, op, a = hub
    before = op.get(f"/v1/stats/agencies/{A}").json()["totals"]
    body = doc(40)
    assert a.post("/v1/messages", content=body, headers=XML).status_code == 202
    other = doc(40, subject="Một trích yếu khác")
    r = a.post("/v1/messages", content=other, headers=XML)
    assert r.status_code == 409 and r.json()["error"] == "DOCUMENT_ID_CONFLICT"
    after = op.get(f"/v1/stats/agencies/{A}").json()
    assert after["totals"]["sent"] == before["sent"] + 1
    assert after["totals"]["rejected"] == before["rejected"] + 1
    assert after["rejections"].get("DOCUMENT_ID_CONFLICT") == 1


def test_a_wide_month_query_is_answered_from_month_rows(hub):
    _, _, op, _ = hub
    today = vn_today()
    params = {"from": (today - timedelta(days=1800)).isoformat(), "granularity": "month"}
    r = op.get("/v1/stats/agencies", params=params)
    assert r.status_code == 200
    assert len(r.json()["series"]) in (59, 60, 61)


def test_prometheus_drops_per_agency_series_past_the_limit(sqlite_env):
    env = {**sqlite_env, "AXIS_METRICS_PER_AGENCY_MAX": "2", "AXIS_METRICS_TOKEN": "s3cret"}
    with running(env) as live:
        keys = register(live)
        with live.client(keys.agencies[A]) as a:
            assert a.post("/v1/messages", content=doc(60), headers=XML).status_code == 202
        with live.client() as scraper:
            assert scraper.get("/metrics").status_code == 401
            text = scraper.get("/metrics", headers={"Authorization": "Bearer s3cret"}).text
        assert "axis_hub_documents_sent_total 1.0" in text
        assert "axis_agency_" not in text  # 3 agencies with figures > 2: hub totals only
        assert "axis_agencies_with_figures 3.0" in text
