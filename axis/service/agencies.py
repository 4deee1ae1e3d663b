"""The agency directory: codes (QCVN 102:2016, Decision 20/2020), names, parents, active flag."""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from axis.adapters.database import Database
from axis.adapters.tables import Agency
from axis.domain import Conflict, NotFound, Rejected, nfc, utcnow
from axis.service import systems
from axis.service.keys import issue_key
from formats.agency_code import is_valid_agency_code
from formats.findings import Finding


def _valid(code: str, name: str) -> tuple[str, str]:
    code = nfc(code).upper()
    name = nfc(name)
    if not is_valid_agency_code(code):
        raise Rejected(
            f"{code!r} is not an agency code (e.g. 000.00.00.G22, up to 35 of 0-9 A-Z .)",
            findings=[Finding.error("AGENCY_CODE_INVALID", "code", f"malformed code {code!r}")],
        )
    if not name:
        raise Rejected("an agency needs a name", code="AGENCY_NAME_MISSING")
    return code, name


def _insert(session: Session, code: str, name: str, parent: str | None) -> None:
    if parent and session.get(Agency, parent) is None:
        raise Rejected(
            f"parent agency {parent} is not in the directory", code="AGENCY_PARENT_UNKNOWN"
        )
    session.add(Agency(code=code, name=name, parent_code=parent, active=True, created_at=utcnow()))
    session.flush()


def add_agency(db: Database, code: str, name: str, parent: str | None = None) -> str:
    """Register an agency and return its first API key (shown once)."""
    code, name = _valid(code, name)
    with db.write() as session:
        if session.get(Agency, code) is not None:
            raise Conflict(f"agency {code} already exists", code="AGENCY_EXISTS")
        _insert(session, code, name, parent)
        return issue_key(session, role="agency", agency_code=code, label="initial")


def add_hosted_agency(
    db: Database,
    code: str,
    name: str,
    system_id: str,
    parent: str | None = None,
    *,
    claim_existing: bool = True,
) -> bool:
    """Host an agency on a connected system, registering it first if the directory lacks it
    (no API key: the system speaks for it). Returns whether the agency is new. Hosting an agency
    the system already hosts is harmless; one hosted by another system is refused."""
    code, name = _valid(code, name)
    with db.write() as session:
        created = session.get(Agency, code) is None
        if created:
            _insert(session, code, name, parent)
        elif not claim_existing and systems.hosting(session, code) != system_id:
            # A system registering itself an agency already in the directory would take it
            # over: only an operator may host an existing agency (`axis agency add --system`).
            raise Conflict(f"agency {code} already exists", code="AGENCY_EXISTS")
        systems.host_agency(session, system_id, code)
    return created


def remove_hosted_agency(db: Database, code: str, system_id: str) -> None:
    """A system gives an agency up (VXP deleteAgency): no longer hosted, and deactivated so
    that packages naming it are refused rather than left waiting for nobody."""
    code = nfc(code).upper()
    with db.write() as session:
        systems.unhost_agency(session, system_id, code)
        agency = session.get(Agency, code)
        if agency is not None:
            agency.active = False


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
            text = nfc(query)  # a substring: "%" and "_" in it are letters, not wildcards
            q = q.where(
                or_(
                    Agency.code.contains(text, autoescape=True),
                    Agency.name.contains(text, autoescape=True),
                )
            )
        rows = list(session.scalars(q))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {"code": a.code, "name": a.name, "parent": a.parent_code, "active": a.active} for a in rows
    ]
    return items, (rows[-1].code if more else None)


_CODE_LIKE = re.compile(r"[0-9A-Za-z.]{1,35}")


def suggest(db: Database, query: str, *, limit: int = 20) -> list[dict]:
    """Active agencies whose code starts with the query (an index range: instant in a directory
    of 150,000), or else those whose code or name contains it, for a person typing."""
    query = nfc(query)
    found: dict[str, str] = {}
    with db.read() as session:
        if _CODE_LIKE.fullmatch(query):
            prefix = query.upper()
            rows = session.execute(
                select(Agency.code, Agency.name)
                .where(Agency.code >= prefix, Agency.code < prefix + "~", Agency.active.is_(True))
                .order_by(Agency.code)
                .limit(limit)
            ).all()
            found.update((r.code, r.name) for r in rows)
        # A code being typed (found by its prefix) needs no scan of the names.
        if not found:
            like = f"%{query}%"
            rows = session.execute(
                select(Agency.code, Agency.name)
                .where(
                    or_(Agency.code.like(like.upper()), Agency.name.like(like)),
                    Agency.active.is_(True),
                )
                .order_by(Agency.code)
                .limit(limit)
            ).all()
            for r in rows:
                if len(found) < limit:
                    found.setdefault(r.code, r.name)
    return [{"code": code, "name": name} for code, name in found.items()]


def directory(db: Database) -> list[dict]:
    """The whole directory with what a synchronising system needs: parent, active flag, time
    of registration, and the connected system hosting each agency (None: an API-key agency)."""
    from axis.adapters.system_tables import SystemAgency

    with db.read() as session:
        rows = session.execute(
            select(Agency, SystemAgency.system_id)
            .outerjoin(SystemAgency, SystemAgency.agency_code == Agency.code)
            .order_by(Agency.code)
        ).all()
    return [
        {
            "code": a.code,
            "name": a.name,
            "parent": a.parent_code,
            "active": a.active,
            "created_at": a.created_at,
            "system": system_id,
        }
        for a, system_id in rows
    ]
