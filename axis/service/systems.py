"""Connected systems: the national (VXP) model of a principal. A system (`systemid` + shared
secret) hosts many agencies; it sends as any agency it hosts and receives for all of them, and
may never act for an agency it does not host. Its secret verifies HMACs, so the hub must read it
back: it is stored encrypted (axis.adapters.secret_box), never in clear, and shown once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from axis.adapters.database import Database
from axis.adapters.secret_box import SecretBox, SecretBoxError
from axis.adapters.system_tables import System, SystemAgency
from axis.adapters.tables import Agency
from axis.domain import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    Rejected,
    Unauthorized,
    nfc,
    utcnow,
)
from formats.findings import Finding

_SYSTEM_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._:-]{0,99}")


@dataclass(frozen=True)
class SystemPrincipal:
    """A system authenticated for one request: the agencies it hosts, read at that moment."""

    system_id: str
    name: str
    agencies: frozenset[str]  # hosted and active
    inactive: frozenset[str] = frozenset()  # hosted but deactivated: it may not act for them

    def acting_as(self, agency_code: str | None) -> Principal:
        """The principal of one hosted agency, for the use cases (which act for one agency)."""
        code = nfc(agency_code or "").upper()
        if not code:
            raise Rejected(
                "the call names no agency ('from')",
                findings=[Finding.error("VXP_FROM_MISSING", "from", "'from' is required")],
            )
        if code in self.inactive:
            raise Forbidden(
                f"đơn vị {code} đã bị ngừng hoạt động trên trục: liên hệ quản trị trục",
                code="AGENCY_INACTIVE",
            )
        if code not in self.agencies:
            raise Forbidden(
                f"hệ thống {self.system_id} không quản lý đơn vị {code}",
                code="SYSTEM_AGENCY_NOT_HOSTED",
            )
        return Principal(
            key_id=f"system:{self.system_id}",
            role="agency",
            agency_code=code,
            system_id=self.system_id,
        )


def _check_id(system_id: str) -> str:
    system_id = nfc(system_id)
    if not _SYSTEM_ID.fullmatch(system_id):
        raise Rejected(
            f"{system_id!r} is not a system id (1-100 of 0-9 A-Z a-z . _ : -)",
            code="SYSTEM_ID_INVALID",
        )
    return system_id


def _new_secret() -> str:
    return secrets.token_urlsafe(32)  # 256 bits, printable ASCII: the SDK signs its UTF-8 bytes


def add_system(db: Database, box: SecretBox, system_id: str, name: str) -> str:
    """Register a system and return its secret (shown once)."""
    system_id = _check_id(system_id)
    name = nfc(name)
    if not name:
        raise Rejected("a system needs a name", code="SYSTEM_NAME_MISSING")
    secret = _new_secret()
    with db.write() as session:
        if session.get(System, system_id) is not None:
            raise Conflict(f"system {system_id} already exists", code="SYSTEM_EXISTS")
        session.add(
            System(
                system_id=system_id,
                name=name,
                secret_enc=box.encrypt(secret),
                created_at=utcnow(),
            )
        )
    return secret


def rotate_secret(db: Database, box: SecretBox, system_id: str) -> str:
    """A new secret for a system; the old one stops working at once."""
    secret = _new_secret()
    with db.write() as session:
        system = _get(session, system_id)
        system.secret_enc = box.encrypt(secret)
        system.rotated_at = utcnow()
        system.revoked_at = None
    return secret


def revoke_system(db: Database, system_id: str) -> None:
    with db.write() as session:
        system = _get(session, system_id)
        if system.revoked_at is None:
            system.revoked_at = utcnow()


def _get(session, system_id: str) -> System:  # noqa: ANN001
    system = session.get(System, system_id)
    if system is None:
        raise NotFound(f"no system {system_id}", code="SYSTEM_NOT_FOUND")
    return system


def host_agency(session, system_id: str, agency_code: str) -> None:  # noqa: ANN001
    """Host an agency on a system, in the caller's transaction. Hosting again is harmless;
    an agency another system hosts is refused (one system per agency)."""
    _get(session, system_id)
    if session.get(Agency, agency_code) is None:
        raise NotFound(f"no agency {agency_code}", code="AGENCY_NOT_FOUND")
    row = session.get(SystemAgency, agency_code)
    if row is not None:
        if row.system_id != system_id:
            raise Conflict(
                f"agency {agency_code} is hosted by system {row.system_id}",
                code="AGENCY_HOSTED_ELSEWHERE",
            )
        return
    session.add(SystemAgency(agency_code=agency_code, system_id=system_id, added_at=utcnow()))


def hosting(session, agency_code: str) -> str | None:  # noqa: ANN001
    row = session.get(SystemAgency, agency_code)
    return row.system_id if row else None


def unhost_agency(session, system_id: str, agency_code: str) -> None:  # noqa: ANN001
    row = session.get(SystemAgency, agency_code)
    if row is None or row.system_id != system_id:
        raise Forbidden(
            f"hệ thống {system_id} không quản lý đơn vị {agency_code}",
            code="SYSTEM_AGENCY_NOT_HOSTED",
        )
    session.delete(row)


def list_systems(db: Database) -> list[dict]:
    with db.read() as session:
        systems = session.scalars(select(System).order_by(System.system_id)).all()
        hosted: dict[str, list[str]] = {}
        for row in session.scalars(select(SystemAgency).order_by(SystemAgency.agency_code)):
            hosted.setdefault(row.system_id, []).append(row.agency_code)
    return [
        {
            "system_id": s.system_id,
            "name": s.name,
            "agencies": hosted.get(s.system_id, []),
            "created_at": s.created_at,
            "rotated_at": s.rotated_at,
            "revoked_at": s.revoked_at,
        }
        for s in systems
    ]


def hosted_by(db: Database) -> dict[str, str]:
    """agency code -> the system hosting it (for figures per system)."""
    with db.read() as session:
        return dict(session.execute(select(SystemAgency.agency_code, SystemAgency.system_id)).all())


_SYSTEM_ROW = select(System.name, System.secret_enc, System.revoked_at).where(
    System.system_id == bindparam("system_id")
)
_HOSTED = (
    select(SystemAgency.agency_code, Agency.active)
    .join(Agency, Agency.code == SystemAgency.agency_code)
    .where(SystemAgency.system_id == bindparam("system_id"))
)


class SystemAuth:
    """Looks a system up for one request: `secret_for` (for formats.vxp.verify) then
    `principal` once the signature holds."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        self._db, self._box = db, box
        self._name: str | None = None
        self._system_id: str | None = None

    def secret_for(self, system_id: str) -> str:
        with self._db.engine.connect() as conn:
            row = conn.execute(_SYSTEM_ROW, {"system_id": system_id}).first()
        if row is None:
            raise Unauthorized(f"hệ thống {system_id!r} chưa đăng ký", code="SYSTEM_UNKNOWN")
        if row.revoked_at is not None:
            raise Unauthorized(f"hệ thống {system_id} đã bị thu hồi", code="SYSTEM_REVOKED")
        try:
            secret = self._box.decrypt(row.secret_enc)
        except SecretBoxError as exc:
            raise Unauthorized(str(exc), code="SYSTEM_SECRET_UNREADABLE") from exc
        self._name, self._system_id = row.name, system_id
        return secret

    def principal(self) -> SystemPrincipal:
        assert self._system_id is not None, "secret_for first"
        with self._db.engine.connect() as conn:
            rows = conn.execute(_HOSTED, {"system_id": self._system_id}).all()
        return SystemPrincipal(
            self._system_id,
            self._name or "",
            frozenset(code for code, active in rows if active),
            frozenset(code for code, active in rows if not active),
        )
