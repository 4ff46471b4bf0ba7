"""Prometheus metrics (prometheus-client) and the `/metrics` endpoint.

The metrics live in prometheus-client's default registry, next to its process
and Python collectors (``process_resident_memory_bytes``,
``process_cpu_seconds_total``, ``python_gc_*``). They are counted always (an
update's figures cost about 13 µs, bench/bench_metrics.py: well under 1 % of
handling one); `METRICS_LISTEN` only decides whether a
process serves them. The hooks sit in the composition root: the transports'
`BotApiChannel.serve` (updates, latency), the outbox (sends by result, 429
pauses), the app (reminders, sweeps, leadership). `handlers/` knows nothing
of them.

The endpoint is a tiny aiohttp server on the bot's event loop (aiohttp is a
dependency already): it can read the outbox depth from the database with the
bot's own engine when scraped, at most once per `DEPTH_TTL` seconds, so an
idle bot does not query for it and a fast scraper does not load the
database. Only ``GET /metrics`` is served; no access log.

Every process serves its own figures (no multiprocess mode: each worker is a
separate target). The outbox depth is the shared database's, the same in
every process: aggregate it with ``max``, not ``sum``.

Names and labels: docs/operations.md ("Metrics").
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from db.models import utcnow
from db.outbox import OutboxStore, Result
from handlers.types import Incoming, Reply

log = logging.getLogger(__name__)

__all__ = ["MetricsServer", "note_reminder", "note_sweep", "observe_update", "record_outbox_results",
           "note_rate_limit", "set_leader", "update_kind"]

DEPTH_TTL = 5.0  # seconds a sampled outbox depth is reused
DEPTH_TIMEOUT = 5.0

UPDATES = Counter("crosslab_updates", "Updates handled, by kind and result (ok, error, duplicate, flooded).",
                  ["kind", "result"])
UPDATE_SECONDS = Histogram(
    "crosslab_update_handling_seconds",
    "From an update reaching the transport to its reply delivered (or handed to the outbox queue).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0))
OUTBOX_SENDS = Counter(
    "crosslab_outbox_sends",
    "Outbox messages by what became of an attempt (sent, retry, unreachable, failed, requeue); "
    "path: reply (a person's own reply, sent at once) or queue (the sender).",
    ["result", "path"])
OUTBOX_MESSAGES = Gauge("crosslab_outbox_messages",
                        "Outbox rows waiting (pending) or being sent (sending), sampled from the database.",
                        ["status"])
OUTBOX_OLDEST_DUE = Gauge("crosslab_outbox_oldest_due_seconds",
                          "How long the longest-waiting due outbox message has been due (0: none).")
RATE_LIMIT_PAUSES = Counter("crosslab_rate_limit_pauses",
                            "429 Too Many Requests from the Bot API; scope: chat (one chat waits) or all.",
                            ["scope"])
RATE_LIMIT_PAUSE_SECONDS = Counter("crosslab_rate_limit_pause_seconds",
                                   "Seconds of retry_after asked for by 429 answers.", ["scope"])
REMINDERS = Counter("crosslab_reminders_sent", "Meeting reminders written to the outbox, by offset (e.g. 24h, 1h).",
                    ["offset"])
SWEEPS = Counter("crosslab_sweeps", "Follow-up sweeps run, by result (ok, error).", ["result"])
SWEEP_SECONDS = Histogram("crosslab_sweep_seconds", "Duration of a follow-up sweep.",
                          buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0))
SWEEP_ACTIONS = Counter("crosslab_sweep_actions",
                        "What sweeps did: asked, nudged, expired, followups, paused, broadcast_messages.",
                        ["action"])
LEADER = Gauge("crosslab_leader", "1 while this process leads (runs reminders, sweeps and the outbox sender).")

_KINDS = frozenset({"text", "command", "button", "edited", "photo", "document", "sticker", "voice", "video"})


def update_kind(ev: Incoming) -> str:
    """A bounded label for an update: text, command, button, edited, photo,
    document, sticker, voice, video, other."""
    if ev.edited:
        return "edited"
    if ev.kind == "text" and ev.command is not None:
        return "command"
    return ev.kind if ev.kind in _KINDS else "other"


_children: dict[tuple[object, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered (labels() takes a lock and builds a key each time)."""
    key = (metric, *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def observe_update(ev: Incoming, reply: Reply | None, seconds: float) -> None:
    """One update served: `reply` None when serving it raised."""
    if reply is None or reply.error:
        result = "error"
    elif reply.duplicate:
        result = "duplicate"
    elif reply.flooded:
        result = "flooded"
    else:
        result = "ok"
    _child(UPDATES, update_kind(ev), result).inc()
    UPDATE_SECONDS.observe(seconds)


def record_outbox_results(results: Iterable[Result], path: str) -> None:
    """Results about to be recorded (a "release" was no attempt: not counted)."""
    for r in results:
        if r.status != "release":
            _child(OUTBOX_SENDS, r.status, path).inc()


def note_rate_limit(scope: str, seconds: float) -> None:
    RATE_LIMIT_PAUSES.labels(scope).inc()
    RATE_LIMIT_PAUSE_SECONDS.labels(scope).inc(seconds)


def note_reminder(offset: str, reply: Reply) -> None:
    """A reminder job ran; counted when it wrote messages (not when stale or sent before)."""
    if reply.queued or reply.messages:
        REMINDERS.labels(offset).inc()


def note_sweep(counts: dict[str, int] | None, seconds: float) -> None:
    """A sweep ran; `counts` None when it failed."""
    SWEEPS.labels("error" if counts is None else "ok").inc()
    SWEEP_SECONDS.observe(seconds)
    for action, n in (counts or {}).items():
        if n:
            SWEEP_ACTIONS.labels(action).inc(n)


def set_leader(leading: bool) -> None:
    LEADER.set(1 if leading else 0)


class DepthSampler:
    """Samples the outbox depth into the gauges, at most once per `ttl` seconds;
    a failed sample keeps the last values (and logs once until one succeeds)."""

    def __init__(self, store: OutboxStore, ttl: float = DEPTH_TTL) -> None:
        self.store, self.ttl = store, ttl
        self._at = -float("inf")
        self._failing = False
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return
            self._at = time.monotonic()
            try:
                by_status, oldest = await asyncio.wait_for(self.store.depth(utcnow()), DEPTH_TIMEOUT)
            except Exception as exc:
                if not self._failing:
                    log.warning("metrics: could not read the outbox depth (%s); keeping the last values",
                                exc.__class__.__name__)
                self._failing = True
                return
            self._failing = False
            for status, n in by_status.items():
                OUTBOX_MESSAGES.labels(status).set(n)
            OUTBOX_OLDEST_DUE.set(oldest)


class MetricsServer:
    """``GET /metrics`` on `host`:`port` in the running event loop. `before_scrape`
    runs before each scrape (the depth sampler)."""

    def __init__(self, host: str, port: int,
                 before_scrape: Iterable[Callable[[], Awaitable[None]]] = ()) -> None:
        self.host, self.port = host, port
        self.before_scrape = list(before_scrape)
        self._runner: web.AppRunner | None = None

    async def _metrics(self, request: web.Request) -> web.Response:
        for hook in self.before_scrape:
            await hook()
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if self.port == 0:  # tests: the port the system chose
            self.port = runner.addresses[0][1]
        log.info("metrics: serving /metrics on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
