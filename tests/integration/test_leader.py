"""Leader election (bot/leader.py): one leader per database, a takeover when
the leader's process goes, SCHEDULER=off stays out. Several processes share
a database only on PostgreSQL; on SQLite the one process leads at once."""
from __future__ import annotations

import asyncio

import pytest

from bot.leader import Leadership
from db.engine import create_engine


class Role:
    def __init__(self) -> None:
        self.log: list[str] = []

    async def elected(self) -> None:
        self.log.append("elected")

    async def deposed(self) -> None:
        self.log.append("deposed")


async def wait_for(predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.05)


async def test_one_leader_and_a_takeover(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    roles = [Role(), Role()]
    first, second = (Leadership(e, elected=r.elected, deposed=r.deposed, retry=0.2, key=4242)
                     for e, r in zip(engines, roles))
    try:
        await first.start()
        assert first.leading and roles[0].log == ["elected"]
        if not first.shared:  # SQLite: one process per file, it leads; nothing to elect
            return
        await second.start()
        await asyncio.sleep(0.6)
        assert not second.leading and roles[1].log == []
        # The leader's process dies: its connection (and the lock) goes.
        assert first._conn is not None
        await first._conn.invalidate()
        await wait_for(lambda: second.leading, 5)
        assert roles[1].log == ["elected"]
        await wait_for(lambda: not first.leading, 5)  # the old leader notices and steps down
        assert roles[0].log == ["elected", "deposed"]
        await asyncio.sleep(0.6)
        assert not first.leading  # and does not come back while the new one leads
    finally:
        await first.stop()
        await second.stop()
        for e in engines:
            await e.dispose()


async def test_scheduler_off_never_leads(database_url: str) -> None:
    engine = create_engine(database_url)
    role = Role()
    worker = Leadership(engine, elected=role.elected, deposed=role.deposed, mode="off", retry=0.1)
    try:
        await worker.start()
        await asyncio.sleep(0.3)
        assert not worker.leading and role.log == []
    finally:
        await worker.stop()
        await engine.dispose()
