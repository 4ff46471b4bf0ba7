"""Broadcasts while they are sent: every couple of seconds, start the
scheduled ones that are due, show each organiser how far theirs got (their
progress message, edited in place: sent / to go / blocked / failed and a bar)
and, once no message of a broadcast waits in the outbox any more, finish it:
the final state and the delivery report go to the organiser through the
outbox, in the transaction that marks the broadcast done (handlers/broadcast.py).

Progress edits are made directly (they take a slot of the outbox's rate
limiter, without queueing behind the broadcast itself); one that fails is
simply made again at the next round. A scheduled broadcast has no progress
message yet when it starts: the first round sends one and remembers its id.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot.delivery import NotModified

if TYPE_CHECKING:
    from bot.outbox import Outbox
    from handlers.core import CrosslabCore

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 2.0


class BroadcastMonitor:
    def __init__(self, core: CrosslabCore, outbox: Outbox, interval: float = PROGRESS_SECONDS) -> None:
        self.core = core
        self.outbox = outbox
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._shown: dict[int, str] = {}  # broadcast id -> the progress text last shown

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="broadcast-progress")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("broadcast progress: an error; trying again at the next round")
            await asyncio.sleep(self.interval)

    async def run_once(self) -> int:
        """One round (see the module doc); returns how many broadcasts are still being sent."""
        async with self._lock:
            if await self.core.start_due_broadcasts():
                self.outbox.notify()
            still = 0
            for p in await self.core.sending_broadcasts():
                counts = await self.outbox.store.counts(p.broadcast_id)
                if counts["pending"] + counts["sending"] == 0:
                    if await self.core.finish_broadcast(p.broadcast_id, counts.by_status, counts.in_doubt):
                        log.info("broadcast %s done: %s, %d in doubt", p.broadcast_id, counts.by_status,
                                 counts.in_doubt)
                        self.outbox.notify()
                    self._shown.pop(p.broadcast_id, None)
                    continue
                still += 1
                if p.chat_id is None:
                    continue
                text = p.text(counts.by_status)
                if self._shown.get(p.broadcast_id) != text:
                    await self._show(p.broadcast_id, p.chat_id, p.message_id, text)
            return still

    async def _show(self, broadcast_id: int, chat_id: int, message_id: int | None, text: str) -> None:
        channel = self.outbox.channel
        try:
            await self.outbox.limiter.acquire(chat_id, immediate=True)
            if message_id is None:
                message_id = await channel.send_text(chat_id, text, [])
                await self.core.set_progress_message(broadcast_id, chat_id, message_id)
            else:
                await channel.edit_text(chat_id, message_id, text, [])
        except NotModified:
            pass
        except Exception as exc:  # shown again at the next round
            log.info("broadcast %s: progress message not updated (%s)", broadcast_id, exc)
            return
        self._shown[broadcast_id] = text

    async def settle(self, timeout: float = 60.0) -> None:
        """Until no broadcast is being sent any more and its report went out
        (tests, the demo): rounds, with the outbox sending in between."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await self.run_once():
            if loop.time() > deadline:
                raise TimeoutError("broadcasts still sending")
            await asyncio.sleep(0.1)
        await self.outbox.drain(max(1.0, deadline - loop.time()))
