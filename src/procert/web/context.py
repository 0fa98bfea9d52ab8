"""What the web serves from, built on the core object: the ledger through a :class:`StatusReader` snapshot, the
facts store opened read-only with the configured limits, and the current pros (the directory's cards) cached per
ledger and facts version. Usable without HTTP."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine, select

from procert.core import Procert
from procert.evaluation import AwayByWorker
from procert.ledger import Run, StatusReader, api_key_digest, away_by_worker, current_pros, session_scope
from procert.programs import Program, load_program, preset_ids
from procert.web.clock_snapshot import ClockKey, ClockRows, ClockSnapshots
from procert.web.directory import Directory, ProCard, pro_cards
from procert.web.profile_snapshot import ProfileFacts, ProfileSnapshots, SnapshotKey, live_profile_facts

log = logging.getLogger(__name__)


class RecentViews:
    """The most recently used worker views, keyed by what they depend on (bounded; thread-safe)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class WebContext:
    """The program, the ledger and the facts as the routes read them."""

    def __init__(self, core: Procert) -> None:
        self.core = core
        self.program: Program = core.program
        self.engine: Engine = core.ledger
        self.facts_reload_seconds = core.settings.facts_reload_seconds
        self.store = core.open_facts(read_only=True)
        self.statuses = StatusReader(
            self.engine,
            program_id=self.program.id,
            today=self.today,
            refresh_seconds=core.settings.ledger_refresh_seconds,
        )
        self._cards_version: tuple[Any, ...] | None = None
        self._cards: list[ProCard] = []
        self._by_id: dict[str, ProCard] = {}
        self._directory = Directory([])
        self._cards_lock = threading.Lock()
        #: The featured pros' last answer and what it depends on (day, current pros, choices made).
        self.featured_answer: tuple[Any, dict[str, Any]] | None = None
        self._others: list[tuple[Program, StatusReader]] | None = None
        self._others_lock = threading.Lock()
        #: Worker views (the three clocks) recently computed: see procert.web.dashboard.verdict_of.
        self.views = RecentViews()
        #: Every worker's profile facts as of the rated date, for profile pages (see procert.web.profile_snapshot).
        self.profiles = ProfileSnapshots()
        #: Every worker's live and forecast evaluation rows, for the status API and dashboards.
        self.clocks = ClockSnapshots(self.program, self._away_through)
        self._others_checked = float("-inf")
        self._stop_watching = threading.Event()
        self._watcher: threading.Thread | None = None

    def today(self) -> date:
        return self.core.today()

    def rated_as_of(self) -> date:
        """The date the ratings on every page are evaluated at: the latest run's, or today before any run."""
        return self.statuses.latest_as_of or self.today()

    def cards(self, *, max_age: float | None = None) -> list[ProCard]:
        """Every worker certified now, with what the directory shows: rebuilt when the ledger's version changes
        (the ledger looked at when its snapshot is older than ``max_age``, by default the refresh interval)."""
        self.refresh_facts()
        version = (self.statuses.refresh(max_age=max_age), self.store.generation)
        if version != self._cards_version:
            # One thread rebuilds; the others keep serving the previous cards meanwhile (they wait only for the
            # very first build), so a slow ledger never queues every request behind one lock.
            if not self._cards_lock.acquire(blocking=self._cards_version is None):
                return self._cards
            try:
                if version != self._cards_version:
                    with session_scope(self.engine) as session:
                        pros = current_pros(session, program_id=self.program.id, on=self.today())
                    cards = pro_cards(self.store, self.program, pros, rated_as_of=self.rated_as_of())
                    self._cards, self._by_id = cards, {c.worker_id: c for c in cards}
                    self._directory = Directory(cards, self.program)
                    self._cards_version = version
            finally:
                self._cards_lock.release()
        return self._cards

    def snapshot_is_fresh(self) -> bool:
        """Whether :meth:`cards` would answer from memory, touching neither the ledger nor the facts: what lets
        the hottest routes stay on the event loop without ever blocking it."""
        return (
            self.statuses.is_fresh()
            and not self.store.reload_due(self.facts_reload_seconds)
            and self._cards_version == (self.statuses.version, self.store.generation)
        )

    def cards_version(self) -> tuple[Any, ...] | None:
        """Changes whenever the current pros or their facts do (after :meth:`cards`)."""
        return self._cards_version

    def refresh_facts(self) -> None:
        """Switch to a newer facts store if an import wrote one (checked at most every facts_reload_seconds)."""
        self.store.reopen_if_replaced(every_seconds=self.facts_reload_seconds)

    def directory(self) -> Directory:
        self.cards()
        return self._directory

    def certified(self, worker_id: str) -> tuple[bool, date | None]:
        """Whether the worker is certified now and since when: a lookup in the current pros, no query at all
        (badges are the most requested resource)."""
        card = self.card(worker_id)
        return (True, card.since) if card is not None else (False, None)

    def other_programs(self, *, max_age: float | None = None) -> list[tuple[Program, StatusReader]]:
        """The other preset programs recorded in this ledger (several run side by side on the same facts), each
        with a status snapshot of its own; looked up again when the list is older than ``max_age`` (by default
        the ledger refresh interval), by one thread while the others use the list they have (only the very first
        look waits)."""
        now = time.monotonic()
        refresh = self.core.settings.ledger_refresh_seconds if max_age is None else max_age
        if self._others is not None and now - self._others_checked < refresh:
            return self._others
        if not self._others_lock.acquire(blocking=self._others is None):
            return self._others or []
        try:
            with session_scope(self.engine) as session:
                recorded = set(session.scalars(select(Run.program_id).distinct()).all())
            known = {program.id: (program, reader) for program, reader in self._others or []}
            others = []
            for program_id in sorted(recorded & set(preset_ids()) - {self.program.id}):
                # Loaded (parsed and validated) once, not per profile view: the profile is a hot path.
                others.append(
                    known.get(program_id)
                    or (
                        load_program(program_id),
                        StatusReader(
                            self.engine,
                            program_id=program_id,
                            today=self.today,
                            refresh_seconds=self.core.settings.ledger_refresh_seconds,
                        ),
                    )
                )
            self._others, self._others_checked = others, now
        finally:
            self._others_lock.release()
        return self._others

    def gets(self, benefit: Literal["early_access", "promotion"], worker_id: str) -> bool:
        """Whether the worker gets ``benefit`` now (certified, at a level that gets it)."""
        card = self.card(worker_id)
        return self.program.gets(benefit, card.level if card else None, certified=card is not None)

    def card(self, worker_id: str) -> ProCard | None:
        """The worker's directory card while they are certified (their level with it), else None."""
        self.cards()
        return self._by_id.get(worker_id)

    def profile_key(self) -> SnapshotKey:
        """What profiles depend on now (after :meth:`refresh_facts`)."""
        return SnapshotKey(
            generation=self.store.generation,
            rated_as_of=self.rated_as_of(),
            timezone=self.program.timezone,
            with_inquiries="inquiries" in self.store.provided(),
        )

    def prepare_snapshots(self) -> None:
        """Start building the profile and clock snapshots of the current facts, rated date, day and leave (at
        start-up, so profiles and statuses are quick before the first visitor; again whenever one changes)."""
        self.refresh_facts()
        if self.core.settings.profile_snapshot:
            self.profiles.build_soon(self.store, self.profile_key())
        if self.core.settings.clock_snapshot:
            self.clocks.build_soon(self.store, self.clock_key())

    def _away_through(self, day: date) -> AwayByWorker:
        with session_scope(self.engine) as session:
            return away_by_worker(session, program_id=self.program.id, through=day)

    def clock_key(self) -> ClockKey:
        """What the live and forecast clocks depend on now (after :meth:`refresh_facts`)."""
        self.statuses.refresh()
        return ClockKey(generation=self.store.generation, today=self.today(), leaves=self.statuses.leaves_version)

    def clock_rows(self, worker_id: str) -> ClockRows | None:
        """The worker's live and forecast evaluation rows from the snapshot of the current key, or None to
        evaluate them live: no snapshot of that key yet (its build is started), or no such worker in it."""
        if not self.core.settings.clock_snapshot:
            return None
        key = self.clock_key()
        found = self.clocks.lookup(key, worker_id)
        if found is False:
            self.clocks.build_soon(self.store, key)
            return None
        return found  # type: ignore[return-value]

    def profile_answers_from_memory(self) -> bool:
        """Whether a profile would be answered touching neither the ledger nor the facts store: the snapshots
        fresh (see :meth:`snapshot_is_fresh`), no other program recorded (whose status the profile would read
        from the ledger), and the profile snapshot of the current facts and rated date ready (the server's own
        immutable file, mapped into memory: a lookup there is a read of memory, like a badge's)."""
        if not self.snapshot_is_fresh():
            return False
        if self._others is None or self._others:
            return False
        if (
            time.monotonic() - self._others_checked >= self.core.settings.ledger_refresh_seconds
            and not self._others_lock.locked()
        ):
            return False
        current = self.profiles.current_key
        # Same generation: the facts' provided set is cached (it was read when this snapshot was asked for).
        return current is not None and current.generation == self.store.generation and current == self.profile_key()

    def profile_facts(self, worker_id: str) -> ProfileFacts | None:
        """What the worker's profile shows of the facts (None for an unknown worker): from the snapshot of the
        current facts and rated date once it is built, read live until then (and its build started)."""
        self.refresh_facts()
        key = self.profile_key()
        found = self.profiles.lookup(key, worker_id)
        if found is not False:
            return found  # type: ignore[return-value]
        if self.core.settings.profile_snapshot:
            self.profiles.build_soon(self.store, key)
        return live_profile_facts(self.store, worker_id, key)

    def api_key(self, key: str) -> tuple[int, str] | None:
        """The (id, name) of the active admin API key ``key``, or None."""
        digest = api_key_digest(key)
        return self.statuses.api_key(digest) if digest else None

    def look(self, *, early: bool = False) -> None:
        """Look whether the facts store or the ledger changed, and re-read what did (the current pros, the other
        programs recorded): what a request would otherwise do when its snapshot is due. ``early``: at half the
        intervals, so that a watcher looking twice per interval keeps every snapshot younger than one. A failed
        look is logged and left to the next one (requests meanwhile look themselves)."""
        share = 0.5 if early else 1.0
        ledger_age = self.core.settings.ledger_refresh_seconds * share
        try:
            self.store.reopen_if_replaced(every_seconds=self.facts_reload_seconds * share)
            self.cards(max_age=ledger_age)
            self.other_programs(max_age=ledger_age)
            self.prepare_snapshots()  # a new run, day, import or leave: the snapshots are built before asked for
        except Exception:
            log.warning("looking at the ledger and the facts failed; retrying", exc_info=True)

    def watch(self) -> None:
        """Look (:meth:`look`) in a thread of its own, twice per refresh interval, so that requests find the
        snapshots fresh and answer from memory: on the request path the look was the slowest one percent of
        profile pages. Not with an interval of 0, where every request reads anyway."""
        seconds = min(self.core.settings.ledger_refresh_seconds, self.facts_reload_seconds)
        if seconds <= 0 or self._watcher is not None:
            return

        def keep_looking() -> None:
            while not self._stop_watching.wait(seconds / 2):
                self.look(early=True)

        self._watcher = threading.Thread(target=keep_looking, name="procert-ledger-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop_watching.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        self.profiles.close()
        self.clocks.close()
        self.store.close()
