"""Composition root: settings -> database (migrated) -> core -> transport."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.bootstrap import build_core
from bot.logs import configure_logging, install_redaction
from bot.broadcasts import BroadcastMonitor
from bot import metrics
from bot.leader import Leadership
from bot.metrics import DepthSampler, MetricsServer
from bot.outbox import Outbox
from bot.reminders import ReminderService
from bot.settings import Settings, SettingsError, load_settings
from bot.webhook import WebhookConfig, WebhookServer, until_stopped
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import utcnow
from handlers.core import CrosslabCore
from handlers.services import MatchingPort
from handlers.types import Incoming, Reply
from i18n import LANGUAGES, t

log = logging.getLogger("crosslab")
SYNC_MARGIN = timedelta(minutes=5)  # clocks of several processes differ a little
MIGRATE_LOCKED_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)  # start-up on a SQLite file another process has locked


class Transport(Protocol):
    name: str
    core: CrosslabCore | None

    def bind(self, core: CrosslabCore, on_delivered: Callable[[Incoming, Reply], None] | None = None,
             outbox: Outbox | None = None) -> None: ...
    async def get_username(self) -> str: ...
    async def start(self, *, polling_timeout: int = 10, webhook: WebhookConfig | None = None) -> None: ...
    async def run_forever(self) -> None: ...
    def parse_update(self, data: dict[str, Any]) -> object: ...  # webhook mode: bot/webhook.py
    async def process_update(self, update: object) -> None: ...
    async def stop(self) -> None: ...
    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None: ...


def make_transport(framework: str, settings: Settings) -> Transport:
    """The transport, not yet bound to a core (the core needs the bot's username first)."""
    settings.require_token()
    if framework == "ptb":
        from bot.transport_ptb import PTBTransport

        return PTBTransport(settings.telegram_bot_token, settings.telegram_api_url)
    from bot.transport_aiogram import AiogramTransport

    return AiogramTransport(settings.telegram_bot_token, settings.telegram_api_url)


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """What must never appear in a log: the token, the other secrets and the
    database password."""
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    return (settings.telegram_bot_token, settings.webhook_secret, settings.callback_secret,
            str(password) if password else "")


async def prepare_database(settings: Settings) -> tuple[AsyncEngine, async_sessionmaker[AsyncSession]]:
    engine = create_engine(settings.database_url)
    try:
        for delay in (*MIGRATE_LOCKED_DELAYS, None):
            try:
                await upgrade(engine)
                break
            except OperationalError as exc:
                # Another process holds the SQLite file's write lock for a moment
                # (a backup, an admin tool): the statements here wait at most
                # 0.25 s each (db/sqlite_loop.py), so the whole migration is retried.
                if delay is None or "database is locked" not in str(exc.orig):
                    raise
                log.warning("the database is locked by another process; migrating again in %.0f s", delay)
                await asyncio.sleep(delay)
    except (OSError, ConnectionError) as exc:
        await engine.dispose()
        raise SettingsError(f"Cannot reach the database at DATABASE_URL ({exc.__class__.__name__}: {exc}).") from None
    except Exception as exc:  # driver-specific connection errors (asyncpg, sqlite)
        if exc.__class__.__module__.split(".")[0] in ("asyncpg", "sqlite3", "sqlalchemy"):
            await engine.dispose()
            raise SettingsError(f"Cannot use the database at DATABASE_URL: {exc}.") from None
        raise
    return engine, create_session_factory(engine)


async def register_commands(transport: Transport, menu: tuple[str, ...], default_language: str) -> None:
    """Telegram's command menu (setMyCommands), per language via catalog keys cmd.<name>."""
    for lang in (None, *LANGUAGES):
        commands = [(c, t(lang or default_language, f"cmd.{c}")) for c in menu]
        await transport.set_commands(commands, lang)


@dataclass
class Crosslab:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    core: CrosslabCore
    transport: Transport
    reminders: ReminderService
    outbox: Outbox
    broadcasts: BroadcastMonitor  # progress of broadcasts being sent, scheduled ones started
    warming: asyncio.Future[None] | None = field(default=None, repr=False)  # the model's warm-up (`warm_up`)
    webhook: WebhookServer | None = None  # webhook mode (WEBHOOK_URL set); None: long polling
    leadership: Leadership | None = field(default=None, repr=False)
    metrics_server: MetricsServer | None = field(default=None, repr=False)  # METRICS_LISTEN (bot/metrics.py)
    _synced: datetime | None = field(default=None, repr=False)  # reminders planned from the database up to here

    async def lead(self) -> None:
        """This process was elected (bot/leader.py): run what must run once."""
        metrics.set_leader(True)
        self.outbox.start()
        self.broadcasts.start()
        await self.start_reminders()

    async def follow(self) -> None:
        """Another process leads (or this one is stopping)."""
        metrics.set_leader(False)
        await self.broadcasts.stop()
        await self.outbox.stop()
        await self.reminders.shutdown()

    async def start_background(self) -> None:
        """Serve /metrics if METRICS_LISTEN is set; take part in the leader
        election (SQLite: lead at once)."""
        await self.start_metrics()
        self.leadership = Leadership(self.engine, elected=self.lead, deposed=self.follow,
                                     mode=self.settings.scheduler, retry=self.settings.leader_retry_seconds)
        await self.leadership.start()

    async def start_reminders(self) -> None:
        """The scheduler runs inside the bot process; its job store is the database."""
        await self.reminders.start(self.send_reminder)
        # The database is the source of truth: make sure every scheduled meeting
        # has its reminders (idempotent; keeps due ones that were missed).
        for meeting_id, starts_at in await self.core.scheduled_meetings():
            self.reminders.plan(meeting_id, starts_at)
        self._synced = utcnow()
        # Feedback questions, nudges and follow-ups: a periodic sweep over the database.
        self.reminders.every(self.settings.sweep_seconds, self.sweep, "followup-sweep")

    async def sync_reminders(self) -> None:
        """With several processes only the leader's scheduler runs, so a meeting
        agreed in another process has no reminder jobs yet: plan those of
        meetings changed since the last sync (and drop those of meetings no
        longer scheduled). Idempotent; run with every sweep."""
        if self._synced is None or not self.reminders.running:
            return
        since, now = self._synced - SYNC_MARGIN, utcnow()
        scheduled, gone = await self.core.meetings_changed_since(since)
        for meeting_id, starts_at in scheduled:
            self.reminders.plan(meeting_id, starts_at)
        for meeting_id in gone:
            self.reminders.cancel(meeting_id)
        self._synced = now

    async def sweep(self) -> dict[str, int]:
        """Decide the follow-ups due now (see handlers/followups.py; the outbox
        sends them), then forget handled update ids older than PROCESSED_UPDATES_KEEP.
        With several processes, first plan reminders agreed in the others."""
        if self.leadership is not None and self.leadership.shared:
            try:
                await self.sync_reminders()
            except Exception:
                log.exception("could not plan reminders from the database; the next sweep tries again")
        started = time.perf_counter()
        try:
            _, counts = await self.core.tick()
            self.outbox.notify()
        except Exception:
            log.exception("follow-up sweep failed; the next sweep tries again")
            metrics.note_sweep(None, time.perf_counter() - started)
            counts = {}
        else:
            metrics.note_sweep(counts, time.perf_counter() - started)
            if any(counts.values()):
                log.info("follow-up sweep: %s", counts)
        try:
            pruned = await self.core.prune_updates(self.settings.updates_kept_for)
        except Exception:
            log.exception("could not prune processed_updates; the next sweep tries again")
        else:
            if pruned:
                log.info("forgot %d handled update ids older than %s", pruned,
                         self.settings.processed_updates_keep[0][0])
        return counts

    async def send_reminder(self, meeting_id: int, kind: str, starts_at: datetime) -> None:
        """The reminder's messages are written to the outbox in the transaction
        that marks it sent: once that commits, the job is done (the outbox
        delivers, retrying as needed); if the process dies before, the job runs
        again and finds nothing sent."""
        metrics.note_reminder(kind, await self.core.reminder_reply(meeting_id, kind, starts_at))
        self.outbox.notify()

    def warm_up(self) -> asyncio.Future[None]:
        """Load the embedding model in the background (a worker thread) while
        the bot answers updates; a matching that needs it waits for this load.
        Logs one INFO line with the seconds it took."""
        if self.warming is None:
            self.warming = asyncio.ensure_future(self.core.services.matching.warm_up())
        return self.warming

    def model_state(self) -> str:
        """The embedding model's warm-up, for /readyz."""
        if self.warming is None:
            return "not loaded yet"
        if not self.warming.done():
            return "loading"
        return "failed" if self.warming.cancelled() or self.warming.exception() is not None else "ready"

    async def start_transport(self, *, polling_timeout: int = 10) -> None:
        """Long polling, or in webhook mode: the server listens, then setWebhook
        (Telegram posts from now on), then /readyz says ready."""
        if self.webhook is None:
            await self.transport.start(polling_timeout=polling_timeout)
            return
        await self.webhook.listen()
        await self.transport.start(webhook=self.webhook.config)
        self.webhook.set_ready()

    async def start(self, *, polling_timeout: int = 10) -> None:
        self.warm_up()
        await self.start_background()
        await self.start_transport(polling_timeout=polling_timeout)

    async def start_metrics(self) -> None:
        """``GET /metrics`` on METRICS_LISTEN (nothing when it is empty)."""
        address = self.settings.metrics_address
        if address is None or self.metrics_server is not None:
            return
        server = MetricsServer(*address, before_scrape=[DepthSampler(self.outbox.store).refresh])
        try:
            await server.start()
        except OSError as exc:
            raise SettingsError(f"Cannot serve metrics on METRICS_LISTEN {self.settings.metrics_listen} "
                                f"({exc.strerror or exc}).") from None
        self.metrics_server = server

    async def stop_metrics(self) -> None:
        server, self.metrics_server = self.metrics_server, None
        if server is not None:
            await server.stop()

    async def stop(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()  # the updates being handled finish first; the webhook stays set
        if self.warming is not None and not self.warming.done():
            self.warming.cancel()  # its worker thread finishes on its own
        await self.transport.stop()
        if self.leadership is not None:
            await self.leadership.stop()  # stops what the leader runs
        await self.outbox.flush()  # replies sent and not yet recorded (also on a worker)
        await self.stop_metrics()
        await self.engine.dispose()


def make_outbox(settings: Settings, sessions: async_sessionmaker[AsyncSession], channel: Transport) -> Outbox:
    return Outbox(sessions, channel, rate=settings.send_rate, chat_rate=settings.send_chat_rate,  # type: ignore[arg-type]
                  chat_burst=settings.send_chat_burst, lease_seconds=settings.outbox_lease_seconds,
                  max_attempts=settings.outbox_max_attempts)


async def create_app(settings: Settings, *, framework: str | None = None, clock: Callable[[], datetime] = utcnow,
                     on_delivered: Callable[[Incoming, Reply], None] | None = None,
                     matching: MatchingPort | None = None, webhook: WebhookServer | None = None) -> Crosslab:
    """Settings -> migrated database -> transport (for the bot's username) ->
    reminder service (started by `start`) -> core, bound to the transport.
    `clock` is the conversations' clock (the demo and tests simulate days);
    `on_delivered` hears of each handled update after its reply went out;
    `matching` replaces the `MatchingService` (tests compose a slow one).
    With WEBHOOK_URL set the app gets a `WebhookServer` (`webhook`, or a new
    one), attached to the transport and the database; `start` makes it listen.
    `start` (or `crosslab run`) begins loading the embedding model in the background.
    From here on no log record carries the token or another secret (`bot.logs`)."""
    install_redaction(*secrets_of(settings))
    engine, sessions = await prepare_database(settings)
    transport: Transport | None = None
    try:
        transport = make_transport(framework or settings.bot_framework, settings)
        reminders = ReminderService(settings.database_url, offsets=list(settings.reminder_offsets),
                                    time_factor=settings.time_factor)
        core = build_core(settings, sessions, clock=clock, reminders=reminders,
                          bot_username=await transport.get_username(), matching=matching)
        outbox = make_outbox(settings, sessions, transport)
        transport.bind(core, on_delivered, outbox)
        await register_commands(transport, core.registry.menu, settings.default_language)
    except BaseException:
        if transport is not None:
            with contextlib.suppress(Exception):
                await transport.stop()
        await engine.dispose()
        raise
    app = Crosslab(settings, engine, sessions, core, transport, reminders, outbox, BroadcastMonitor(core, outbox))
    if settings.webhook_mode:
        app.webhook = webhook or WebhookServer(WebhookConfig.from_settings(settings))
        app.webhook.attach(transport, engine, app.model_state)
    return app


async def _serve(settings: Settings) -> None:
    webhook = WebhookServer(WebhookConfig.from_settings(settings)) if settings.webhook_mode else None
    if webhook is not None:
        try:
            await webhook.listen()  # the health checks answer while the database is migrated
        except OSError as exc:
            raise SettingsError(f"{exc}.") from None
    try:
        app = await create_app(settings, webhook=webhook)
    except BaseException as exc:
        if webhook is not None:
            await webhook.stop()
        if not isinstance(exc, Exception) or isinstance(exc, SettingsError):
            raise
        raise SettingsError(
            f"Cannot talk to the Telegram Bot API at {settings.telegram_api_url} ({exc.__class__.__name__}: {exc})."
        ) from None
    if webhook is None:
        mode = "long polling (getUpdates)"
    else:
        cfg = webhook.config
        mode = f"webhook mode: listening on {cfg.host}:{webhook.port}, path {cfg.path}, Telegram posts to {cfg.url}"
    log.info("Crosslab is running as @%s with %s, %s", app.core.services.bot_username, app.transport.name, mode)
    app.warm_up()
    try:
        await app.start_background()
    except BaseException:  # e.g. METRICS_LISTEN's port is taken: close what was opened
        await app.stop()
        raise
    # Everything allocated so far (framework models, ORM mappers) lives for the
    # whole run: keep it out of the cyclic GC's full collections (halves GC time).
    gc.freeze()
    try:
        if webhook is None:
            await app.transport.run_forever()
        else:
            try:
                await app.start_transport()
            except Exception as exc:
                raise SettingsError(f"Telegram did not accept the webhook at WEBHOOK_URL "
                                    f"({exc.__class__.__name__}: {exc}).") from None
            await until_stopped()  # SIGTERM or Ctrl-C
    finally:
        if webhook is not None:
            await webhook.stop()
            await app.transport.stop()
        if app.leadership is not None:
            await app.leadership.stop()
        await app.outbox.flush()
        await app.stop_metrics()
        await app.engine.dispose()


async def _until_sigterm(main: Coroutine[Any, Any, None]) -> None:
    """Run `main`; SIGTERM (docker stop, systemctl stop) stops it like Ctrl-C:
    the transport, the leader's work and the outbox sender finish in order.
    (aiogram's polling installs its own handler that does the same.)"""
    task = asyncio.ensure_future(main)
    with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows / outside the main thread
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
        log.info("stopped (SIGTERM)")


def _fail(message: str) -> int:
    print(f"crosslab: {message}", file=sys.stderr)
    return 2


def run_bot() -> int:
    try:
        settings = load_settings()
        settings.require_token()
        configure_logging(settings.log_level, *secrets_of(settings), fmt=settings.log_format)
        asyncio.run(_until_sigterm(_serve(settings)))
    except SettingsError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        pass
    return 0


def migrate_only() -> int:
    async def _go(settings: Settings) -> None:
        engine, _ = await prepare_database(settings)
        await engine.dispose()

    try:
        asyncio.run(_go(load_settings()))
    except SettingsError as exc:
        return _fail(str(exc))
    print("database is up to date")
    return 0
