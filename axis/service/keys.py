"""API keys: random, shown once, stored only as a SHA-256 of their secret, revocable.

A key reads `axis_<key id>_<secret>`. The key id finds the row; the secret is 256 random bits,
so a plain SHA-256 (not a slow password hash) is the right way to store it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from axis.adapters.database import Database
from axis.adapters.key_rows import UNANSWERED, SqliteKeyRows
from axis.adapters.tables import Agency, ApiKey
from axis.domain import ROLES, Forbidden, NotFound, Principal, Unauthorized, utcnow

_PREFIX = "axis"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(
    session: Session,
    *,
    role: str,
    agency_code: str | None,
    label: str = "",
    signer_id: str | None = None,
) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if (role in ("agency", "signer")) != (agency_code is not None):
        raise ValueError("agency and signer keys name their agency; staff keys do not")
    if (role == "signer") != (signer_id is not None):
        raise ValueError("a signer key names the signer it signs as")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    session.add(
        ApiKey(
            key_id=key_id,
            secret_hash=_hash(secret),
            role=role,
            agency_code=agency_code,
            signer_id=signer_id,
            label=label,
            created_at=utcnow(),
        )
    )
    return f"{_PREFIX}_{key_id}_{secret}"


def _parse(raw: str | None) -> tuple[str, str]:
    if not raw:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>'", code="AUTH_MISSING"
        )
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise Unauthorized("malformed API key", code="AUTH_INVALID")
    return parts[1], parts[2]


def _principal(key_id: str, secret: str, row) -> Principal:  # noqa: ANN001 - a row or None
    """The caller of a key row (secret_hash, revoked_at, role, agency_code, signer_id,
    agency_active): checked here, on every request, so a revoked key or a deactivated
    agency's key stops at once whatever route it calls."""
    if row is None or not hmac.compare_digest(row[0], _hash(secret)):
        raise Unauthorized("unknown API key", code="AUTH_INVALID")
    if row[1] is not None:
        raise Unauthorized("this API key was revoked", code="AUTH_REVOKED")
    if row[3] is not None and not row[5]:
        raise Forbidden(
            f"đơn vị {row[3]} đã bị ngừng hoạt động trên trục: liên hệ quản trị trục",
            code="AGENCY_INACTIVE",
        )
    return Principal(key_id=key_id, role=row[2], agency_code=row[3], signer_id=row[4])


# One Core statement, compiled once and cached by SQLAlchemy: no ORM session, no identity map.
_KEY_ROW = (
    select(
        ApiKey.secret_hash,
        ApiKey.revoked_at,
        ApiKey.role,
        ApiKey.agency_code,
        ApiKey.signer_id,
        Agency.active,
    )
    .outerjoin(Agency, Agency.code == ApiKey.agency_code)
    .where(ApiKey.key_id == bindparam("key_id"))
)


def authenticate(db: Database, raw: str | None) -> Principal:
    """The caller of a key, read from the database on every call (a revoked key fails at once)."""
    key_id, secret = _parse(raw)
    with db.engine.connect() as conn:
        row = conn.execute(_KEY_ROW, {"key_id": key_id}).first()
    return _principal(key_id, secret, row)


class KeyReader:
    """Authenticates on the event loop where the database allows it (SQLite: see
    axis.adapters.key_rows). `lookup` returns None when it cannot answer at once: the caller
    then uses `authenticate`, in a worker thread."""

    def __init__(self, db: Database) -> None:
        self._rows = SqliteKeyRows(db)

    def lookup(self, raw: str | None) -> Principal | None:
        key_id, secret = _parse(raw)  # a missing or malformed key needs no database
        row = self._rows.read(key_id)
        if row is UNANSWERED:
            return None
        return _principal(key_id, secret, row)

    def close(self) -> None:
        self._rows.close()


def revoke_key(db: Database, key_id: str) -> None:
    with db.write() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise NotFound(f"no API key with id {key_id}", code="KEY_NOT_FOUND")
        if row.revoked_at is None:
            row.revoked_at = utcnow()


def list_keys(db: Database, agency_code: str | None = None) -> list[dict]:
    with db.read() as session:
        q = select(ApiKey).order_by(ApiKey.created_at)
        if agency_code:
            q = q.where(ApiKey.agency_code == agency_code)
        return [
            {
                "key_id": k.key_id,
                "role": k.role,
                "agency": k.agency_code,
                "label": k.label,
                "created_at": k.created_at,
                "revoked_at": k.revoked_at,
            }
            for k in session.scalars(q)
        ]
