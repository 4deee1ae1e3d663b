"""Prometheus: request metrics measured in this process, and the hub's figures read from the
database at scrape time.

The figures come from the same tables as the stats API, so /metrics agrees with it and does not
restart from zero when the hub restarts. Label sets are bounded: HTTP routes by their template
(never a path with an id in it), finding codes by a fixed cap, and one series per agency only
while the agencies with figures number at most `metrics_per_agency_max`.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from axis.adapters.metrics_tables import HUB
from axis.api.deps import authenticate
from axis.domain import Forbidden
from axis.service import stats
from axis.service.metrics import BUCKET_BASE

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_CODES = 100  # finding codes are a fixed vocabulary; the cap only guards against surprises
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Latency bucket bounds that are exact bounds of the stored histogram: 2**j ms = BUCKET_BASE**(8j).
_LATENCY_POWERS = tuple(range(2, 38, 2))  # 4 ms … 2**36 ms (about 2.2 years)

# (metric name, counter column, help)
FIGURES = (
    ("documents_sent", "sent", "Document packages accepted from the agency"),
    ("documents_received", "received", "Document deliveries to the agency"),
    ("packages_accepted", "accepted", "Packages (documents and statuses) accepted"),
    ("packages_rejected", "rejected", "Packages refused with a 4xx"),
    ("documents_acknowledged", "acknowledged", "Document deliveries acknowledged"),
    ("documents_completed", "completed", "Documents completed (first status 06)"),
    ("statuses", "statuses", "Status packages sent"),
    ("revokes", "revokes", "Revoke packages sent"),
    ("bytes_sent", "bytes_sent", "Bytes of the packages accepted"),
    ("bytes_received", "bytes_received", "Bytes of the documents delivered"),
)


class FiguresCollector(Collector):
    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    def collect(self) -> Iterator:
        hub = self.app.state.hub
        if hub is None:
            return
        totals = stats.all_time_totals(hub)
        hub_totals = totals.pop(HUB)
        codes = hub_totals.pop("_codes")
        per_agency = len(totals) <= hub.settings.metrics_per_agency_max
        for name, column, help_text in FIGURES:
            family = CounterMetricFamily(f"axis_hub_{name}", help_text + " (whole hub)")
            family.add_metric([], hub_totals[column])
            yield family
            if per_agency:
                family = CounterMetricFamily(f"axis_agency_{name}", help_text, labels=["agency"])
                for code in sorted(totals):
                    family.add_metric([code], totals[code][column])
                yield family
        yield from self._per_system(hub, totals)
        gauge = GaugeMetricFamily(
            "axis_agencies_with_figures", "Agencies with at least one figure recorded"
        )
        gauge.add_metric([], len(totals))
        yield gauge
        rejections = CounterMetricFamily(
            "axis_hub_rejections", "Refused packages by finding code", labels=["code"]
        )
        statuses = CounterMetricFamily(
            "axis_hub_status_codes", "Statuses sent by status code", labels=["code"]
        )
        kept = 0
        for (kind, code), n in sorted(codes.items()):
            if kind == "S":
                statuses.add_metric([code], n)
            elif kept < MAX_CODES:
                rejections.add_metric([code], n)
                kept += 1
        yield rejections
        yield statuses
        yield from self._latency(hub)
        if hub.settings.upstream_enabled:
            yield from self._upstream(hub)

    def _upstream(self, hub) -> Iterator:  # noqa: ANN001
        from axis.service import federation

        fig = federation.figures(hub)
        label = [fig["upstream"] or ""]
        for name, key, help_text, kind in (
            ("forwarded", "forwarded", "Packages the upstream hub accepted", "c"),
            ("forward_failures", "failures", "Failed attempts to forward upstream", "c"),
            ("pulled", "pulled", "Packages taken from the upstream hub", "c"),
            ("pull_refused", "pull_refused", "Packages from the upstream hub refused", "c"),
            ("pending", "pending", "Packages waiting to be forwarded upstream", "g"),
            ("dead_letters", "dead", "Forwards given up on", "g"),
            ("oldest_pending_seconds", "oldest_pending_s", "Age of the oldest waiting", "g"),
            ("directory_agencies", "directory_agencies", "Agencies of the upstream directory", "g"),
        ):
            family_type = CounterMetricFamily if kind == "c" else GaugeMetricFamily
            family = family_type(f"axis_upstream_{name}", help_text, labels=["upstream"])
            family.add_metric(label, fig[key])
            yield family

    def _per_system(self, hub, totals: dict) -> Iterator:  # noqa: ANN001
        """A connected system's figures: the sums over the agencies it hosts (VXP)."""
        per_system = stats.per_system(hub, totals)
        if not per_system:
            return
        for name, column, help_text in FIGURES:
            family = CounterMetricFamily(
                f"axis_system_{name}", help_text + " (agencies a system hosts)", labels=["system"]
            )
            for system_id in sorted(per_system):
                family.add_metric([system_id], per_system[system_id].get(column, 0))
            yield family

    def _latency(self, hub) -> Iterator:  # noqa: ANN001
        hists = stats.all_time_latency(hub)
        for kind, name, help_text in (
            ("A", "axis_hub_ack_latency_seconds", "Submission to acknowledgement"),
            ("C", "axis_hub_completion_latency_seconds", "Submission to completion (06)"),
        ):
            hist, total_ms = hists[kind]
            buckets, cumulative, total = [], 0, sum(hist.values())
            ordered = sorted(hist.items())
            i = 0
            for j in _LATENCY_POWERS:
                bound = 8 * j  # stored buckets below this index hold times < 2**j ms
                while i < len(ordered) and ordered[i][0] < bound:
                    cumulative += ordered[i][1]
                    i += 1
                buckets.append((_le(2**j / 1000), cumulative))
            buckets.append(("+Inf", total))
            family = HistogramMetricFamily(name, help_text)
            family.add_metric([], buckets, total_ms / 1000)
            yield family


class FaultsCollector(Collector):
    """How this process met failing clients and a failing store (axis.api.guard,
    axis.service.failures), and what the store reaper removed (from the database)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app

    def collect(self) -> Iterator:
        from axis.service.failures import ALERTS

        counts = getattr(self.app.state, "guard_counts", None)
        for name, value, help_text in (
            (
                "axis_http_client_disconnects",
                counts.disconnects if counts else 0,
                "Requests whose client went away before its body arrived (aborted uploads)",
            ),
            (
                "axis_http_body_timeouts",
                counts.body_timeouts if counts else 0,
                "Requests answered 408: the body did not arrive within AXIS_BODY_TIMEOUT_S",
            ),
            (
                "axis_store_objects_missing",
                ALERTS.get("store_objects_missing"),
                "Reads of an object a record names that the store no longer has (alert)",
            ),
        ):
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], value)
            yield family
        hub = self.app.state.hub
        if hub is not None:
            from axis.service import reaper

            totals = reaper.totals(hub)
            for name, key, help_text in (
                ("axis_store_reaped_objects", "objects", "Orphan objects the reaper removed"),
                ("axis_store_reaped_temp_files", "temp_files", "Temporary files it removed"),
                ("axis_store_reaped_bytes", "bytes", "Bytes it reclaimed"),
            ):
                family = CounterMetricFamily(name, help_text)
                family.add_metric([], totals[key])
                yield family


def _le(seconds: float) -> str:
    return f"{seconds:.6g}"


class Observability:
    """The registry of one app: HTTP metrics and the figures collector."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter(
            "axis_http_requests",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "axis_http_request_duration_seconds",
            "HTTP request time by route template",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(FiguresCollector(app))
        self.registry.register(FaultsCollector(app))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware timing every HTTP request (pure ASGI: no buffering of streamed bodies)."""

    def __init__(self, app, observability: Observability) -> None:  # noqa: ANN001
        self.app = app
        self.obs = observability
        # The label children of each (method, route, status), looked up once: `labels()` checks
        # and locks on every call. Bounded like the label sets themselves (route templates).
        self._series: dict[tuple[str, str, int], tuple] = {}

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message) -> None:  # noqa: ANN001
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            status = scope.get("axis.status", status)  # 408, 499: see axis.api.guard
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            key = (method, template, status)
            series = self._series.get(key)
            if series is None:
                series = (
                    self.obs.requests.labels(method, template, str(status)),
                    self.obs.duration.labels(method, template),
                )
                self._series[key] = series
            series[0].inc()
            series[1].observe(time.perf_counter() - started)


assert abs(BUCKET_BASE**8 - 2) < 1e-9  # the exact-bound trick above relies on it


def mount(app) -> Observability:  # noqa: ANN001
    """Add the request middleware and the /metrics route to a FastAPI app."""
    obs = Observability(app)
    app.state.observability = obs
    app.add_middleware(RequestMetrics, observability=obs)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        # per-agency counters are the agencies' business: an operator key, or the scrape token
        token = request.app.state.hub.settings.metrics_token
        header = request.headers.get("authorization", "")
        if not (token and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())):
            principal = await authenticate(request)
            if not principal.is_operator:
                raise Forbidden(
                    "/metrics needs an operator key or AXIS_METRICS_TOKEN", code="ROLE_NOT_OPERATOR"
                )
        return Response(await run_in_threadpool(obs.render), media_type=CONTENT_TYPE)

    return obs
