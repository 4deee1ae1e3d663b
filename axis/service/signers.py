"""Signing for leaders whose keys the hub holds (POST /v1/sign, `axis signer key`).

Signers are configured by the operator in a file (`AXIS_SIGNERS`, TOML/JSON/YAML), one table
per signer; secrets are never in it, only the names of the environment variables holding them:

    [signers.chu-tich]
    agency = "000.00.00.H26"
    name = "Nguyễn Văn An"
    position = "CHỦ TỊCH"
    role = "leader"                 # leader | agency | attachment
    image = "/etc/axis/chu-tich.png"
    level = "B-T"                   # B-B | B-T | B-LT | B-LTA
    tsa = "http://tsa.example/"
    p12 = "/etc/axis/keys/chu-tich.p12"
    password_env = "AXIS_P12_PASSWORD_CHU_TICH"
    # or: pkcs11_module, token, key, pin_env  (a PKCS#11 token / HSM)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from axis.adapters.database import Database
from axis.domain import BadPackage, Forbidden, NotFound, Principal, Rejected, Unavailable
from axis.service.keys import issue_key
from formats.rules.policy import parse_file

ROLES = ("leader", "agency", "attachment")
LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")


@dataclass(frozen=True)
class SignerConfig:
    id: str
    agency: str
    spec: dict[str, Any]

    @property
    def role(self) -> str:
        return str(self.spec.get("role", "leader"))


class SignerRegistry:
    def __init__(self, path: str | None, trust: list[str]) -> None:
        self.path = path
        self.trust = trust

    @cached_property
    def signers(self) -> dict[str, SignerConfig]:
        if not self.path:
            return {}
        data = parse_file(Path(self.path))
        table = data.get("signers", data) if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise ValueError(f"{self.path}: expected a [signers.<id>] table per signer")
        out = {}
        for sid, spec in table.items():
            if not isinstance(spec, dict) or not spec.get("agency"):
                raise ValueError(f"{self.path}: signer {sid!r} needs at least 'agency'")
            out[str(sid)] = SignerConfig(str(sid), str(spec["agency"]), dict(spec))
        return out

    def get(self, signer_id: str) -> SignerConfig:
        try:
            return self.signers[signer_id]
        except KeyError:
            raise NotFound(
                f"no signer {signer_id!r} in AXIS_SIGNERS", code="SIGNER_NOT_FOUND"
            ) from None


def issue_signer_key(db: Database, registry: SignerRegistry, signer_id: str) -> str:
    signer = registry.get(signer_id)
    with db.write() as session:
        return issue_key(
            session,
            role="signer",
            agency_code=signer.agency,
            label=f"signer {signer_id}",
            signer_id=signer_id,
        )


def sign(
    registry: SignerRegistry,
    principal: Principal,
    pdf: bytes,
    *,
    role: str | None = None,
    level: str | None = None,
    number: str = "",
) -> bytes:
    """Sign `pdf` as the caller's configured signer; returns the signed PDF."""
    from formats.pdf_guard import PdfStructureError
    from signing.keystore import signer_from_spec
    from signing.sign import SigningError, sign_pdf

    if principal.role != "signer" or not principal.signer_id:
        raise Forbidden("only signer keys may sign", code="ROLE_NOT_SIGNER")
    signer = registry.get(principal.signer_id)
    spec = signer.spec
    role = role or signer.role
    level = level or str(spec.get("level", "B-B"))
    if role not in ROLES:
        raise Rejected(f"role {role!r}: one of {', '.join(ROLES)}", code="SIGN_BAD_ROLE")
    if level not in LEVELS:
        raise Rejected(f"level {level!r}: one of {', '.join(LEVELS)}", code="SIGN_BAD_LEVEL")
    if not pdf.startswith(b"%PDF-"):
        raise BadPackage("the body is not a PDF", code="SIGN_NOT_A_PDF")
    try:
        loaded = signer_from_spec(spec)
    except SigningError as exc:  # token absent, PIN not set: the operator's side
        raise Unavailable(
            f"signer {signer.id} is not available: {exc}", code="SIGNER_UNAVAILABLE"
        ) from exc
    appearance = _appearance(spec, role, number)
    try:
        return sign_pdf(
            pdf,
            loaded,
            level=level,
            tsa_url=spec.get("tsa"),  # type: ignore[arg-type]
            appearance=appearance,
            trust=registry.trust,
        )
    except PdfStructureError as exc:
        raise Rejected(f"cannot sign this PDF: {exc}", code=exc.code) from exc
    except SigningError as exc:
        raise Rejected(f"cannot sign: {exc}", code="SIGN_FAILED") from exc
    except Exception as exc:  # noqa: BLE001 - a PDF pyHanko cannot read is the client's file
        raise Rejected(f"cannot sign this PDF: {exc}", code="SIGN_FAILED") from exc


def _appearance(spec: dict, role: str, number: str):  # noqa: ANN202 - signing.sign.Appearance
    from signing.sign import Appearance

    return Appearance(
        role=role,
        image=spec.get("image"),
        name=str(spec.get("name", "")),
        position=str(spec.get("position", "")),
        number=number,
    )


def preview(
    registry: SignerRegistry, signer_id: str, pdf: bytes, *, number: str = ""
) -> tuple[bytes, int]:
    """The PDF with this signer's visible stamp where `sign` would put it, unsigned, and the
    stamp's page (0-based). No key is used."""
    from formats.pdf_guard import PdfStructureError
    from signing.sign import SigningError, stamp_preview

    signer = registry.get(signer_id)
    if not pdf.startswith(b"%PDF-"):
        raise BadPackage("the body is not a PDF", code="SIGN_NOT_A_PDF")
    try:
        return stamp_preview(pdf, _appearance(signer.spec, signer.role, number))
    except (PdfStructureError, SigningError) as exc:
        raise Rejected(f"cannot stamp this PDF: {exc}", code="SIGN_FAILED") from exc
    except Exception as exc:  # noqa: BLE001 - a PDF pyHanko cannot read is the client's file
        raise Rejected(f"cannot stamp this PDF: {exc}", code="SIGN_FAILED") from exc
