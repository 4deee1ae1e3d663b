"""Validate once per certificate, not once per document: revocation data and validated paths
shared by every validation of a process (issue 17).

The hub sees the same leaders' and seals' certificates, the same CAs and the same revocation
answers in document after document; pyHanko, given a fresh ValidationContext per PDF, fetched,
parsed and checked them all again each time. Two caches, both bounded, thread-safe and expiring
no later than the data they rest on would stop being accepted by pyHanko itself:

1. ``RevocationCache``: OCSP responses and CRLs fetched over HTTP, per certificate. They are
   handed out through pyHanko's own fetcher interface, so pyHanko still checks every response
   (signature, responder, freshness) as before; only the HTTP round trip is saved. An entry
   expires at the data's nextUpdate (pyHanko's fallback of thisUpdate + 30 minutes without one)
   and at most ``max_age`` seconds after it was fetched, whichever comes first, a little early
   so that no cached answer is ever judged stale. Concurrent fetches of the same data, from
   any thread, wait for one request. Failed fetches are not kept: the next document asks again.
   Only the first document to need an answer waits for the responder: an answer used in the
   last fifth of its life is fetched again in the background (refresh-ahead) and replaces the
   old one when it arrives; until then, and if the responder is down, the old one is served
   while it is still usable. So under steady traffic no fetch is on the request path.

2. ``PathCache``: the path pyHanko built and validated (RFC 5280 path checks and revocation
   of every certificate in it) for a signer's or a timestamp authority's certificate, keyed by
   that certificate, the engine (trust), the revocation policy, the certificates the document
   carried (paths are built from them) and the revocation data it carried. Used only for
   validation at the current time; an entry expires after ``window`` seconds, when any
   certificate of the path expires, or when the revocation data it was judged with expires,
   whichever is first. Failures are never cached (they are rare and
   each gets the full diagnosis), nor successes reached through a soft-fail exception.

Verdicts stay those of uncached validation (tests/signing/test_validation_cache.py compares
both over the corpora); what caching changes is only *when* a revocation published by a CA is
noticed: at the latest when its previous answer expires, as the CA's own nextUpdate allows.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp
from pyhanko_certvalidator.fetchers.api import CRLFetcher, Fetchers, FetchLimits, OCSPFetcher
from pyhanko_certvalidator.fetchers.common_utils import FetchBudget
from pyhanko_certvalidator.fetchers.requests_fetchers import (
    RequestsCertificateFetcher,
    RequestsCRLFetcher,
    RequestsOCSPFetcher,
)
from pyhanko_certvalidator.policy_decl import FRESHNESS_FALLBACK_VALIDITY_DEFAULT
from pyhanko_certvalidator.util import issuer_serial

from signing._speedups import fully_parsed

log = logging.getLogger(__name__)

# An answer is dropped this long before pyHanko would call it stale (clock steps, slow checks).
EXPIRY_MARGIN = timedelta(seconds=30)
# A refresh that failed is not tried again by every document: once per this long at most.
REFRESH_RETRY = timedelta(seconds=30)


class _Lru:
    """A bounded map of key -> (expires_at as a UTC datetime, value); thread-safe."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key, now: datetime):
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] <= now:
                if item is not None:
                    del self._items[key]
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[1]

    def put(self, key, expires: datetime, value) -> None:
        with self._lock:
            self._items[key] = (expires, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def values(self, now: datetime) -> list:
        with self._lock:
            return [v for exp, v in self._items.values() if exp > now]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key) -> bool:
        return key in self._items


def _now() -> datetime:
    return datetime.now(UTC)


def _usable_until(this_update: datetime | None, next_update: datetime | None) -> datetime | None:
    """The last moment pyHanko's default freshness rule accepts data issued so (less a margin)."""
    if next_update is None:
        if this_update is None:
            return None
        next_update = this_update + FRESHNESS_FALLBACK_VALIDITY_DEFAULT
    return next_update - EXPIRY_MARGIN


def ocsp_usable_until(response: ocsp.OCSPResponse) -> datetime | None:
    try:
        basic = response["response_bytes"]["response"].parsed
        until = None
        for single in basic["tbs_response_data"]["responses"]:
            u = _usable_until(single["this_update"].native, single["next_update"].native)
            if u is None:
                return None
            until = u if until is None else min(until, u)
        return until
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not a successful basic response: not kept


def crl_usable_until(crls: Iterable[asn1_crl.CertificateList]) -> datetime | None:
    until = None
    for c in crls:
        tbs = c["tbs_cert_list"]
        u = _usable_until(tbs["this_update"].native, tbs["next_update"].native)
        if u is None:
            return None
        until = u if until is None else min(until, u)
    return until


class RevocationCache:
    """OCSP responses and CRLs shared by every validation context made with `fetchers()`."""

    def __init__(
        self,
        *,
        per_request_timeout: float = 5.0,
        max_age: float = 3600.0,
        max_entries: int = 4096,
        refresh_ahead: float = 0.2,
    ) -> None:
        self.timeout = per_request_timeout
        self.max_age = timedelta(seconds=max_age)
        self.refresh_ahead = refresh_ahead
        self._data = _Lru(max_entries)
        self._inflight: dict = {}
        self._lock = threading.Lock()
        self._refresh_at: dict = {}  # key -> when a use of its entry fetches it again, ahead
        self._refetch: dict = {}  # key -> (refetch, usable_until) of its last fetch
        self._refreshing: set = set()
        self.fetches = 0  # fetches made on the request path (after deduplication)
        self.fetched: Counter = Counter()  # ... per key, since the last clear()
        self.refreshes = 0  # background fetches that replaced an entry
        self.refresh_failures = 0

    def fetchers(self) -> Fetchers:
        """Fetchers for one validation context (the AIA certificate fetcher is its own)."""
        budget = _budget()
        return Fetchers(
            ocsp_fetcher=_SharedOCSP(self, budget),
            crl_fetcher=_SharedCRL(self, budget),
            cert_fetcher=RequestsCertificateFetcher(
                per_request_timeout=self.timeout, budget=budget
            ),
        )

    def cached(self, key):
        return self._data.get(key, _now())

    def use(self, key):
        """The cached value for `key` (None if there is none), refreshed ahead if due."""
        hit = self.cached(key)
        if hit is not None:
            self._refresh_if_due(key)
        return hit

    def cached_values(self, kind: str) -> list:
        return [v for k, v in self._data_items() if k[0] == kind]

    def _data_items(self):
        now = _now()
        with self._data._lock:
            return [(k, v) for k, (exp, v) in self._data._items.items() if exp > now]

    async def get(self, key, fetch: Callable, usable_until: Callable, refetch: Callable):
        """The cached value for `key`, or the result of `fetch()` (one call however many
        threads ask at once), kept until `usable_until(value)` or max_age. `refetch()` fetches
        it again outside any validation (its own fetch budget), for the refresh ahead."""
        hit = self.use(key)
        if hit is not None:
            return hit
        with self._lock:
            hit = self.cached(key)  # stored while this thread waited for the lock
            if hit is not None:
                return hit
            fut = self._inflight.get(key)
            owner = fut is None
            if owner:
                fut = self._inflight[key] = concurrent.futures.Future()
                self.fetches += 1
                self.fetched[key] += 1
        if not owner:
            return await asyncio.wrap_future(fut)
        try:
            # parsed completely before it is shared: asn1crypto's lazy parsing is not
            # thread-safe (see signing._speedups.fully_parsed)
            value = await fetch()
            for item in value if isinstance(value, list) else [value]:
                fully_parsed(item)
        except BaseException as exc:
            with self._lock:
                self._inflight.pop(key, None)
            fut.set_exception(exc)
            raise
        with self._lock:
            if len(self._refetch) > 2 * self._data.max_entries:  # keys the LRU dropped
                self._refetch = {k: v for k, v in self._refetch.items() if k in self._data}
                self._refresh_at = {k: v for k, v in self._refresh_at.items() if k in self._data}
            self._refetch[key] = (refetch, usable_until)
        self._store(key, value, usable_until)
        with self._lock:  # only once stored: a later asker finds it in the cache
            self._inflight.pop(key, None)
        fut.set_result(value)
        return value

    def _store(self, key, value, usable_until: Callable) -> None:
        until = usable_until(value)
        if until is None:
            return
        now = _now()
        until = min(until, now + self.max_age)
        self._data.put(key, until, value)
        with self._lock:
            self._refresh_at[key] = until - (until - now) * self.refresh_ahead

    def _refresh_if_due(self, key) -> None:
        due = self._refresh_at.get(key)
        now = _now()
        if due is None or now < due:
            return
        with self._lock:
            if key in self._refreshing or key not in self._refetch:
                return
            self._refreshing.add(key)
            self._refresh_at[key] = now + REFRESH_RETRY  # until the refresh stores its own
            refetch, usable_until = self._refetch[key]
        _refresher().submit(self._refresh, key, refetch, usable_until)

    def _refresh(self, key, refetch: Callable, usable_until: Callable) -> None:
        try:
            value = asyncio.run(refetch())
            for item in value if isinstance(value, list) else [value]:
                fully_parsed(item)
            self._store(key, value, usable_until)
            self.refreshes += 1
        except Exception as exc:  # noqa: BLE001 - the old answer serves while it is usable
            self.refresh_failures += 1
            log.warning("refreshing revocation data %s ahead failed: %s", key[0], exc)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def clear(self) -> None:
        self._data.clear()
        with self._lock:
            self._refresh_at.clear()
            self._refetch.clear()
        self.fetches = self.refreshes = self.refresh_failures = 0
        self.fetched.clear()


_refresher_pool: concurrent.futures.ThreadPoolExecutor | None = None
_refresher_lock = threading.Lock()


def _refresher() -> concurrent.futures.ThreadPoolExecutor:
    """Threads for refreshes ahead, made on first use (so after `axis serve` forks)."""
    global _refresher_pool
    with _refresher_lock:
        if _refresher_pool is None:
            _refresher_pool = concurrent.futures.ThreadPoolExecutor(
                2, thread_name_prefix="axis-revocation-refresh"
            )
        return _refresher_pool


def _budget() -> FetchBudget:
    return FetchBudget(FetchLimits())


class _SharedOCSP(OCSPFetcher):
    def __init__(self, cache: RevocationCache, budget: FetchBudget) -> None:
        self.cache = cache
        self.inner = RequestsOCSPFetcher(per_request_timeout=cache.timeout, budget=budget)
        self.seen: dict[bytes, ocsp.OCSPResponse] = {}  # what this context was given

    async def fetch(self, cert, authority) -> ocsp.OCSPResponse:
        key = ("ocsp", issuer_serial(cert))
        timeout = self.cache.timeout

        def refetch():
            fetcher = RequestsOCSPFetcher(per_request_timeout=timeout, budget=_budget())
            return fetcher.fetch(cert, authority)

        resp = await self.cache.get(
            key, lambda: self.inner.fetch(cert, authority), ocsp_usable_until, refetch
        )
        self.seen[key[1]] = resp
        return resp

    def fetched_responses(self) -> Iterable[ocsp.OCSPResponse]:
        return set(self.seen.values())

    def fetched_responses_for_cert(self, cert) -> Iterable[ocsp.OCSPResponse]:
        iss = issuer_serial(cert)
        resp = self.seen.get(iss) or self.cache.use(("ocsp", iss))
        if resp is None:
            return set()
        self.seen[iss] = resp
        return {resp}


class _SharedCRL(CRLFetcher):
    def __init__(self, cache: RevocationCache, budget: FetchBudget) -> None:
        self.cache = cache
        self.budget = budget
        self.seen: dict[bytes, list] = {}

    async def fetch(self, cert, *, use_deltas=True):
        key = ("crl", issuer_serial(cert), use_deltas)

        timeout = self.cache.timeout

        async def fetch_now(budget=self.budget):
            inner = RequestsCRLFetcher(per_request_timeout=timeout, budget=budget)
            return list(await inner.fetch(cert, use_deltas=use_deltas))

        crls = await self.cache.get(key, fetch_now, crl_usable_until, lambda: fetch_now(_budget()))
        self.seen[key[1]] = crls
        return crls

    def fetched_crls(self) -> Iterable[asn1_crl.CertificateList]:
        return {c for crls in self.seen.values() for c in crls}

    def fetched_crls_for_cert(self, cert) -> Iterable[asn1_crl.CertificateList]:
        iss = issuer_serial(cert)
        crls = self.seen.get(iss)
        if crls is None:
            crls = self.cache.use(("crl", iss, True))
            if crls is None:
                raise KeyError(iss)  # pyHanko's signal to fetch
            self.seen[iss] = crls
        return crls


def revinfo_until(fetchers: Fetchers | None, local: tuple) -> Callable[[], datetime | None]:
    """When the revocation data a context was given (`local`: the document's own OCSP
    responses and CRLs) or fetched so far stops being usable, for `mark`."""

    def until() -> datetime | None:
        ocsps, crls = list(local[0]), list(local[1])
        if fetchers is not None:
            ocsps += list(fetchers.ocsp_fetcher.fetched_responses())
            crls += list(fetchers.crl_fetcher.fetched_crls())
        times = [t for t in (ocsp_usable_until(r) for r in ocsps) if t is not None]
        if crls and (t := crl_usable_until(crls)) is not None:
            times.append(t)
        return min(times) if times else None

    return until


class PathCache:
    """Outcomes of successful path validations at the current time (see the module's 2.)."""

    def __init__(self, *, window: float = 300.0, max_entries: int = 4096) -> None:
        self.window = timedelta(seconds=window)
        self._data = _Lru(max_entries)

    def get(self, key, now: datetime):
        return self._data.get(key, now)

    def put(self, key, now: datetime, path, revinfo_until: datetime | None) -> None:
        until = now + self.window
        for cert in path.iter_certs(include_root=True):
            not_after = cert["tbs_certificate"]["validity"]["not_after"].native
            until = min(until, not_after)
        if revinfo_until is not None:
            until = min(until, revinfo_until)
        if until > now:
            for cert in path.iter_certs(include_root=True):
                fully_parsed(cert)  # shared with other threads from now on
            self._data.put(key, until, (path,))

    def clear(self) -> None:
        self._data.clear()

    @property
    def hits(self) -> int:
        return self._data.hits


# -- wiring into pyHanko's path validation -----------------------------------------------------

_ATTR = "_axis_path_cache"  # set on the ValidationContexts that may use a PathCache


def mark(vc, cache: PathCache, context_key: tuple, revinfo_until: Callable[[], datetime | None]):
    """Let `vc` (validating at the current time) use `cache`. `context_key` names everything
    besides the path that decides the outcome (trust, policies, the document's own revocation
    data); `revinfo_until()` tells when the revocation data fetched so far stops being usable."""
    setattr(vc, _ATTR, (cache, context_key, revinfo_until))


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Route pyHanko's `find_valid_path` (the chain of a signer or a timestamp authority: path
    building, then validation) through the cache for contexts that were `mark`ed; others
    build and validate as before."""
    global _installed
    with _install_lock:
        if _installed:
            return
        import pyhanko_certvalidator as pcv
        from pyhanko.sign.validation import generic_cms

        original = pcv.find_valid_path

        async def find_valid_path(
            certificate, paths, validation_context, pkix_validation_params=None
        ):
            marked = getattr(validation_context, _ATTR, None)
            if marked is None or pkix_validation_params is not None:
                return await original(
                    certificate, paths, validation_context, pkix_validation_params
                )
            cache, context_key, revinfo_until = marked
            now = validation_context.moment
            key = (context_key, certificate.dump())
            hit = cache.get(key, max(now, _now()))
            if hit is not None:
                await paths.cancel()
                return hit[0]
            soft = len(validation_context.soft_fail_exceptions)
            path = await original(certificate, paths, validation_context, pkix_validation_params)
            if len(validation_context.soft_fail_exceptions) == soft:
                cache.put(key, now, path, revinfo_until())
            return path

        pcv.find_valid_path = find_valid_path
        generic_cms.find_valid_path = find_valid_path
        _installed = True
