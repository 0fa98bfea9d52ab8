"""Admin API keys: created once and shown once, stored as SHA-256 digests, revocable, audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import ApiKey
from .service import audit, utcnow

PREFIX = "pck_"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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
