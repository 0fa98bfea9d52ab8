"""Importing while the site serves: every import writes a new store file and switches it in atomically.

``facts.duckdb`` is a symbolic link to the current version, a file in ``facts.duckdb.versions/``. An import
takes the import lock (one import at a time; a second waits), copies the current version to a new file there,
imports into the copy, checkpoints and closes it, and replaces the link with one to the new file (a rename: an
atomic step on POSIX file systems). Readers that have the old version open keep reading it until they reopen
(:meth:`FactStore.reopen_if_replaced`); new readers open the new one. A refused or interrupted import leaves the
link and the current version exactly as they were; its copy is removed (after a crash, by the next import).
The current and the previous version are kept; older ones are deleted (readers still holding them open keep
reading them: the file system frees them when the last reader closes).

Distinct file names matter: DuckDB shares one open database per path within a process, so a reader reopening
the same path would get the old database back.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from procert.facts.importer import import_export
from procert.facts.problems import ImportReport
from procert.facts.store import FactStore, FactStoreError
from procert.i18n import Message, Progress


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextmanager
def import_lock(path: Path, *, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store's import lock (an advisory lock on a file beside it), waiting for another import."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(path), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def versions_dir(path: Path) -> Path:
    return path.with_name(path.name + ".versions")


def current_version(path: Path) -> Path | None:
    """The file the store at ``path`` currently is (``path`` itself for a store from before versions)."""
    if path.is_symlink():
        return path.resolve()
    return path if path.exists() else None


def atomic_import(
    path: Path,
    directory: Path | str,
    *,
    timezone: str,
    replace: bool = False,
    progress: Progress | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    encoding: str = "utf-8",
) -> ImportReport:
    """Import ``directory`` into the store at ``path`` as one atomic switch (see the module). Raises
    :class:`~procert.facts.ImportFailed` (nothing stored) or :class:`FactStoreError` (no space, unreadable
    store), leaving the current store untouched either way."""
    step = progress or (lambda _msg: None)
    with import_lock(path, waiting=lambda: step(Message("step_waiting_for_import"))):
        versions = versions_dir(path)
        versions.mkdir(parents=True, exist_ok=True)
        current = current_version(path)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        work = versions / f"facts-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**9:09d}.duckdb"
        try:
            # A delta goes into a copy of the current store; a full export into a fresh file (copying the store
            # only to delete all of it would cost a copy and leave the file as large as both).
            if current is not None and not replace:
                step(Message("step_copying_store"))
                shutil.copyfile(current, work)
            with FactStore(work, memory_limit=memory_limit, threads=threads) as store:
                if current is not None and replace:
                    _carry_history(store, current)
                report = import_export(
                    store, directory, timezone=timezone, replace=replace, progress=step, encoding=encoding
                )
                step(Message("step_writing_store"))
                store.con.execute("CHECKPOINT")
            _fsync(work)
            link = path.with_name(path.name + ".switch")
            link.unlink(missing_ok=True)
            link.symlink_to(work.relative_to(path.parent))
            os.replace(link, path)
            _fsync(path.parent)
        except duckdb.IOException as exc:
            _remove(work)
            if "No space left" in str(exc):
                raise FactStoreError(_no_space(path)) from None
            raise FactStoreError(f"cannot write the new store beside {path}: {exc}") from None
        except OSError as exc:
            _remove(work)
            if exc.errno == errno.ENOSPC:
                raise FactStoreError(_no_space(path)) from None
            raise FactStoreError(f"cannot write the new store beside {path}: {exc.strerror or exc}") from None
        except BaseException:
            _remove(work)
            raise
        # Keep the new and the previous version; older ones and copies of killed imports go.
        keep = {work.name, current.name if current is not None else ""}
        for old in versions.glob("facts-*.duckdb*"):
            if old.name.removesuffix(".wal") not in keep:
                old.unlink(missing_ok=True)
    return report


def _carry_history(store: FactStore, current: Path) -> None:
    """The import history and time zone of the current store, into the fresh file a full export starts."""
    con = store.con
    con.execute(f"ATTACH '{current}' AS previous (READ_ONLY)")
    try:
        con.execute("INSERT INTO procert_imports SELECT * FROM previous.procert_imports")
        zone = con.execute("SELECT value FROM previous.procert_meta WHERE key = 'timezone'").fetchone()
        if zone is not None:
            store.set_meta("timezone", zone[0])
    finally:
        con.execute("DETACH previous")


def _no_space(path: Path) -> str:
    return (
        f"not enough free disk space beside {path} for the new store (an import needs room for a full copy of "
        "the store): nothing was changed"
    )


def _fsync(path: Path) -> None:
    """Flush a file, or a folder's entries (after a rename), to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
