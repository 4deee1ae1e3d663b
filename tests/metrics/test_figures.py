"""The figures equal the traffic that made them, on SQLite and PostgreSQL, also after a restart;
and the API, the CSV and XLSX exports and Prometheus agree with each other."""

from __future__ import annotations

import csv
import io
import math
from datetime import timedelta

from openpyxl import load_workbook
from prometheus_client.parser import text_string_to_metric_families

from tests.metrics.conftest import (
    AGENCIES,
    A,
    B,
    C,
    D,
    generate_traffic,
    operator,
    register,
    running,
    traffic_range,
    vn_today,
)

CHECKED = (
    "sent",
    "received",
    "accepted",
    "rejected",
    "acknowledged",
    "completed",
    "statuses",
    "revokes",
    "bytes_received",
    "due",
    "on_time",
    "late",
    "due_passed",
    "overdue",
    "overdue_open",
)


def _figures(totals: dict) -> dict:
    return {k: totals[k] for k in CHECKED}


def _expected(ex, code: str) -> dict:
    return {k: ex.counts[code][k] for k in CHECKED}


def _csv_rows(client, **params) -> list[dict]:
    r = client.get("/v1/stats/documents", params={**traffic_range(), **params, "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def _nearest_rank(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def _prometheus(client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_figures_equal_the_traffic_and_survive_a_restart(hub_env):
    with running(hub_env) as live:
        keys = register(live)
        ex = generate_traffic(live, keys)
        with operator(live, keys) as op:
            first = op.get("/v1/stats/agencies", params=traffic_range())
            assert first.status_code == 200, first.text
            body = first.json()
            assert _figures(body["totals"]) == _expected(ex, "")
            listed = {a["code"]: a for a in body["agencies"]}
            assert set(listed) == set(AGENCIES)
            for code in AGENCIES:
                assert _figures(listed[code]) == _expected(ex, code), code
                one = op.get(f"/v1/stats/agencies/{code}", params=traffic_range()).json()
                assert _figures(one["totals"]) == _expected(ex, code), code
            assert body["rejections"] == dict(ex.rejections)
            assert body["statuses"] == dict(ex.statuses)
            assert listed[D]["bytes_sent"] == ex.counts[D]["bytes_sent"]
            assert body["totals"]["on_time_rate"] == 0.0  # every passed deadline was missed
            # A range wholly in the past (deadlines read from the same rows) agrees.
            past = {**traffic_range(), "to": (vn_today() - timedelta(days=1)).isoformat()}
            before = op.get("/v1/stats/agencies", params=past).json()["totals"]
            assert (before["due_passed"], before["overdue"]) == (4, ex.counts[""]["overdue"])
            assert before["sent"] == 0  # all of it was sent today
            # The series adds up to the totals.
            for name in ("sent", "received", "acknowledged", "completed", "rejected"):
                assert sum(p[name] for p in body["series"]) == body["totals"][name]

    # A new hub on the same database reads the same figures.
    with running(hub_env) as live:
        op = live.client(keys.operator)
        again = op.get("/v1/stats/agencies", params=traffic_range())
        assert again.json()["totals"] == body["totals"]
        assert again.json()["agencies"] == body["agencies"]
        op.close()


def test_api_csv_xlsx_and_prometheus_agree(hub_env):
    with running(hub_env) as live:
        keys = register(live)
        ex = generate_traffic(live, keys)
        op = operator(live, keys)
        hub = op.get("/v1/stats/agencies", params=traffic_range()).json()
        per = {a["code"]: a for a in hub["agencies"]}

        # The detailed list: one row per document and recipient.
        rows = _csv_rows(op)
        assert len(rows) == 5 * 2 + 1  # A's five documents to B and C, D's one to A
        assert {r["recipient"] for r in rows if r["sender"] == A} == {B, C}
        for code in (A, B, C):
            completed = _csv_rows(op, agency=code, by="completed", state="completed")
            received_completed = [r for r in completed if r["recipient"] == code]
            assert len(received_completed) == per[code]["completed"], code
        overdue = _csv_rows(op, by="due", state="overdue")
        assert len(overdue) == hub["totals"]["overdue"] == ex.counts[""]["overdue"]
        assert {r["deadline_state"] for r in overdue} == {"late", "overdue"}
        revoked = [r for r in rows if r["revoked"] == "yes"]
        assert {r["document_id"] for r in revoked} == {ex.document_ids[5]}

        # Percentiles (histogram, ±4.4%) bracket the exact times the list carries.
        c_rows = [r for r in rows if r["recipient"] == C and r["ack_seconds"]]
        one = op.get(f"/v1/stats/agencies/{C}", params=traffic_range()).json()
        acks = [float(r["ack_seconds"]) for r in c_rows]
        assert one["totals"]["latency"]["ack"]["count"] == len(acks) == 3
        for p in (50, 95, 99):
            exact = _nearest_rank(acks, p)
            got = one["totals"]["latency"]["ack"][f"p{p}_s"]
            assert abs(got - exact) <= 0.045 * exact + 0.002, (p, got, exact)
        assert abs(one["totals"]["ack_mean_s"] - sum(acks) / len(acks)) <= 0.002

        # An agency sees its own list and figures, not another's.
        with live.client(keys.agencies[C]) as c:
            own = c.get("/v1/stats/documents", params={**traffic_range(), "format": "json"})
            assert own.status_code == 200
            assert {r["recipient"] for r in own.json()["items"]} == {C}
            assert c.get(f"/v1/stats/agencies/{B}").json()["error"] == "STATS_OTHER_AGENCY"
            mine = c.get("/v1/stats/agencies", params=traffic_range()).json()
            assert [a["code"] for a in mine["agencies"]] == [C]
            assert mine["totals"]["received"] == per[C]["received"]

        # The workbook holds the same rows as the CSV.
        x = op.get("/v1/stats/documents", params={**traffic_range(), "format": "xlsx"})
        assert x.status_code == 200
        sheet = load_workbook(io.BytesIO(x.content), read_only=True)["documents"]
        table = [[("" if v is None else str(v)) for v in row] for row in sheet.values]
        assert table[0] == list(rows[0].keys())
        assert [r[0] for r in table[1:]] == [r["document_id"] for r in rows]
        assert [r[4] for r in table[1:]] == [r["recipient"] for r in rows]

        # Prometheus reads the same tables; all the traffic is in the range, so all-time = range.
        prom = _prometheus(op)
        assert prom[("axis_hub_documents_sent_total", ())] == hub["totals"]["sent"]
        assert prom[("axis_hub_packages_rejected_total", ())] == hub["totals"]["rejected"]
        assert prom[("axis_hub_documents_completed_total", ())] == hub["totals"]["completed"]
        for code in AGENCIES:
            labels = (("agency", code),)
            assert prom[("axis_agency_documents_sent_total", labels)] == per[code]["sent"]
            assert prom[("axis_agency_documents_received_total", labels)] == per[code]["received"]
        for code, n in hub["rejections"].items():
            assert prom[("axis_hub_rejections_total", (("code", code),))] == n
        assert prom[("axis_hub_ack_latency_seconds_count", ())] == hub["totals"]["acknowledged"]
        mean = prom[("axis_hub_ack_latency_seconds_sum", ())] / hub["totals"]["acknowledged"]
        assert abs(mean - hub["totals"]["ack_mean_s"]) < 0.001
        # Request metrics carry route templates, never ids.
        routes = {dict(k[1]).get("route") for k in prom if k[0] == "axis_http_requests_total"}
        assert "/v1/messages/{message_id}/ack" in routes
        assert not any(r and ex.message_ids[1] in r for r in routes)
        op.close()
