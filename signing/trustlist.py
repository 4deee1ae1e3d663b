"""The trust list: Vietnam's public trust anchors shipped with axis, the operator's local
changes on top of them, and the roots and intermediates configured by path.

    tl = effective(shipped=True, local_dir=data_dir / "trust", roots=["/etc/axis/roots"])
    tl.identity()          # {"version": "vn-2026.12.2", "sha256": "..."}: recorded in reports
    tl.trust_config()      # signing.validate.TrustConfig for ValidationConfig

The shipped list lives in ``signing/anchors/vn/``: certificate files and ``manifest.yml``
(version, and for each certificate its role, name, source, SHA-256 and validity). Loading
checks every file against the manifest's fingerprint, so an edited file stops the hub at start.

Local changes (``axis trust add|remove``) are kept in ``<local_dir>/local.yml`` with the added
certificates beside it; removing a shipped anchor records its fingerprint there. They count on
the next validation config built (``axis verify`` at once, the hub on its next start).

Issuers fetched through AIA (caIssuers) while validating are remembered for a while
(``ISSUERS``), so the next document from the same CA does not fetch them again.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from asn1crypto import x509

from signing import _speedups
from signing.trust import TrustError, load_certs, parse_certs

if TYPE_CHECKING:
    from signing.validate import TrustConfig

SHIPPED_DIR = Path(__file__).parent / "anchors" / "vn"
Role = Literal["root", "intermediate"]
Origin = Literal["shipped", "local", "configured"]
ROLES: tuple[str, ...] = ("root", "intermediate")
LOCAL_FILE = "local.yml"


@dataclass(frozen=True)
class Anchor:
    """One certificate of the trust list."""

    cert: x509.Certificate
    role: Role
    origin: Origin
    name: str
    file: str | None = None
    operator: str | None = None
    note: str | None = None
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return self.cert.sha256.hex()

    def status(self, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        if now < self.cert.not_valid_before:
            return "not_yet_valid"
        if now > self.cert.not_valid_after:
            return "expired"
        return "valid"

    def describe(self, *, details: bool = False) -> dict[str, Any]:
        c = self.cert
        out: dict[str, Any] = {
            "name": self.name,
            "role": self.role,
            "origin": self.origin,
            "sha256": self.sha256,
            "not_before": c.not_valid_before.isoformat(),
            "not_after": c.not_valid_after.isoformat(),
            "status": self.status(),
        }
        if details:
            out.update(
                subject=c.subject.human_friendly,
                issuer=c.issuer.human_friendly,
                serial=format(c.serial_number, "x"),
                self_signed=c.self_signed in ("maybe", "yes"),
                key_algorithm=c.public_key.algorithm,
                key_bits=c.public_key.bit_size,
                signature_algorithm=c.signature_algo,
                ca_issuers=[u for u in _ca_issuer_urls(c)],
                operator=self.operator,
                note=self.note,
                file=self.file,
                source=self.source,
            )
        return out


def _ca_issuer_urls(cert: x509.Certificate) -> Iterable[str]:
    aia = cert.authority_information_access_value
    for desc in aia or ():
        if desc["access_method"].native == "ca_issuers":
            yield desc["access_location"].native


def _name(cert: x509.Certificate) -> str:
    return cert.subject.native.get("common_name") or cert.subject.human_friendly


def _role_of(cert: x509.Certificate) -> Role:
    return "root" if cert.self_signed in ("maybe", "yes") else "intermediate"


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s).casefold()


def identity(
    roots: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate],
    version: str | None = None,
) -> dict[str, Any]:
    """What a validation report records of the trust it used: the list's version and the
    SHA-256 over its certificates (role and fingerprint, sorted), which names the exact set."""
    lines = sorted(
        [f"root:{c.sha256.hex()}" for c in roots]
        + [f"intermediate:{c.sha256.hex()}" for c in intermediates]
    )
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return {"version": version, "sha256": digest}


# -- the shipped list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    published: str | None
    anchors: tuple[Anchor, ...]

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


def load_manifest(directory: str | os.PathLike = SHIPPED_DIR) -> Manifest:
    """Read a trust list directory (manifest.yml and its certificate files); every file must
    hold one certificate whose SHA-256 is the manifest's."""
    d = Path(directory)
    try:
        raw = yaml.safe_load((d / "manifest.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TrustError(f"trust list manifest unreadable in {d}: {exc}") from exc
    anchors = []
    for entry in raw.get("certificates") or []:
        path = d / entry["file"]
        try:
            certs = parse_certs(path.read_bytes())
        except Exception as exc:
            raise TrustError(f"trust list file unreadable: {path}: {exc}") from exc
        if len(certs) != 1:
            raise TrustError(f"trust list file must hold one certificate: {path}")
        cert = certs[0]
        if cert.sha256.hex() != str(entry["sha256"]).lower():
            raise TrustError(
                f"trust list file {path} has SHA-256 {cert.sha256.hex()}, "
                f"the manifest says {entry['sha256']}"
            )
        role = entry.get("role")
        if role not in ROLES:
            raise TrustError(f"trust list entry {path.name}: role must be one of {ROLES}")
        anchors.append(
            Anchor(
                cert=cert,
                role=role,
                origin="shipped",
                name=entry.get("name") or _name(cert),
                file=entry["file"],
                operator=entry.get("operator"),
                note=entry.get("note"),
                source=dict(entry.get("source") or {}),
            )
        )
    return Manifest(
        name=str(raw.get("name", "vn")),
        version=str(raw["version"]),
        published=raw.get("published"),
        anchors=tuple(anchors),
    )


# -- the operator's local changes --------------------------------------------------------


class LocalTrust:
    """Additions and removals kept under the data dir, on top of the shipped list."""

    def __init__(self, directory: str | os.PathLike) -> None:
        self.dir = Path(directory)
        self.file = self.dir / LOCAL_FILE

    def _read(self) -> dict[str, list[dict[str, Any]]]:
        if not self.file.exists():
            return {"added": [], "removed": []}
        try:
            raw = yaml.safe_load(self.file.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TrustError(f"local trust list unreadable: {self.file}: {exc}") from exc
        return {"added": list(raw.get("added") or []), "removed": list(raw.get("removed") or [])}

    def _write(self, data: dict[str, list[dict[str, Any]]]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        os.replace(tmp, self.file)

    @property
    def changed(self) -> bool:
        data = self._read()
        return bool(data["added"] or data["removed"])

    def removed(self) -> set[str]:
        return {str(r["sha256"]).lower() for r in self._read()["removed"]}

    def anchors(self) -> list[Anchor]:
        out = []
        for entry in self._read()["added"]:
            path = self.dir / entry["file"]
            try:
                cert = parse_certs(path.read_bytes())[0]
            except Exception as exc:
                raise TrustError(f"local trust certificate unreadable: {path}: {exc}") from exc
            if cert.sha256.hex() != entry["sha256"]:
                raise TrustError(f"local trust certificate {path} does not match local.yml")
            out.append(
                Anchor(
                    cert=cert,
                    role=entry["role"],
                    origin="local",
                    name=entry.get("name") or _name(cert),
                    file=str(path),
                    note=entry.get("note"),
                    source={"added_at": entry.get("added_at"), "from": entry.get("from")},
                )
            )
        return out

    def add(
        self,
        path: str | os.PathLike,
        role: Role | None = None,
        name: str | None = None,
        shipped: Iterable[Anchor] = (),
    ) -> list[Anchor]:
        """Add every CA certificate of a PEM/DER file. A shipped anchor (one of ``shipped``)
        that was removed comes back as shipped rather than as a local addition."""
        shipped_by_fp = {a.sha256: a for a in shipped}
        try:
            certs = parse_certs(Path(path).read_bytes())
        except OSError as exc:
            raise TrustError(f"cannot read {path}: {exc.strerror or exc}") from exc
        except Exception as exc:
            raise TrustError(f"not a certificate file: {path}: {exc}") from exc
        if not certs:
            raise TrustError(f"no certificate in {path}")
        if role is not None and role not in ROLES:
            raise TrustError(f"role must be one of {ROLES}")
        data = self._read()
        added = []
        for cert in certs:
            bc = cert.basic_constraints_value
            if bc is None or not bc["ca"].native:
                raise TrustError(
                    f"{_name(cert)} is not a CA certificate (basicConstraints cA): "
                    "only CA certificates can be trust anchors or intermediates"
                )
            fp = cert.sha256.hex()
            data["removed"] = [r for r in data["removed"] if r["sha256"] != fp]
            data["added"] = [a for a in data["added"] if a["sha256"] != fp]
            if fp in shipped_by_fp and role in (None, shipped_by_fp[fp].role):
                added.append(shipped_by_fp[fp])
                continue
            fname = f"{fp}.der"
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / fname).write_bytes(cert.dump())
            entry = {
                "sha256": fp,
                "role": role or _role_of(cert),
                "name": name or _name(cert),
                "file": fname,
                "from": str(Path(path).resolve()),
                "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            data["added"].append(entry)
            added.append(
                Anchor(
                    cert=cert,
                    role=entry["role"],
                    origin="local",
                    name=entry["name"],
                    file=str(self.dir / fname),
                )
            )
        self._write(data)
        return added

    def remove(self, anchor: Anchor) -> None:
        data = self._read()
        fp = anchor.sha256
        if anchor.origin == "local":
            data["added"] = [a for a in data["added"] if a["sha256"] != fp]
            (self.dir / f"{fp}.der").unlink(missing_ok=True)
        elif anchor.origin == "shipped":
            if fp not in {r["sha256"] for r in data["removed"]}:
                data["removed"].append(
                    {
                        "sha256": fp,
                        "name": anchor.name,
                        "removed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                )
        else:
            raise TrustError(
                f"{anchor.name} comes from AXIS_TRUST_ROOTS/AXIS_TRUST_INTERMEDIATES: "
                "change that setting instead"
            )
        self._write(data)


# -- the effective list ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrustList:
    version: str | None  # e.g. "vn-2026.12.2", "+local" when the operator changed it
    anchors: tuple[Anchor, ...]
    shipped_version: str | None = None
    removed: tuple[str, ...] = ()  # fingerprints of shipped anchors removed locally

    @property
    def roots(self) -> list[x509.Certificate]:
        return [a.cert for a in self.anchors if a.role == "root"]

    @property
    def intermediates(self) -> list[x509.Certificate]:
        return [a.cert for a in self.anchors if a.role == "intermediate"]

    @cached_property
    def _identity(self) -> dict[str, Any]:
        return identity(self.roots, self.intermediates, self.version)

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    def find(self, key: str) -> Anchor:
        """An anchor by SHA-256 (a prefix of 8 or more hex digits), by name, by file name
        (``rootcag2``), or by a part of its name that only one certificate has."""
        k = key.strip().lower().replace(":", "")
        hits: list[Anchor] = []
        if len(k) >= 8 and all(ch in "0123456789abcdef" for ch in k):
            hits = [a for a in self.anchors if a.sha256.startswith(k)]
        want = _nfc(key.strip())
        for match in (
            lambda a: _nfc(a.name) == want,
            lambda a: a.file is not None and _nfc(Path(a.file).stem) == want,
            lambda a: want in _nfc(a.name),
        ):
            if hits:
                break
            hits = [a for a in self.anchors if match(a)]
        if not hits:
            raise KeyError(key)
        if len({a.sha256 for a in hits}) > 1:
            raise TrustError(f"{key!r} names more than one certificate: give more of the SHA-256")
        return hits[0]

    def trust_config(self) -> TrustConfig:
        from signing.validate import TrustConfig

        return TrustConfig(tuple(self.roots), tuple(self.intermediates), self.identity())


def effective(
    *,
    shipped: bool = True,
    local_dir: str | os.PathLike | None = None,
    roots: Iterable[str | os.PathLike] = (),
    intermediates: Iterable[str | os.PathLike] = (),
    shipped_dir: str | os.PathLike = SHIPPED_DIR,
) -> TrustList:
    """The shipped list (unless ``shipped`` is off), less the local removals, plus the local
    additions, plus the configured roots and intermediates (self-signed ones in ``roots``
    become roots, the others intermediates, as ``signing.validate.load_trust`` does)."""
    anchors: list[Anchor] = []
    version: str | None = None
    shipped_version = None
    local = LocalTrust(local_dir) if local_dir is not None else None
    removed = local.removed() if local is not None else set()
    if shipped:
        m = load_manifest(shipped_dir)
        version = shipped_version = m.label
        anchors += [a for a in m.anchors if a.sha256 not in removed]
    if local is not None and local.changed:
        anchors += local.anchors()
        version = f"{version}+local" if version else "local"
    configured = [
        Anchor(cert=c, role=_role_of(c), origin="configured", name=_name(c))
        for c in load_certs(roots)
    ] + [
        Anchor(cert=c, role="intermediate", origin="configured", name=_name(c))
        for c in load_certs(intermediates)
    ]
    if configured:
        version = f"{version}+configured" if version else "configured"
    seen: set[tuple[str, str]] = set()
    unique = []
    for a in anchors + configured:
        if (a.role, a.sha256) not in seen:
            seen.add((a.role, a.sha256))
            unique.append(a)
    return TrustList(version, tuple(unique), shipped_version, tuple(sorted(removed)))


# -- issuers fetched through AIA ---------------------------------------------------------


class IssuerCache:
    """CA certificates fetched from caIssuers URLs, kept ``ttl`` seconds (at most
    ``max_entries``): they only ever help build a path, which must still end at a trust root."""

    def __init__(self, ttl: float = 24 * 3600, max_entries: int = 256) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._certs: dict[bytes, tuple[float, x509.Certificate]] = {}

    def certs(self) -> list[x509.Certificate]:
        now = time.monotonic()
        with self._lock:
            stale = [k for k, (t, _c) in self._certs.items() if now - t > self.ttl]
            for k in stale:
                del self._certs[k]
            return [c for _t, c in self._certs.values()]

    def add(self, cert: x509.Certificate) -> None:
        bc = cert.basic_constraints_value
        if bc is None or not bc["ca"].native:
            return
        _speedups.warm(cert)  # shared with every later validation's thread
        with self._lock:
            if len(self._certs) >= self.max_entries and cert.sha256 not in self._certs:
                oldest = min(self._certs, key=lambda k: self._certs[k][0])
                del self._certs[oldest]
            self._certs[cert.sha256] = (time.monotonic(), cert)

    def remember(self, validation_context) -> None:
        """Keep what a validation context's certificate fetcher brought in."""
        fetcher = getattr(validation_context.certificate_registry, "fetcher", None)
        if fetcher is None:
            return
        try:
            # pyhanko_certvalidator's requests fetcher keeps results per URL; its
            # fetched_certs() puts lists in a set (TypeError), so read the pairs instead
            results = getattr(fetcher, "_iter_results", None)
            if results is not None:
                found = [v for _url, v in results()]
            else:
                found = fetcher.fetched_certs
                found = found() if callable(found) else found
            for item in found:
                # one certificate, or the several a caIssuers URL can serve (PKCS#7)
                for cert in [item] if isinstance(item, x509.Certificate) else item:
                    self.add(cert)
        except Exception:  # a cache, never a reason for a validation to fail
            return

    def clear(self) -> None:
        with self._lock:
            self._certs.clear()


ISSUERS = IssuerCache()
