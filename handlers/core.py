"""The channel-neutral core: every update from any transport comes through
`CrosslabCore.handle`, inside one unit of work and one per-user lock, and is
routed by a lookup: a command in the command registry, a button by its
payload type, text and anything else to the person's current flow."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from db.models import utcnow
from db.uow import DuplicateUpdate, SqlAlchemyUnitOfWork, is_transient_db_error
from handlers import account, broadcast, cards, commands, followups, introductions, organisers
from handlers.callbacks import Choice, Consent, unpack
from handlers.flood import FloodGate, Verdict
from handlers.flows import Flow, current
from handlers.turn import Turn
from handlers.types import Incoming, OutMessage, Reply
from i18n import LOCALES, language_for, locale_for, t

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from db.models import Profile
    from handlers.registry import Command, Registry
    from handlers.services import Services

log = logging.getLogger(__name__)
# An update whose database work failed because the database was away is run
# again after each of these pauses (about half a minute in all).
DB_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
_CONFLICT = Reply()  # marker: a concurrent change made the commit fail


class CrosslabCore:
    def __init__(self, services: Services, sessions: async_sessionmaker[AsyncSession], registry: Registry) -> None:
        self.services = services
        self.sessions = sessions
        self.registry = registry
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # Button presses in progress, by (user, message): the locale to answer a
        # second press on the same message with (known once the first is loaded).
        self._pressing: dict[tuple[int, int], str] = {}
        self._row_actions = frozenset(a for cls in registry.row_buttons for a in cls.actions)
        # Flood control per person (handlers/flood.py; FLOOD_BURST or FLOOD_RATE 0: off).
        self.flood = FloodGate(services.settings.flood_burst, services.settings.flood_rate)

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.sessions)

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def handle(self, ev: Incoming) -> Reply:
        verdict = self.flood.admit(ev.user.id)
        if verdict is not Verdict.PASS:
            return await self._flooded(ev, verdict)
        if ev.kind != "button" or ev.message_id is None:
            return await self._handle_in_order(ev)
        key = (ev.user.id, ev.message_id)
        locale = self._pressing.get(key)
        if locale is not None:
            # A second tap on a message whose first tap is still being handled
            # (impatience while a slow step runs): say so at once instead of
            # queueing it behind the first, which would make it stale anyway.
            return Reply(callback_text=t(locale, "button.busy"))
        self._pressing[key] = locale_for(self._fallback_language(ev), self.services.settings.german_form)
        try:
            return await self._handle_in_order(ev)
        finally:
            del self._pressing[key]

    async def _handle_in_order(self, ev: Incoming) -> Reply:
        lock = self._lock(ev.user.id)  # strong reference while in use
        async with lock:
            conflicts = 0
            for delay in (*DB_RETRY_DELAYS, None):
                try:
                    reply = await self._handle_once(ev)
                except Exception as exc:
                    if not is_transient_db_error(exc):
                        raise
                    if delay is None:
                        log.error("update %s: the database stayed unavailable (%s); gave up",
                                  ev.update_id, exc.__class__.__name__)
                        break
                    # The database is briefly away (restarting, locked): nothing was
                    # committed, so the whole update runs again a little later.
                    log.warning("update %s: the database is unavailable (%s); trying again in %.1f s",
                                ev.update_id, exc.__class__.__name__, delay)
                    await asyncio.sleep(delay)
                    continue
                if reply is not _CONFLICT:
                    return reply
                conflicts += 1
                log.info("update %s collided with a concurrent change; retrying (%d)", ev.update_id, conflicts)
                if conflicts == 3:
                    break
            return Reply(messages=[OutMessage(ev.chat_id, t(locale_for(self._fallback_language(ev), self.services.settings.german_form), "error.generic"))],
                         error=True)

    async def _flooded(self, ev: Incoming, verdict: Verdict) -> Reply:
        """An update over the person's flood limit: not handled at all (no lock,
        nothing stored, their conversation stays where it was). A button gets a
        toast (Telegram would show a spinner otherwise); the first dropped
        message of a flood in a private chat gets the one notice."""
        if verdict is Verdict.NOTIFY:
            log.warning("user %s is flooding: updates over the limit are dropped until they slow down", ev.user.id)
        if ev.kind == "button":
            return Reply(callback_text=t(await self._flood_locale(ev), "flood.toast"), flooded=True)
        if verdict is Verdict.NOTIFY and ev.chat_type == "private":
            text = t(await self._flood_locale(ev), "flood.slow_down")
            return Reply(messages=[OutMessage(ev.chat_id, text)], flooded=True)
        return Reply(flooded=True)

    async def _flood_locale(self, ev: Incoming) -> str:
        """The person's catalog for the flood texts: that of their last handled
        update, else read once (their language and form), else Telegram's."""
        locale = self.flood.locale(ev.user.id)
        if locale is not None:
            return locale
        with contextlib.suppress(Exception):  # the database away: Telegram's language will do
            async with self.uow() as uow:
                person = (await uow.people.load_context(ev.user.id)).person
                if person is not None:  # read inside: the end of the unit of work expires the person
                    locale = locale_for(person.language, person.german_form or self.services.settings.german_form)
            if locale is not None:
                self.flood.remember_locale(ev.user.id, locale)
                return locale
        return locale_for(self._fallback_language(ev), self.services.settings.german_form)

    def _fallback_language(self, ev: Incoming) -> str:
        return language_for(ev.user.language_code, self.services.settings.default_language)

    async def _handle_once(self, ev: Incoming) -> Reply:
        async with self.uow() as uow:
            ctx = await uow.people.load_context(
                ev.user.id, invitation_key=self.services.signer.pseudonym(ev.user.id),
                invited_since=self.services.now() - timedelta(days=account.PENDING_DAYS))
            person = ctx.person
            lang = person.language if person else self._fallback_language(ev)
            turn = Turn(self.services, uow, ev, lang, person)
            # What the context already says need not be asked again this turn.
            turn.co_organised = None if ctx.co_organiser else frozenset()
            turn.invited = ctx.invited
            start_locale = turn.locale  # for an error reply when the person can no longer be read
            if ev.message_id is not None and (ev.user.id, ev.message_id) in self._pressing:
                self._pressing[(ev.user.id, ev.message_id)] = turn.locale  # the person's own language
            if person is not None:
                turn.state = ctx.state or await uow.conversations.get(person)
                if ev.user.username != person.username:  # the contact shared in introductions
                    person.username = ev.user.username
            try:
                await uow.updates.record(ev.update_id)  # a duplicate fails here, before anything is sent
                await self.dispatch(turn)
                if self.flood.enabled:  # the notice of a flood speaks the person's language
                    self.flood.remember_locale(ev.user.id, turn.locale)
                if turn.person is not None and turn.person.unreachable_at is not None:
                    turn.person.unreachable_at = None  # they write again: they can be reached (not after /delete)
                await self.stage(turn, own_chat=ev.chat_id)
                await uow.commit()
            except DuplicateUpdate:
                return Reply(duplicate=True)
            except IntegrityError:
                await uow.rollback()
                if await self._seen(ev.update_id):
                    # Redelivered, or handled by a second process: no effect.
                    log.info("update %s was already handled", ev.update_id)
                    return Reply(duplicate=True)
                return _CONFLICT  # e.g. both sides of a pair answered at once: run again
            except Exception as exc:
                if is_transient_db_error(exc):
                    with contextlib.suppress(Exception):
                        await uow.rollback()
                    raise  # retried by _handle_in_order
                log.exception("error while handling update %s", ev.update_id)
                try:
                    locale = turn.locale  # before the rollback expires the person (reading it then would query)
                except Exception:  # a failed flush left the person unreadable (PendingRollbackError, MissingGreenlet)
                    locale = start_locale
                await uow.rollback()
                return Reply(messages=[OutMessage(ev.chat_id, t(locale, "error.generic"))], error=True)
        self.services.bus.after_commit(self.services, turn.events)
        return turn.reply

    async def stage(self, turn: Turn, *, own_chat: int | None, priority: int = 0) -> None:
        """Write the turn's messages to the outbox in its transaction: what was
        decided is sent even if the process dies right after the commit. The
        reply to the person's own update is delivered at once by the transport;
        the rest (to other people, and everything the bot starts) by the sender."""
        turn.reply.queued += await turn.uow.outbox.stage(turn.reply.messages, own_chat=own_chat,
                                                        now=utcnow(), priority=priority)

    async def _seen(self, update_id: int) -> bool:
        async with self.uow() as uow:
            return await uow.updates.seen(update_id)

    # --- routing -------------------------------------------------------------------

    async def dispatch(self, turn: Turn) -> None:
        ev = turn.ev
        if ev.chat_type != "private":
            turn.say("private_only")
            return
        if ev.edited:
            await self.on_edited(turn)
            return
        command = self.registry.commands.get(ev.command[0]) if ev.command is not None else None
        if turn.person is None or turn.person.consent_at is None:
            # Not a participant (yet): organisers still use their commands and
            # buttons, and an organiser's record its hand-over; everyone else
            # sees the privacy notice first.
            if await self.as_organiser(turn, command):
                return
            if not (await self.organiser_in_flow(turn) or self.organiser_privacy(turn)):
                await account.before_consent(turn)
                return
        profile = await turn.uow.people.profile(turn.person)
        if ev.kind == "button":
            await self.on_button(turn, profile)
        elif ev.command is not None:
            await self.on_command(turn, profile, command)
        elif ev.kind == "text":
            await self.on_text(turn, profile)
        else:
            await self.on_other(turn, profile)

    async def as_organiser(self, turn: Turn, command: Command | None) -> bool:
        """An organiser's (an admin's or a co-organiser's) command or button
        that needs no participant profile (the handler gets profile None);
        False if this is not one."""
        ev = turn.ev
        if not await organisers.is_organiser(turn):
            return False
        if command is not None and ev.command is not None and command.without_profile:
            if await self.may_use(turn, command):
                await command.handler(turn, None, ev.command[1])  # type: ignore[arg-type]  # organisers need no profile
            else:
                turn.say("admin.only")  # a co-organiser's global command
            return True
        if ev.kind == "button":
            signed = self.services.signer.verify(ev.user.id, ev.callback_data)
            payload = unpack(signed) if signed is not None else None
            if payload is not None and type(payload) in self.registry.organiser_buttons:
                await self.registry.row_buttons[type(payload)](turn, payload)
                return True
        return False

    @staticmethod
    async def may_use(turn: Turn, command: Command) -> bool:
        """Organiser commands: global ones for admins only, event-scoped ones
        for co-organisers too (the handler then checks the event)."""
        if command.admin:
            return turn.is_admin
        if command.event_scoped:
            return await organisers.is_organiser(turn)
        return True

    @staticmethod
    async def organiser_in_flow(turn: Turn) -> bool:
        """An organiser's record (no consent) in a flow of theirs (the
        hand-over, a broadcast, an event): its text, files and /cancel go to that flow."""
        ev = turn.ev
        return (turn.person is not None and turn.flow not in (Flow.IDLE, Flow.NONE)
                and ev.kind != "button" and (ev.command is None or ev.command[0] == "cancel")
                and await organisers.is_organiser(turn))

    @staticmethod
    def organiser_privacy(turn: Turn) -> bool:
        """/mydata and /delete (and its confirmation) for an organiser's record:
        what it holds is exported and erased like a participant's."""
        ev = turn.ev
        if turn.person is None:
            return False
        if ev.command is not None:
            return ev.command[0] in ("mydata", "delete")
        return ev.kind == "button" and turn.flow == Flow.DELETE

    @staticmethod
    async def on_edited(turn: Turn) -> None:
        """A message the person changed after sending it: not read as an answer
        (it may belong to a question long past). They are told to send the
        correction as a new message, and get the open question again."""
        turn.say("input.edited")
        if turn.person is None or turn.state is None or turn.person.consent_at is None:
            return
        flow = current(turn)
        if flow.awaits_answer(turn):
            flow.resume(turn, await turn.uow.people.profile(turn.person))

    async def on_text(self, turn: Turn, profile: Profile) -> None:
        flow = current(turn)
        if await flow.on_text(turn, profile):
            return
        if flow.awaits_answer(turn):
            turn.say("input.use_buttons")
            flow.resume(turn, profile)
        elif profile.completed_at is None:
            turn.say("onboarding.paused_hint")
        elif not await self._point_to_open_question(turn):
            turn.say("idle.text")

    @staticmethod
    async def _point_to_open_question(turn: Turn) -> bool:
        """Typed text while a suggestion card or a "what came of it" question
        waits for a button: say so and send that question again."""
        person = turn.person
        assert person is not None
        before = len(turn.reply.messages)
        if await cards.resend_open_card(turn, person) or await followups.resend_open_outcome(turn, person):
            hint = OutMessage(turn.ev.chat_id, turn.tr("input.answer_open_question"), [])
            turn.reply.messages.insert(before, hint)
            return True
        return False

    async def on_other(self, turn: Turn, profile: Profile) -> None:
        """Stickers, photos, voice, ...: only a flow that collects files takes them."""
        flow = current(turn)
        if await flow.on_attachment(turn, profile):
            return
        turn.say("input.unsupported")
        flow.unsupported_hint(turn)
        if flow.awaits_answer(turn):
            flow.resume(turn, profile)
        elif profile.completed_at is None:
            turn.say("onboarding.paused_hint")

    async def on_command(self, turn: Turn, profile: Profile, command: Command | None) -> None:
        assert turn.ev.command is not None
        name, args = turn.ev.command
        if command is None:
            turn.say("command.unknown", command=name[:40])
            if current(turn).awaits_answer(turn):
                current(turn).resume(turn, profile)
        elif not await self.may_use(turn, command):
            turn.say("admin.only")
        else:
            await command.handler(turn, profile, args)

    async def on_button(self, turn: Turn, profile: Profile) -> None:
        signed = turn.pressed()
        if signed is None:
            return
        payload = unpack(signed)
        if isinstance(payload, Consent):
            turn.toast("consent.already")
            current(turn).after_aside(turn, profile)
            return
        if payload is not None and not payload.versioned:
            await self.registry.row_buttons[type(payload)](turn, payload)
            return
        if signed.action in self._row_actions:
            turn.toast("button.invalid", alert=True)  # a row button whose value does not fit
            return
        if signed.version != turn.version:
            turn.toast("button.stale")
            if current(turn).awaits_answer(turn):
                current(turn).resume(turn, profile)
            return
        if isinstance(payload, Choice) and payload.kind == "lang" and payload.value in LOCALES:
            commands.on_language(turn, profile, payload)
        elif payload is None or not await current(turn).on_button(turn, profile, payload):
            turn.toast("button.stale")

    # --- the bot speaks first --------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> tuple[Reply, dict[str, int]]:
        """One sweep of follow-ups due at `now` (default: the services' clock):
        the messages to send, and what was done. Run periodically by the app."""
        now = now or self.services.now()
        try:
            async with self.uow() as uow:
                turn = Turn.system(self.services, uow)
                counts = await followups.sweep(turn, now)
                started = await broadcast.start_due(turn, now)  # scheduled broadcasts (not held by quiet hours)
                if started:
                    counts["broadcast_messages"] = started
                await self.stage(turn, own_chat=None, priority=1)
                await uow.commit()
        except IntegrityError:  # another sweep (a second process) got there first
            log.info("sweep at %s collided with another sweep; skipped", now)
            return Reply(), {}
        self.services.bus.after_commit(self.services, turn.events)
        return turn.reply, counts

    # --- broadcasts (the progress updater in bot/broadcasts.py) -------------------------------

    async def start_due_broadcasts(self, now: datetime | None = None) -> int:
        """Start the scheduled broadcasts due at `now`; how many messages were written."""
        async with self.uow() as uow:
            turn = Turn.system(self.services, uow)
            written = await broadcast.start_due(turn, now or self.services.now())
            await uow.commit()
        return written

    async def sending_broadcasts(self) -> list[broadcast.Progress]:
        async with self.uow() as uow:
            return await broadcast.sending(Turn.system(self.services, uow))

    async def finish_broadcast(self, broadcast_id: int, by_status: dict[str, int], in_doubt: int) -> bool:
        """Mark a broadcast whose messages are all out as done; its final
        progress state and delivery report go to the outbox in that transaction."""
        async with self.uow() as uow:
            turn = Turn.system(self.services, uow)
            if not await broadcast.finish(turn, broadcast_id, by_status, in_doubt):
                return False
            await self.stage(turn, own_chat=None)
            await uow.commit()
        return True

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        async with self.uow() as uow:
            b = await uow.broadcasts.get(broadcast_id)
            if b is not None and b.progress_message_id is None:
                b.progress_chat_id, b.progress_message_id = chat_id, message_id
                await uow.commit()

    async def reminder_reply(self, meeting_id: int, kind: str, starts_at: datetime) -> Reply:
        """The messages of a due reminder; empty if stale or already sent."""
        async with self.uow() as uow:
            turn = Turn.system(self.services, uow)
            await introductions.remind(turn, meeting_id, kind, starts_at)
            await self.stage(turn, own_chat=None)
            await uow.commit()
        return turn.reply

    async def meetings_changed_since(self, since: datetime) -> tuple[list[tuple[int, datetime]], list[int]]:
        """Meetings changed since `since`: (id, start) of those scheduled, ids of the others."""
        async with self.uow() as uow:
            meetings = [(m.id, m.status, m.starts_at) for m in await uow.intros.meetings_changed_since(since)]
        scheduled = [(mid, starts) for mid, status, starts in meetings if status == "scheduled" and starts is not None]
        return scheduled, [mid for mid, status, _ in meetings if status != "scheduled"]

    async def scheduled_meetings(self) -> list[tuple[int, datetime]]:
        async with self.uow() as uow:
            return [(m.id, m.starts_at) for m in await uow.intros.scheduled_meetings() if m.starts_at is not None]

    async def prune_updates(self, older_than: timedelta) -> int:
        """Forget handled update ids older than `older_than` (real time, like
        their `processed_at`): Telegram never redelivers one that old. Run
        with the follow-up sweep; returns how many were forgotten."""
        async with self.uow() as uow:
            count = await uow.updates.prune(older_than)
            await uow.commit()
        return count

