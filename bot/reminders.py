"""Meeting reminders on APScheduler 3 with a persistent SQLAlchemy job store.

One job per (meeting, offset), id ``reminder:<meeting_id>:<kind>``, stored when
it is planned, so a restart loses nothing. See docs/reminders.md.

Delivery is at-least-once on this side and exactly-once together with the send
callback:

* A job stays in the job store until the send callback has *returned*; only then
  does the job remove itself. (APScheduler's own date trigger removes a job
  *before* it runs, so a crash during the send would lose the reminder.) The
  trigger (`_UntilSent`) therefore re-fires every `retry_every` until the
  meeting starts: after a crash, or when the callback raised, the reminder is
  tried again; the callback must recognise one it already sent (the
  `ReminderSent` row) and return quietly.
* ``max_instances=1``: the same job never runs twice at once in one process;
  ``coalesce=True``: runs missed during downtime collapse into one.
* ``misfire_grace_time`` = the (scaled) time between the reminder and the meeting
  start, and `_fire` drops a reminder whose meeting has begun: a reminder missed
  during downtime is sent once right after the restart, unless it is too late.

One service per process, one process per job store: the job function `_fire`
is a module-level function (persistent jobs are pickled by reference) that
finds the running service in a module-level registry. Two schedulers must never
share a job store (each would run every due job); exactly one bot process owns
the reminders.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import event, select
from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

UTC = timezone.utc

ReminderSend = Callable[[int, str, datetime], Awaitable[None]]  # (meeting_id, kind, starts_at_utc)

JOB_PREFIX = "reminder:"
MIN_RETRY_SECONDS = 0.2
# APScheduler 3 stops its timer for good when a job store write fails inside its
# processing (e.g. PostgreSQL restarting): a periodic wakeup gets it going again.
WATCHDOG_SECONDS = 30.0


def job_id(meeting_id: int, kind: str) -> str:
    return f"{JOB_PREFIX}{meeting_id}:{kind}"


def jobs_database_url(database_url: str) -> str:
    """The synchronous SQLAlchemy URL of the job store for the bot's DATABASE_URL.

    PostgreSQL: the same database through psycopg 3 (APScheduler 3 is synchronous;
    asyncpg cannot serve it). SQLite: a sibling file ``<name>-jobs<suffix>``
    (``crosslab.sqlite3`` -> ``crosslab-jobs.sqlite3``), not the bot's file: the
    job store writes synchronously on the event loop, and while any of the bot's
    own transactions holds SQLite's single write lock that write would block the
    loop until the busy timeout and fail ("database is locked"). In-memory SQLite
    stays in memory (nothing survives a restart).
    """
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        db = url.database
        if db in (None, "", ":memory:") or (db or "").startswith("file:"):
            return "sqlite://"
        path = Path(db)
        jobs = path.with_name(f"{path.stem}-jobs{path.suffix or '.sqlite3'}")
        return URL.create("sqlite", database=str(jobs)).render_as_string(hide_password=False)
    if backend == "postgresql":
        query = dict(url.query)
        if "ssl" in query and "sslmode" not in query:  # asyncpg spells it ssl=, libpq sslmode=
            query["sslmode"] = query.pop("ssl")
        for asyncpg_only in ("prepared_statement_cache_size", "prepared_statement_name_func"):
            query.pop(asyncpg_only, None)
        return url.set(drivername="postgresql+psycopg", query=query).render_as_string(hide_password=False)
    raise ValueError(f"reminders need SQLite or PostgreSQL, not {backend!r}")


# --- the persistent parts (referenced by name from pickled jobs: keep these names) ----------

class _UntilSent(BaseTrigger):
    """Fires at `run_date`, then every `retry` seconds while before `deadline` (the
    meeting's start, in real time). The job removes itself once sent."""

    def __init__(self, run_date: datetime, deadline: datetime, retry: float) -> None:
        self.run_date = run_date
        self.deadline = deadline
        self.retry = retry

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        if previous_fire_time is None:
            nxt = self.run_date
        else:
            step = timedelta(seconds=self.retry)
            nxt = previous_fire_time + step
            if nxt < now:  # jump over a downtime in one step instead of one per retry
                nxt = previous_fire_time + step * max(1, int((now - previous_fire_time) / step))
        return nxt if nxt < self.deadline else None

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "run_date": self.run_date, "deadline": self.deadline, "retry": self.retry}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.run_date, self.deadline, self.retry = state["run_date"], state["deadline"], state["retry"]

    def __str__(self) -> str:
        return f"until_sent[{self.run_date.isoformat()} .. {self.deadline.isoformat()}]"


_active: ReminderService | None = None  # the one running service of this process


class _SkippedRunFilter(logging.Filter):
    """APScheduler warns each time a run is skipped because the previous run of
    the same job is still going (max_instances 1). For our jobs that is the
    design, not a fault: a reminder being retried while its send is still in
    flight, a sweep that takes longer than SWEEP_SECONDS (often with a
    compressed TIME_FACTOR). Such lines go to DEBUG instead of WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and "maximum number of running instances reached" in str(record.msg):
            log.debug("a run was skipped, the previous one still runs: %s", record.getMessage())
            return False
        return True


_SKIPPED_RUNS = _SkippedRunFilter()


async def _fire(meeting_id: int, kind: str, starts_at: str, deadline: str | None = None) -> None:
    """The job function: hands a due reminder to the running service's send callback."""
    service = _active
    if service is None or not service.running:
        log.warning("reminder %s for meeting %s is due but no reminder service runs; it stays stored",
                    kind, meeting_id)
        return
    await service._deliver(meeting_id, kind, starts_at, deadline)


# --- the service -------------------------------------------------------------------------------

class ReminderService:
    """Plans, cancels and sends meeting reminders.

    `offsets` come from `domain.durations.parse_offsets` (e.g. REMINDER_OFFSETS
    "24h,1h"). `time_factor` > 1 compresses time for demos and tests: a reminder
    that is due in X from `now` runs X / time_factor from the real clock.
    `retry_every` (meeting time, also scaled, at least 0.2 s real) is how often a
    reminder whose send failed or was interrupted is tried again before the
    meeting starts. `jobs_url` overrides `jobs_database_url(database_url)`.

    `plan`, `cancel` and `planned` are synchronous (APScheduler 3 job stores are):
    each is one or a few short queries on the event loop's thread. Call them from
    that thread, after `start`.
    """

    def __init__(
        self,
        database_url: str,
        *,
        offsets: list[tuple[str, timedelta]],
        time_factor: float = 1.0,
        tablename: str = "apscheduler_jobs",
        retry_every: timedelta = timedelta(minutes=5),
        jobs_url: str | None = None,
    ) -> None:
        if not time_factor > 0:
            raise ValueError("time_factor must be positive")
        kinds = [k for k, _ in offsets]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"reminder kinds must be distinct, got {kinds}")
        for kind, delta in offsets:
            if delta <= timedelta(0):
                raise ValueError(f"reminder offset {kind!r} must be positive")
            if not kind or ":" in kind:
                raise ValueError(f"reminder kind {kind!r} must be non-empty and contain no ':'")
        self.offsets = sorted(offsets, key=lambda kv: kv[1], reverse=True)
        self.time_factor = float(time_factor)
        self.tablename = tablename
        self.jobs_url = jobs_url or jobs_database_url(database_url)
        self.retry_seconds = max(MIN_RETRY_SECONDS, retry_every.total_seconds() / self.time_factor)
        self._scheduler: AsyncIOScheduler | None = None
        self._store: SQLAlchemyJobStore | None = None
        self._send: ReminderSend | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.watchdog_seconds = WATCHDOG_SECONDS

    # -- lifecycle --

    @property
    def running(self) -> bool:
        return self._scheduler is not None and self._scheduler.running

    async def start(self, send: ReminderSend) -> None:
        """Start the scheduler on the running loop; due and missed jobs run right away."""
        global _active
        if self.running:
            raise RuntimeError("this reminder service is already running")
        if _active is not None and _active.running:
            raise RuntimeError("another reminder service is running in this process (one per process)")
        engine_options: dict[str, Any] = {}
        if make_url(self.jobs_url).get_backend_name() == "postgresql":
            engine_options["pool_pre_ping"] = True
        store = SQLAlchemyJobStore(url=self.jobs_url, tablename=self.tablename, engine_options=engine_options)
        if store.engine.dialect.name == "sqlite" and store.engine.url.database not in (None, "", ":memory:"):
            @event.listens_for(store.engine, "connect")
            def _wal(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.close()
        logging.getLogger("apscheduler.scheduler").addFilter(_SKIPPED_RUNS)  # idempotent
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={"default": store, "volatile": MemoryJobStore()},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self._send, self._store, self._scheduler = send, store, scheduler
        _active = self
        try:
            scheduler.start()
        except BaseException:
            _active, self._scheduler, self._store = None, None, None
            store.engine.dispose()
            raise
        self._watchdog = asyncio.get_running_loop().create_task(self._watch(scheduler), name="reminders-watchdog")

    async def _watch(self, scheduler: AsyncIOScheduler) -> None:
        while True:
            await asyncio.sleep(self.watchdog_seconds)
            if scheduler.running:
                scheduler.wakeup()

    async def shutdown(self) -> None:
        """Stop without waiting for running jobs (an interrupted send stays stored and is
        retried by the next start). Safe to call twice."""
        global _active
        if _active is self:
            _active = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None or not scheduler.running:
            return
        scheduler.shutdown(wait=False)  # AsyncIOScheduler does the work in a loop callback
        for _ in range(100):
            if not scheduler.running:
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    # -- planning --

    def _require_running(self) -> AsyncIOScheduler:
        if self._scheduler is None or not self._scheduler.running:
            raise RuntimeError("the reminder service is not running: call start() first")
        return self._scheduler

    def _real(self, logical: datetime, now: datetime, real_now: datetime) -> datetime:
        return real_now + (logical - now) / self.time_factor

    def _meeting_job_ids(self, meeting_id: int) -> list[str]:
        assert self._store is not None
        table = self._store.jobs_t
        query = select(table.c.id).where(table.c.id.startswith(job_id(meeting_id, ""), autoescape=True))
        with self._store.engine.begin() as conn:
            return [row[0] for row in conn.execute(query)]

    def plan(self, meeting_id: int, starts_at: datetime, now: datetime | None = None) -> None:
        """(Re)plan the reminders of a meeting starting at `starts_at` (aware).

        One job per offset whose time is still ahead of `now` (default: the clock);
        existing jobs are replaced. Jobs of this meeting that are no longer planned
        are removed: other kinds, and reminders of an earlier start time. A stored
        reminder for the *same* start time whose time has passed is kept (it was
        missed during downtime and may still be due), so planning again on start-up
        is harmless.
        """
        scheduler = self._require_running()
        if starts_at.tzinfo is None:
            raise ValueError("starts_at must be timezone-aware")
        real_now = datetime.now(UTC)
        now = real_now if now is None else now
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        starts_at = starts_at.astimezone(UTC)
        starts_iso = starts_at.isoformat()
        deadline = self._real(starts_at, now, real_now)
        keep: set[str] = set()
        for kind, offset in self.offsets:
            jid = job_id(meeting_id, kind)
            fire_at = starts_at - offset
            if fire_at <= now:
                existing = scheduler.get_job(jid)
                if existing is not None and existing.args[:3] == (meeting_id, kind, starts_iso):
                    keep.add(jid)
                continue
            run_date = self._real(fire_at, now, real_now)
            grace = max(1, math.ceil((deadline - run_date).total_seconds()))
            scheduler.add_job(
                "bot.reminders:_fire",
                trigger=_UntilSent(run_date, deadline, self.retry_seconds),
                args=(meeting_id, kind, starts_iso),
                kwargs={"deadline": deadline.isoformat()},
                id=jid,
                name=f"reminder {kind} before meeting {meeting_id}",
                replace_existing=True,
                misfire_grace_time=grace,
                coalesce=True,
                max_instances=1,
            )
            keep.add(jid)
        for jid in self._meeting_job_ids(meeting_id):
            if jid not in keep:
                self._remove(jid)

    def every(self, seconds: float, func: Callable[[], Awaitable[None]], name: str) -> None:
        """A periodic job kept in memory (re-added at every start), e.g. the
        follow-up sweep; one run at a time, missed runs coalesce."""
        scheduler = self._require_running()
        scheduler.add_job(func, "interval", seconds=seconds, id=name, replace_existing=True, jobstore="volatile",
                          misfire_grace_time=None)

    def cancel(self, meeting_id: int) -> None:
        """Remove every reminder of the meeting (none planned is fine)."""
        self._require_running()
        for jid in self._meeting_job_ids(meeting_id):
            self._remove(jid)

    def planned(self, meeting_id: int | None = None) -> list[tuple[str, datetime]]:
        """(job id, next real run time in UTC) of the stored reminders, soonest first."""
        scheduler = self._require_running()
        if meeting_id is None:
            jobs = [j for j in scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)]
        else:
            jobs = [j for j in (scheduler.get_job(jid) for jid in self._meeting_job_ids(meeting_id)) if j]
        rows = [(j.id, j.next_run_time.astimezone(UTC)) for j in jobs if j.next_run_time is not None]
        return sorted(rows, key=lambda row: (row[1], row[0]))

    def _remove(self, jid: str) -> None:
        try:
            self._require_running().remove_job(jid)
        except JobLookupError:
            pass

    # -- firing --

    async def _deliver(self, meeting_id: int, kind: str, starts_iso: str, deadline_iso: str | None) -> None:
        jid = job_id(meeting_id, kind)
        args = (meeting_id, kind, starts_iso)
        if deadline_iso is not None and datetime.now(UTC) >= datetime.fromisoformat(deadline_iso):
            log.info("reminder %s for meeting %s dropped: the meeting has started", kind, meeting_id)
            self._remove_if_same(jid, args)
            return
        assert self._send is not None
        await self._send(meeting_id, kind, datetime.fromisoformat(starts_iso))  # raises -> retried later
        self._remove_if_same(jid, args)

    def _remove_if_same(self, jid: str, args: tuple[Any, ...]) -> None:
        """Remove the job unless it was re-planned for another time meanwhile."""
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return  # stays stored; the next start runs it again and the callback skips it
        try:
            job = scheduler.get_job(jid)
            if job is not None and tuple(job.args[:3]) == args:
                scheduler.remove_job(jid)
        except JobLookupError:
            pass
        except Exception:
            log.exception("could not remove sent reminder job %s; it may run once more", jid)
