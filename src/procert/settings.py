"""Settings shared by every stage: environment variables prefixed ``PROCERT_`` (and CLI options)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    lang: str = Field(default="ja", pattern="^(ja|en)$", description="Language of CLI explanations: ja or en.")
    duckdb_memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '4GB'. Unset: DuckDB's default (80% of RAM)."
    )
    duckdb_threads: int | None = Field(default=None, ge=1, description="DuckDB worker threads. Unset: all cores.")

    @property
    def facts_path(self) -> Path:
        return self.home / "facts.duckdb"

    @property
    def results_dir(self) -> Path:
        return self.home / "results"
