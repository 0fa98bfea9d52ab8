"""The one object the CLI and the web both take (datasette's ``Datasette`` is the model): it turns
:class:`~procert.settings.Settings` into the program, the ledger, the facts store, the notification and SMTP
options, the signing key and the clock. Nothing else builds these from settings, so a default is declared once
(in ``Settings``) and a limit set there reaches every reader.

    >>> from procert import Procert
    >>> from procert.settings import Settings
    >>> core = Procert(Settings(home="/tmp/procert-doc", program="crowdworks-pro"))
    >>> core.program.id
    'crowdworks-pro'
    >>> core.notify_options().at_risk_days
    14
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from procert.errors import ProcertError
from procert.facts import FactStore, ImportReport
from procert.i18n import Progress
from procert.programs import Program, load_program
from procert.settings import Settings
from procert.signing import resolve_secret

if TYPE_CHECKING:
    # The ledger (SQLAlchemy, Alembic) and the mail are imported when first used: commands that need neither,
    # such as `procert evaluate`, start without them.
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from procert.ledger import NotifyOptions
    from procert.metrics import Away
    from procert.notify import SmtpConfig


class SettingsError(ProcertError):
    """A setting that cannot work (a weak or missing key, a ledger that cannot be reached)."""


class Procert:
    """procert for one program: everything a command or a request needs, built once from the settings.

    ``program`` and ``engine`` may be handed in (tests, embedding); otherwise they come from the settings. The
    ledger is migrated on first use when it is the embedded SQLite file; a PostgreSQL ledger must have been
    upgraded with `procert db upgrade` (:class:`~procert.ledger.LedgerNotReady` otherwise)."""

    def __init__(self, settings: Settings, *, program: Program | None = None, engine: Engine | None = None) -> None:
        self.settings = settings
        if program is not None:
            self.__dict__["program"] = program
        self._engine = engine
        self._ledger_lock = threading.Lock()
        self._ledger_ready = engine is not None

    @cached_property
    def program(self) -> Program:
        """The program named by ``PROCERT_PROGRAM`` (a preset id or a TOML path). Raises ProgramError."""
        return load_program(self.settings.program)

    @property
    def ledger(self) -> Engine:
        """The ledger's engine, migrated (SQLite) or checked to be current (PostgreSQL)."""
        from procert.ledger import make_engine

        with self._ledger_lock:
            if self._engine is None:
                self._engine = make_engine(self.settings.ledger_url)
            if not self._ledger_ready:
                self._prepare_ledger(self._engine)
                self._ledger_ready = True
            return self._engine

    def _prepare_ledger(self, engine: Engine) -> None:
        from procert.ledger import LedgerNotReady, require_current, upgrade
        from procert.ledger.db import current_revision, head_revision

        if self.settings.database_url is None:
            if current_revision(engine) != head_revision():
                upgrade(engine)
            return
        try:
            require_current(engine)
        except LedgerNotReady:
            raise
        except Exception as exc:  # connection refused, bad URL: say so plainly
            raise SettingsError(f"cannot use the ledger database: {exc}") from exc

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A ledger session (committed on success when ``write``)."""
        from procert.ledger import session_scope

        with session_scope(self.ledger, write=write) as session:
            yield session

    def declared_leave(self, *, through: date) -> dict[str, tuple[Away, ...]]:
        """Every worker's declared leave beginning by ``through``, as runs take it, for the evaluations a command
        makes outside a run (``evaluate``, ``explain``): none before the embedded ledger exists."""
        from procert.ledger import LedgerNotReady, away_by_worker

        embedded = self._engine is None and self.settings.database_url is None
        if embedded and not (self.settings.home / "ledger.sqlite").exists():
            return {}
        try:
            with self.session() as session:
                return away_by_worker(session, program_id=self.program.id, through=through)
        except LedgerNotReady:  # a ledger database not set up yet holds no leave
            return {}

    @property
    def facts_path(self) -> Path:
        return self.settings.facts_path

    def open_facts(self, *, read_only: bool = True) -> FactStore:
        """The facts store with the configured DuckDB memory and thread limits (every reader gets them)."""
        return FactStore(
            self.facts_path,
            read_only=read_only,
            memory_limit=self.settings.duckdb_memory_limit,
            threads=self.settings.duckdb_threads,
        )

    def import_facts(
        self,
        directory: Path,
        *,
        replace: bool = False,
        encoding: str = "utf-8",
        progress: Progress | None = None,
    ) -> ImportReport:
        """Validate an export and switch it in atomically (see :func:`procert.facts.atomic_import`), in the
        program's time zone and with the configured DuckDB limits. Raises ImportFailed or FactStoreError."""
        from procert.facts import atomic_import  # the import's checks load only for an import

        return atomic_import(
            self.facts_path,
            directory,
            timezone=self.program.timezone,
            replace=replace,
            progress=progress,
            memory_limit=self.settings.import_memory_limit,
            threads=self.settings.duckdb_threads,
            encoding=encoding,
        )

    def notify_options(self, *, enabled: bool = True) -> NotifyOptions:
        """How runs queue notifications: the dashboard link and the at-risk window, from the settings."""
        from procert.ledger import NotifyOptions

        return NotifyOptions(
            enabled=enabled, public_url=self.settings.public_url, at_risk_days=self.settings.at_risk_days
        )

    @property
    def smtp(self) -> SmtpConfig:
        from procert.notify import SmtpConfig

        s = self.settings
        return SmtpConfig(
            host=s.smtp_host,
            port=s.smtp_port,
            starttls=s.smtp_starttls,
            ssl=s.smtp_ssl,
            user=s.smtp_user,
            password=s.smtp_password,
            sender=s.smtp_from,
            timeout=s.smtp_timeout,
        )

    @cached_property
    def secret(self) -> str:
        """The key that signs sessions and links: demo mode's random one or ``PROCERT_SECRET_KEY``, which must be
        strong. Raises :class:`SettingsError`."""
        configured = self.settings.secret_key.get_secret_value() if self.settings.secret_key else None
        try:
            return resolve_secret(configured, demo=self.settings.demo)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    @property
    def demo(self) -> bool:
        return self.settings.demo

    def today(self) -> date:
        """Today in the program's time zone (1 January starts in Tokyo while it is still 31 December in UTC)."""
        return self.today_in(self.program)

    @staticmethod
    def today_in(program: Program) -> date:
        return datetime.now(ZoneInfo(program.timezone)).date()

    def reset_ledger(self) -> None:
        """Let go of the ledger (the demo removes its SQLite file): the next use opens and migrates it afresh."""
        with self._ledger_lock:
            if self._engine is not None:
                self._engine.dispose()
            self._engine, self._ledger_ready = None, False

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
