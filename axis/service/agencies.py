"""The agency directory: codes (QCVN 102:2016, Decision 20/2020), names, parents, active flag."""

from __future__ import annotations

from sqlalchemy import or_, select

from axis.adapters.database import Database
from axis.adapters.tables import Agency
from axis.domain import Conflict, NotFound, Rejected, nfc, utcnow
from axis.service.keys import issue_key
from formats.agency_code import is_valid_agency_code
from formats.findings import Finding


def add_agency(db: Database, code: str, name: str, parent: str | None = None) -> str:
    """Register an agency and return its first API key (shown once)."""
    code = nfc(code).upper()
    name = nfc(name)
    if not is_valid_agency_code(code):
        raise Rejected(
            f"{code!r} is not an agency code (e.g. 000.00.00.G22, up to 35 of 0-9 A-Z .)",
            findings=[Finding.error("AGENCY_CODE_INVALID", "code", f"malformed code {code!r}")],
        )
    if not name:
        raise Rejected("an agency needs a name", code="AGENCY_NAME_MISSING")
    with db.write() as session:
        if session.get(Agency, code) is not None:
            raise Conflict(f"agency {code} already exists", code="AGENCY_EXISTS")
        if parent and session.get(Agency, parent) is None:
            raise Rejected(
                f"parent agency {parent} is not in the directory", code="AGENCY_PARENT_UNKNOWN"
            )
        session.add(
            Agency(code=code, name=name, parent_code=parent, active=True, created_at=utcnow())
        )
        session.flush()
        return issue_key(session, role="agency", agency_code=code, label="initial")


def new_agency_key(db: Database, code: str, label: str = "") -> str:
    with db.write() as session:
        if session.get(Agency, code) is None:
            raise NotFound(f"no agency {code}", code="AGENCY_NOT_FOUND")
        return issue_key(session, role="agency", agency_code=code, label=label)


def new_staff_key(db: Database, role: str, label: str = "") -> str:
    with db.write() as session:
        return issue_key(session, role=role, agency_code=None, label=label)


def set_active(db: Database, code: str, active: bool) -> None:
    with db.write() as session:
        agency = session.get(Agency, code)
        if agency is None:
            raise NotFound(f"no agency {code}", code="AGENCY_NOT_FOUND")
        agency.active = active


def list_agencies(
    db: Database, *, limit: int = 1000, after: str | None = None, query: str | None = None
) -> tuple[list[dict], str | None]:
    """One page of the directory in code order; the cursor is the last code returned."""
    with db.read() as session:
        q = select(Agency).order_by(Agency.code).limit(limit + 1)
        if after:
            q = q.where(Agency.code > after)
        if query:
            like = f"%{nfc(query)}%"
            q = q.where(or_(Agency.code.like(like), Agency.name.like(like)))
        rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {"code": a.code, "name": a.name, "parent": a.parent_code, "active": a.active} for a in rows
    ]
    return items, (rows[-1].code if more else None)
