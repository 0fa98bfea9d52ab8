"""Settings shared by every stage: environment variables prefixed ``PROCERT_`` (and CLI options)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """procert's settings. Every field can be set as ``PROCERT_<NAME>`` or by the matching CLI option."""

    model_config = SettingsConfigDict(env_prefix="PROCERT_", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path.home() / ".procert",
        description="Folder holding all local state (the facts database, results).",
    )
    program: str = Field(
        default="crowdworks-pro",
        description="Default program: a preset id or a path to a program TOML file.",
    )
    lang: Literal["ja", "en"] = Field(
        default="ja", description="Language of the CLI's messages, tables and explanations: ja or en."
    )
    duckdb_memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '4GB'. Unset: DuckDB's default (80% of RAM)."
    )
    duckdb_threads: int | None = Field(default=None, ge=1, description="DuckDB worker threads. Unset: all cores.")
    import_memory_limit: str = Field(
        default="2GB",
        pattern=r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$",
        description=(
            "DuckDB memory limit while `procert import` runs: beyond it the import spills to disk beside the store "
            "(a 1M-worker export peaks under 3 GB). Raise it for a faster import where memory is to spare."
        ),
    )

    database_url: str | None = Field(
        default=None,
        description="Ledger database URL, e.g. postgresql://user@host/db. Unset: SQLite at PROCERT_HOME/ledger.sqlite.",
    )
    max_worker_drop: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="A run refuses when the number of workers fell by more than this share since the last run.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000", description="Base URL of the web app, for links in notifications."
    )
    at_risk_days: int = Field(
        default=14, ge=0, le=90, description="Days before the next evaluation when at-risk notices are sent."
    )
    marketplace_profile_url: str | None = Field(
        default=None,
        description="The worker's page on the operator's marketplace, e.g. https://example.jp/workers/{worker_id}: "
        "profiles link to it (hiring happens there).",
    )
    marketplace_scout_url: str | None = Field(
        default=None, description="Where a client scouts the worker, with {worker_id}: the profile's scout button."
    )
    marketplace_job_url: str | None = Field(
        default=None, description="A job's page on the marketplace, with {job_id}: the job page's apply button."
    )
    appeal_target_hours: int = Field(
        default=72, ge=1, le=24 * 60, description="How soon an appeal should be answered (the admin queue's target)."
    )
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for notifications.")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port.")
    smtp_starttls: bool = Field(default=False, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Connect with implicit TLS (SMTPS, usually port 465).")
    smtp_user: str | None = Field(default=None, description="SMTP login user (with PROCERT_SMTP_PASSWORD).")
    smtp_password: str | None = Field(default=None, description="SMTP login password.")
    smtp_from: str = Field(default="procert@localhost", description="From address of notification mails.")
    smtp_timeout: float = Field(default=10, gt=0, description="Seconds before an SMTP attempt gives up.")

    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs login links and session cookies. Required to serve outside demo mode; keep it secret.",
    )
    demo: bool = Field(
        default=False,
        description="Demo mode: a random key made per process, a page to sign in as any worker, loopback only. "
        "Refused together with PROCERT_SECRET_KEY or a PROCERT_DATABASE_URL.",
    )
    login_link_minutes: int = Field(default=15, ge=1, le=1440, description="How long a login link stays valid.")
    facts_url: str | None = Field(
        default=None,
        description="Also keep the facts in PostgreSQL (postgresql://…): `procert import` copies them there and "
        "`procert evaluate --engine postgresql` evaluates there.",
    )
    spark_master: str = Field(default="local[*]", description="Spark master URL for `--engine spark`.")
    ledger_refresh_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="How often the web server re-reads the latest run, overrides and API keys changed elsewhere.",
    )
    web_workers: int = Field(default=1, ge=1, le=64, description="Server processes of `procert serve`.")
    web_threads: int = Field(
        default=4, ge=1, le=256, description="Worker threads per server process for database work."
    )
    max_body_bytes: int = Field(
        default=2_000_000,
        ge=1024,
        description="Largest request body the web accepts from an admin (bigger: 413); anonymous forms get 64 KiB.",
    )
    max_header_bytes: int = Field(
        default=16_384, ge=1024, description="Largest total size of a request's headers (bigger: 431)."
    )
    admin_lockout_failures: int = Field(
        default=5, ge=1, le=100, description="Wrong admin passwords in a row before the account is locked."
    )
    admin_lockout_minutes: int = Field(
        default=15, ge=1, le=1440, description="How long a locked admin account stays locked (or until unlocked)."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Proxies trusted to say the client's address and scheme (X-Forwarded-For/-Proto), comma-separated.",
    )
    profile_snapshot: bool = Field(
        default=True,
        description="Serve profile pages from the server's own copy of every worker's profile facts (an SQLite "
        "file in the temporary folder, rebuilt per import and run); false reads each profile live from the facts.",
    )
    clock_snapshot: bool = Field(
        default=True,
        description="Answer the status API and dashboard from the server's own copy of every worker's live and "
        "forecast evaluation (an SQLite file in the temporary folder, rebuilt per day, import and change of leave); "
        "false evaluates each worker live.",
    )
    facts_reload_seconds: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="How often the web server looks for a newer facts store (written by `procert import`).",
    )

    @model_validator(mode="after")
    def _marketplace_links(self) -> Settings:
        for name, placeholder in (
            ("marketplace_profile_url", "{worker_id}"),
            ("marketplace_scout_url", "{worker_id}"),
            ("marketplace_job_url", "{job_id}"),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not value.startswith(("https://", "http://")) or placeholder not in value:
                raise ValueError(f"PROCERT_{name.upper()} must be an http(s) URL containing {placeholder}: {value!r}")
        return self

    @model_validator(mode="after")
    def _demo_is_never_production(self) -> Settings:
        if self.demo and self.database_url and not self.database_url.startswith("sqlite"):
            raise ValueError(
                "demo mode cannot run against PROCERT_DATABASE_URL (a production ledger): unset one of them"
            )
        return self

    @classmethod
    def default(cls, name: str) -> Any:
        """The default of setting ``name``: what code below the core object uses, so it is declared once."""
        return cls.model_fields[name].get_default(call_default_factory=True)

    @property
    def ledger_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'ledger.sqlite'}"

    @property
    def facts_path(self) -> Path:
        return self.home / "facts.duckdb"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"
