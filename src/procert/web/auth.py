"""Signing workers in: short-lived login links signed with PROCERT_SECRET_KEY (HMAC, via itsdangerous), then a
signed, HTTP-only session cookie. The operator's platform issues the links (`procert login-link WORKER_ID`)."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from procert.errors import ProcertError
from procert.i18n import Message
from procert.signing import generate_secret, resolve_secret, secret_problem

__all__ = ["generate_secret", "resolve_secret", "secret_problem"]  # the key rules live in procert.signing

_SALT = "procert.login-link"
#: How long a sign-in lasts (cookie and server-side session alike).
SESSION_HOURS = 8


class LoginError(ProcertError, ValueError):
    """A login link that is forged, altered or too old."""


def login_token(secret: str, worker_id: str) -> str:
    """A signed login link token; its random ``link`` id makes it usable once (see :func:`read_login_link`)."""
    payload = {"worker": worker_id, "link": secrets.token_urlsafe(16)}
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps(payload)


def read_login_link(secret: str, token: str, *, max_age_seconds: int) -> tuple[str, str]:
    """The (worker id, one-time link id) a login token was issued for. Raises :class:`LoginError`."""
    try:
        data = URLSafeTimedSerializer(secret, salt=_SALT).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise LoginError(Message("refused_login_expired")) from None
    except BadSignature:
        raise LoginError(Message("refused_login_invalid")) from None
    if not isinstance(data, dict) or not isinstance(data.get("worker"), str) or not isinstance(data.get("link"), str):
        raise LoginError(Message("refused_login_invalid"))
    return data["worker"], data["link"]


def read_login_token(secret: str, token: str, *, max_age_seconds: int) -> str:
    """The worker id a login token was issued for. Raises :class:`LoginError`."""
    return read_login_link(secret, token, max_age_seconds=max_age_seconds)[0]


class SignInThrottle:
    """Failed sign-ins per client address, in this process: after ``free`` failures in a row each further attempt
    must wait twice as long as the last (1 s, 2 s, 4 s … up to ``max_wait``). Accounts are locked in the ledger
    (shared by every process); this slows one address guessing across many accounts."""

    def __init__(self, *, free: int = 5, max_wait: float = 900.0, clock: Callable[[], float] = time.monotonic):
        self.free, self.max_wait, self.clock = free, max_wait, clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, address: str) -> float:
        """Seconds before ``address`` may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(address, (0, 0.0))
        if count < self.free:
            return 0.0
        wait = min(2.0 ** (count - self.free), self.max_wait)
        return max(0.0, last + wait - self.clock())

    def failed(self, address: str) -> None:
        with self._lock:
            count, _ = self._failures.get(address, (0, 0.0))
            self._failures[address] = (count + 1, self.clock())
            if len(self._failures) > 100_000:  # bounded memory under a spray of addresses: forget the oldest
                for key in sorted(self._failures, key=lambda k: self._failures[k][1])[:50_000]:
                    del self._failures[key]

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._failures.pop(address, None)


def login_url(public_url: str, secret: str, worker_id: str) -> str:
    return f"{public_url.rstrip('/')}/login?token={login_token(secret, worker_id)}"


def csrf_token(request: Request) -> str:
    """A per-session secret that every form posts back (double submit against the signed session)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return str(token)


def check_csrf(request: Request, token: str | None) -> None:
    """403 unless ``token`` is the session's CSRF token (compared in constant time)."""
    if not token or not hmac.compare_digest(token, csrf_token(request)):
        raise HTTPException(status_code=403, detail="CSRF check failed: reload the page and try again")
