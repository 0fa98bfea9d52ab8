"""Admin credentials: API keys (shown once, stored as SHA-256 digests, revocable) and admin users (passwords
stored as Argon2id hashes). Every change is audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from procert.errors import ProcertError

from .audit import audit, utcnow
from .models import AdminUser, ApiKey, UsedLoginLink, WebSession

PREFIX = "pck_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_digest(key: str) -> str | None:
    """The stored form of an API key (None for something that is not one): what :class:`StatusReader` looks up."""
    return _digest(key) if key.startswith(PREFIX) else None


def create_api_key(session: Session, *, name: str, actor: str) -> tuple[ApiKey, str]:
    """A new key: returns the row and the key itself, which is not stored and cannot be shown again."""
    if not name.strip():
        raise ValueError("an API key needs a name")
    key = PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name.strip(), key_digest=_digest(key), created_by=actor, created_at=utcnow())
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="api_key.created", subject=f"api_key:{row.id}", details={"name": row.name})
    return row, key


def revoke_api_key(session: Session, *, key_id: int, actor: str) -> bool:
    row = session.get(ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    audit(session, actor=actor, action="api_key.revoked", subject=f"api_key:{row.id}", details={"name": row.name})
    return True


def check_api_key(session: Session, key: str) -> ApiKey | None:
    """The active key matching ``key``, or None (compared by digest, in constant time)."""
    if not key.startswith(PREFIX):
        return None
    digest = _digest(key)
    row = session.scalar(select(ApiKey).where(ApiKey.key_digest == digest, ApiKey.revoked_at.is_(None)))
    return row if row is not None and hmac.compare_digest(row.key_digest, digest) else None


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)).all())


# ---- admin users --------------------------------------------------------------------------------------------

#: Argon2id with the library's defaults (RFC 9106 low-memory profile); hashes record their own parameters, so
#: raising these later rehashes each password at its next sign-in.
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
# Verifying against this when the user does not exist keeps sign-in time the same for unknown names.
_DUMMY_HASH = _hasher.hash("procert-no-such-admin")


class AdminError(ProcertError, ValueError):
    """An admin user that cannot be created or changed as asked."""


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AdminError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_admin(session: Session, *, username: str, password: str, actor: str) -> AdminUser:
    """A new admin; the password is stored only as an Argon2id hash."""
    username = username.strip()
    if not username or len(username) > 120:
        raise AdminError("an admin needs a user name of 1 to 120 characters")
    _check_password(password)
    if session.scalar(select(AdminUser).where(AdminUser.username == username)) is not None:
        raise AdminError(f"admin {username!r} already exists; use `procert admin password` to change the password")
    row = AdminUser(username=username, password_hash=_hasher.hash(password), created_at=utcnow())
    session.add(row)
    session.flush()
    audit(session, actor=actor, action="admin.created", subject=f"admin:{username}")
    return row


def set_admin_password(session: Session, *, username: str, password: str, actor: str) -> None:
    _check_password(password)
    row = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if row is None:
        raise AdminError(f"no admin {username!r}")
    row.password_hash = _hasher.hash(password)
    row.failed_attempts, row.locked_until = 0, None
    audit(session, actor=actor, action="admin.password_changed", subject=f"admin:{username}")
    end_sessions(session, kind="admin", subject=username, actor=actor)


def disable_admin(session: Session, *, username: str, actor: str) -> None:
    row = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if row is None:
        raise AdminError(f"no admin {username!r}")
    if row.disabled_at is None:
        row.disabled_at = utcnow()
        audit(session, actor=actor, action="admin.disabled", subject=f"admin:{username}")
        end_sessions(session, kind="admin", subject=username, actor=actor)


class AdminLocked(AdminError):
    """Too many wrong passwords in a row: the account is locked until ``until`` (UTC) or an admin unlocks it."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until:%Y-%m-%d %H:%M} UTC after repeated wrong passwords")
        self.until = until


def authenticate_admin(
    session: Session, *, username: str, password: str, max_failures: int = 5, lock_minutes: int = 15
) -> AdminUser | None:
    """The active admin with this name and password, or None. Audits both outcomes. After ``max_failures`` wrong
    passwords in a row the account is locked for ``lock_minutes``: raises :class:`AdminLocked`, even for the right
    password, without checking it."""
    row = session.scalar(select(AdminUser).where(AdminUser.username == username))
    now = utcnow()
    if row is not None and row.locked_until is not None and row.locked_until > now:
        audit(session, actor=f"admin:{username[:120]}", action="admin.sign_in_refused_locked")
        raise AdminLocked(row.locked_until)
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
        ok = row is not None and row.disabled_at is None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None:
        audit(session, actor=f"admin:{username[:120]}", action="admin.sign_in_failed")
        if row is not None:
            row.failed_attempts = (row.failed_attempts or 0) + 1
            if row.failed_attempts >= max_failures:
                row.locked_until = now + timedelta(minutes=lock_minutes)
                row.failed_attempts = 0
                audit(
                    session,
                    actor="system",
                    action="admin.locked",
                    subject=f"admin:{username}",
                    details={"until": row.locked_until.isoformat() + "Z"},
                )
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    row.last_sign_in_at = now
    row.failed_attempts, row.locked_until = 0, None
    audit(session, actor=f"admin:{username}", action="admin.signed_in")
    return row


def unlock_admin(session: Session, *, username: str, actor: str) -> None:
    row = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if row is None:
        raise AdminError(f"no admin {username!r}")
    row.failed_attempts, row.locked_until = 0, None
    audit(session, actor=actor, action="admin.unlocked", subject=f"admin:{username}")


# ---- sessions and login links ----------------------------------------------------------------------------------


def start_session(session: Session, *, kind: str, subject: str, hours: float, actor: str) -> str:
    """A new server-side session; returns the token for the (signed) cookie. Only its digest is stored."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Sessions ended a week ago and links used two days ago (a link lives at most a day) are kept no longer.
    session.execute(delete(WebSession).where(WebSession.expires_at < now - timedelta(days=7)))
    session.execute(delete(UsedLoginLink).where(UsedLoginLink.used_at < now - timedelta(days=2)))
    session.add(
        WebSession(
            token_digest=_digest(token),
            kind=kind,
            subject=subject,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    audit(session, actor=actor, action=f"{kind}.session_started", subject=f"{kind}:{subject}")
    return token


def session_subject(session: Session, *, token: str, kind: str) -> str | None:
    """Whom the session token ``token`` signs in as, or None when it is unknown, revoked or expired."""
    row = session.get(WebSession, _digest(token))
    if row is None or row.kind != kind or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row.subject


def end_session(session: Session, *, token: str, actor: str) -> None:
    row = session.get(WebSession, _digest(token))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(session, actor=actor, action=f"{row.kind}.signed_out", subject=f"{row.kind}:{row.subject}")


def end_sessions(session: Session, *, kind: str, subject: str, actor: str) -> int:
    """Revoke every session of one worker or admin ("sign out everywhere", a password change)."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.kind == kind, WebSession.subject == subject, WebSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    audit(
        session,
        actor=actor,
        action=f"{kind}.signed_out_everywhere",
        subject=f"{kind}:{subject}",
        details={"sessions": count},
    )
    return count


def use_login_link(session: Session, *, link_id: str, worker_id: str) -> bool:
    """Record the use of a login link; False when it was used before (by this or any other server process)."""
    try:
        with session.begin_nested():
            session.add(UsedLoginLink(link_id=link_id, worker_id=worker_id, used_at=utcnow()))
    except IntegrityError:
        return False
    return True


def list_admins(session: Session) -> list[AdminUser]:
    return list(session.scalars(select(AdminUser).order_by(AdminUser.username)).all())
