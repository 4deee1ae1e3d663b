"""What the hub hands to the rules besides the package: time, directory, history, certificates.

All of it is plain data or plain callables so that the rules stay pure: the hub passes its
directory and message store in, `axis check` passes nothing (offline) and the rules say what
they could not check.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from formats.rules.text import key

VIETNAM = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")

# (sender OrganId, recipient OrganIds) of a document the hub routed earlier, or None.
DocumentLookup = Callable[[str], "tuple[str, Collection[str]] | None"]
AgencyDirectory = Callable[[str], bool] | Collection[str]


_CERT_INFO_FIELDS = (
    ("CN", "common_name"),
    ("O", "organization"),
    ("OU", "organizational_unit"),
    ("SERIALNUMBER", "serial_number_attr"),
)


@dataclass(frozen=True)
class SignerFacts:
    """One PDF signature's signer, as the signature report saw it (no trust decision here)."""

    common_name: str = ""
    organization: str = ""
    subject_fields: Mapping[str, str] = field(default_factory=dict)  # {"CN": …, "O": …}
    role_hint: Literal["leader", "agency"] | None = None  # None: decided by the mapping
    key_sha256: str = ""  # hex SHA-256 of the certificate's SubjectPublicKeyInfo, if known
    path: str = ""  # where, e.g. "attachment[1]/signature[2]", echoed in findings
    cert_sha256: str = ""  # hex SHA-256 of the whole certificate, if known
    agency_code: str = ""  # an agency code the certificate's subject itself carries, if any

    @classmethod
    def from_cert_info(
        cls, info: Any, *, role_hint: Literal["leader", "agency"] | None = None, path: str = ""
    ) -> SignerFacts:
        """From the signature report's certificate summary (signing.report.CertInfo: read by
        attribute, so formats does not import signing)."""
        fields = {
            name: str(value)
            for name, attr in _CERT_INFO_FIELDS
            if (value := getattr(info, attr, None))
        }
        return cls(
            common_name=str(getattr(info, "common_name", "") or ""),
            organization=str(getattr(info, "organization", "") or ""),
            subject_fields=fields,
            role_hint=role_hint,
            path=path,
            cert_sha256=str(getattr(info, "sha256", "") or ""),
            agency_code=str(getattr(info, "agency_code", "") or ""),
        )


class CertAgencyMap:
    """Certificate → agency code, configured by the operator.

    Keys are `sha256:<hex>` (of the certificate or of its SubjectPublicKeyInfo: one key) or
    `FIELD=value` for a subject field (`CN=Ủy ban nhân dân tỉnh Hà Nam`, `O=…`, `UID=MNS:…`),
    compared NFC, case- and whitespace-insensitively. A fingerprint wins over subject fields;
    then fields in the order CN, O, then the rest.
    """

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self._by_key: dict[str, str] = {}
        self._by_field: dict[tuple[str, str], str] = {}
        for raw, agency in (mapping or {}).items():
            name, sep, value = raw.partition("=") if "=" in raw else raw.partition(":")
            if not sep:
                raise ValueError(f"certificate mapping {raw!r}: use sha256:<hex> or FIELD=value")
            if sep == ":" and name.strip().lower() == "sha256":
                self._by_key[value.strip().lower()] = agency.strip()
            else:
                self._by_field[(name.strip().upper(), key(value))] = agency.strip()

    def __bool__(self) -> bool:
        return bool(self._by_key or self._by_field)

    def agency_of(self, signer: SignerFacts) -> str | None:
        for digest in (signer.cert_sha256, signer.key_sha256):
            if digest and (hit := self._by_key.get(digest.lower())):
                return hit
        fields = {k.upper(): v for k, v in signer.subject_fields.items()}
        fields.setdefault("CN", signer.common_name)
        fields.setdefault("O", signer.organization)
        order = ["CN", "O", *sorted(k for k in fields if k not in ("CN", "O"))]
        for name in order:
            value = fields.get(name)
            if value and (hit := self._by_field.get((name, key(value)))):
                return hit
        return None


def load_cert_map(value: str | None) -> CertAgencyMap:
    """The certificate → agency mapping from a TOML/YAML/JSON file of `"key" = "agency code"`
    (optionally under a `certificates` table); None or "" → an empty mapping."""
    if not value or not value.strip():
        return CertAgencyMap()
    from formats.rules.policy import PolicyError, parse_file

    data = parse_file(Path(value))
    if isinstance(data, dict) and isinstance(data.get("certificates"), dict):
        data = data["certificates"]
    if not isinstance(data, dict):
        raise PolicyError(f"{value}: expected a table of certificate key = agency code")
    try:
        return CertAgencyMap({str(k): str(v) for k, v in data.items()})
    except ValueError as exc:
        raise PolicyError(f"{value}: {exc}") from exc


@dataclass
class RuleContext:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    known_agency: AgencyDirectory | None = None  # None: offline, agencies are not looked up
    lookup_document: DocumentLookup | None = None  # None: offline, references not checked
    cert_agency: CertAgencyMap = field(default_factory=CertAgencyMap)

    def today_in_vietnam(self) -> date:
        now = self.now if self.now.tzinfo else self.now.replace(tzinfo=UTC)
        return now.astimezone(VIETNAM).date()

    def agency_is_known(self, organ_id: str) -> bool | None:
        """True/False from the directory, None when offline."""
        directory = self.known_agency
        if directory is None:
            return None
        if callable(directory):
            return bool(directory(organ_id))
        return organ_id in directory
