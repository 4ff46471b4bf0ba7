"""SQLite in the event loop's thread (db/sqlite_loop.py): the same results as
through aiosqlite, and another process's write lock neither freezes the loop
for long nor loses the update (it is run again once the lock is gone)."""
from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import text

import handlers.core as core_module
from db.engine import create_engine
from db.sqlite_loop import BUSY_TIMEOUT
from tests.support.config import make_settings
from tests.support.harness import CoreHarness


async def test_statements_results_and_errors(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        assert engine.dialect.driver == "crosslab_loop"
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"v{i}"} for i in range(5)])
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
            rows = (await conn.execute(text("SELECT v FROM t ORDER BY id"))).scalars().all()
            assert rows == [f"v{i}" for i in range(5)]
            with pytest.raises(Exception) as info:
                await conn.execute(text("INSERT INTO t (id, v) VALUES (1, :v)"), {"v": "Mein Geheimnis"})
            assert "IntegrityError" in type(info.value).__name__ and "Mein Geheimnis" not in str(info.value)
        async with engine.begin() as conn:  # a rolled back transaction leaves nothing
            await conn.execute(text("DELETE FROM t"))
            await conn.rollback()
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 5
    finally:
        await engine.dispose()


async def test_another_process_holding_the_write_lock(sqlite_url: str, monkeypatch) -> None:
    """Another writer (a backup, an admin command, a second process by
    mistake) holds the write lock for 1.5 s while a person answers: the
    statement waits at most BUSY_TIMEOUT in the loop, the update is run again
    after an asyncio pause and answered; meanwhile the loop keeps running
    (other tasks, e.g. the webhook's HTTP server, are not frozen)."""
    monkeypatch.setattr(core_module, "DB_RETRY_DELAYS", (0.2, 0.4, 0.8, 1.6))
    h = CoreHarness(make_settings(sqlite_url))
    await h.start()
    try:
        chat = h.chat(9501, "Ada", "de")
        await chat.say("/start")
        path = sqlite_url.split("///", 1)[1]
        other = sqlite3.connect(path, timeout=5, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(1.5, other.commit)
        release.start()
        gaps: list[float] = []

        async def heartbeat() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        started = time.monotonic()
        await chat.press("Einverstanden")
        took = time.monotonic() - started
        beat.cancel()
        release.join()
        other.close()
        assert "etwas schiefgegangen" not in chat.last.text
        assert (await h.state(9501)).step == "name"  # the consent was recorded once the lock was gone
        assert took >= 1.0  # it did wait for the lock
        assert max(gaps) < BUSY_TIMEOUT + 0.25, max(gaps)  # the loop never stood still for long
    finally:
        await h.stop()


async def test_start_up_waits_for_another_process_lock(sqlite_url: str) -> None:
    """The start-up migration on a file another process has locked for a
    moment (1.5 s, longer than a statement may wait in the loop): retried,
    not a failed start."""
    from bot.app import prepare_database

    path = sqlite_url.split("///", 1)[1]
    sqlite3.connect(path).close()
    other = sqlite3.connect(path, timeout=5, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.5, other.commit)
    release.start()
    try:
        engine, _ = await prepare_database(make_settings(sqlite_url))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM alembic_version"))).scalar_one() == 1
        await engine.dispose()
    finally:
        release.join()
        other.close()


async def test_the_sender_logs_a_locked_database_as_a_warning(sqlite_url: str, caplog, monkeypatch) -> None:
    """A locked database while the outbox sender claims rows is transient: one
    warning line and another try, not an ERROR with a traceback."""
    import logging

    from sqlalchemy.exc import OperationalError

    from bot.outbox import Outbox
    from db.migrate import upgrade
    from db.engine import create_session_factory
    from db.outbox import OutboxStore

    engine = create_engine(sqlite_url)
    await upgrade(engine)
    real, calls = OutboxStore.claim, {"n": 0}

    async def locked_once(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("SELECT …", {}, sqlite3.OperationalError("database is locked"))
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(OutboxStore, "claim", locked_once)
    box = Outbox(create_session_factory(engine), channel=None)  # type: ignore[arg-type]
    try:
        with caplog.at_level(logging.WARNING, logger="bot.outbox"):
            box.start()
            async with asyncio.timeout(10):
                while calls["n"] < 2:
                    await asyncio.sleep(0.05)
    finally:
        await box.stop()
        await engine.dispose()
    lines = [r for r in caplog.records if r.name == "bot.outbox"]
    assert lines and all(r.levelno == logging.WARNING and r.exc_info is None for r in lines), lines
    assert "database is unavailable" in lines[0].getMessage()
