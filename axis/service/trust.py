"""The trust list as the settings choose it: the shipped Vietnamese anchors (unless
AXIS_TRUST_SHIPPED=false), the operator's local changes under <data_dir>/trust, and the
roots and intermediates of AXIS_TRUST_ROOTS / AXIS_TRUST_INTERMEDIATES.

The hub reads it once at start (a change counts from the next start); `axis verify` reads it
on every run. `axis trust add|remove` write the local changes.
"""

from __future__ import annotations

from pathlib import Path

from axis.config import Settings
from signing.trustlist import Anchor, LocalTrust, Role, TrustList, effective, load_manifest


def trust_list(
    settings: Settings,
    *,
    shipped: bool | None = None,
    roots: list[str] | None = None,
    intermediates: list[str] | None = None,
) -> TrustList:
    """Raises ``signing.trust.TrustError`` on a bad file (a shipped one included)."""
    return effective(
        shipped=settings.trust_shipped if shipped is None else shipped,
        local_dir=settings.trust_local_dir,
        roots=settings.trust_root_paths if roots is None else roots,
        intermediates=(
            settings.trust_intermediate_paths if intermediates is None else intermediates
        ),
    )


def add(settings: Settings, path: Path, role: Role | None, name: str | None) -> list[Anchor]:
    shipped = load_manifest().anchors
    return LocalTrust(settings.trust_local_dir).add(path, role=role, name=name, shipped=shipped)


def remove(settings: Settings, key: str) -> Anchor:
    """Remove by SHA-256 prefix or name; a shipped anchor is recorded as removed locally.
    Raises KeyError when nothing matches."""
    tl = trust_list(settings)
    anchor = tl.find(key)
    LocalTrust(settings.trust_local_dir).remove(anchor)
    return anchor
