"""The key that signs sessions, login links and unsubscribe links: how strong it must be, and demo mode's key."""

from __future__ import annotations

import secrets

#: A key must be at least this long (the URL-safe text of 32 random bytes, what `procert secret generate` prints)
#: and use at least this many different characters (hex keys have 16; "aaaa…" and short words repeated fail).
MIN_SECRET_LENGTH = 43
MIN_SECRET_DISTINCT = 12
#: Demo mode's key: random, made once per process, never written anywhere; sessions and links die with it.
_DEMO_SECRET = secrets.token_urlsafe(32)


def generate_secret() -> str:
    return secrets.token_urlsafe(48)


def secret_problem(secret_key: str) -> str | None:
    """Why ``secret_key`` is too weak to sign sessions and links, or None."""
    if len(secret_key) < MIN_SECRET_LENGTH or len(set(secret_key)) < MIN_SECRET_DISTINCT:
        return (
            f"PROCERT_SECRET_KEY is too weak: use at least {MIN_SECRET_LENGTH} random characters "
            "(32 random bytes), for example the output of `procert secret generate`"
        )
    return None


def resolve_secret(secret_key: str | None, *, demo: bool) -> str:
    """The key to sign with: demo mode's per-process random key, or the configured one, which must be strong."""
    if demo:
        if secret_key:
            raise ValueError("demo mode cannot run with PROCERT_SECRET_KEY set: demo mode is never production")
        return _DEMO_SECRET
    if not secret_key:
        raise ValueError(
            "PROCERT_SECRET_KEY is missing: set a long random secret (`procert secret generate` prints one), "
            "or use demo mode for a demo"
        )
    problem = secret_problem(secret_key)
    if problem:
        raise ValueError(problem)
    return secret_key
