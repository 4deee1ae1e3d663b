"""The hub's running parts, built once per process and handed to every use case."""

from __future__ import annotations

from dataclasses import dataclass, field

from archive.store import ObjectStore
from axis.adapters.database import Database
from axis.config import Settings
from axis.service.checks import PackageCheck
from axis.service.events import EventBus


@dataclass
class Hub:
    settings: Settings
    db: Database
    store: ObjectStore
    checks: list[PackageCheck] = field(default_factory=list)
    events: EventBus = field(default_factory=EventBus)

    def close(self) -> None:
        self.db.dispose()
