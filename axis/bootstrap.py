"""Composition root: settings → database, object store, checks → a Hub."""

from __future__ import annotations

from archive import open_store
from axis.adapters import migrations
from axis.adapters.database import Database
from axis.config import Settings
from axis.service import evidence, federation, metrics, push, sealing
from axis.service.checks import PackageCheck
from axis.service.context import Hub


def default_checks(settings: Settings) -> list[PackageCheck]:
    """The checks a document passes, in order (signatures before the rules that read them)."""
    from axis.checks.rules import RulesCheck
    from axis.checks.signatures import SignaturesCheck

    return [
        SignaturesCheck.from_settings(settings),
        RulesCheck.from_settings(settings.rules, settings.cert_agency_map),
    ]


def build_hub(settings: Settings | None = None, *, create_schema: bool = True) -> Hub:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous)
    # create_schema: bring any database to the latest revision (tests, scratch databases).
    # Servers and commands pass False: an outdated schema stops them with SchemaOutdated
    # ("run `axis db upgrade`"); only a fresh embedded SQLite is created (one-command default).
    migrations.prepare(db.engine, create=create_schema, embedded=settings.database_url is None)
    store = open_store(settings.resolved_store_url)
    hub = Hub(settings=settings, db=db, store=store, checks=default_checks(settings))
    push.subscribe(hub)  # push jobs are enqueued in the transaction that accepts a message
    federation.subscribe(hub)  # so are forward jobs, for recipients behind the upstream hub
    metrics.install(hub)  # per-agency figures, recorded in the same transactions
    sealing.subscribe(hub)  # a completed document's status history is sealed in its record
    evidence.install(hub)  # signed receipts and the tamper-evident log (issue 18)
    return hub
