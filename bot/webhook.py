"""Webhook mode: one aiohttp server in front of either framework.

Telegram POSTs each update to the path of ``WEBHOOK_URL``; the server answers

- **403** when ``X-Telegram-Bot-Api-Secret-Token`` is missing or is not
  ``WEBHOOK_SECRET`` (compared in constant time, as bytes); nothing is read
  beyond the header and nothing is processed;
- **400** when the body is not a JSON Telegram update (the framework cannot
  read it);
- **200** only after the update was handled: the core recorded its update id
  in the transaction that committed its effects and wrote its reply to the
  outbox, and the reply went out (or was handed to the outbox's queue). So an
  update Telegram saw acknowledged is never lost, and one redelivered
  (a timeout, a retry) is recognised by its id and changes nothing;
- **500** when handling raised (e.g. the database is unreachable): Telegram
  sends the update again later;
- **503** while the process starts (before the core exists) or stops: Telegram
  retries, possibly at another instance.

At most ``WEBHOOK_MAX_CONNECTIONS`` updates are handled at once (the same number
is given to ``setWebhook``, so Telegram does not open more); a request beyond it
waits for a slot. Updates of one person are handled in order by the core's
per-person lock, different people concurrently.

``GET /healthz``: 200 ``{"status": "ok"}`` while the process is up and the
database answers ``SELECT 1`` (within ``PING_TIMEOUT`` seconds), else 503.
``GET /readyz``: 200 once the database is migrated and the transport started
(``setWebhook`` accepted), else 503. It does not wait for the embedding model:
the bot answers while the model loads (a matching that needs it waits for that
same load), so the body reports the model's state (``loading``, ``ready``,
``failed``) without making the process unready.

This module imports neither framework: a transport is an `UpdateSink`
(``parse_update``, ``process_update``).
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["SECRET_HEADER", "UpdateSink", "WebhookConfig", "WebhookServer", "until_stopped"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PING_TIMEOUT = 5.0  # seconds the database may take to answer the health check
STOP_GRACE = 30.0  # seconds a stopping server waits for updates being handled
WARN_EVERY = 60.0  # refused requests are logged at most this often (a flood must not flood the log)
WEAK_SECRET = 16  # a shorter WEBHOOK_SECRET is accepted (Telegram allows 1-256) with a warning at start

State = Literal["starting", "ready", "stopping", "stopped"]


@dataclass(frozen=True)
class WebhookConfig:
    url: str  # what Telegram calls (setWebhook)
    secret: str = ""
    host: str = "0.0.0.0"
    port: int = 8080
    path: str = "/"
    max_connections: int = 40

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        host, port = settings.webhook_address
        return cls(url=settings.webhook_url, secret=settings.webhook_secret, host=host, port=port,
                   path=settings.webhook_path, max_connections=settings.webhook_max_connections)

    def __repr__(self) -> str:  # never the secret
        return f"WebhookConfig(url={self.url!r}, listen={self.host}:{self.port}, path={self.path!r})"


class UpdateSink(Protocol):
    """A transport, as the webhook server sees it."""

    def parse_update(self, data: dict[str, Any]) -> object:
        """The framework's update from the request's JSON; raises if it is not one."""

    async def process_update(self, update: object) -> None:
        """Handle the update and deliver its reply before returning; raise if
        handling failed (the update was then not recorded as handled)."""


class WebhookServer:
    """See the module doc. `listen` binds (the health checks answer from then
    on), `attach` hands it the transport and the database once they exist,
    `set_ready` after ``setWebhook``; `stop` refuses new updates, waits for
    those being handled and closes."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.state: State = "starting"
        self._secret = config.secret.encode()
        self._sink: UpdateSink | None = None
        self._engine: AsyncEngine | None = None
        self._model_state: Callable[[], str] = lambda: "not required"
        self._gate = asyncio.Semaphore(config.max_connections)
        self._busy = 0  # updates being handled (waiting for a slot included)
        self._drained = asyncio.Event()
        self._drained.set()
        self._runner: web.AppRunner | None = None
        self._refused = 0
        self._last_warning = 0.0
        # counters (tests, bench, logs)
        self.handled = 0
        self.failed = 0
        self.rejected = 0  # 400
        self.forbidden = 0  # 403

    # -- lifecycle ------------------------------------------------------------------
    async def listen(self) -> None:
        """Bind ``host:port`` and answer from now on (idempotent)."""
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_post(self.config.path, self._update)
        # No access log (one line per update); requests are not cancelled when
        # Telegram hangs up: the update is handled to its commit regardless.
        runner = web.AppRunner(app, access_log=None, handler_cancellation=False, shutdown_timeout=STOP_GRACE)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.host, self.config.port).start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(f"cannot listen on {self.config.host}:{self.config.port} (WEBHOOK_LISTEN): "
                          f"{exc.strerror or exc}") from None
        self._runner = runner
        if self.state == "stopped":
            self.state = "starting"
        if len(self.config.secret) < WEAK_SECRET:
            log.warning("WEBHOOK_SECRET has only %d characters: anyone who guesses it can post updates as "
                        "anybody; use %d or more random ones (e.g. openssl rand -hex 32)",
                        len(self.config.secret), WEAK_SECRET)

    @property
    def port(self) -> int:
        """The port bound (WEBHOOK_LISTEN's, or the one chosen for port 0)."""
        if self._runner is None or not self._runner.addresses:
            return self.config.port
        return int(self._runner.addresses[0][1])

    def attach(self, sink: UpdateSink, engine: AsyncEngine, model_state: Callable[[], str] | None = None) -> None:
        """The transport (bound to its core) and the migrated database: updates
        are handled from now on. `model_state` names the embedding model's state
        for /readyz."""
        self._sink, self._engine = sink, engine
        if model_state is not None:
            self._model_state = model_state

    def set_ready(self) -> None:
        """The transport started (setWebhook accepted): /readyz says 200."""
        if self.state == "starting":
            self.state = "ready"

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Refuse new updates (503: Telegram retries them, here after a restart
        or at another instance), let the ones being handled finish (at most
        `grace` seconds), then close the port. The webhook stays set at Telegram."""
        if self._runner is None:
            return
        self.state = "stopping"
        try:
            await asyncio.wait_for(self._drained.wait(), grace)
        except asyncio.TimeoutError:
            log.warning("webhook: %d update(s) still being handled after %.0f s; stopping anyway "
                        "(Telegram sends them again)", self._busy, grace)
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self.state = "stopped"

    # -- requests -------------------------------------------------------------------
    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, self._secret):
            self.forbidden += 1
            self._refused_warning(request.remote)
            return web.Response(status=403, text="forbidden")
        sink = self._sink
        if sink is None or self.state in ("stopping", "stopped"):
            return web.Response(status=503, text=self.state, headers={"Retry-After": "1"})
        try:
            data = await request.json()
        except ValueError:  # not JSON, or not UTF-8
            return self._bad("the body is not JSON")
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return self._bad("the body is not a Telegram update (no update_id)")
        update_id = data["update_id"]
        try:
            update = sink.parse_update(data)
        except Exception as exc:  # the framework's validation error, whatever its class
            return self._bad(f"update {update_id} is not a Telegram update ({exc.__class__.__name__})")
        self._busy += 1
        self._drained.clear()
        try:
            async with self._gate:
                await sink.process_update(update)
        except Exception:
            self.failed += 1
            log.exception("webhook: update %s failed; answering 500, Telegram sends it again", update_id)
            return web.Response(status=500, text="error")
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._drained.set()
        self.handled += 1
        return web.Response(status=200)

    def _bad(self, why: str) -> web.Response:
        self.rejected += 1
        log.warning("webhook: refused a request (400): %s", why)
        return web.Response(status=400, text=why)

    def _refused_warning(self, remote: str | None) -> None:
        self._refused += 1
        now = time.monotonic()
        if now - self._last_warning >= WARN_EVERY:
            log.warning("webhook: %d request(s) without the right secret refused (403), the last from %s",
                        self._refused, remote or "?")
            self._refused, self._last_warning = 0, now

    async def _healthz(self, request: web.Request) -> web.Response:
        if self._engine is None:
            return web.json_response({"status": "starting", "database": "not connected yet"}, status=503)
        try:
            await asyncio.wait_for(self._ping(self._engine), PING_TIMEOUT)
        except Exception as exc:
            why = "no answer" if isinstance(exc, asyncio.TimeoutError) else exc.__class__.__name__
            log.warning("health check: the database does not answer (%s)", why)
            return web.json_response({"status": "unavailable", "database": why}, status=503)
        return web.json_response({"status": "ok"})

    @staticmethod
    async def _ping(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def _readyz(self, request: web.Request) -> web.Response:
        body = {"status": self.state, "database": "migrated" if self._engine is not None else "not yet",
                "model": self._model_state()}
        return web.json_response(body, status=200 if self.state == "ready" else 503)


async def until_stopped() -> None:
    """Return on SIGTERM or SIGINT (Ctrl-C): the webhook process's main wait."""
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals here
            continue
        installed.append(sig)
    try:
        await stop.wait()
        log.info("stopping: the updates being handled finish first")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
