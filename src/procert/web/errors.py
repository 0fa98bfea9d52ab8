"""The one shape of every API error, used by the routes' error handlers and by the request guard alike."""

from __future__ import annotations

from typing import Any

ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    422: "invalid_parameters",
    429: "too_many_requests",
    431: "headers_too_large",
}


def error_body(status: int, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``{"error": {"status", "code", "message", "details"}}``."""
    return {
        "error": {
            "status": status,
            "code": ERROR_CODES.get(status, "error"),
            "message": message,
            "details": details or [],
        }
    }
