"""Long polling that confirms an update to Telegram only once it was handled.

Telegram counts an update as confirmed as soon as getUpdates is called with a
higher offset, and never delivers a confirmed update again. The frameworks'
own polling loops (aiogram's `Dispatcher.start_polling`, PTB's `Updater`) ask
for the next batch right after handing the last one to handler tasks, so an
update still being handled when the process died (SIGKILL, out of memory, a
power cut) was confirmed already: it was never answered and never came back
(bench/bench_chaos.py onboarding: nearly everyone onboarding at the kill lost
the update they had just sent, and waited for an answer that never came).

Here the offset never passes an update whose handling has not finished: after a
crash Telegram delivers it again. One that was handled and comes again (it had
committed, the confirmation had not been sent yet) is recognised by the
`processed_updates` primary key and sends nothing (handlers/core.py). Updates
are handled concurrently as before (the core keeps one person's updates in
order); while the oldest one is still running, getUpdates returns it again
with the newer ones, which are skipped if already known. Webhook mode
(bot/webhook.py) has the same rule: the request is answered after the commit.

The cost: the next getUpdates waits until the updates in hand are done, at
most `batch_wait_seconds` (0.2 s): a new update arriving meanwhile is fetched
that much later (under load the updates that arrived meanwhile come as one
batch, handled concurrently). Asked earlier, Telegram would return the
unfinished ones again with every answer, and a long poll is not possible while
any update from the offset on is unconfirmed: bench/bench_updates.py went from
160 to 13 updates/s with a getUpdates after every finished update. While an
update takes longer (the first matching, seconds) the loop asks every 0.2 s
and skips the ones in hand; a batch is at most 100 updates from the oldest
unfinished one, so one that takes very long with 100 newer ones behind it
holds back the next ones until it finishes (in webhook mode Telegram's
max_connections plays that part). The framework's parsing and dispatch stay
(`fetch` and `handle` come from the transport); this module imports neither.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.delivery import RetryLater

log = logging.getLogger(__name__)

# (offset, limit, timeout) -> [(update_id, update), ...]
Fetch = Callable[[int | None, int, float], Awaitable[Sequence[tuple[int, Any]]]]
Handle = Callable[[Any], Awaitable[None]]

BACKOFF = (1.0, 2.0, 4.0, 8.0)  # then the last one again: getUpdates failed (network, 5xx, 409 Conflict)


class Poller:
    """getUpdates in a loop; each update handled in its own task; the offset
    is the oldest update still being handled (or one past the newest)."""

    limit = 100
    drain_seconds = 10.0  # on stop: how long updates being handled may still take
    batch_wait_seconds = 0.2  # how long the updates in hand may take before the next getUpdates anyway

    def __init__(self, fetch: Fetch, handle: Handle, *, timeout: float = 10.0) -> None:
        self.fetch, self.handle, self.timeout = fetch, handle, timeout
        self._running: dict[int, asyncio.Task[None]] = {}
        self._finished: set[int] = set()  # handled ids that getUpdates may still return
        self._newest: int | None = None

    @property
    def offset(self) -> int | None:
        """What getUpdates confirms with: everything below it was handled."""
        if self._running:
            return min(self._running)
        return None if self._newest is None else self._newest + 1

    async def run(self) -> None:
        """Poll until cancelled; then let the updates being handled finish
        (up to `drain_seconds`) and confirm them."""
        failures = 0
        try:
            while True:
                try:
                    offset = self.offset
                    batch = await self.fetch(offset, self.limit, self.timeout)
                except asyncio.CancelledError:
                    raise
                except RetryLater as exc:
                    log.warning("getUpdates: Telegram asks to wait %.0f s", exc.seconds)
                    await asyncio.sleep(exc.seconds)
                    continue
                except Exception as exc:
                    delay = BACKOFF[min(failures, len(BACKOFF) - 1)]
                    failures += 1
                    log.warning("getUpdates failed (%s: %s); trying again in %.0f s", exc.__class__.__name__,
                                str(exc)[:200], delay)
                    await asyncio.sleep(delay)
                    continue
                if failures:
                    log.info("getUpdates works again")
                    failures = 0
                if offset is not None:  # everything below it is confirmed now: what comes below is a redelivery
                    self._finished = {u for u in self._finished if u >= offset}
                self._take(batch)
                if self._running:
                    # Ask again once these are done: with the offset past them
                    # getUpdates long-polls again and returns only new ones. One
                    # taking longer than `batch_wait_seconds` holds the offset:
                    # the next getUpdates returns it again (skipped) with the new ones.
                    await asyncio.wait(set(self._running.values()), timeout=self.batch_wait_seconds)
        finally:
            await self._drain()

    def _take(self, batch: Sequence[tuple[int, Any]]) -> bool:
        """Start handling the updates neither in hand nor handled already;
        True if there were any. (One below the confirmed offset is a
        redelivery by Telegram: the core recognises it by its id and sends
        nothing.)"""
        new = False
        for update_id, update in batch:
            if update_id in self._running or update_id in self._finished:
                continue
            new = True
            self._newest = update_id if self._newest is None else max(self._newest, update_id)
            self._running[update_id] = asyncio.get_running_loop().create_task(
                self._handle(update_id, update), name=f"update-{update_id}")
        return new

    async def _handle(self, update_id: int, update: Any) -> None:
        try:
            await self.handle(update)
        except Exception:
            # Counted as handled (confirmed): an update that fails every time
            # must not come back for ever. The core answers flow errors itself.
            log.exception("error while handling update %s", update_id)
        finally:
            # Remembered until a getUpdates with a higher offset was answered:
            # one asked before this finished (with the offset still below it)
            # returns it again.
            self._running.pop(update_id, None)
            self._finished.add(update_id)

    async def _drain(self) -> None:
        offset = self.offset
        running = set(self._running.values())
        if running:
            _, late = await asyncio.wait(running, timeout=self.drain_seconds)
            offset = self.offset
            if late:  # not confirmed: Telegram delivers them again after the restart
                offset = min(uid for uid, task in self._running.items() if task in late)
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                log.warning("stopped while %d update(s) were still being handled; they come again", len(late))
        if offset is not None:
            with contextlib.suppress(Exception):  # confirm what was handled (else it comes again, harmlessly)
                await self.fetch(offset, 1, 0)
