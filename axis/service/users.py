"""People of the web console: accounts, passwords, sessions, sign-in throttling (issue 19).

A person acts through the same service layer as an API key: `principal_of` turns a user into
the `Principal` every use case already checks (a clerk or leader acts for its agency, an
archivist or operator as staff), so no use case is written twice for the console.

Passwords are hashed with argon2id (argon2-cffi's defaults, parameters kept in the hash).
Sessions live in the database (several API processes share them); the browser holds only a
random token, and the database only its SHA-256.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import delete, func, select

from axis.adapters.console_tables import ConsoleSession, SignInFailure, User
from axis.adapters.database import Database
from axis.adapters.secret_box import SecretBox
from axis.adapters.tables import Agency
from axis.domain import Conflict, HubError, NotFound, Principal, Rejected, utcnow

USER_ROLES = ("clerk", "leader", "archivist", "operator")
AGENCY_ROLES = ("clerk", "leader")
SESSION_HOURS = 8
# Sign-in throttling: failures counted over a window, per name and per address.
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 30
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so an unknown name costs as long as a wrong
    password. Made on first use: an argon2 hash costs ~0.1–0.7 s, too much for every
    process's start (`axis serve` starts several)."""
    return _hasher.hash("axis-no-such-user")


class TooManyAttempts(HubError):
    status, code = 429, "SIGN_IN_THROTTLED"


class SignInFailed(HubError):
    status, code = 401, "SIGN_IN_FAILED"


class SsoUserUnknown(HubError):
    status, code = 403, "SSO_USER_UNKNOWN"


@dataclass(frozen=True)
class UserView:
    id: int
    name: str
    full_name: str
    role: str
    agency_code: str | None
    signer_id: str | None
    has_totp: bool = False

    @property
    def principal(self) -> Principal:
        return principal_of(self)


@dataclass(frozen=True)
class SessionView:
    user: UserView
    csrf: str
    expires_at: datetime


def principal_of(user: UserView) -> Principal:
    """The caller a person is for the service layer."""
    role = "agency" if user.role in AGENCY_ROLES else user.role
    return Principal(key_id=f"user:{user.name}", role=role, agency_code=user.agency_code)


def _view(u: User) -> UserView:
    return UserView(
        u.id, u.name, u.full_name, u.role, u.agency_code, u.signer_id, u.totp_secret is not None
    )


def new_password() -> str:
    # 16 characters of an alphabet without look-alikes: read off a screen and typed once.
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        raise Rejected(
            f"tên đăng nhập {name!r} không hợp lệ: chỉ dùng chữ thường không dấu, số, '.', '_', '-'"
            " (the user name may hold a-z, 0-9, '.', '_', '-')",
            code="USER_NAME_INVALID",
        )
    return name


def add_user(
    db: Database,
    name: str,
    role: str,
    agency_code: str | None = None,
    *,
    full_name: str = "",
    signer_id: str | None = None,
) -> str:
    """Create a person; returns the initial password (shown once, never stored in clear)."""
    name = check_name(name)
    if role not in USER_ROLES:
        raise Rejected(f"unknown role {role!r}: one of {', '.join(USER_ROLES)}", code="USER_ROLE")
    if (role in AGENCY_ROLES) != bool(agency_code):
        raise Rejected(
            "clerks and leaders belong to an agency (--agency CODE); archivists and operators"
            " do not",
            code="USER_AGENCY",
        )
    password = new_password()
    now = utcnow()
    with db.write() as session:
        if agency_code and session.get(Agency, agency_code) is None:
            raise NotFound(f"no agency {agency_code}", code="AGENCY_NOT_FOUND")
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise Conflict(f"user {name!r} already exists", code="USER_EXISTS")
        session.add(
            User(
                name=name,
                full_name=full_name,
                role=role,
                agency_code=agency_code,
                signer_id=signer_id,
                password_hash=_hasher.hash(password),
                created_at=now,
                password_set_at=now,
            )
        )
    return password


def list_users(db: Database, agency_code: str | None = None) -> list[dict]:
    with db.read() as session:
        q = select(User).order_by(User.name)
        if agency_code:
            q = q.where(User.agency_code == agency_code)
        return [
            {
                "name": u.name,
                "full_name": u.full_name,
                "role": u.role,
                "agency": u.agency_code,
                "signer": u.signer_id,
                "created_at": u.created_at,
                "disabled_at": u.disabled_at,
            }
            for u in session.scalars(q)
        ]


def _get(session, name: str) -> User:  # noqa: ANN001
    user = session.scalar(select(User).where(User.name == name.strip().lower()))
    if user is None:
        raise NotFound(f"no user {name!r}", code="USER_NOT_FOUND")
    return user


def disable_user(db: Database, name: str) -> None:
    """Disabled at once: the person's sessions end with it."""
    with db.write() as session:
        user = _get(session, name)
        if user.disabled_at is None:
            user.disabled_at = utcnow()
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))


def reset_password(db: Database, name: str) -> str:
    password = new_password()
    with db.write() as session:
        user = _get(session, name)
        user.password_hash = _hasher.hash(password)
        user.password_set_at = utcnow()
        session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    return password


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _totp(secret: bytes) -> TOTP:
    # What authenticator apps expect of an otpauth:// URI without parameters: SHA-1, 6, 30 s.
    return TOTP(secret, 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303


def enable_totp(db: Database, box: SecretBox, name: str) -> str:
    """Give a person a new TOTP secret; returns the otpauth:// URI for an authenticator app."""
    secret = os.urandom(20)
    with db.write() as session:
        user = _get(session, name)
        user.totp_secret = box.encrypt(base64.b32encode(secret).decode())
        user_name = user.name
    return _totp(secret).get_provisioning_uri(user_name, "axis")


def disable_totp(db: Database, name: str) -> None:
    with db.write() as session:
        _get(session, name).totp_secret = None


def _totp_ok(box: SecretBox | None, encrypted: str, code: str) -> bool:
    """The code of this 30-second step or of the one before or after (clocks drift)."""
    code = code.strip().replace(" ", "")
    if box is None or len(code) != 6 or not code.isdigit():
        return False
    totp = _totp(base64.b32decode(box.decrypt(encrypted)))
    now = int(time.time())
    for drift in (0, -30, 30):
        try:
            totp.verify(code.encode(), now + drift)
            return True
        except InvalidToken:
            continue
    return False


def check_second_factor(db: Database, box: SecretBox, user: UserView, code: str) -> None:
    """For an action that needs it again (a leader signing): the person's current code."""
    if not user.has_totp:
        return
    with db.read() as session:
        encrypted = session.get(User, user.id).totp_secret
    if encrypted is None or not _totp_ok(box, encrypted, code):
        raise SignInFailed(
            "Mã xác thực không đúng; nhập mã 6 số đang hiện trong ứng dụng xác thực."
            " (Wrong authentication code.)",
            code="TOTP_FAILED",
        )


def sign_in(
    db: Database,
    name: str,
    password: str,
    address: str,
    *,
    code: str = "",
    box: SecretBox | None = None,
) -> tuple[str, SessionView]:
    """Check a name and password (and the TOTP code of a person who has a second factor);
    returns a new session's token (for the cookie) and the session. Refuses after too many
    recent failures for the name or the address (429)."""
    name = name.strip().lower()[:100]
    now = utcnow()
    since = now - WINDOW
    with db.read() as session:
        by_name = session.scalar(
            select(func.count()).where(SignInFailure.name == name, SignInFailure.at > since)
        )
        by_address = session.scalar(
            select(func.count()).where(SignInFailure.address == address, SignInFailure.at > since)
        )
        user = session.scalar(select(User).where(User.name == name))
    if by_name >= MAX_FAILURES_PER_NAME or by_address >= MAX_FAILURES_PER_ADDRESS:
        raise TooManyAttempts(
            "Đăng nhập sai quá nhiều lần; hãy thử lại sau 15 phút."
            " (Too many failed sign-ins; try again in 15 minutes.)"
        )
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
        ok = user is not None and user.disabled_at is None
        if ok and user.totp_secret is not None:
            ok = _totp_ok(box, user.totp_secret, code)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with db.write() as session:
            session.add(SignInFailure(name=name, address=address[:64], at=now))
            session.execute(delete(SignInFailure).where(SignInFailure.at < now - WINDOW * 4))
        raise SignInFailed(
            "Tên đăng nhập, mật khẩu hoặc mã xác thực không đúng."
            " (Wrong user name, password or authentication code.)"
        )
    return _new_session(db, user, password)


def sign_in_sso(db: Database, name: str, address: str) -> tuple[str, SessionView]:
    """A person the operator's identity provider vouched for (axis.adapters.oidc checked its
    ID token) comes in as the axis user of that name: an account an operator made, enabled.
    The provider proves who it is; what it may do stays in axis (role, agency)."""
    name = name.strip().lower()[:100]
    with db.read() as session:
        user = session.scalar(select(User).where(User.name == name))
    if user is None or user.disabled_at is not None:
        now = utcnow()
        with db.write() as session:
            session.add(SignInFailure(name=name, address=address[:64], at=now))
        raise SsoUserUnknown(
            f"Tài khoản {name!r} của nhà cung cấp định danh chưa được cấp quyền trên trục"
            " (hoặc đã bị khóa): đề nghị quản trị viên tạo người dùng cùng tên."
            f" (The identity provider's account {name!r} has no enabled axis user: ask an"
            " operator to add a user of that name.)"
        )
    return _new_session(db, user)


def _new_session(db: Database, user: User, password: str | None = None) -> tuple[str, SessionView]:
    now = utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    with db.write() as session:
        session.add(
            ConsoleSession(
                token_hash=_hash_token(token),
                user_id=user.id,
                csrf=csrf,
                created_at=now,
                expires_at=expires,
            )
        )
        session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
        if password is not None and _hasher.check_needs_rehash(user.password_hash):
            session.get(User, user.id).password_hash = _hasher.hash(password)
    return token, SessionView(_view(user), csrf, expires)


def session_of(db: Database, token: str | None) -> SessionView | None:
    """The live session of a cookie's token, or None (unknown, expired, or user disabled)."""
    if not token or len(token) > 100:
        return None
    with db.read() as session:
        row = session.execute(
            select(User, ConsoleSession.csrf, ConsoleSession.expires_at)
            .join(User, User.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == _hash_token(token))
        ).first()
    if row is None:
        return None
    user, csrf, expires = row
    if expires <= utcnow() or user.disabled_at is not None:
        return None
    return SessionView(_view(user), csrf, expires)


def sign_out(db: Database, token: str | None) -> None:
    if token:
        with db.write() as session:
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.token_hash == _hash_token(token))
            )


def users_of_agency(db: Database, agency_code: str, role: str) -> list[UserView]:
    with db.read() as session:
        rows = session.scalars(
            select(User)
            .where(User.agency_code == agency_code, User.role == role, User.disabled_at.is_(None))
            .order_by(User.name)
        ).all()
    return [_view(u) for u in rows]


def get_user(db: Database, user_id: int) -> UserView:
    with db.read() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"no user {user_id}", code="USER_NOT_FOUND")
        return _view(user)
