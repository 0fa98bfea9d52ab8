"""The root of procert's own errors: every refusal procert raises on purpose is a :class:`ProcertError`, so the
web maps them to its one error body and the CLI to a clear message and exit 1 in one place each, and nobody tells
errors apart by their text. ``status`` is the HTTP status a refusal of this kind answers with."""

from __future__ import annotations

from procert.i18n import Message


class ProcertError(Exception):
    """A refusal with a message for people: bad input, a state that does not allow the request.

    Raised with a :class:`~procert.i18n.Message`, it says itself in the reader's language (:meth:`text`): pages
    and the CLI show it so. ``str()`` is the English text, for logs and the API's error body."""

    status: int = 400

    def __init__(self, message: str | Message = "") -> None:
        super().__init__(message)
        self.message = message

    def text(self, lang: str) -> str:
        """The refusal in ``lang`` (a message written as plain text stays as it is)."""
        return self.message.text(lang) if isinstance(self.message, Message) else str(self.message)

    def __str__(self) -> str:
        return self.text("en")


class NotFoundError(ProcertError):
    status = 404


class ConflictError(ProcertError):
    """Another process did the same thing at the same time, or the state changed under the request."""

    status = 409


class GoneError(ProcertError):
    """The thing existed but is no longer shown (a worker who left the marketplace)."""

    status = 410
