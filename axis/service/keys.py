"""API keys: random, shown once, stored only as a SHA-256 of their secret, revocable.

A key reads `axis_<key id>_<secret>`. The key id finds the row; the secret is 256 random bits,
so a plain SHA-256 (not a slow password hash) is the right way to store it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from axis.adapters.database import Database
from axis.adapters.tables import ApiKey
from axis.domain import ROLES, NotFound, Principal, Unauthorized, utcnow

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


def authenticate(db: Database, raw: str | None) -> Principal:
    if not raw:
        raise Unauthorized(
            "missing API key: send 'Authorization: Bearer <key>'", code="AUTH_MISSING"
        )
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX:
        raise Unauthorized("malformed API key", code="AUTH_INVALID")
    _, key_id, secret = parts
    with db.read() as session:
        row = session.get(ApiKey, key_id)
        if row is None or not hmac.compare_digest(row.secret_hash, _hash(secret)):
            raise Unauthorized("unknown API key", code="AUTH_INVALID")
        if row.revoked_at is not None:
            raise Unauthorized("this API key was revoked", code="AUTH_REVOKED")
        return Principal(
            key_id=row.key_id, role=row.role, agency_code=row.agency_code, signer_id=row.signer_id
        )


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
