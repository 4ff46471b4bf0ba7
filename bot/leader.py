"""Exactly one process runs the scheduler (reminders, the follow-up sweep),
the outbox sender and the broadcast monitor: the leader.

Every process answers updates and sends its own replies; only the leader
starts what must not run twice. On PostgreSQL the leader is whoever holds a
session-level advisory lock (`pg_try_advisory_lock`) on a connection of its
own; the others try again every `retry` seconds, and when the leader's process
dies its connection closes, the lock is free, and another process takes over
within `retry` seconds. On SQLite there is one process per database file, and
it leads. `SCHEDULER=off` keeps a process out of the election (a pure worker).
See docs/operations.md ("Several processes").
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LEADER_LOCK = 0x63726F73736C6C64  # pg advisory lock key ("crosslld")


class Leadership:
    def __init__(self, engine: AsyncEngine, *, elected: Callable[[], Awaitable[None]],
                 deposed: Callable[[], Awaitable[None]], mode: str = "auto", retry: float = 2.0,
                 key: int = LEADER_LOCK) -> None:
        self.engine, self.elected, self.deposed = engine, elected, deposed
        self.mode, self.retry, self.key = mode, retry, key
        self.leading = False
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def shared(self) -> bool:
        """Several processes may share this database (PostgreSQL)."""
        return self.engine.dialect.name == "postgresql"

    async def start(self) -> None:
        """Take part in the election; a process that can lead at once leads
        before this returns (one process on SQLite, the first on PostgreSQL)."""
        if self.mode == "off":
            log.info("SCHEDULER=off: this process answers updates; reminders, sweeps and the outbox "
                     "sender run in another")
            return
        if not self.shared:
            await self._become_leader()
            return
        await self._try()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="leader-election")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._step_down()

    async def _become_leader(self) -> None:
        self.leading = True
        log.info("this process leads: it runs the reminders, the follow-up sweep and the outbox sender")
        await self.elected()

    async def _step_down(self) -> None:
        was = self.leading
        self.leading = False
        conn, self._conn = self._conn, None
        if was:
            with contextlib.suppress(Exception):
                await self.deposed()
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()  # a session lock goes with its connection

    async def _try(self) -> None:
        try:
            conn = await self.engine.connect()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = bool((await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar())
        except Exception as exc:
            log.warning("leader election: the database is not reachable (%s); trying again", exc.__class__.__name__)
            return
        if not got:
            await conn.close()
            return
        self._conn = conn
        await self._become_leader()

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.retry)
            if not self.leading:
                await self._try()
                continue
            try:
                assert self._conn is not None
                await self._conn.execute(text("SELECT 1"))
            except Exception as exc:  # the lock's connection is gone: so is the lock
                log.warning("leader election: lost the leader's connection (%s); stepping down",
                            exc.__class__.__name__)
                await self._step_down()
