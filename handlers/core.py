"""The channel-neutral core: every update from any transport comes through
`CrosslabCore.handle`, inside one unit of work and one per-user lock."""
from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import datetime
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from sqlalchemy.exc import IntegrityError

from bot.i18n import language_for, t
from db.models import Person, Profile, utcnow
from db.uow import DuplicateUpdate, SqlAlchemyUnitOfWork
from handlers import account, admin, figures, followups, handover, introductions
from handlers.suggestions import MatchingService, cmd_matches
from handlers import onboarding as ob
from handlers.callbacks import CallbackSigner
from handlers.turn import Turn
from handlers.types import Incoming, OutMessage, Reply

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.settings import Settings

log = logging.getLogger(__name__)
_CONFLICT = Reply()  # marker: a concurrent change made the commit fail


class ReminderPort(Protocol):
    def plan(self, meeting_id: int, starts_at: datetime) -> None: ...
    def cancel(self, meeting_id: int) -> None: ...

admin.COMMANDS["stats"] = figures.cmd_stats  # organisers need no profile for it

# Commands shown in Telegram's menu (setMyCommands), per language via catalog keys cmd.<name>.
PUBLIC_COMMANDS = ("start", "matches", "meetings", "results", "profile", "pause", "resume", "mydata", "delete", "language", "help", "cancel")


class CrosslabCore:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        bot_username: str = "crosslab_bot",
    ) -> None:
        self.sessions = session_factory
        self.settings = settings
        self.signer = CallbackSigner(settings.effective_callback_secret())
        self.bot_username = bot_username
        self.matching = MatchingService(settings.embedding_model)
        self.reminders: ReminderPort | None = None  # attached by the app when the scheduler runs
        # The clock of conversations and follow-ups (feedback, nudges, cards);
        # tests and the demo replace it to simulate days passing.
        self.clock: Callable[[], datetime] = utcnow
        self.followup_policy = followups.Policy.from_settings(settings)  # settings never change at run time
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def now(self) -> datetime:
        return self.clock()

    def uow(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self.sessions)

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def handle(self, ev: Incoming) -> Reply:
        lock = self._lock(ev.user.id)  # strong reference while in use
        async with lock:
            for attempt in range(3):
                reply = await self._handle_once(ev)
                if reply is not _CONFLICT:
                    return reply
                log.info("update %s collided with a concurrent change; retrying (%d)", ev.update_id, attempt + 1)
            return Reply(messages=[OutMessage(ev.chat_id, t(self._fallback_language(ev), "error.generic"))])

    def _fallback_language(self, ev: Incoming) -> str:
        return language_for(ev.user.language_code, self.settings.default_language)

    async def _handle_once(self, ev: Incoming) -> Reply:
        async with self.uow() as uow:
            loaded = await uow.people.load_context(ev.user.id)
            uow.updates.record(ev.update_id)  # a duplicate fails at commit, before anything is sent
            person = loaded[0] if loaded else None
            lang = person.language if person else self._fallback_language(ev)
            turn = Turn(self, uow, ev, lang, person)
            if loaded is not None:
                turn.state = loaded[1] or await uow.conversations.get(loaded[0])
                if ev.user.username != loaded[0].username:  # the contact shared in introductions
                    loaded[0].username = ev.user.username
            try:
                await dispatch(turn)
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
            except Exception:
                log.exception("error while handling update %s", ev.update_id)
                await uow.rollback()
                return Reply(messages=[OutMessage(ev.chat_id, t(lang, "error.generic"))])
        self.run_effects(turn.reply)
        return turn.reply

    async def _seen(self, update_id: int) -> bool:
        async with self.uow() as uow:
            return await uow.updates.seen(update_id)

    def run_effects(self, reply: Reply) -> None:
        """Side effects outside the database, after the commit succeeded. A
        failure here must not swallow the reply; reminders are re-planned from
        the database at the next start."""
        if self.reminders is None:
            return
        for effect in reply.effects:
            try:
                if effect[0] == "plan_reminders":
                    self.reminders.plan(effect[1], effect[2])  # type: ignore[arg-type]
                elif effect[0] == "cancel_reminders":
                    self.reminders.cancel(effect[1])  # type: ignore[arg-type]
            except Exception:
                log.exception("could not apply %s", effect[0])

    async def tick(self, now: datetime | None = None) -> tuple[Reply, dict[str, int]]:
        """One sweep of follow-ups due at `now` (default: the core's clock): the
        messages to send, and what was done. Run periodically by the app."""
        now = now or self.now()
        try:
            async with self.uow() as uow:
                turn = followups.system_turn(self, uow)
                counts = await followups.sweep(turn, now)
                await uow.commit()
        except IntegrityError:  # another sweep (a second process) got there first
            log.info("sweep at %s collided with another sweep; skipped", now)
            return Reply(), {}
        self.run_effects(turn.reply)
        return turn.reply, counts

    async def reminder_reply(self, meeting_id: int, kind: str, starts_at: datetime) -> Reply:
        """The messages of a due reminder; empty if stale or already sent."""
        async with self.uow() as uow:
            messages = await introductions.reminder_messages(self, uow, meeting_id, kind, starts_at)
            await uow.commit()
        return Reply(messages=messages)

    async def scheduled_meetings(self) -> list[tuple[int, datetime]]:
        async with self.uow() as uow:
            return [(m.id, m.starts_at) for m in await uow.intros.scheduled_meetings() if m.starts_at is not None]

    async def unmark_reminder(self, meeting_id: int, kind: str, starts_at: datetime) -> None:
        """Delivery failed: let the scheduler's retry send this reminder."""
        async with self.uow() as uow:
            await uow.intros.unmark_reminder_sent(meeting_id, kind, starts_at)
            await uow.commit()


async def dispatch(turn: Turn) -> None:
    ev = turn.ev
    if ev.chat_type != "private":
        turn.say("private_only")
        return
    if turn.person is None:
        if ev.command is not None and ev.command[0] in admin.COMMANDS and turn.is_admin:
            await admin.COMMANDS[ev.command[0]](turn, None, ev.command[1])  # organisers need no profile
        else:
            await account.before_consent(turn)
        return
    profile = await turn.uow.people.profile(turn.person)
    if ev.kind == "button":
        await on_button(turn, profile)
    elif ev.command is not None:
        name, args = ev.command
        await on_command(turn, profile, name, args)
    elif ev.kind == "text":
        await on_text(turn, profile)
    else:
        await on_unsupported(turn, profile)


# --- text ---------------------------------------------------------------------

async def on_text(turn: Turn, profile: Profile) -> None:
    step = turn.step
    if turn.flow in ("onboarding", "profile") and step in ob.TEXT_STEPS:
        ob.answer_text(turn, profile, step, turn.ev.text)
    elif turn.flow == "meeting" and step == "propose_time":
        assert turn.person is not None
        await introductions.proposed_time_text(turn, turn.person, turn.ev.text)
    elif turn.flow == "feedback" and step == "text" and await followups.feedback_text(turn, turn.person, turn.ev.text):
        pass
    elif turn.flow == "handover":
        await handover.on_content(turn, profile)
    elif turn.flow in ("onboarding", "profile", "delete") and step is not None:
        turn.say("input.use_buttons")
        _resume(turn, profile)
    elif profile.completed_at is None:
        turn.say("onboarding.paused_hint")
    else:
        turn.say("idle.text")


async def on_unsupported(turn: Turn, profile: Profile) -> None:
    if turn.flow == "handover" and turn.ev.attachment is not None:
        await handover.on_content(turn, profile)
        return
    turn.say("input.unsupported")
    if turn.flow == "feedback":
        turn.say("fb.text")
    elif turn.flow == "handover":
        turn.say("ho.unsupported")
    if turn.flow in ("onboarding", "profile", "delete") and turn.step is not None:
        _resume(turn, profile)
    elif profile.completed_at is None:
        turn.say("onboarding.paused_hint")


def _resume(turn: Turn, profile: Profile) -> None:
    if turn.flow == "delete":
        account.ask_delete(turn, keep=True)
    elif turn.flow == "meeting":
        turn.say("sched.ask_time")
    else:
        ob.resume(turn, profile)


# --- commands -------------------------------------------------------------------

CommandHandler = Callable[[Turn, Profile, str], Awaitable[None]]


async def cmd_start(turn: Turn, profile: Profile, args: str) -> None:
    if args:
        await account.join_event_by_slug(turn, args)
    if profile.completed_at is not None and turn.flow not in ("onboarding", "profile", "delete"):
        turn.say("start.welcome_back", name=profile.name or turn.ev.user.first_name)
        return
    if turn.flow in ("idle", "none") and profile.completed_at is None:
        turn.goto("onboarding", None)
        turn.say("onboarding.resume")
    _resume(turn, profile)


async def cmd_help(turn: Turn, profile: Profile, args: str) -> None:
    turn.say("help.text")
    if turn.is_admin:
        turn.say("help.admin")
    if turn.flow in ("onboarding", "profile", "delete") and turn.step is not None:
        _resume(turn, profile)


async def cmd_cancel(turn: Turn, profile: Profile, args: str) -> None:
    flow = turn.flow
    if flow == "onboarding":
        turn.goto("idle", None)
        turn.say("cancel.onboarding")
    elif flow == "delete":
        account.cancel_delete(turn, profile)
    elif flow in ("profile", "meeting", "feedback"):
        turn.goto("idle", None)
        turn.say("cancel.done")
    elif flow == "handover":
        await handover.cancel(turn)
    else:
        turn.say("cancel.nothing")


async def cmd_language(turn: Turn, profile: Profile, args: str) -> None:
    turn.bump()
    turn.say("language.choose", [[turn.button("🇩🇪 Deutsch", "lang", "de"), turn.button("🇬🇧 English", "lang", "en")]])


async def cmd_profile(turn: Turn, profile: Profile, args: str) -> None:
    if profile.completed_at is None:
        turn.say("profile.incomplete")
        if turn.flow == "idle":
            turn.goto("onboarding", None)
        _resume(turn, profile)
        return
    ob.show_profile(turn, profile)


async def cmd_pause(turn: Turn, profile: Profile, args: str) -> None:
    assert turn.person is not None
    turn.person.paused = True
    turn.say("pause.done")
    _resume_if_busy(turn, profile)


async def cmd_resume(turn: Turn, profile: Profile, args: str) -> None:
    assert turn.person is not None
    turn.person.paused = False
    turn.person.ignored_in_row = 0
    turn.say("resume.done")
    _resume_if_busy(turn, profile)
    if profile.completed_at is not None and turn.flow not in ("onboarding", "profile", "delete"):
        await introductions.show_next_card(turn, turn.person)  # a card left waiting before the pause


def _resume_if_busy(turn: Turn, profile: Profile) -> None:
    if turn.flow in ("onboarding", "profile") and turn.step is not None:
        ob.resume(turn, profile)


async def cmd_mydata(turn: Turn, profile: Profile, args: str) -> None:
    await account.export_data(turn, profile)
    _resume_if_busy(turn, profile)


async def cmd_delete(turn: Turn, profile: Profile, args: str) -> None:
    account.ask_delete(turn, keep=False)


COMMANDS: dict[str, CommandHandler] = {
    "start": cmd_start,
    "help": cmd_help,
    "cancel": cmd_cancel,
    "language": cmd_language,
    "profile": cmd_profile,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "mydata": cmd_mydata,
    "delete": cmd_delete,
    "matches": cmd_matches,
    "meetings": introductions.cmd_meetings,
    "results": handover.cmd_results,
    **admin.COMMANDS,
}


async def on_command(turn: Turn, profile: Profile, name: str, args: str) -> None:
    handler = COMMANDS.get(name)
    if handler is None:
        turn.say("command.unknown", command=name[:40])
        if turn.flow in ("onboarding", "profile", "delete") and turn.step is not None:
            _resume(turn, profile)
        return
    await handler(turn, profile, args)


async def after_onboarding(turn: Turn, profile: Profile) -> None:
    """Event participants wait for the organisers to release matches; everyone
    else gets suggestions right away."""
    assert turn.person is not None
    if await turn.uow.events.of_person(turn.person):
        turn.say("onboarding.wait_release")
    else:
        await introductions.offer_suggestions(turn, [turn.person])


# --- buttons ----------------------------------------------------------------------

async def on_button(turn: Turn, profile: Profile) -> None:
    ev = turn.ev
    payload = turn.pressed()
    if payload is None:
        return
    if payload.action == "consent":
        turn.toast("consent.already")
        _resume_if_busy(turn, profile)
        return
    if payload.action in introductions.ACTIONS:
        await introductions.on_button(turn, payload)
        return
    if payload.action in followups.ACTIONS:
        await followups.on_button(turn, payload)
        return
    if payload.action in handover.ACTIONS:
        await handover.on_button(turn, payload)
        return
    if payload.version != turn.version:
        turn.toast("button.stale")
        if turn.flow in ("onboarding", "profile", "delete") and turn.step is not None:
            _resume(turn, profile)
        return

    action, value, step = payload.action, payload.value, turn.step
    if action == "lang" and value in ("de", "en"):
        assert turn.person is not None
        turn.person.language = turn.lang = value
        turn.edit(ev.message_id, turn.tr("language.set"))
        _resume_if_busy(turn, profile)
    elif action == "name" and step == "name":
        ob.answer_text(turn, profile, "name", ev.user.first_name)
    elif action == "side" and step == "side":
        ob.set_side(turn, profile, value)
        turn.edit(ev.message_id, turn.tr("chosen", label=turn.tr(f"side.{profile.side}")))
        ob.continue_flow(turn, profile)
    elif action == "org" and step == "organisation":
        ob.answer_text(turn, profile, "organisation", turn.tr("org.freelance"))
    elif action in ("dis", "lng", "av") and step in ob.CHOICE_STEPS:
        if value == "ok":
            if ob.finish_selection(turn, profile, step):
                turn.edit(ev.message_id, turn.tr("chosen.saved"))
                ob.continue_flow(turn, profile)
        else:
            ob.toggle(turn, profile, step, value, ob.allowed_codes(step), ev.message_id)
    elif action == "sum" and step == "summary":
        turn.edit(ev.message_id, turn.tr("summary.head") + "\n\n" + ob.render_profile(turn, profile, with_status=False))
        if value == "ok":
            ob.confirm(turn, profile)
            await after_onboarding(turn, profile)
        else:
            ob.show_edit_menu(turn, profile)
    elif action == "edit" and step in ("edit_menu", "menu"):
        if value == "done":
            turn.edit(ev.message_id, turn.tr("chosen.closed"))
            if profile.completed_at is None:
                ob.show_summary(turn, profile)
            else:
                turn.goto("idle", None)
        elif value in ob.steps_for(profile.side):
            ob.ask(turn, profile, value)
        else:
            turn.toast("button.invalid", alert=True)
    elif action == "del" and turn.flow == "delete":
        if value == "yes":
            await account.delete_everything(turn, profile)
        else:
            account.cancel_delete(turn, profile)
    else:
        turn.toast("button.stale")
