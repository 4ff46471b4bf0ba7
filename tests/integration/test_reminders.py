"""ReminderService: APScheduler 3 with a persistent job store, on scaled time.

Meeting times are real-clock "logical" times; `time_factor` divides every wait,
so with factor 36000 ten hours pass in one second. Reminder ids and real run
times come from `planned()`; sends are recorded with their monotonic time.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import text

import bot.reminders as reminders
from bot.reminders import ReminderService, jobs_database_url
from domain.durations import parse_offsets

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]
FACTOR = 72000.0  # 10 h of meeting time = 0.5 s


class Recorder:
    """A send callback that records every call; `delivered` is what a ReminderSent
    table would hold (a call for a key already delivered sends nothing)."""

    def __init__(self, delivered: set | None = None, fail_first: int = 0) -> None:
        self.calls: list[tuple[int, str, datetime, float]] = []
        self.delivered = set() if delivered is None else delivered
        self.fail_first = fail_first
        self._changed = asyncio.Event()

    async def __call__(self, meeting_id: int, kind: str, starts_at: datetime) -> None:
        self.calls.append((meeting_id, kind, starts_at, time.monotonic()))
        self._changed.set()
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("Telegram is down")
        self.delivered.add((meeting_id, kind, starts_at))

    @property
    def kinds(self) -> list[str]:
        return [c[1] for c in self.calls]

    async def wait_calls(self, n: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise AssertionError(f"expected {n} sends within {timeout}s, got {self.calls}") from None


@pytest.fixture
async def services():
    """make(url, offsets, **kw) -> a not yet started service; all are shut down at the end."""
    made: list[ReminderService] = []

    def make(url: str, offsets: str = "9h,5h,1h", **kwargs) -> ReminderService:
        kwargs.setdefault("time_factor", FACTOR)
        service = ReminderService(url, offsets=parse_offsets(offsets), **kwargs)
        made.append(service)
        return service

    yield make
    for service in made:
        await service.shutdown()


def now() -> datetime:
    return datetime.now(UTC)


async def test_plan_sends_in_order_at_scaled_times(database_url: str, services) -> None:
    # The last reminder 3 h (0.15 s) before the start, not 1 h (0.05 s): a
    # reminder later than its meeting's start is dropped, and a loaded machine
    # was once that late.
    service = services(database_url, "9h,5h,3h")
    rec = Recorder()
    await service.start(rec)
    t0, mono0 = now(), time.monotonic()
    starts = t0 + timedelta(hours=10)  # real: 0.5 s from now
    service.plan(1, starts, now=t0)
    planned = service.planned(1)
    assert [jid for jid, _ in planned] == ["reminder:1:9h", "reminder:1:5h", "reminder:1:3h"]
    for (_, run), seconds in zip(planned, (0.05, 0.25, 0.35)):
        assert abs((run - t0).total_seconds() - seconds) < 0.05
    await rec.wait_calls(3)
    assert rec.kinds == ["9h", "5h", "3h"]
    assert {c[2] for c in rec.calls} == {starts}
    # Never early; "late" only by scheduling delay (not by a retry or the
    # watchdog), with room for a loaded CI machine.
    for (_, _, _, at), seconds in zip(rec.calls, (0.05, 0.25, 0.35)):
        assert seconds - 0.02 <= at - mono0 <= seconds + 1.0
    await asyncio.sleep(0.2)
    assert len(rec.calls) == 3
    assert service.planned(1) == []  # each job removes itself once sent


async def test_cancel_sends_nothing(database_url: str, services) -> None:
    service = services(database_url)
    rec = Recorder()
    await service.start(rec)
    t0 = now()
    service.plan(1, t0 + timedelta(hours=6), now=t0)  # 5h at 0.05 s, 1h at 0.25 s
    service.plan(2, t0 + timedelta(hours=6), now=t0)
    service.cancel(1)
    service.cancel(1)  # nothing left: fine
    service.cancel(99)  # never planned: fine
    assert service.planned(1) == []
    await rec.wait_calls(2)
    await asyncio.sleep(0.2)
    assert sorted((c[0], c[1]) for c in rec.calls) == [(2, "1h"), (2, "5h")]


async def test_replan_replaces_jobs(database_url: str, services) -> None:
    service = services(database_url)
    rec = Recorder()
    await service.start(rec)
    t0 = now()
    first = t0 + timedelta(hours=10)
    service.plan(1, first, now=t0)
    moved = t0 + timedelta(hours=7)  # 9h has passed for this time: only 5h and 1h
    service.plan(1, moved, now=t0)
    assert [jid for jid, _ in service.planned(1)] == ["reminder:1:5h", "reminder:1:1h"]
    await rec.wait_calls(2)
    await asyncio.sleep(0.3)
    assert [(c[1], c[2]) for c in rec.calls] == [("5h", moved), ("1h", moved)]


async def test_replan_with_other_offsets_removes_stale_kinds(database_url: str, services) -> None:
    rec = Recorder()
    old = services(database_url, "9h,5h,1h")
    await old.start(rec)
    t0 = now()
    starts = t0 + timedelta(days=100)  # far away: nothing fires during the test
    old.plan(1, starts, now=t0)
    await old.shutdown()
    new = services(database_url, "2d,1h")  # REMINDER_OFFSETS changed between runs
    await new.start(rec)
    new.plan(1, starts, now=t0)
    assert [jid for jid, _ in new.planned(1)] == ["reminder:1:2d", "reminder:1:1h"]


async def test_passed_offsets_and_past_meetings_are_not_planned(database_url: str, services) -> None:
    service = services(database_url, "24h,1h", time_factor=1.0)
    await service.start(Recorder())
    t0 = now()
    service.plan(1, t0 + timedelta(hours=2), now=t0)
    assert [jid for jid, _ in service.planned(1)] == ["reminder:1:1h"]
    (_, run), = service.planned(1)
    assert abs((run - (t0 + timedelta(hours=1))).total_seconds()) < 1
    service.plan(1, t0 - timedelta(minutes=5), now=t0)  # moved into the past: nothing left
    assert service.planned(1) == []
    with pytest.raises(ValueError):
        service.plan(1, datetime(2030, 1, 1))  # naive


async def test_planned_lists_all_meetings_soonest_first(database_url: str, services) -> None:
    service = services(database_url, "24h,1h", time_factor=1.0)
    await service.start(Recorder())
    t0 = now()
    service.plan(7, t0 + timedelta(days=3), now=t0)
    service.plan(8, t0 + timedelta(days=2), now=t0)
    service.plan(70, t0 + timedelta(days=4), now=t0)
    assert [jid for jid, _ in service.planned()] == [
        "reminder:8:24h", "reminder:8:1h", "reminder:7:24h", "reminder:7:1h", "reminder:70:24h", "reminder:70:1h"]
    assert [jid for jid, _ in service.planned(7)] == ["reminder:7:24h", "reminder:7:1h"]  # not 70


async def test_restart_between_planning_and_firing_sends_once(database_url: str, services) -> None:
    delivered: set = set()
    first, second = Recorder(delivered), Recorder(delivered)
    a = services(database_url, "5h")
    await a.start(first)
    t0 = now()
    starts = t0 + timedelta(hours=10)  # 5h reminder at 0.25 s real, meeting at 0.5 s
    a.plan(1, starts, now=t0)
    await a.shutdown()
    b = services(database_url, "5h")
    await b.start(second)
    assert [jid for jid, _ in b.planned()] == ["reminder:1:5h"]  # the job survived the restart
    await second.wait_calls(1)
    await asyncio.sleep(0.3)
    assert first.calls == [] and len(second.calls) == 1
    assert delivered == {(1, "5h", starts)}


async def test_missed_during_downtime_is_sent_once_after_start(database_url: str, services) -> None:
    a = services(database_url, "9h")
    await a.start(Recorder())
    t0 = now()
    starts = t0 + timedelta(hours=10)  # reminder at 0.05 s, meeting at 0.5 s
    a.plan(1, starts, now=t0)
    await a.shutdown()
    await asyncio.sleep(0.2)  # down while the reminder was due
    rec = Recorder()
    b = services(database_url, "9h")
    started = time.monotonic()
    await b.start(rec)
    await rec.wait_calls(1, timeout=10.0)
    assert rec.calls[0][3] - started < 2.0  # right after the start, not at the next retry (minutes)
    await asyncio.sleep(0.3)
    assert [(c[0], c[1], c[2]) for c in rec.calls] == [(1, "9h", starts)]
    assert b.planned() == []


async def test_reminder_of_a_started_meeting_is_dropped(database_url: str, services) -> None:
    a = services(database_url, "9h")
    await a.start(Recorder())
    t0 = now()
    a.plan(1, t0 + timedelta(hours=12), now=t0)  # reminder at 0.15 s, meeting at 0.6 s
    await a.shutdown()
    await asyncio.sleep(0.7)  # down until the meeting has begun
    rec = Recorder()
    b = services(database_url, "9h")
    await b.start(rec)
    await asyncio.sleep(0.3)
    assert rec.calls == []
    assert b.planned() == []  # and the job is gone


async def test_failed_send_is_retried_until_it_succeeds(database_url: str, services) -> None:
    service = services(database_url, "9h", retry_every=timedelta(hours=1), time_factor=36000.0)  # 0.1 s apart
    rec = Recorder(fail_first=2)
    await service.start(rec)
    t0 = now()
    starts = t0 + timedelta(hours=10)
    service.plan(1, starts, now=t0)
    await rec.wait_calls(3)
    await asyncio.sleep(0.3)
    assert len(rec.calls) == 3
    assert rec.delivered == {(1, "9h", starts)}
    assert service.planned() == []


async def test_watchdog_restarts_processing_after_a_job_store_error(database_url: str, services) -> None:
    """APScheduler 3 does not re-arm its timer when a job store call in its processing
    raises (database restarting); the service's periodic wakeup recovers."""
    service = services(database_url, "9h,5h,3h")
    service.watchdog_seconds = 0.05
    rec = Recorder()
    await service.start(rec)
    store = service._store
    real = store.get_next_run_time
    failures = []

    def flaky():
        if rec.calls and not failures:  # fail once, right after the first reminder ran
            failures.append(1)
            raise ConnectionError("database restarting")
        return real()

    store.get_next_run_time = flaky
    t0 = now()
    # 9h at 0.05 s, 5h at 0.25 s, 3h at 0.35 s; the meeting starts at 0.5 s, so the
    # watchdog has 0.15 s (three of its rounds) to recover before 3h is too late
    service.plan(1, t0 + timedelta(hours=10), now=t0)
    await rec.wait_calls(3, timeout=10.0)  # the timer died while submitting 5h: 3h needs the watchdog
    assert failures and rec.kinds == ["9h", "5h", "3h"]


def _job_row(url: str, job_id: str) -> tuple | None:
    engine = create_sync_engine(jobs_database_url(url))
    try:
        with engine.begin() as conn:
            return conn.execute(text("SELECT id, next_run_time, job_state FROM apscheduler_jobs WHERE id = :id"),
                                {"id": job_id}).first()
    finally:
        engine.dispose()


def _put_job_row(url: str, row: tuple) -> None:
    engine = create_sync_engine(jobs_database_url(url))
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES (:i, :n, :s)"),
                         {"i": row[0], "n": row[1], "s": row[2]})
    finally:
        engine.dispose()


async def test_lost_removal_runs_again_and_the_callback_dedups(database_url: str, services) -> None:
    """A job whose removal after sending was lost (crash, failed write) runs once more
    after a restart; a callback that checks what it sent delivers it only once."""
    delivered: set = set()
    first = Recorder(delivered)
    a = services(database_url, "9h")
    await a.start(first)
    t0 = now()
    starts = t0 + timedelta(hours=10)
    a.plan(1, starts, now=t0)
    row = _job_row(database_url, "reminder:1:9h")
    assert row is not None
    await first.wait_calls(1)
    await asyncio.sleep(0.05)
    assert a.planned() == []
    await a.shutdown()
    _put_job_row(database_url, row)  # as if the removal had never been written
    second = Recorder(delivered)
    b = services(database_url, "9h")
    await b.start(second)
    await second.wait_calls(1)
    await asyncio.sleep(0.3)
    assert len(first.calls) == 1 and len(second.calls) == 1  # at most once more
    assert delivered == {(1, "9h", starts)}  # exactly once, thanks to the callback
    assert b.planned() == []


CHILD = r"""
import asyncio, os, signal, sys
from datetime import datetime, timedelta, timezone
from bot.reminders import ReminderService

url, log_path, mode, starts_iso, t0_iso = sys.argv[1:6]

async def send(meeting_id, kind, starts_at):
    if mode == "after_send":
        with open(log_path, "a") as f:
            f.write(f"{meeting_id} {kind} {starts_at.isoformat()}\n")
            f.flush()
            os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)  # the process dies before the job is removed

async def main():
    service = ReminderService(url, offsets=[("9h", timedelta(hours=9))], time_factor=10000.0)
    await service.start(send)
    service.plan(1, datetime.fromisoformat(starts_iso), now=datetime.fromisoformat(t0_iso))
    await asyncio.sleep(20)

asyncio.run(main())
"""


@pytest.mark.parametrize("mode", ["after_send", "before_send"])
async def test_killed_process_reminder_fires_once_more_after_restart(
    database_url: str, services, tmp_path: Path, mode: str
) -> None:
    """kill -9 while sending. The job is still stored, so the next process runs it
    again: sent once when the crash came first, skipped by the callback when the
    message had already gone out."""
    log_path = tmp_path / "sent.log"
    log_path.touch()
    t0 = now()
    starts = t0 + timedelta(hours=10)  # factor 10000: reminder at 0.36 s, meeting at 3.6 s (from t0)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, database_url, str(log_path), mode, starts.isoformat(), t0.isoformat(),
        cwd=str(REPO), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, stderr = await asyncio.wait_for(proc.communicate(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
    lines = log_path.read_text().splitlines()
    assert len(lines) == (1 if mode == "after_send" else 0)

    delivered = {tuple(line.split(" ")) for line in lines}  # what a ReminderSent table would hold

    async def send(meeting_id: int, kind: str, starts_at: datetime) -> None:
        calls.append((meeting_id, kind, starts_at))
        key = (str(meeting_id), kind, starts_at.isoformat())
        if key not in delivered:
            delivered.add(key)

    calls: list = []
    service = services(database_url, "9h", time_factor=10000.0)
    await service.start(send)
    for _ in range(100):
        if calls:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert calls == [(1, "9h", starts)]  # at most once more, and it did come
    assert delivered == {("1", "9h", starts.isoformat())}  # exactly once overall
    assert service.planned() == []


async def test_fire_without_a_running_service_is_harmless() -> None:
    assert reminders._active is None
    await reminders._fire(1, "1h", now().isoformat(), None)


async def test_one_running_service_per_process(database_url: str, services) -> None:
    a = services(database_url)
    await a.start(Recorder())
    with pytest.raises(RuntimeError):
        await services(database_url).start(Recorder())
    with pytest.raises(RuntimeError):
        await a.start(Recorder())
    await a.shutdown()
    await a.shutdown()  # twice is fine
    b = services(database_url)
    await b.start(Recorder())
    assert reminders._active is b


async def test_plan_needs_start(database_url: str) -> None:
    service = ReminderService(database_url, offsets=parse_offsets("1h"))
    with pytest.raises(RuntimeError):
        service.plan(1, now() + timedelta(days=1))
    with pytest.raises(RuntimeError):
        service.planned()


def test_constructor_validates() -> None:
    url = "sqlite+aiosqlite:///x.sqlite3"
    with pytest.raises(ValueError):
        ReminderService(url, offsets=parse_offsets("1h"), time_factor=0)
    with pytest.raises(ValueError):
        ReminderService(url, offsets=[("1h", timedelta(hours=1)), ("1h", timedelta(hours=2))])
    with pytest.raises(ValueError):
        ReminderService(url, offsets=[("a:b", timedelta(hours=1))])
    with pytest.raises(ValueError):
        ReminderService(url, offsets=[("0s", timedelta(0))])


def test_jobs_database_url() -> None:
    assert jobs_database_url("sqlite+aiosqlite:////data/crosslab.sqlite3") == "sqlite:////data/crosslab-jobs.sqlite3"
    assert jobs_database_url("sqlite+aiosqlite:///crosslab.sqlite3") == "sqlite:///crosslab-jobs.sqlite3"
    assert jobs_database_url("sqlite+aiosqlite:///:memory:") == "sqlite://"
    assert jobs_database_url("postgresql+asyncpg://u:p@db:5432/crosslab") == "postgresql+psycopg://u:p@db:5432/crosslab"
    assert jobs_database_url("postgresql+asyncpg://u@db/crosslab?ssl=require") == (
        "postgresql+psycopg://u@db/crosslab?sslmode=require")


async def test_sqlite_plan_does_not_wait_for_the_bots_write_lock(sqlite_url: str, services) -> None:
    """The job store is a sibling file: planning while one of the bot's own transactions
    holds the SQLite write lock must not block the event loop (same file: 5 s, then
    "database is locked")."""
    from db.engine import create_engine

    engine = create_engine(sqlite_url)
    service = services(sqlite_url, "1h", time_factor=1.0)
    await service.start(Recorder())
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TABLE busy (x INTEGER)"))
            await conn.execute(text("INSERT INTO busy VALUES (1)"))  # write transaction open
            started = time.monotonic()
            service.plan(1, now() + timedelta(days=1))
            service.cancel(1)
            assert time.monotonic() - started < 1.0
            await conn.commit()
    finally:
        await engine.dispose()


async def test_a_run_skipped_while_the_last_still_runs_is_not_a_warning(sqlite_url: str, services, caplog) -> None:
    """A periodic job slower than its interval (a sweep with a compressed
    TIME_FACTOR): APScheduler skips the overlapping runs, by design (one at a
    time), and that is not logged as a warning."""
    import logging

    service = services(sqlite_url, "9h")
    await service.start(Recorder())
    runs = 0

    async def slow() -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.4)

    with caplog.at_level(logging.DEBUG):
        service.every(0.05, slow, "slow-sweep")
        await asyncio.sleep(1.0)
    assert runs >= 1
    skipped = [r for r in caplog.records if "maximum number of running instances" in r.getMessage()]
    assert skipped and all(r.levelno == logging.DEBUG for r in skipped), skipped
