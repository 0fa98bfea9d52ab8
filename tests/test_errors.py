"""One root for procert's own errors, mapped once to the API's error body and once to the CLI's exit."""

from __future__ import annotations

import sys

import pytest

from procert.benefits.jobs import JobImportFailed
from procert.benefits.promotion import NewsletterError
from procert.errors import ConflictError, NotFoundError, ProcertError
from procert.evaluation.explain import WorkerNotFound
from procert.facts import FactStoreError, ImportFailed
from procert.ledger import AdminError, AdminLocked, LedgerNotReady, RunRaced, RunRefused
from procert.notify import UndeliverableError
from procert.programs.loader import ProgramError
from procert.web.auth import LoginError
from tests.test_web import site as site  # the fixture


def test_every_refusal_is_a_procert_error_with_its_status():
    for kind in (
        ImportFailed,
        FactStoreError,
        ProgramError,
        WorkerNotFound,
        UndeliverableError,
        LoginError,
        NewsletterError,
        JobImportFailed,
        RunRefused,
        AdminError,
        AdminLocked,
        LedgerNotReady,
    ):
        assert issubclass(kind, ProcertError), kind
    assert WorkerNotFound("x").status == 404 and RunRaced("x").status == 409 and AdminError("x").status == 400
    assert issubclass(RunRaced, RunRefused)  # callers that refuse any run refusal still catch a race


def test_the_web_answers_any_unhandled_refusal_with_the_one_error_body(site):
    client, _ = site

    def gone() -> None:
        raise NotFoundError("no such thing")

    def clash() -> None:
        raise ConflictError("someone else did it first")

    client.app.add_api_route("/api/v1/test-gone", gone)
    client.app.add_api_route("/test-clash", clash)
    body = client.get("/api/v1/test-gone")
    assert body.status_code == 404
    assert body.json() == {"error": {"status": 404, "code": "not_found", "message": "no such thing", "details": []}}
    page = client.get("/test-clash")
    assert page.status_code == 409 and "someone else did it first" in page.text


def test_the_cli_ends_an_unhandled_refusal_with_one_line_and_exit_1(monkeypatch, capsys):
    import procert.cli.main as cli

    app = cli.build_app()

    @app.command("test-clash", hidden=True)
    def clash() -> None:
        raise ConflictError("another process got there first")

    monkeypatch.setattr(cli, "build_app", lambda only=None: app)
    monkeypatch.setattr(sys, "argv", ["procert", "test-clash"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "another process got there first" in err and "Traceback" not in err
