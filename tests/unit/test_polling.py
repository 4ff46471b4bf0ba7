"""bot/polling.py: long polling confirms an update (the offset of a later
getUpdates) only once it was handled, so an update being handled when the
process dies comes again (bench/bench_chaos.py onboarding found nearly one
lost update per person onboarding at a SIGKILL with the frameworks' loops)."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.polling import Poller


class FakeTelegram:
    """getUpdates as Telegram answers it: the unconfirmed updates from `offset`
    on; an offset confirms (forgets) every update below it."""

    def __init__(self) -> None:
        self.queue: list[int] = []
        self.next_id = 1
        self.offsets: list[int | None] = []
        self.arrived = asyncio.Event()
        self.slow_answer: asyncio.Event | None = None  # the next answer waits for this (a slow network)

    def send(self) -> int:
        uid = self.next_id
        self.next_id += 1
        self.queue.append(uid)
        self.arrived.set()
        return uid

    async def fetch(self, offset: int | None, limit: int, timeout: float) -> list[tuple[int, Any]]:
        self.offsets.append(offset)
        if offset is not None:
            self.queue = [u for u in self.queue if u >= offset]
        if not self.queue and timeout:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        answer = [(u, {"update_id": u}) for u in self.queue[:limit]]
        if self.slow_answer is not None:
            gate, self.slow_answer = self.slow_answer, None
            await gate.wait()
        return answer


class Handler:
    def __init__(self) -> None:
        self.gates: dict[int, asyncio.Event] = {}
        self.calls: list[int] = []
        self.done: list[int] = []
        self.fail: set[int] = set()

    def hold(self, uid: int) -> None:
        self.gates[uid] = asyncio.Event()

    async def __call__(self, update: dict[str, Any]) -> None:
        uid = update["update_id"]
        self.calls.append(uid)
        if uid in self.gates:
            await self.gates[uid].wait()
        if uid in self.fail:
            raise RuntimeError("boom")
        self.done.append(uid)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_an_update_being_handled_is_not_confirmed_while_later_ones_are_handled() -> None:
    tg, handle = FakeTelegram(), Handler()
    poller = Poller(tg.fetch, handle, timeout=0.2)
    task = asyncio.create_task(poller.run())
    try:
        slow = tg.next_id
        handle.hold(slow)
        tg.send()
        await until(lambda: handle.calls == [slow])
        later = [tg.send(), tg.send()]
        await until(lambda: handle.done == later)
        await asyncio.sleep(0.3)  # more polls
        assert slow in tg.queue  # still delivered again after a crash now
        assert all(offset is None or offset <= slow for offset in tg.offsets)
        assert handle.calls.count(slow) == 1  # fetched again and again, handled once
        handle.gates[slow].set()
        await until(lambda: not tg.queue)  # confirmed once handled, with everything after it
        assert handle.calls == [slow, *later]
    finally:
        await stop(task)


async def test_a_failing_update_is_confirmed_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    tg, handle = FakeTelegram(), Handler()
    task = asyncio.create_task(Poller(tg.fetch, handle, timeout=0.2).run())
    try:
        bad = tg.send()
        handle.fail.add(bad)
        good = tg.send()
        await until(lambda: handle.done == [good] and not tg.queue)
        assert handle.calls == [bad, good]
        assert f"error while handling update {bad}" in caplog.text
    finally:
        await stop(task)


async def test_a_stop_lets_updates_finish_and_confirms_them() -> None:
    tg, handle = FakeTelegram(), Handler()
    task = asyncio.create_task(Poller(tg.fetch, handle, timeout=0.2).run())
    uid = tg.next_id
    handle.hold(uid)
    tg.send()
    await until(lambda: handle.calls == [uid])
    stopping = asyncio.create_task(stop(task))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # waits for the update being handled
    handle.gates[uid].set()
    await stopping
    assert handle.done == [uid] and not tg.queue


async def test_an_update_still_running_when_the_stop_gives_up_comes_again() -> None:
    tg, handle = FakeTelegram(), Handler()
    poller = Poller(tg.fetch, handle, timeout=0.2)
    poller.drain_seconds = 0.1
    task = asyncio.create_task(poller.run())
    first = tg.send()
    await until(lambda: handle.done == [first])
    stuck = tg.next_id
    handle.hold(stuck)
    tg.send()
    await until(lambda: stuck in handle.calls)
    await stop(task)
    assert tg.queue == [stuck]  # the handled one confirmed, the interrupted one not
    handle.gates.clear()
    again = asyncio.create_task(Poller(tg.fetch, handle, timeout=0.2).run())  # the next start
    try:
        await until(lambda: handle.done == [first, stuck])
    finally:
        await stop(again)


async def test_an_update_finished_while_getupdates_was_on_the_way_is_not_handled_again() -> None:
    """getUpdates asked with the offset at an update in hand; it finishes
    before the answer arrives, and the answer still holds it: skipped
    (before: handled a second time, and its button's next tap got "still
    working on it")."""
    tg, handle = FakeTelegram(), Handler()
    poller = Poller(tg.fetch, handle, timeout=0.2)
    task = asyncio.create_task(poller.run())
    try:
        slow = tg.next_id
        handle.hold(slow)
        tg.send()
        await until(lambda: handle.calls == [slow])
        tg.slow_answer = answer = asyncio.Event()
        await until(lambda: tg.slow_answer is None)  # the next getUpdates is on the way, offset = slow
        handle.gates[slow].set()
        await until(lambda: handle.done == [slow])
        answer.set()  # it answers with `slow` again
        later = tg.send()
        await until(lambda: handle.done == [slow, later] and not tg.queue)
        assert handle.calls == [slow, later]
    finally:
        await stop(task)
