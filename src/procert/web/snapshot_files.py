"""Server-side copies of something every worker has, one row each, in read-only SQLite files of the server's own
(in the system's temporary folder): built in a background thread whenever what they depend on (their key)
changes, answered with one point lookup (tens of microseconds, where a DuckDB query costs most of a
millisecond), and never answered for another key than the one asked for. The profile facts
(:mod:`.profile_snapshot`) and the dashboard's clocks (:mod:`.clock_snapshot`) are two such copies."""

from __future__ import annotations

import contextlib
import logging
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import duckdb

from procert.facts import FactStore

log = logging.getLogger(__name__)

#: A failed build is tried again after this many seconds (not on every request).
RETRY_SECONDS = 60.0


class SnapshotKeyLike(Hashable, Protocol):
    """What a key must have: the facts store's generation it was taken at (a build for an older one is void)."""

    @property
    def generation(self) -> int: ...


K = TypeVar("K", bound=SnapshotKeyLike)
V = TypeVar("V")
#: Writes every worker's row for a key into a new SQLite file (table ``table``, ``worker_id`` its key) and returns
#: the rows written; it hands the DuckDB cursor it reads with to the callback (to interrupt it).
Writer = Callable[[FactStore, Path, K, Callable[[duckdb.DuckDBPyConnection], None]], int]


class SnapshotFiles(Generic[K, V]):
    """The current snapshot of one kind, built again in the background whenever its key changes (thread-safe)."""

    def __init__(self, *, name: str, table: str, write: Writer[K], decode: Callable[[Sequence[object]], V]) -> None:
        self.name = name
        self._table = table
        self._write = write
        self._decode = decode
        self._directory: Path | None = None
        self._current: tuple[K, Path] | None = None
        self._building: K | None = None
        self._failed: tuple[K, float] | None = None
        self._lock = threading.Lock()
        self._local = threading.local()
        self._serial = 0
        self._done = threading.Condition(self._lock)
        self._closed = False
        self._thread: threading.Thread | None = None
        self._reading: duckdb.DuckDBPyConnection | None = None

    @property
    def current_key(self) -> K | None:
        """The key of the snapshot answered from, if any."""
        current = self._current
        return current[0] if current is not None else None

    @property
    def ready(self) -> bool:
        """Whether a snapshot is answered from and none is building (what /healthz reports)."""
        return self._current is not None and self._building is None

    def lookup(self, key: K, worker_id: str) -> V | bool | None:
        """The worker's row from the snapshot of ``key``, decoded; None when it holds no such worker, False when
        there is no snapshot of ``key`` (yet)."""
        current = self._current
        if current is None or current[0] != key:
            return False
        row = (
            self._connection(current[1])
            .execute(f"SELECT * FROM {self._table} WHERE worker_id = ?", [worker_id])
            .fetchone()
        )
        return self._decode(row) if row is not None else None

    def _connection(self, path: Path) -> sqlite3.Connection:
        held: tuple[Path, sqlite3.Connection] | None = getattr(self._local, "held", None)
        if held is not None and held[0] == path:
            return held[1]
        if held is not None:
            held[1].close()
        # immutable: the file never changes once written, so SQLite needs no locks to read it.
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        # Mapped into memory: a lookup reads pages the kernel holds for the file it just wrote, no read() calls.
        con.execute(f"PRAGMA mmap_size = {max(path.stat().st_size, 1 << 20)}")
        self._local.held = (path, con)
        return con

    def build_soon(self, store: FactStore, key: K) -> None:
        """Start building the snapshot of ``key`` in a background thread unless one is built or building."""
        with self._lock:
            if self._building == key or (self._current is not None and self._current[0] == key):
                return
            if self._failed is not None and self._failed[0] == key and time.monotonic() < self._failed[1]:
                return
            if self._building is not None or self._closed:  # another key is building: looked at again when done
                return
            self._building = key
            self._thread = threading.Thread(
                target=self._build, args=(store, key), name=f"{self.name}-snapshot", daemon=True
            )
            self._thread.start()

    def _build(self, store: FactStore, key: K) -> None:
        with self._lock:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix=f"procert-{self.name}-"))
            self._serial += 1
            path = self._directory / f"{self.name}-{self._serial}.sqlite"
        started = time.perf_counter()
        try:
            if store.generation != key.generation:
                raise RuntimeError("the facts store switched to a newer file before the build began")
            count = self._write(store, path, key, self._reading_with)
            if store.generation != key.generation:
                raise RuntimeError("the facts store switched to a newer file during the build")
        except Exception as exc:  # a failed cache build must never take the server down: pages stay live
            log.warning("%s snapshot for %s not built: %s", self.name, key, exc)
            path.unlink(missing_ok=True)
            with self._lock:
                self._building, self._reading = None, None
                self._failed = (key, time.monotonic() + RETRY_SECONDS)
                self._done.notify_all()
            return
        log.info("%s snapshot of %d workers built in %.1f s", self.name, count, time.perf_counter() - started)
        with self._lock:
            previous, self._current = self._current, (key, path)
            self._building, self._reading = None, None
            self._done.notify_all()
        if previous is not None:
            previous[1].unlink(missing_ok=True)  # readers holding it open keep reading until they switch

    def _reading_with(self, con: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            self._reading = con
        if self._closed:
            con.interrupt()

    def wait(self, key: K, timeout: float) -> bool:
        """Wait until the snapshot of ``key`` is ready (or its build failed); returns whether it is ready."""
        deadline = time.monotonic() + timeout
        with self._done:
            while self._building == key and time.monotonic() < deadline:
                self._done.wait(max(0.0, deadline - time.monotonic()))
            return self._current is not None and self._current[0] == key

    def close(self) -> None:
        """Stop a build under way (before the facts store it reads closes) and remove the snapshot files."""
        with self._lock:
            self._closed, reading, thread = True, self._reading, self._thread
        if reading is not None:
            with contextlib.suppress(duckdb.Error):  # already closed: the build is over
                reading.interrupt()
        if thread is not None:
            thread.join(timeout=30)
        held = getattr(self._local, "held", None)
        if held is not None:
            held[1].close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
