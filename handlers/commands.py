"""The participants' general commands: /start, /help, /cancel, /language,
/profile, /pause, /resume, /mydata, /delete, /matches. Registered with the
feature commands in `handlers.registry`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import account, admission, cards
from i18n import language_of
from handlers import onboarding as ob
from handlers.callbacks import Choice
from handlers.flows import Flow
from handlers.flows import current

if TYPE_CHECKING:
    from db.models import Profile
    from handlers.turn import Turn


async def cmd_start(turn: Turn, profile: Profile, args: str) -> None:
    if args:
        await account.join_event_by_slug(turn, args)
    if profile.completed_at is not None and not current(turn).prompting:
        turn.say("start.welcome_back", name=profile.name or turn.ev.user.first_name)
        return
    if turn.flow in (Flow.IDLE, Flow.NONE) and profile.completed_at is None:
        turn.goto(Flow.ONBOARDING, None)
        turn.say("onboarding.resume")
    current(turn).resume(turn, profile)


async def organiser_help(turn: Turn) -> None:
    """The organiser commands this person may use: all of them for admins;
    the event-scoped ones, with their events, for co-organisers."""
    if turn.is_admin:
        turn.say("help.admin")
        return
    events = await turn.uow.events.co_organised(turn.ev.user.id)
    if events:
        turn.say("help.co_organiser", events="\n".join(f"• {e.name} ({e.slug})" for e in events))


async def cmd_help(turn: Turn, profile: Profile | None, args: str) -> None:
    if profile is None:  # an organiser without a participant profile: no onboarding pushed on them
        await organiser_help(turn)
        return
    turn.say("help.text")
    await organiser_help(turn)
    if current(turn).awaits_answer(turn):
        current(turn).resume(turn, profile)


async def cmd_cancel(turn: Turn, profile: Profile, args: str) -> None:
    await current(turn).cancel(turn, profile)


async def cmd_language(turn: Turn, profile: Profile, args: str) -> None:
    turn.bump()
    turn.say("language.choose", [[turn.button("🇩🇪 Deutsch (Sie)", Choice("lang", "de")),
                                  turn.button("🇩🇪 Deutsch (du)", Choice("lang", "de-du"))],
                                 [turn.button("🇬🇧 English", Choice("lang", "en"))]])


async def cmd_profile(turn: Turn, profile: Profile, args: str) -> None:
    if profile.completed_at is None:
        turn.say("profile.incomplete")
        if turn.flow == Flow.IDLE:
            turn.goto(Flow.ONBOARDING, None)
        current(turn).resume(turn, profile)
        return
    ob.show_profile(turn, profile)


async def cmd_pause(turn: Turn, profile: Profile, args: str) -> None:
    assert turn.person is not None
    turn.person.paused = True
    turn.say("pause.done")
    current(turn).after_aside(turn, profile)


async def cmd_resume(turn: Turn, profile: Profile, args: str) -> None:
    assert turn.person is not None
    turn.person.paused = False
    turn.person.ignored_in_row = 0
    turn.say("resume.done")
    current(turn).after_aside(turn, profile)
    if profile.completed_at is not None and not current(turn).prompting:
        await cards.show_next_card(turn, turn.person)  # a card left waiting before the pause


async def cmd_mydata(turn: Turn, profile: Profile, args: str) -> None:
    await account.export_data(turn, profile)
    current(turn).after_aside(turn, profile)


async def cmd_delete(turn: Turn, profile: Profile, args: str) -> None:
    account.ask_delete(turn, keep=False)


async def cmd_matches(turn: Turn, profile: Profile, args: str) -> None:
    person = turn.person
    assert person is not None
    if profile.completed_at is None:
        turn.say("profile.incomplete")
        if turn.flow == Flow.IDLE:
            turn.goto(Flow.ONBOARDING, None)
        ob.resume(turn, profile)
        return
    if person.paused:
        turn.say("matches.paused")
        return
    note = await admission.matches_note(turn, person)
    if note is not None:  # an open application, the waiting list, declined
        turn.say(note[0], **note[1])
        return
    await cards.offer_suggestions(turn, [person])


def on_language(turn: Turn, profile: Profile, payload: Choice) -> None:
    """The /language buttons, answerable in any flow."""
    assert turn.person is not None
    turn.person.language = turn.lang = language_of(payload.value)
    if turn.lang == "de":  # the form of address is chosen with German; English keeps it
        turn.person.german_form = "du" if payload.value == "de-du" else "sie"
    turn.edit(turn.ev.message_id, turn.tr("language.set"))
    current(turn).after_aside(turn, profile)
