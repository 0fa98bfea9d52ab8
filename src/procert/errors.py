"""The root of procert's own errors: every refusal procert raises on purpose is a :class:`ProcertError`, so the
web maps them to its one error body and the CLI to a clear message and exit 1 in one place each, and nobody tells
errors apart by their text. ``status`` is the HTTP status a refusal of this kind answers with."""

from __future__ import annotations


class ProcertError(Exception):
    """A refusal with a message for people: bad input, a state that does not allow the request."""

    status: int = 400


class NotFoundError(ProcertError):
    status = 404


class ConflictError(ProcertError):
    """Another process did the same thing at the same time, or the state changed under the request."""

    status = 409


class GoneError(ProcertError):
    """The thing existed but is no longer shown (a worker who left the marketplace)."""

    status = 410
