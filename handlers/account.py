"""Consent, events by deep link, and the privacy commands (/mydata, /delete)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from typing import TYPE_CHECKING

from db.models import Event, HandoverItem, Person, Profile, utcnow
from domain import model
from handlers import admission
from handlers import onboarding as ob
from handlers.callbacks import Choice, Consent, WelcomeLanguage, number, unpack
from handlers.flows import Flow, FlowHandler
from handlers.types import Document
from i18n import LANGUAGES

if TYPE_CHECKING:
    from handlers.turn import Turn


# --- before consent: nothing is stored -------------------------------------------
# ...except, after a refusal of an invitation, which event it was: under a keyed
# hash of the Telegram id (no name, no id), so a later /start still joins it.
# The refusal message says so; /mydata shows it and /delete forgets it at once.

PENDING_DAYS = 30


def _pseudonym(turn: Turn) -> str:
    return turn.services.signer.pseudonym(turn.ev.user.id)


async def pending_invitation(turn: Turn) -> Event | None:
    """The event of an invitation this person declined (within PENDING_DAYS)."""
    if turn.invited is False:  # the turn's context says there is none
        return None
    since = turn.services.now() - timedelta(days=PENDING_DAYS)
    found = await turn.uow.invitations.get(_pseudonym(turn), since)
    return found[1] if found else None


async def before_consent(turn: Turn) -> None:
    ev = turn.ev
    if ev.kind == "button":
        await _consent_button(turn)
        return
    command = ev.command
    if command is not None and command[0] in ("mydata", "delete"):
        pending = await pending_invitation(turn)
        co_organised = await turn.uow.events.co_organised(ev.user.id)  # an admin added them by their Telegram id
        if pending is None and not co_organised:
            turn.say("privacy.nothing_stored")
        elif command[0] == "mydata":
            if pending is not None:
                turn.say("privacy.only_invitation", event=pending.name, days=PENDING_DAYS)
            if co_organised:
                turn.say("privacy.co_organiser", events=", ".join(e.name for e in co_organised))
        else:
            if pending is not None:
                await turn.uow.invitations.forget(_pseudonym(turn))
                turn.say("privacy.invitation_forgotten", event=pending.name)
            if co_organised:
                await turn.uow.events.forget_co_organiser(ev.user.id)
                turn.say("privacy.co_organiser_forgotten", events=", ".join(e.name for e in co_organised))
        return
    # One message: what the link was, the welcome and the notice, and (to a
    # first message that was not /start) why the bot asks before anything else.
    event: Event | None = None
    first, last = [], []
    if command is not None and command[0] == "start" and command[1]:
        event = await turn.uow.events.by_slug(command[1][:64])
        if event is None:
            first.append(turn.tr("event.unknown"))
    else:
        if command is None or command[0] not in ("start", "help", "language"):
            last.append(turn.tr("consent.needed"))
        event = await pending_invitation(turn)  # declined before: the invitation still holds
    if event is not None:
        first.append(turn.tr("event.invited", event=event.name))
    welcome(turn, str(event.id) if event is not None else "", first=first, last=last)


def welcome(turn: Turn, event_id: str, edit_message_id: int | None = None, *,
            first: list[str] | None = None, last: list[str] | None = None) -> None:
    other = "en" if turn.lang == "de" else "de"
    buttons = [
        [turn.button(turn.tr("btn.consent_yes"), Consent("y", turn.lang, event_id))],
        [turn.button(turn.tr("btn.consent_no"), Consent("n", turn.lang, event_id))],
        [turn.button(turn.tr("btn.switch_language"), WelcomeLanguage(other, event_id))],
    ]
    text = "\n\n".join([*(first or []), turn.tr("welcome"), turn.tr("privacy.notice"), *(last or [])])
    if edit_message_id is not None:
        turn.edit(edit_message_id, text, buttons)
    else:
        turn.send(text, buttons)


async def _welcome_event(turn: Turn, event_id: str) -> Event | None:
    """The event a welcome button carries ("" or an event since deleted: None)."""
    event_number = number(event_id)
    return await turn.uow.events.get(event_number) if event_number is not None else None


async def _consent_button(turn: Turn) -> None:
    ev = turn.ev
    signed = turn.pressed()
    if signed is None:
        return
    payload = unpack(signed)
    if isinstance(payload, WelcomeLanguage):
        if payload.lang in LANGUAGES:
            turn.lang = payload.lang
        event = await _welcome_event(turn, payload.event_id)
        first = [turn.tr("event.invited", event=event.name)] if event is not None else []
        welcome(turn, payload.event_id, edit_message_id=ev.message_id, first=first)
        return
    if not isinstance(payload, Consent):
        # A button from a profile that was deleted since: start over.
        turn.toast("button.stale")
        welcome(turn, "")
        return
    choice, lang, event_id = payload.choice, payload.lang, payload.event_id
    if lang in LANGUAGES:
        turn.lang = lang
    event = await _welcome_event(turn, event_id)
    if choice == "n":
        turn.uow.add_refusal(turn.lang)
        if event is None:
            turn.edit(ev.message_id, turn.tr("consent.declined"))
        else:
            now = turn.services.now()
            await turn.uow.invitations.put(_pseudonym(turn), event.id, now, now - timedelta(days=PENDING_DAYS))
            turn.edit(ev.message_id, turn.tr("consent.declined_invited", event=event.name, days=PENDING_DAYS))
        return
    if event is None:
        event = await pending_invitation(turn)  # a notice without the event, after declining one with it
    await turn.uow.invitations.forget(_pseudonym(turn))
    person = turn.person  # an organiser's record becomes a participant's
    if person is None:
        person = await turn.uow.people.add(Person(
            telegram_id=ev.user.id,
            username=ev.user.username,
            first_name=(ev.user.first_name or "")[:128],
            language=turn.lang,
            consent_at=utcnow(),
            paused=False,
        ))
    else:
        person.consent_at, person.language = utcnow(), turn.lang
        person.first_name = (ev.user.first_name or "")[:128]
    turn.person = person
    turn.state = await turn.uow.conversations.get(person)
    profile = await turn.uow.people.profile(person)
    turn.edit(ev.message_id, turn.tr("consent.thanks"))
    if event is not None:
        await turn.uow.events.join(event, person)
        turn.say("event.joined", event=event.name)
    turn.goto(Flow.ONBOARDING, None)
    ob.continue_flow(turn, profile)


async def organiser_record(turn: Turn) -> Person:
    """An organiser without a participant profile who needs a record of their
    own (the hand-over keeps what they collect and where they are): no
    consent, no profile, never matched. /start shows them the privacy notice
    like anyone; agreeing makes the record a participant's."""
    if turn.person is not None:
        return turn.person
    ev = turn.ev
    person = await turn.uow.people.add(Person(
        telegram_id=ev.user.id, username=ev.user.username, first_name=(ev.user.first_name or "")[:128],
        language=turn.lang, consent_at=None, paused=False))
    turn.person = person
    turn.state = await turn.uow.conversations.get(person)
    return person


async def join_event_by_slug(turn: Turn, slug: str) -> None:
    """An invitation link opened by a participant; with a finished profile
    they are admitted at once (a place, an application, the waiting list)."""
    assert turn.person is not None
    event = await turn.uow.events.by_slug(slug[:64])
    if event is None:
        turn.say("event.unknown")
    elif await turn.uow.events.join(event, turn.person):
        turn.say("event.joined", event=event.name)
        profile = await turn.uow.people.profile(turn.person)
        if profile.completed_at is not None:
            await admission.admit_completed(turn, turn.person, profile)
    else:
        turn.say("event.already", event=event.name)


# --- /mydata -----------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def collect_data(turn: Turn, profile: Profile) -> dict[str, object]:
    person = turn.person
    assert person is not None and turn.state is not None
    events = await turn.uow.events.of_person(person)
    intros = turn.uow.intros
    names: dict[int, str] = {}

    async def name_of(person_id: int) -> str:
        if person_id not in names:
            other = await intros.profile(person_id)
            names[person_id] = (other.name if other else None) or ""
        return names[person_id]

    suggestions = [{"counterpart": await name_of(s.counterpart_id), "status": s.status,
                    "reason": s.reason_de if person.language == "de" else s.reason_en,
                    "shown_at": _iso(s.shown_at), "answered_at": _iso(s.answered_at)}
                   for s in await intros.suggestions_of(person.id)]
    meetings = [{"with": await name_of(p.creative_id if p.company_id == person.id else p.company_id),
                 "pair_status": p.status, "meeting_status": m.status, "starts_at": _iso(m.starts_at),
                 "duration_min": m.duration_min, "place_kind": m.place_kind, "place": m.place}
                for m, p in await intros.meetings_of(person.id, tuple(model.MeetingStatus))]
    fu = turn.uow.followups
    feedback = [{"meeting_time": _iso(f.starts_at), "step": f.step, "met": f.met, "rating": f.rating,
                 "wants_to_continue": f.wants_to_continue, "text": f.text, "asked_at": _iso(f.asked_at),
                 "answered_at": _iso(f.answered_at)} for f in await fu.feedback_of_person(person.id)]
    outcomes = []
    for o in await fu.outcomes_of_person(person.id):
        pair = await intros.pair_by_id(o.pair_id) if o.pair_id is not None else None  # None: the other side left
        other = (pair.creative_id if pair.company_id == person.id else pair.company_id) if pair else None
        outcomes.append({"with": await name_of(other) if other else "", "stage": o.stage, "due_at": _iso(o.due_at),
                         "status": o.status, "answer": o.answer, "answered_at": _iso(o.answered_at)})

    plans = [{"event": e.name, "format": p.format, "round": pe.round or None,
              "group" if p.format == "breakout" else "table": pe.table_no,
              "with": await name_of(pe.creative_id if pe.company_id == person.id else pe.company_id),
              "released": p.released_at is not None}
             for p, e, pe in await turn.uow.plans.of_person(person.id)]

    def item(i: HandoverItem) -> dict[str, object]:
        return {"from": i.from_name, "kind": i.kind, "text": i.text, "filename": i.filename, "file_id": i.file_id,
                "created_at": _iso(i.created_at), "delivered_at": _iso(i.delivered_at)}
    return {
        "generated_at": utcnow().isoformat(),
        "person": {
            "telegram_id": person.telegram_id,
            "username": person.username,
            "first_name": person.first_name,
            "language": person.language,
            "consent_at": _iso(person.consent_at),
            "paused": person.paused,
            "announcements_opt_out": person.announcements_opt_out,
            "unreachable_at": _iso(person.unreachable_at),
            "created_at": _iso(person.created_at),
        },
        "profile": {
            "name": profile.name,
            "side": profile.side,
            "organisation": profile.organisation,
            "role": profile.role,
            "sector": profile.sector,
            "disciplines": profile.disciplines,
            "wanted_disciplines": profile.wanted_disciplines,
            "offers": profile.offers,
            "seeks": profile.seeks,
            "languages": profile.languages,
            "availability": profile.availability,
            "completed_at": _iso(profile.completed_at),
            "updated_at": _iso(profile.updated_at),
        },
        "events": [{"name": e.name, "joined_at": _iso(ep.joined_at), "status": ep.status,
                    "applied_at": _iso(ep.applied_at), "decided_at": _iso(ep.decided_at),
                    "waiting_list": ep.queue_no is not None, "question": ep.question, "answer": ep.answer}
                   for e, ep in events],
        "co_organiser_of": [{"name": e.name, "code": e.slug} for e in
                            await turn.uow.events.co_organised(person.telegram_id)],
        "suggestions": suggestions,
        "meetings": meetings,
        "feedback": feedback,
        "outcomes": outcomes,
        "plans": plans,
        "results_received": [item(i) for i in await fu.items_for_company(person.id)],
        "results_sent": [item(i) for i in await fu.items_from(person.id)],
        "conversation": {"flow": turn.state.flow, "step": turn.state.step},
    }


async def export_data(turn: Turn, profile: Profile) -> None:
    data = await collect_data(turn, profile)
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    filename = f"crosslab-data-{utcnow():%Y-%m-%d}.json"
    assert turn.person is not None
    state = turn.tr("settings.off" if turn.person.announcements_opt_out else "settings.on")
    caption = turn.tr("mydata.caption") + "\n" + turn.tr("mydata.announcements", state=state)
    turn.send(caption, document=Document(filename, content, "application/json"))


# --- /delete -------------------------------------------------------------------------

def ask_delete(turn: Turn, *, keep: bool) -> None:
    assert turn.state is not None
    if not keep:
        back = {"flow": turn.state.flow, "step": turn.state.step, "data": turn.state.data}
        turn.goto(Flow.DELETE, "confirm", back=back)
    turn.bump()
    turn.say("delete.confirm", [[turn.button(turn.tr("btn.delete_yes"), Choice("del", "yes"))],
                                [turn.button(turn.tr("btn.delete_no"), Choice("del", "no"))]])


def cancel_delete(turn: Turn, profile: Profile) -> None:
    assert turn.state is not None
    back = turn.state.data.get("back") or {}
    turn.goto(back.get("flow") or Flow.IDLE, back.get("step"), **(back.get("data") or {}))  # ticks, a side switch
    turn.edit(turn.ev.message_id if turn.ev.kind == "button" else None, turn.tr("delete.cancelled"))
    if turn.flow in (Flow.ONBOARDING, Flow.PROFILE) and turn.step is not None:
        ob.resume(turn, profile)


class DeleteFlow(FlowHandler):
    """/delete: the confirmation (step confirm); the flow before it is kept in data.back."""

    flow = Flow.DELETE
    prompting = True

    async def on_button(self, turn: Turn, profile: Profile, payload: object) -> bool:
        if not (isinstance(payload, Choice) and payload.kind == "del"):
            return False
        if payload.value == "yes":
            await delete_everything(turn, profile)
        else:
            cancel_delete(turn, profile)
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        ask_delete(turn, keep=True)

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        cancel_delete(turn, profile)


async def delete_everything(turn: Turn, profile: Profile) -> None:
    """Erase the person and everything linked to them (ON DELETE CASCADE):
    profile, state, memberships (a place they held goes to the next on the
    waiting list), co-organiser roles, cards, pairs, meetings, their feedback and
    follow-ups, hand-over items not handed over, cached embeddings. What the
    other side of a pair said stays theirs (their feedback and follow-up
    answers outlive the meeting); results a company received stay the
    company's, without the sender's name. After the commit SQLite's
    write-ahead log gives up its copies of the deleted rows (`uow.erased`)."""
    person = turn.person
    assert person is not None
    # The other side of an open meeting is told it is off before the data goes.
    for meeting, _pair in await turn.uow.intros.meetings_of(person.id, model.OPEN_MEETING):
        await turn.publish(model.cancel_meeting(meeting, person.id, by_deletion=True))
    await _leave_the_other_side_theirs(turn, person)
    await admission.withdraw_everywhere(turn, person)  # their places go to the people waiting
    await turn.uow.events.forget_co_organiser(person.telegram_id)
    await turn.uow.followups.forget_sender(person.id)
    await turn.uow.outbox.forget_chat(person.telegram_id)  # messages to them not yet sent, and sent ones' texts
    await turn.uow.plans.forget_chat(person.telegram_id)  # what plans sent them (their places go with them)
    # every model string in the cache, so rows an earlier EMBEDDING_MODEL wrote go too
    models = await turn.uow.embeddings.models()
    await turn.uow.embeddings.delete_keys(turn.services.matching.embedding_keys(profile, models))
    await turn.uow.people.delete(person)
    turn.uow.erased()
    turn.person = None
    turn.state = None
    turn.edit(turn.ev.message_id, turn.tr("delete.done"))


async def _leave_the_other_side_theirs(turn: Turn, person: Person) -> None:
    """Before the person's pairs and meetings go: each counterpart keeps their
    own feedback and follow-up answers (the rows lose only their link), their
    questions still open about this person close, and a question or meeting
    step they are at about it is left (its state would keep this person's name)."""
    intros, fu = turn.uow.intros, turn.uow.followups
    meetings = await intros.meetings_of(person.id, tuple(model.MeetingStatus))
    for pair in await intros.pairs_of(person.id):
        other_id = model.other_id(pair, person.id)
        feedback_ids: set[int] = set()
        for fb in await fu.feedback_of_pair(pair.id):
            if fb.person_id == other_id:
                model.counterpart_gone_feedback(fb)
                feedback_ids.add(fb.id)
        for oc in await fu.outcomes_of_pair(pair.id):
            if oc.person_id == other_id:
                model.counterpart_gone_outcome(oc)
        meeting_ids = {m.id for m, p in meetings if p.id == pair.id}
        await turn.uow.conversations.leave_rows(other_id, (Flow.MEETING, Flow.FEEDBACK),
                                                {"meeting_id": meeting_ids, "feedback_id": feedback_ids})
