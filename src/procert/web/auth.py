"""Signing workers in: short-lived login links signed with PROCERT_SECRET_KEY (HMAC, via itsdangerous), then a
signed, HTTP-only session cookie. The operator's platform issues the links (`procert login-link WORKER_ID`)."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

#: Only for demo mode; `procert serve` refuses to start with it otherwise.
DEMO_SECRET = "procert-demo-secret-not-for-production"
_SALT = "procert.login-link"


class LoginError(ValueError):
    """A login link that is forged, altered or too old."""


def login_token(secret: str, worker_id: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps({"worker": worker_id})


def read_login_token(secret: str, token: str, *, max_age_seconds: int) -> str:
    """The worker id a login token was issued for. Raises :class:`LoginError`."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise LoginError("this login link has expired; ask for a new one") from None
    except BadSignature:
        raise LoginError("this login link is not valid") from None
    if not isinstance(data, dict) or not isinstance(data.get("worker"), str):
        raise LoginError("this login link is not valid")
    return data["worker"]


def login_url(public_url: str, secret: str, worker_id: str) -> str:
    return f"{public_url.rstrip('/')}/login?token={login_token(secret, worker_id)}"


def resolve_secret(secret_key: str | None, *, demo: bool) -> str:
    """The key to sign with; outside demo mode a real one is required."""
    if secret_key and secret_key != DEMO_SECRET:
        return secret_key
    if demo:
        return DEMO_SECRET
    raise ValueError(
        "PROCERT_SECRET_KEY is missing or is the demo key: set a long random secret (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`), or use demo mode for a demo"
    )
