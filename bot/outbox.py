"""Sending what the outbox holds: one global rate, a steady rate per chat,
Telegram's errors handled per kind. See docs/outbox.md.

* `RateLimiter`: every Bot API send takes a slot. Globally the slots are
  `1 / SEND_RATE` apart (a steady rate, no bursts, so it stays below Telegram's
  ~30/s); per chat at most `SEND_CHAT_RATE` per second with bursts of
  `SEND_CHAT_BURST` (Telegram's ~1/s per chat with short bursts). A 429 pauses
  *all* sending for its `retry_after`.
* `Outbox.run`: claims due rows in small batches (db/outbox.py), sends them
  with a bounded number of chats at once, and records the results in one
  transaction per batch. 403/chat not found: the row and the chat's other
  waiting rows are marked unreachable (no retry), and so is the person.
  5xx/timeouts/dropped connections: retried with exponential backoff, up to
  `OUTBOX_MAX_ATTEMPTS`. 429: paused, then retried (not counted as an attempt).
  Any other 400: a message with link buttons is tried once more without them
  (BUTTON_USER_PRIVACY_RESTRICTED), otherwise it is marked failed and the chat's
  next message goes on.
* `Outbox.deliver_reply`: the reply to a person's own update is sent at once
  (it takes slots without waiting for the queue), retried in place for a few
  seconds, and handed to the queue if it still fails; if that chat has messages
  waiting in the queue, the reply goes behind them (one chat's messages never
  overtake each other).

A sender that dies leaves rows "sending"; after `OUTBOX_LEASE_SECONDS` any
sender takes them again (marked in doubt: they may have arrived once). A
living sender renews the claim of every row it still holds (a long batch, a
reply waiting out a 429) every third of the lease, so no other process takes
a row that is still being sent.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import metrics
from bot.delivery import (MAX_WAIT, RETRY_DELAYS, Channel, Rejected, RetryLater, Transient, Unreachable,
                          answer_callback, deliver_message, operations, without_url_buttons)
from db.models import utcnow
from db.outbox import ClaimedRow, OutboxStore, Result
from db.uow import is_transient_db_error
from handlers.types import OutMessage, Reply

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # an idle sender looks for due rows (scheduled, backed off, other processes') this often
PRUNE_EVERY = 3600.0
MAX_BACKOFF = 300.0
STOP_GRACE = 5.0  # seconds a stopping sender may take to finish its batch
FLUSH_SECONDS = 0.25  # how often a batch's results so far are recorded
MAX_DEBT = 1.0  # seconds by which replies sent at once may delay the queue


class RateLimiter:
    """Slots for sends: see the module doc. `acquire` waits for one; with
    `immediate=True` it takes the next slot without waiting for it (a reply
    to a person is not queued behind a broadcast), which delays later
    ordinary sends by as much, so the average rate holds."""

    def __init__(self, rate: float, chat_rate: float, chat_burst: int,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.interval = 1.0 / rate
        self.chat_interval = 1.0 / chat_rate
        self.chat_slack = (chat_burst - 1) * self.chat_interval
        self.clock, self.sleep = clock, sleep
        self.next_slot = 0.0
        self.paused_until = 0.0
        self._chat_tat: dict[int, float] = {}  # per chat: the theoretical arrival time (GCRA)
        self._chat_paused: dict[int, float] = {}  # per chat: a 429 that was the chat's

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """A 429. Telegram does not say whether the limit was the chat's or the
        bot's: if `chat_id` was just sent to faster than its steady pace (a burst
        of replies), only that chat waits, so one person flooding the bot slows
        nobody else; otherwise all sending waits."""
        now = self.clock()
        if chat_id is not None and self._chat_tat.get(chat_id, 0.0) > now:
            self._chat_paused[chat_id] = max(self._chat_paused.get(chat_id, 0.0), now + seconds)
            metrics.note_rate_limit("chat", seconds)
        else:
            self.paused_until = max(self.paused_until, now + seconds)
            metrics.note_rate_limit("all", seconds)

    def paused_for(self, chat_id: int | None = None) -> float:
        until = max(self.paused_until, self._chat_paused.get(chat_id, 0.0) if chat_id is not None else 0.0)
        return max(0.0, until - self.clock())

    async def acquire(self, chat_id: int, *, immediate: bool = False) -> None:
        while True:
            now = self.clock()
            until = max(self.paused_until, self._chat_paused.get(chat_id, 0.0))
            if until > now:
                await self.sleep(until - now)
                continue
            tat = max(self._chat_tat.get(chat_id, now), now)
            early = tat - self.chat_slack - now
            if early > 0 and not immediate:
                await self.sleep(early)
                continue
            # A burst of replies leaves the chat's bucket empty, not in debt: the
            # queue's next message to that chat waits one interval at most.
            self._chat_tat[chat_id] = (min(tat, now + self.chat_slack) if immediate else tat) + self.chat_interval
            slot = max(now, self.next_slot)
            # An immediate send takes a slot too: later ordinary sends wait for it,
            # but replies never push the queue back by more than MAX_DEBT.
            self.next_slot = min(slot + self.interval, now + MAX_DEBT) if immediate else slot + self.interval
            if slot > now and not immediate:
                await self.sleep(slot - now)
            return

    def forget_idle_chats(self) -> None:
        """Drop per-chat state that no longer limits anything (memory stays flat)."""
        now = self.clock()
        for chat_id in [c for c, tat in self._chat_tat.items() if tat <= now]:
            del self._chat_tat[chat_id]
        for chat_id in [c for c, until in self._chat_paused.items() if until <= now]:
            del self._chat_paused[chat_id]


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], channel: Channel, *, rate: float = 25.0,
                 chat_rate: float = 1.0, chat_burst: int = 3, lease_seconds: float = 60.0, max_attempts: int = 8,
                 retention: timedelta = timedelta(days=14), clock: Callable[[], datetime] = utcnow) -> None:
        self.store = OutboxStore(sessions)
        self.channel = channel
        self.limiter = RateLimiter(rate, chat_rate, chat_burst)
        self.batch = int(max(10, min(500, rate)))
        self.per_chat = chat_burst
        self.concurrency = int(max(4, min(64, rate / 8)))
        self.lease = timedelta(seconds=lease_seconds)
        self.max_attempts = max_attempts
        self.retention = retention
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._cycle = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._busy: set[int] = set()  # chats the sender is sending to now
        self._backlog: set[int] = set()  # chats whose reply was handed to the queue
        self._reply_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.sent = 0  # sends that succeeded in this process (tests, bench)
        self._stopping = False
        self._recorder: asyncio.Task[None] | None = None
        self._sent_replies: list[Result] = []
        self._flusher: asyncio.Task[None] | None = None
        self._flush_now = asyncio.Event()
        self._held: set[int] = set()  # rows this process is sending: their claim is renewed
        self._renewer: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-sender")
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().create_task(self._renew(), name="outbox-lease")

    async def stop(self) -> None:
        """Let the batch being sent finish (at most STOP_GRACE seconds), then stop;
        what was sent is recorded either way (a send cut off stays in doubt)."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self._recorder is not None:
                with contextlib.suppress(Exception):
                    await self._recorder
            self._stopping = False
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()
        await self.flush()
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await renewer

    async def flush(self) -> None:
        """Record the replies sent since the last recording now (stop, tests)."""
        self._flush_now.set()
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            await asyncio.shield(flusher)
        if self._sent_replies:
            await self._flush_replies(wait=False)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def backlogged(self) -> bool:
        """Some reply of this process waits in the queue behind earlier messages."""
        return bool(self._backlog)

    def notify(self) -> None:
        """New rows were committed: look now instead of at the next poll."""
        self._wake.set()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until the sender has found nothing due (tests, the demo); at
        once if no sender runs."""
        if not self.running:
            return
        await self.flush()  # a reply not yet recorded holds back later messages to its chat
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((self._cycle, fut))
        self.notify()
        await asyncio.wait_for(fut, timeout)

    # -- the sender loop ----------------------------------------------------------------
    async def _run(self) -> None:
        last_recover = last_prune = 0.0
        while not self._stopping:
            try:
                mono = time.monotonic()
                if mono - last_recover >= min(self.lease.total_seconds() / 2, 30):
                    last_recover = mono
                    n = await self.store.requeue_stale(self.clock() - self.lease)
                    if n:
                        log.warning("outbox: %d message(s) whose sending was interrupted are sent again", n)
                if mono - last_prune >= PRUNE_EVERY:
                    last_prune = mono
                    await self.store.prune(self.clock() - self.retention)
                self._wake.clear()
                self._cycle += 1
                cycle = self._cycle
                rows = await self.store.claim(self.clock(), self.batch, self.per_chat)
                if rows:
                    await self._send_batch(rows)
                    continue
                self._settle_waiters(cycle)
                self.limiter.forget_idle_chats()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_transient_db_error(exc):  # locked by another process, restarting: not a fault here
                    log.warning("outbox sender: the database is unavailable (%s); trying again in a second",
                                exc.__class__.__name__)
                else:
                    log.exception("outbox sender: an error; trying again in a second")
                await asyncio.sleep(1.0)

    async def _renew(self) -> None:
        """Every third of the lease: the rows still held are claimed anew."""
        every = max(0.1, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            held = list(self._held)
            if not held:
                continue
            try:
                await self.store.renew(held, self.clock())
            except Exception as exc:  # the database away: the next turn tries again
                log.warning("outbox: could not renew the claim of %d message(s) being sent (%s)",
                            len(held), exc.__class__.__name__)

    def _settle_waiters(self, cycle: int) -> None:
        keep = []
        for registered, fut in self._waiters:
            if registered < cycle:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((registered, fut))
        self._waiters = keep

    async def _send_batch(self, rows: list[ClaimedRow]) -> None:
        by_chat: dict[int, list[ClaimedRow]] = {}
        for row in rows:
            by_chat.setdefault(row.chat_id, []).append(row)
        self._busy.update(by_chat)
        self._held.update(row.id for row in rows)
        results: list[Result] = []
        gate = asyncio.Semaphore(self.concurrency)

        async def one_chat(chat_rows: list[ClaimedRow]) -> None:
            async with gate:
                for i, row in enumerate(chat_rows):
                    result = await self._send_row(row)
                    results.append(result)
                    if result.status in ("retry", "requeue", "unreachable"):
                        results.extend(Result(r.id, r.chat_id, "release") for r in chat_rows[i + 1:])
                        return

        stop = asyncio.Event()

        async def record() -> None:
            """What was sent is recorded every FLUSH_SECONDS, not only at the end of
            the batch: a crash can then repeat at most that much."""
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), FLUSH_SECONDS)
                done, results[:] = results[:], []
                await self._finish(done, "queue")
            done, results[:] = results[:], []  # the batch is over: the rest
            await self._finish(done, "queue")

        recorder = self._recorder = asyncio.get_running_loop().create_task(record())
        try:
            await asyncio.gather(*(one_chat(chat_rows) for chat_rows in by_chat.values()))
        finally:
            stop.set()
            self._busy.difference_update(by_chat)
            await asyncio.shield(recorder)  # records the rest, even when the sender is being stopped
            # (a row cut off by a stop stays "sending": the lease gives it back)
            self._held.difference_update(row.id for row in rows)
        if self._backlog:
            self._backlog &= await self.store.waiting_chats(list(self._backlog))

    async def _finish(self, results: list[Result], path: str) -> None:
        """Record results (one transaction), counted in the metrics by `path`
        (reply: sent at once; queue: by the sender)."""
        metrics.record_outbox_results(results, path)
        try:
            await self.store.finish(results, self.clock())
        finally:
            self._held.difference_update(r.row_id for r in results)

    async def _send_row(self, row: ClaimedRow, *, immediate: bool = False) -> Result:
        msg = OutMessage.from_payload(row.chat_id, row.payload, row.id)
        done = row.parts_done
        method = "send"
        try:
            for method, call in operations(self.channel, msg)[done:]:
                await self.limiter.acquire(row.chat_id, immediate=immediate)
                await call()
                done += 1
                self.sent += 1
            return Result(row.id, row.chat_id, "sent", done)
        except RetryLater as exc:
            self.limiter.pause(exc.seconds, row.chat_id)
            log.warning("outbox: Telegram asks to slow down (chat %s); sending pauses for %.0f s",
                        row.chat_id, exc.seconds)
            return Result(row.id, row.chat_id, "requeue", done, "429 too many requests",
                          self.clock() + timedelta(seconds=exc.seconds))
        except Unreachable as exc:
            log.info("outbox: chat %s unreachable (%s)", row.chat_id, exc)
            return Result(row.id, row.chat_id, "unreachable", done, str(exc))
        except Rejected as exc:
            plain = without_url_buttons(msg) if method == "sendMessage" else None
            if plain is not None:
                log.warning("outbox: %s to chat %s refused (%s); once more without link buttons",
                            method, row.chat_id, exc)
                return Result(row.id, row.chat_id, "requeue", done, str(exc), None, plain.to_payload())
            log.warning("outbox: %s to chat %s refused for good: %s", method, row.chat_id, exc)
            return Result(row.id, row.chat_id, "failed", done, str(exc))
        except (Transient, Exception) as exc:  # anything unexpected is worth another try, not a lost message
            if not isinstance(exc, Transient):
                log.exception("outbox: unexpected error sending to chat %s", row.chat_id)
            attempts = row.attempts + 1
            if attempts >= self.max_attempts:
                log.error("outbox: gave up on a message to chat %s after %d attempts: %s",
                          row.chat_id, attempts, exc)
                return Result(row.id, row.chat_id, "failed", done, f"gave up: {exc}")
            delay = min(MAX_BACKOFF, 2.0 ** attempts) * random.uniform(0.8, 1.2)
            log.warning("outbox: %s to chat %s failed (%s); retry %d in %.0f s",
                        method, row.chat_id, exc, attempts, delay)
            return Result(row.id, row.chat_id, "retry", done, str(exc), self.clock() + timedelta(seconds=delay))

    # -- the reply to a person's own update -------------------------------------------------
    async def deliver_reply(self, reply: Reply, chat_id: int, callback_id: str | None = None) -> None:
        """Send the reply now (see the module doc); messages to other chats are
        the sender's. Records what was sent in one transaction."""
        results: list[Result] = []
        queued = reply.queued > 0
        handed_over = False
        lock = self._reply_locks.get(chat_id)
        if lock is None:
            lock = self._reply_locks[chat_id] = asyncio.Lock()
        # One chat's replies go out one after another, in the order their updates
        # were handled (a reply waiting out a 429 is not overtaken by the next).
        # Taken before the first await: the core handed this chat's next update
        # its lock just now, and that one must not get here first.
        await lock.acquire()
        own = {m.outbox_id for m in reply.messages if m.outbox_id is not None and m.chat_id == chat_id}
        self._held.update(own)
        try:
            if callback_id is not None:
                await answer_callback(self.channel, callback_id, reply)
            for msg in reply.messages:
                if msg.outbox_id is None:
                    await deliver_message(self.channel, msg)  # not stored (e.g. an error reply)
                    continue
                if msg.chat_id != chat_id:
                    continue
                if handed_over or chat_id in self._busy or chat_id in self._backlog:
                    handed_over = True
                    results.append(Result(msg.outbox_id, chat_id, "release"))
                    continue
                result = await self._send_now(msg)
                results.append(result)
                if result.status in ("retry", "requeue"):
                    handed_over = True
        finally:
            if handed_over:
                self._backlog.add(chat_id)
                queued = True
            try:
                if handed_over or any(r.status != "sent" for r in results):
                    await self._finish(results, "reply")  # the sender needs these now
                else:
                    metrics.record_outbox_results(results, "reply")
                    self._record_later(results)
            finally:
                # a send cut off (cancelled) has no result: the lease gives its row back
                self._held.difference_update(own - {r.row_id for r in results})
                lock.release()
            if queued:
                self.notify()

    def _record_later(self, results: list[Result]) -> None:
        """Replies that went out are recorded together every FLUSH_SECONDS, not
        in one transaction each (half the database work per update); a crash
        in between can send those replies once more (after the lease)."""
        if not results:
            return
        self._sent_replies.extend(results)
        if self._flusher is None or self._flusher.done():
            # Cleared here, not in the task: a flush() before the task first runs is not lost.
            self._flush_now.clear()
            self._flusher = asyncio.get_running_loop().create_task(self._flush_replies(), name="outbox-replies")

    async def _flush_replies(self, wait: bool = True) -> None:
        if wait:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), FLUSH_SECONDS)
        done, self._sent_replies = self._sent_replies, []
        try:
            await self.store.finish(done, self.clock())
        except Exception:
            log.exception("outbox: could not record %d sent replies; they may be sent again", len(done))
        finally:
            self._held.difference_update(r.row_id for r in done)
        self.notify()  # messages queued behind those replies may go now

    async def _send_now(self, msg: OutMessage) -> Result:
        row = ClaimedRow(msg.outbox_id or 0, msg.chat_id, "reply", msg.to_payload(), 0, 0)
        tries = 0
        while True:
            result = await self._send_row(row, immediate=True)
            if result.status == "requeue" and result.payload is not None:
                row.payload, row.parts_done = result.payload, result.parts_done  # without link buttons
                continue
            if result.status == "requeue" and self.limiter.paused_for(row.chat_id) <= MAX_WAIT:
                row.parts_done = result.parts_done  # 429: wait in place if it is short
                await asyncio.sleep(self.limiter.paused_for(row.chat_id))
                continue
            if result.status == "retry" and tries < len(RETRY_DELAYS):
                row.parts_done = result.parts_done
                row.attempts = 0  # in-place tries do not count towards giving up
                await asyncio.sleep(RETRY_DELAYS[tries])
                tries += 1
                continue
            if result.status == "retry":
                result.not_before = self.clock() + timedelta(seconds=RETRY_DELAYS[-1] * 2)
            return result
