"""Admission to events, on the participants' side: places per side,
applications, the waiting list (the rules are in `domain.admission`), and
what everyone is told.

A participant who joined an event (by its invitation link) and finishes their
profile — or who finishes it first and joins afterwards — is admitted
(`admit`): a place if one is free on their side (an application to the
organisers where the event needs approval), else the waiting list with their
position. A place that becomes free (someone leaves with `/leave`, is
declined, deletes their data; the organisers raise the capacity) goes to the
next person waiting on that side (`move_up`), who is told. Only admitted
participants are matched (`handlers.suggestions.Scopes`).

The organisers' side of an application (approve, decline, ask a question) is
in `handlers.events`; the applicant's answer to a question is the flow here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.admission import Admission, decide, frees_a_place, moved_up, on_completion
from handlers.callbacks import ApplicationButton, LeaveButton
from handlers.flows import Flow, FlowHandler, current
from handlers.text import profile_card, short
from handlers.types import Button, OutMessage
from i18n import locale_for, t

if TYPE_CHECKING:
    from db.models import Event, EventParticipant, Person, Profile
    from handlers.turn import Turn

ANSWER_LIMIT = 1500


# --- the organisers of an event --------------------------------------------------------------------

async def organiser_chats(turn: Turn, event: Event) -> list[tuple[int, str]]:
    """(Telegram id, locale) of everyone who organises `event`: the admins
    and its co-organisers, each in their own language if the bot knows it."""
    ids = list(dict.fromkeys([*sorted(turn.services.settings.admin_ids),
                              *(c.telegram_id for c in await turn.uow.events.co_organisers(event.id))]))
    default = locale_for(turn.services.settings.default_language, turn.services.settings.german_form)
    out = []
    for telegram_id in ids:
        person = await turn.uow.people.by_telegram_id(telegram_id)
        out.append((telegram_id, turn.locale_of(person) if person is not None else default))
    return out


def decision_buttons(turn: Turn, telegram_id: int, locale: str, event_id: int, person_id: int) -> list[list[Button]]:
    """Approve · Decline · Ask, signed for one organiser."""
    signer = turn.services.signer

    def button(key: str, op: str) -> Button:
        payload = ApplicationButton(event_id, person_id, op)
        return Button(t(locale, key), signer.sign(telegram_id, payload.action, payload.pack(), 0))

    return [[button("app.btn_approve", "a"), button("app.btn_decline", "d")], [button("app.btn_ask", "q")]]


async def notify_organisers(turn: Turn, event: Event, person: Person, key: str, **fields: Any) -> None:
    """An application (or an applicant's answer) to every organiser of the
    event, with the profile and the decision buttons, in their language.
    The organiser writing right now gets theirs too (in their own chat)."""
    profile = await turn.uow.intros.profile(person.id)
    for telegram_id, locale in await organiser_chats(turn, event):
        side = t(locale, f"event.side_{profile.side}") if profile and profile.side else ""
        text = t(locale, key, event=event.name, side=side, name=(profile.name if profile else None) or "?",
                 profile=profile_card(locale, profile) if profile is not None else "", **fields)
        turn.reply.messages.append(OutMessage(telegram_id, text,
                                              decision_buttons(turn, telegram_id, locale, event.id, person.id)))


# --- admission ---------------------------------------------------------------------------------------

async def admit(turn: Turn, event: Event, person: Person, profile: Profile, row: EventParticipant) -> Admission:
    """Someone with a finished profile in `event`: a place, an application or
    the waiting list; they are told (and the organisers get an application)."""
    event = await turn.uow.events.get(event.id, lock=True) or event  # one admission to this event at a time
    side = profile.side
    taken = await turn.uow.events.holding(event.id, side)
    status = on_completion(event.approval, taken, event.capacity(side))
    row.status, row.applied_at = status, turn.services.now()
    if status == Admission.WAITING:
        row.queue_no = await turn.uow.events.next_queue_no(event.id)
        await turn.uow.session.flush()
        position = await turn.uow.events.waiting_position(row, side)
        turn.send(turn.tr_for(person, "app.waiting", event=event.name, position=position), to=person)
    elif status == Admission.PENDING:
        await turn.uow.session.flush()
        turn.send(turn.tr_for(person, "app.received", event=event.name), to=person)
        await notify_organisers(turn, event, person, "app.new")
    return status


async def admit_completed(turn: Turn, person: Person, profile: Profile) -> set[str]:
    """Admit a person whose profile is complete to every event they joined
    and were not admitted to yet; the statuses they hold afterwards."""
    statuses: set[str] = set()
    for event, row in await turn.uow.events.of_person(person):
        if row.status == Admission.REGISTERED:
            await admit(turn, event, person, profile, row)
        statuses.add(row.status)
    return statuses


async def move_up(turn: Turn, event: Event, side: str | None) -> int:
    """Give the free places of one side to the people waiting, first come
    first served; each is told. How many moved up."""
    if side is None:
        return 0
    event = await turn.uow.events.get(event.id, lock=True) or event  # two places freed at once: one at a time
    moved = 0
    while True:
        taken = await turn.uow.events.holding(event.id, side)
        capacity = event.capacity(side)
        if capacity is not None and taken >= capacity:
            return moved
        row = await turn.uow.events.first_waiting(event.id, side)
        if row is None:
            return moved
        person = await turn.uow.intros.person(row.person_id)
        row.status, row.queue_no = moved_up(event.approval), None
        await turn.uow.session.flush()
        moved += 1
        if person is None:
            continue
        if row.status == Admission.PENDING:
            turn.send(turn.tr_for(person, "app.moved_up_pending", event=event.name), to=person)
            await notify_organisers(turn, event, person, "app.new")
        else:
            turn.send(turn.tr_for(person, "app.moved_up", event=event.name), to=person)


async def move_up_all(turn: Turn, event: Event) -> int:
    """After the organisers changed the places (or approval): both sides."""
    return sum([await move_up(turn, event, side) for side in ("production", "creative")])


async def approve_pending(turn: Turn, event: Event) -> int:
    """Approval was switched off: every open application is admitted (told)."""
    n = 0
    for person, _profile, row in await turn.uow.events.applications(event.id):
        row.status, row.decided_at = Admission.APPROVED, turn.services.now()
        turn.send(turn.tr_for(person, "app.approved", event=event.name), to=person)
        n += 1
    return n


async def decide_application(turn: Turn, event: Event, row: EventParticipant, approve: bool) -> Person | None:
    """The organisers' answer: the applicant is told in their language; a
    declined one's place goes to the next on the waiting list."""
    row.status = decide(row.status, approve)
    row.decided_at = turn.services.now()
    person = await turn.uow.intros.person(row.person_id)
    if person is not None:
        turn.send(turn.tr_for(person, "app.approved" if approve else "app.declined", event=event.name), to=person)
    if not approve:
        await turn.uow.session.flush()
        profile = await turn.uow.intros.profile(row.person_id)
        await move_up(turn, event, profile.side if profile else None)
    return person


async def leave(turn: Turn, event: Event, person: Person) -> bool:
    """`person` leaves `event`; a place they held goes to the next waiting."""
    row = await turn.uow.events.participant(event.id, person.id)
    if row is None:
        return False
    frees = frees_a_place(row.status)
    await turn.uow.events.leave(event.id, person.id)
    if frees:
        profile = await turn.uow.intros.profile(person.id)
        await move_up(turn, event, profile.side if profile else None)
    return True


async def withdraw_everywhere(turn: Turn, person: Person) -> None:
    """Before `person`'s data is deleted: they leave every event, and their
    places go to the people waiting."""
    for event, _row in await turn.uow.events.of_person(person):
        await leave(turn, event, person)


async def matches_note(turn: Turn, person: Person) -> tuple[str, dict[str, object]] | None:
    """Why someone in events gets no suggestions: their application is open,
    they are on a waiting list, or they were declined (None if they were
    admitted somewhere, or are in no event)."""
    rows = await turn.uow.events.of_person(person)
    if not rows or any(r.status in (Admission.APPROVED, Admission.REGISTERED) for _, r in rows):
        return None
    profile = await turn.uow.intros.profile(person.id)
    for event, row in rows:
        if row.status == Admission.PENDING:
            return "app.matches_pending", {"event": event.name}
    for event, row in rows:
        if row.status == Admission.WAITING:
            position = await turn.uow.events.waiting_position(row, profile.side if profile else None)
            return "app.matches_waiting", {"event": event.name, "position": position}
    return "app.matches_declined", {"event": rows[0][0].name}


# --- the applicant answers a question --------------------------------------------------------------

async def on_reply_button(turn: Turn, payload: ApplicationButton) -> None:
    """"Antworten" under the organisers' question: what they type next is the answer."""
    person = turn.person
    if person is None or person.consent_at is None or person.id != payload.person_id:
        turn.toast("button.invalid", alert=True)
        return
    event = await turn.uow.events.get(payload.event_id)
    row = await turn.uow.events.participant(payload.event_id, person.id) if event is not None else None
    if event is None or row is None or row.status != Admission.PENDING or not row.question:
        turn.toast("app.answer_closed", alert=True)
        return
    assert turn.state is not None
    back = None
    if turn.flow not in (Flow.IDLE, Flow.NONE, Flow.APPLICATION):
        back = {"flow": turn.state.flow, "step": turn.state.step, "data": turn.state.data}
    turn.goto(Flow.APPLICATION, "answer", event_id=event.id, back=back)
    turn.say("app.ask_answer", event=event.name, question=row.question)


def _leave_answer(turn: Turn) -> None:
    assert turn.state is not None
    back = turn.state.data.get("back") or {}
    turn.goto(back.get("flow") or Flow.IDLE, back.get("step"), **(back.get("data") or {}))


class ApplicationFlow(FlowHandler):
    """The applicant's answer to the organisers' question (step answer, data:
    the event, and where they were before pressing "Antworten")."""

    flow = Flow.APPLICATION

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        assert turn.state is not None and turn.person is not None
        event_id = turn.state.data.get("event_id")
        event = await turn.uow.events.get(int(event_id)) if event_id else None
        row = await turn.uow.events.participant(event.id, turn.person.id) if event is not None else None
        if event is None or row is None or row.status != Admission.PENDING:
            _leave_answer(turn)
            turn.say("app.answer_closed")
            return True
        text = turn.ev.text.strip()
        if len(text) < 2:
            turn.say("input.too_short", min=2)
            return True
        if len(text) > ANSWER_LIMIT:
            turn.say("input.too_long", max=ANSWER_LIMIT, length=len(text))
            return True
        row.answer = text
        _leave_answer(turn)
        turn.say("app.answer_sent", event=event.name)
        await notify_organisers(turn, event, turn.person, "app.answer", question=short(row.question, 500),
                                answer=text)
        if current(turn).awaits_answer(turn):  # back in the middle of something: its question again
            current(turn).resume(turn, profile)
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        turn.say("app.type_answer")

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        _leave_answer(turn)
        turn.say("cancel.done")


# --- /leave -------------------------------------------------------------------------------------------

async def cmd_leave(turn: Turn, profile: Profile, args: str) -> None:
    """Leave an event (its place goes to the next on the waiting list)."""
    person = turn.person
    assert person is not None
    rows = await turn.uow.events.of_person(person)
    if not rows:
        turn.say("leave.none")
        return
    if len(rows) == 1:
        _confirm_leave(turn, rows[0][0], edit=False)
        return
    turn.send(turn.tr("leave.choose"), [[turn.button_for(person, short(e.name, 50), LeaveButton(e.id, "c"))]
                                       for e, _ in rows])


def _confirm_leave(turn: Turn, event: Event, *, edit: bool) -> None:
    assert turn.person is not None
    rows = [[turn.button_for(turn.person, turn.tr("leave.btn_yes"), LeaveButton(event.id, "y")),
             turn.button_for(turn.person, turn.tr("leave.btn_no"), LeaveButton(event.id, "n"))]]
    text = turn.tr("leave.confirm", event=event.name)
    if edit:
        turn.edit(turn.ev.message_id, text, rows)
    else:
        turn.send(text, rows)


async def on_leave_button(turn: Turn, payload: LeaveButton) -> None:
    person = turn.person
    if person is None or person.consent_at is None:
        turn.toast("button.invalid", alert=True)
        return
    event = await turn.uow.events.get(payload.event_id)
    if event is None or await turn.uow.events.participant(event.id, person.id) is None:
        turn.toast("leave.not_in", alert=True)
        return
    if payload.op == "c":
        _confirm_leave(turn, event, edit=True)
    elif payload.op == "n":
        turn.edit(turn.ev.message_id, turn.tr("leave.kept", event=event.name))
    else:
        await leave(turn, event, person)
        turn.edit(turn.ev.message_id, turn.tr("leave.done", event=event.name))
