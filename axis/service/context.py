"""The hub's running parts, built once per process and handed to every use case."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from archive.store import ObjectStore
from axis.adapters.database import Database
from axis.adapters.secret_box import SecretBox
from axis.config import Settings
from axis.service.checks import PackageCheck
from axis.service.events import EventBus
from axis.service.signers import SignerRegistry


@dataclass
class Hub:
    settings: Settings
    db: Database
    store: ObjectStore
    checks: list[PackageCheck] = field(default_factory=list)
    events: EventBus = field(default_factory=EventBus)
    evidence: Any = None  # axis.service.evidence.Evidence when AXIS_EVIDENCE_ENABLED

    @cached_property
    def secret_box(self) -> SecretBox:
        s = self.settings
        return SecretBox.from_config(s.secret_key, s.secret_key_file, s.data_dir)

    @cached_property
    def signers(self) -> SignerRegistry:
        return SignerRegistry(self.settings.signers, self.settings.trust_root_paths)

    def close(self) -> None:
        self.db.dispose()
