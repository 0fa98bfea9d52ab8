"""The web's outer guard, a plain ASGI middleware that runs before any route reads a byte of the body:

- headers larger than ``max_header_bytes`` are refused (431), bodies larger than ``max_body_bytes`` too (413),
  by their Content-Length before reading and by counting while they stream;
- a request that changes state on a protected path must carry valid credentials *before* its body is read
  (``authorize`` decides, in a worker thread since it may look up the ledger); anonymous writes (sign-in forms,
  unsubscribing) are held to ``anonymous_body_bytes``;
- ``HEAD`` is answered as ``GET`` without the body;
- every response carries security headers (CSP with ``frame-ancestors 'none'``, nosniff, Referrer-Policy, HSTS
  when the request came over HTTPS, as uvicorn reports it from the proxy's headers when told to trust them).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from procert.web.errors import error_body

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROXY_HEADERS = frozenset({b"x-forwarded-for", b"x-forwarded-host", b"x-forwarded-proto", b"forwarded", b"x-real-ip"})

#: Pages: only our own scripts, styles and images; never framed (admin forms cannot be clickjacked).
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Badges are embedded as images on other sites: nothing active inside, readable cross-origin.
BADGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"

#: None when the request may go on, else the refusal's (status, message).
Authorize = Callable[[Scope], tuple[int, str] | None]


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        authorize: Authorize,
        protected: Callable[[str, str], bool],
        max_body_bytes: int,
        max_header_bytes: int,
        anonymous_body_bytes: int = 64 * 1024,
        demo: bool = False,
    ) -> None:
        self.app = app
        self.demo = demo
        self.authorize = authorize
        self.protected = protected
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.anonymous_body_bytes = min(anonymous_body_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        path: str = scope["path"]
        send = _with_security_headers(send, badge=path.startswith("/badge/"), https=https)
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if header_bytes > self.max_header_bytes:
            await _refuse(send, 431, f"request headers exceed {self.max_header_bytes} bytes")
            return
        if self.demo and any(k in PROXY_HEADERS for k, _ in scope["headers"]):
            # Demo mode lets anyone sign in as anyone: it serves this machine's own browser, never a proxy's
            # visitors (it listens on loopback only; a proxy on the same host must not publish it).
            await _refuse(send, 403, "demo mode is served to this machine only, not through a proxy")
            return
        method: str = scope["method"]
        if method == "HEAD":
            scope = {**scope, "method": "GET"}
            send = _without_body(send)
        if method not in WRITE_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        if self.protected(method, path):
            # Credentials first: nothing of an unauthenticated body is read, parsed or kept.
            refusal = await run_in_threadpool(self.authorize, scope)
            if refusal is not None:
                await _refuse(send, *refusal)
                return
        else:
            limit = self.anonymous_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, 413, f"the request body exceeds {limit} bytes")
            return
        await self._call_counting(scope, receive, send, limit)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        too_large = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large:
                # The app turned the cut-off body into an error of its own (FastAPI: 400): answer 413 instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _refuse(send, 413, f"the request body exceeds {limit} bytes")
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, f"the request body exceeds {limit} bytes")
        except Exception:
            # Starlette wraps errors raised while reading a form; a body cut off by the limit is still a 413.
            if not too_large:
                raise
            if not started:
                await _refuse(send, 413, f"the request body exceeds {limit} bytes")


class BodyTooLarge(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _with_security_headers(send: Send, *, badge: bool, https: bool) -> Send:
    extra = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"strict-origin-when-cross-origin"),
        (b"content-security-policy", (BADGE_CSP if badge else PAGE_CSP).encode()),
    ]
    if badge:
        extra.append((b"cross-origin-resource-policy", b"cross-origin"))
    else:
        extra.append((b"x-frame-options", b"DENY"))
    if https:
        extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            headers = list(message.get("headers", [])) + [(k, v) for k, v in extra if k not in names]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _without_body(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return wrapped


async def _refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps(error_body(status, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
