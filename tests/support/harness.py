"""Harnesses own a database and a running bot; scenarios ask them for chats."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any, AsyncIterator

from sqlalchemy import func, select

from bot.settings import Settings
from db.engine import create_engine, create_session_factory
from db.migrate import upgrade
from db.models import ConsentRefusal, ConversationState, Person, Profile
from bot.bootstrap import build_core
from handlers.services import SimulatedClock
from tests.support.drivers import ChatBase, CoreChat, Msg


class GatedMatching:
    """The real `MatchingService`, composed with a gate: `hold()` makes every
    matching wait at its start until `release()` (a slow first matching,
    without sleeping anywhere). Open by default."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._open = asyncio.Event()
        self._open.set()
        self.held = 0  # matchings waiting at the gate now

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def suggest_many(self, *args: Any, **kwargs: Any) -> Any:
        self.held += 1
        try:
            await self._open.wait()
        finally:
            self.held -= 1
        return await self.inner.suggest_many(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:  # learned, embedding_keys, warm_up, ready, ...
        return getattr(self.inner, name)


class CoreHarness:
    """The core alone, no transport: fast, and used for the database matrix."""

    def __init__(self, settings: Settings, matching: Any = None) -> None:
        self.settings = settings
        self.matching_service = matching  # default: a new MatchingService at each start
        self.chats: list[CoreChat] = []
        self.directory: dict[int, CoreChat] = {}
        self.reminders: Any = None
        self.clock = SimulatedClock()  # simulated time for conversations and follow-ups
        self.matching: GatedMatching | None = None

    def _matching(self) -> GatedMatching:
        from handlers.suggestions import MatchingService

        inner = self.matching_service or MatchingService(self.settings.embedding_model)
        self.matching = GatedMatching(inner)
        return self.matching

    def chat_actions(self, user_id: int) -> list[str] | None:
        """Chat actions (typing …) sent to the user; None: no transport here."""
        return None

    @property
    def now(self) -> datetime | None:
        return self.clock.now

    def set_time(self, when: datetime) -> None:
        self.clock.set(when)

    async def sweep(self) -> dict[str, int]:
        """One follow-up sweep at the simulated time; messages go to the chats."""
        reply, counts = await self.core.tick()
        for out in reply.messages:
            chat = self.directory.get(out.chat_id)
            if chat is not None:
                chat.receive(out)
        await self._delivered(reply)
        return counts

    async def start(self) -> None:
        from bot.reminders import ReminderService

        self.engine = create_engine(self.settings.database_url)
        await upgrade(self.engine)
        self.sessions = create_session_factory(self.engine)
        self.reminders = ReminderService(self.settings.database_url, offsets=list(self.settings.reminder_offsets),
                                         time_factor=self.settings.time_factor)
        self.core = build_core(self.settings, self.sessions, clock=self.clock, reminders=self.reminders,
                               bot_username="crosslab_test_bot", matching=self._matching())
        for chat in self.chats:
            chat.core = self.core
        # No sender runs here: the chats get every message at once, so the
        # outbox rows of a handled update are marked sent as they would be.
        handle = self.core.handle

        async def handle_and_deliver(ev: Any) -> Any:
            reply = await handle(ev)
            await self._delivered(reply)
            return reply

        self.core.handle = handle_and_deliver  # type: ignore[method-assign]
        await self.reminders.start(self._send_reminder)

    async def _delivered(self, reply: Any) -> None:
        from db.models import utcnow
        from db.outbox import OutboxStore, Result

        sent = [Result(m.outbox_id, m.chat_id, "sent", 1) for m in reply.messages
                if m.outbox_id is not None and m.chat_id in self.directory]
        await OutboxStore(self.sessions).finish(sent, utcnow())

    async def _send_reminder(self, meeting_id: int, kind: str, starts_at: Any) -> None:
        reply = await self.core.reminder_reply(meeting_id, kind, starts_at)
        for out in reply.messages:
            chat = self.directory.get(out.chat_id)
            if chat is not None:
                chat.receive(out)
        await self._delivered(reply)

    async def stop(self) -> None:
        if self.reminders is not None:
            await self.reminders.shutdown()
            self.reminders = None
        await self.engine.dispose()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def chat(self, user_id: int, first_name: str = "Anna", language_code: str | None = "de") -> CoreChat:
        chat = CoreChat(self.core, user_id, first_name, language_code, directory=self.directory)
        self.chats.append(chat)
        return chat

    # -- reading the database ---------------------------------------------------
    async def person(self, telegram_id: int) -> Person | None:
        async with self.sessions() as s:
            return (await s.execute(select(Person).where(Person.telegram_id == telegram_id))).scalar_one_or_none()

    async def profile(self, telegram_id: int) -> Profile | None:
        async with self.sessions() as s:
            row = await s.execute(select(Profile).join(Person).where(Person.telegram_id == telegram_id))
            return row.scalar_one_or_none()

    async def state(self, telegram_id: int) -> ConversationState | None:
        async with self.sessions() as s:
            row = await s.execute(select(ConversationState).join(Person, Person.id == ConversationState.person_id)
                                  .where(Person.telegram_id == telegram_id))
            return row.scalar_one_or_none()

    async def count(self, model: Any) -> int:
        async with self.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(model))).scalar_one())

    async def refusals(self) -> int:
        return await self.count(ConsentRefusal)


class EmulatorChat(ChatBase):
    """A user in the Bot API emulator; same interface as CoreChat."""

    def __init__(self, harness: EmulatorHarness, user_id: int, first_name: str, language_code: str | None) -> None:
        self.h = harness
        self.user_id = user_id
        harness.emu.add_user(user_id, first_name, username=f"user{user_id}", language_code=language_code)
        self.last_update_id = 0
        self.last_text_id = 0  # the message id of the last text this user sent

    @property
    def messages(self) -> list[Msg]:
        out = []
        for sm in self.h.emu.sent(self.user_id):
            if sm.deleted:
                continue
            doc = (sm.document.filename or "", sm.document.data) if sm.document is not None else None
            kind = sm.kind if sm.kind in ("photo", "document") else "text"
            photo = sm.photo.data if sm.photo is not None else None
            out.append(Msg(sm.message_id, sm.text or sm.caption or "",
                           [[(label, data or "") for label, data in row] for row in sm.buttons], doc, kind=kind,
                           photo=photo))
        return out

    async def _settle(self, update: dict) -> list[Msg]:
        mark = self.h.emu.seq
        self.last_update_id = update["update_id"]
        await self.h.settle(update["update_id"])
        changed = {m.message_id for m in self.h.emu.changed_since(self.user_id, mark)}
        return [m for m in self.messages if m.message_id in changed]

    async def say(self, text: str) -> list[Msg]:
        update = self.h.emu.send_text(self.user_id, text)
        self.last_text_id = update["message"]["message_id"]
        return await self._settle(update)

    async def edit_last(self, text: str) -> list[Msg]:
        return await self._settle(self.h.emu.edit_text(self.user_id, self.last_text_id, text))

    async def forward(self, text: str, from_id: int | None, first_name: str = "", *,
                      hidden: str | None = None) -> list[Msg]:
        sender = {"id": from_id, "first_name": first_name} if from_id is not None else None
        return await self._settle(self.h.emu.send_text(self.user_id, text, forward_from=sender,
                                                       forward_hidden=hidden))

    async def send_kind(self, kind: str) -> list[Msg]:
        send = {"sticker": self.h.emu.send_sticker, "photo": self.h.emu.send_photo, "voice": self.h.emu.send_voice,
                "location": self.h.emu.send_location, "video": self.h.emu.send_video,
                "document": self.h.emu.send_document, "contact": self.h.emu.send_contact}[kind]
        return await self._settle(send(self.user_id))

    async def send_file(self, kind: str, caption: str = "", filename: str | None = None) -> list[Msg]:
        if kind == "photo":
            return await self._settle(self.h.emu.send_photo(self.user_id, caption=caption or None))
        return await self._settle(self.h.emu.send_document(self.user_id, b"%PDF-1.4 results", filename or "board.pdf",
                                                           caption=caption or None))

    async def press_data(self, data: str, message_id: int | None = None) -> list[Msg]:
        if message_id is None:
            message_id = self.messages[-1].message_id
        return await self._settle(self.h.emu.press_button(self.user_id, message_id, data))

    async def redeliver_last(self) -> list[Msg]:
        mark = self.h.emu.seq
        before = self.h.handled_count
        self.h.emu.redeliver(self.last_update_id)
        await self.h.emu.wait_until(lambda: self.h.handled_count > before, 10, "redelivered update handled")
        await self.h.app.outbox.drain()
        await self.h.emu.wait_idle(quiet=0.03)
        changed = {m.message_id for m in self.h.emu.changed_since(self.user_id, mark)}
        return [m for m in self.messages if m.message_id in changed]

    @property
    def last_toast(self) -> str | None:
        answers = [a for a in self.h.emu.callback_answers if a.get("callback_query_id")]
        return answers[-1].get("text") if answers else None


WEBHOOK_SECRET = "test-webhook-secret_0123456789"
WEBHOOK_PATH = "/telegram/crosslab"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorHarness(CoreHarness):
    """The real bot (aiogram or PTB) and the Bot API emulator over HTTP: the bot
    polls (`mode="polling"`), or the emulator posts updates to the bot's
    webhook server (`mode="webhook"`, bot/webhook.py)."""

    def __init__(self, settings: Settings, framework: str, matching: Any = None, mode: str = "polling") -> None:
        super().__init__(settings, matching)
        self.framework = framework
        self.mode = mode
        if mode == "webhook":
            port = free_port()
            self.settings = settings.model_copy(update={
                "webhook_url": f"http://127.0.0.1:{port}{WEBHOOK_PATH}", "webhook_secret": WEBHOOK_SECRET,
                "webhook_listen": f"127.0.0.1:{port}"})
        elif mode != "polling":
            raise ValueError(f"unknown mode {mode!r}")
        self.handled: set[int] = set()
        self.queued: set[int] = set()  # updates whose reply wrote messages for the sender
        self.handled_count = 0
        self.emu: Any = None

    async def start(self) -> None:
        from emulator import BotAPIEmulator

        if self.emu is None:
            self.emu = BotAPIEmulator()
            await self.emu.start()
            self.emu.webhook_retry_delay = 0.05  # while the bot restarts, its port refuses
        await self._start_bot()

    async def _start_bot(self) -> None:
        from bot.app import create_app

        settings = self.settings.model_copy(update={"telegram_api_url": self.emu.base_url})
        self.app = await create_app(settings, framework=self.framework, clock=self.clock,
                                    on_delivered=self.note_delivered, matching=self._matching())
        self.core = self.app.core
        self.sessions = self.app.sessions
        self.engine = self.app.engine
        await self.app.start(polling_timeout=1)

    def note_delivered(self, ev: Any, reply: Any) -> None:
        """Chats wait for exactly their update's answer."""
        self.handled.add(ev.update_id)
        self.handled_count += 1
        if reply.queued:
            self.queued.add(ev.update_id)

    async def settle(self, update_id: int) -> None:
        what = f"update {update_id} handled and delivered"
        warming = self.app.warming
        if warming is not None and not warming.done():
            # The model loads once per process at start (in the background); an
            # update that needs it waits for that load, which on a busy machine
            # takes longer than the 10 s any update may take once it is ready.
            await self.emu.wait_until(lambda: update_id in self.handled or warming.done(), 120, what)
        await self.emu.wait_until(lambda: update_id in self.handled, 10, what)
        if update_id in self.queued or self.app.outbox.backlogged:
            await self.app.outbox.drain()  # messages to other people go through the outbox
        await self.emu.wait_idle(quiet=0.02)

    def chat_actions(self, user_id: int) -> list[str] | None:
        return [action for chat_id, action in self.emu.chat_actions if chat_id == user_id]

    async def restart(self) -> None:
        await self.app.stop()
        await self._start_bot()

    async def sweep(self) -> dict[str, int]:
        """One follow-up sweep at the simulated time, delivered through the transport."""
        counts = await self.app.sweep()
        await self.app.outbox.drain()
        await self.emu.wait_idle(quiet=0.02)
        return counts

    async def stop(self) -> None:
        await self.app.stop()
        await self.emu.stop()

    def chat(self, user_id: int, first_name: str = "Anna", language_code: str | None = "de") -> EmulatorChat:  # type: ignore[override]
        chat = EmulatorChat(self, user_id, first_name, language_code)
        self.chats.append(chat)  # type: ignore[arg-type]
        return chat


@contextlib.asynccontextmanager
async def running_emulator_harness(settings: Settings, framework: str, matching: Any = None,
                                   mode: str = "polling") -> AsyncIterator[EmulatorHarness]:
    """The real bot on `framework` against a fresh emulator; every delivered
    reply is noted so chats can wait for exactly their update's answer.
    `matching` replaces the `MatchingService` (e.g. one whose warm-up is held);
    `mode` "webhook": the emulator posts updates to the bot's webhook."""
    h = EmulatorHarness(settings, framework, matching, mode)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
    assert not h.emu.internal_errors
