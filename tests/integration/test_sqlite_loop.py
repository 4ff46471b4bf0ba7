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
