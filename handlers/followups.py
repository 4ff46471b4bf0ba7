"""After the meeting: feedback, nudges, outcome follow-ups, and pausing people
who go quiet. See docs/followups.md.

Everything here is driven by rows in the database (feedback, outcomes,
suggestion cards), never by timers in memory: `sweep` runs periodically (the
scheduler calls `CrosslabCore.tick`), looks at what is due at the services'
clock, and returns the messages to send. A restart loses nothing; a sweep that
runs twice finds the rows already moved on. When what is due is decided by
`domain.policy.FollowupPolicy`; the transitions by `domain.model`.

Buttons are validated against their row (owner and current question), like
the introduction buttons, so a question stays answerable while someone does
something else, and a late answer to an expired question is still taken.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from db.models import Feedback, Meeting, Outcome, Pair, Person, Profile, Suggestion
from domain import model
from domain.model import FeedbackStep, MeetingStatus, OutcomeStatus
from domain.policy import Due
from handlers import answers, cards
from handlers.callbacks import FeedbackButton, OutcomeButton
from handlers.flows import Flow, FlowHandler, leave_question, put_at_question
from handlers.introductions import ask_for_time, meeting_state
from handlers.scheduling import format_slot
from handlers.types import Button
from i18n import t

if TYPE_CHECKING:
    from handlers.turn import Turn

TEXT_LIMIT = 2000
SELF_ARRANGED_AFTER = timedelta(days=7)  # no time known: ask a week after they chose to arrange it
BATCH = 300  # rows of each kind per sweep: a sweep stays short; the rest waits a minute


# --- the sweep -------------------------------------------------------------------------

async def sweep(turn: Turn, now: datetime) -> dict[str, int]:
    """Send what is due at `now`: feedback questions, nudges, outcome
    follow-ups; give up on what stayed unanswered; pause people who ignored
    too many cards. Nothing is sent during quiet hours or to paused people
    (the repository leaves them out); it waits. Returns counts for logging and
    the demo."""
    policy = turn.services.policy
    counts = {"asked": 0, "nudged": 0, "expired": 0, "followups": 0, "paused": 0}
    if policy.quiet_now(now):
        return counts
    fu = turn.uow.followups
    prompted_before = now - policy.shortest_wait
    # 1. Meetings that are over: one feedback row per person and meeting time.
    for meeting, pair in await fu.meetings_due_for_feedback(now - policy.delay, now - SELF_ARRANGED_AFTER, BATCH):
        if meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at is not None:
            if meeting.starts_at + timedelta(minutes=meeting.duration_min) + policy.delay > now:
                continue
            anchor = meeting.starts_at
        else:
            anchor = meeting.updated_at
        for person_id in (pair.company_id, pair.creative_id):
            fu.add_feedback(Feedback(meeting_id=meeting.id, person_id=person_id, starts_at=anchor,
                                     step=FeedbackStep.MET, nudges=0))
    await turn.uow.session.flush()
    open_feedback = await fu.open_feedback(prompted_before, BATCH)
    open_outcomes = await fu.open_outcomes(now, prompted_before, BATCH)
    shown = await fu.shown_cards(prompted_before, BATCH)
    # (no meeting or pair: the other side deleted their data; such rows are closed then, see account.py)
    meetings = await fu.load_many(Meeting, Meeting.id, {fb.meeting_id for fb, _ in open_feedback if fb.meeting_id is not None})
    pairs = await fu.load_many(Pair, Pair.id, {m.pair_id for m in meetings}
                               | {oc.pair_id for oc, _ in open_outcomes if oc.pair_id is not None})
    people = {i for p in pairs for i in (p.company_id, p.creative_id)} | {c.counterpart_id for c, _ in shown}
    await fu.load_many(Person, Person.id, people)
    await fu.load_many(Profile, Profile.person_id, people)
    # 2. Feedback: ask, nudge or give up.
    for fb, person in open_feedback:
        if fb.asked_at is None:
            if await _send_feedback_question(turn, person, fb, lock=False):
                fb.asked_at = fb.prompted_at = now
                counts["asked"] += 1
        elif fb.step == FeedbackStep.TEXT:  # optional: never nudged, closed quietly
            if policy.nudge_due(fb.prompted_at, len(policy.nudges), now) is Due.GIVE_UP:
                model.finish_feedback(fb)
        else:
            await _follow_up(turn, person, fb, now, counts)
    # 3. Outcome follow-ups.
    for oc, person in open_outcomes:
        if oc.status == OutcomeStatus.DUE:
            if await _send_outcome_question(turn, person, oc):
                model.ask_outcome(oc, now)
                counts["followups"] += 1
            else:
                model.void_outcome(oc)
        else:
            await _follow_up(turn, person, oc, now, counts)
    # 4. Suggestion cards nobody answers.
    for card, person in shown:
        await _follow_up(turn, person, card, now, counts)
    return counts


async def _follow_up(turn: Turn, person: Person, row: Feedback | Outcome | Suggestion, now: datetime,
                     counts: dict[str, int]) -> None:
    """An unanswered feedback question, outcome question or card: nudge it
    (counted if the nudge could be sent), or give it up after the last nudge."""
    policy = turn.services.policy
    if isinstance(row, Suggestion):
        due = policy.nudge_due(row.nudged_at or row.shown_at, row.nudges, now)
    else:
        due = policy.nudge_due(row.prompted_at, row.nudges, now)
    if due is Due.NUDGE:
        if isinstance(row, Feedback):
            sent = await _send_feedback_question(turn, person, row, nudge=True, lock=False)
        elif isinstance(row, Outcome):
            sent = await _send_outcome_question(turn, person, row, nudge=True)
        else:
            sent = await _nudge_card(turn, person, row)
        if sent and isinstance(row, Suggestion):
            model.nudge_card(row, now)
        elif sent:
            model.nudged(row, now)
        counts["nudged"] += sent
    elif due is Due.GIVE_UP:
        if isinstance(row, Feedback):
            model.expire_feedback(row)
        elif isinstance(row, Outcome):
            model.expire_outcome(row)
        else:
            await _ignored(turn, person, row, now, counts)
        counts["expired"] += 1


async def _nudge_card(turn: Turn, person: Person, card: Suggestion) -> bool:
    other = await turn.uow.intros.profile(card.counterpart_id)
    if other is None:
        return False
    interested = await cards.counterpart_interested(turn, person.id, card.counterpart_id)
    cards.send_card(turn, person, card, other, interested, prefix=turn.tr_for(person, "nudge.card") + "\n\n")
    return True


async def _ignored(turn: Turn, person: Person, card: Suggestion, now: datetime, counts: dict[str, int]) -> None:
    """A card given up: after IGNORED_LIMIT in a row the person is paused."""
    limit = turn.services.policy.ignored_limit
    model.ignore_card(card, now)
    person.ignored_in_row += 1
    if limit and person.ignored_in_row >= limit:
        person.paused = True
        counts["paused"] += 1
        turn.send(turn.tr_for(person, "nudge.paused", count=person.ignored_in_row), to=person)
    else:
        await cards.show_next_card(turn, person)


# --- feedback questions ------------------------------------------------------------------

async def _other(turn: Turn, person_id: int, meeting_id: int | None, *, lock: bool = True
                 ) -> tuple[Meeting, Pair, Person, str] | None:
    """The meeting, pair, other person and their name; locked when answering,
    read plainly (often from the preloaded session) when the sweep asks. None
    when the other side deleted their data (the meeting is gone)."""
    if meeting_id is None:
        return None
    if lock:
        meeting = await turn.uow.intros.meeting(meeting_id)
        pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    else:
        meeting = await turn.uow.session.get(Meeting, meeting_id)
        pair = await turn.uow.session.get(Pair, meeting.pair_id) if meeting else None
    if meeting is None or pair is None:
        return None
    other_id = model.other_id(pair, person_id)
    other = await turn.uow.intros.person(other_id)
    other_profile = await turn.uow.intros.profile(other_id)
    if other is None or other_profile is None:
        return None
    return meeting, pair, other, other_profile.name or ""


def _fb_button(turn: Turn, person: Person, label: str, feedback_id: int, op: str, value: str = "") -> Button:
    return turn.button_for(person, label, FeedbackButton(feedback_id, op, value))


def _feedback_prompt(turn: Turn, person: Person, step: str, *, feedback_id: int, name: str = "",
                     slot: str | None = None, arranged: bool = False) -> tuple[str, list[list[Button]]]:
    """One feedback question to `person` with its buttons; the keywords are
    what the flow keeps to ask it again (`FeedbackFlow.resume`)."""
    lang = turn.locale_of(person)
    if step == FeedbackStep.MET:
        when = format_slot(datetime.fromisoformat(slot), lang, turn.services.settings.tz) if slot else ""
        return t(lang, "fb.ask_arranged" if arranged else "fb.ask", name=name, slot=when), [
            [_fb_button(turn, person, t(lang, f"fb.btn_met_{value}"), feedback_id, "met", value)]
            for value in model.MET_ANSWERS]
    if step == FeedbackStep.RATING:
        return t(lang, "fb.rating", name=name), [
            [_fb_button(turn, person, str(n), feedback_id, "r", str(n)) for n in range(1, 6)]]
    if step == FeedbackStep.CONTINUE:
        return t(lang, "fb.continue", name=name), [[
            _fb_button(turn, person, t(lang, f"fb.btn_{value}"), feedback_id, "c", value)
            for value in model.CONTINUE_ANSWERS]]
    return t(lang, "fb.text"), [[_fb_button(turn, person, t(lang, "fb.btn_skip"), feedback_id, "skip")]]


async def _send_feedback_question(turn: Turn, person: Person, fb: Feedback, *, nudge: bool = False,
                                  lock: bool = True) -> bool:
    """The open question of a feedback row (did you meet, how useful, go on,
    the comment), which a typed answer then reaches too."""
    found = await _other(turn, person.id, fb.meeting_id, lock=lock)
    if found is None:
        model.void_feedback(fb)
        return False
    meeting, _pair, _other_person, name = found
    question = model.feedback_question(fb)
    if question not in model.QUESTIONS:
        return False
    data = {"feedback_id": fb.id, "name": name, "slot": fb.starts_at.isoformat(),
            "arranged": meeting.status == MeetingStatus.SELF_ARRANGED}
    text, rows = _feedback_prompt(turn, person, question, **data)
    prefix = t(turn.locale_of(person), "nudge.feedback") + "\n\n" if nudge else ""
    turn.send(prefix + text, rows, to=person)
    await put_at_question(turn, person, Flow.FEEDBACK, question.value, **data)
    return True


async def on_feedback_button(turn: Turn, payload: FeedbackButton) -> None:
    person = turn.person
    assert person is not None
    fb = await turn.uow.followups.feedback(payload.feedback_id)
    if fb is None or fb.person_id != person.id:
        turn.toast("button.invalid", alert=True)
        return
    op, value = payload.op, payload.value
    expected = {"met": FeedbackStep.MET, "r": FeedbackStep.RATING, "c": FeedbackStep.CONTINUE,
                "skip": FeedbackStep.TEXT}.get(op)
    if expected is None or expected != model.feedback_question(fb) or fb.step == FeedbackStep.VOID:
        await _stale_feedback(turn, person, fb, op)
        return
    found = await _other(turn, person.id, fb.meeting_id)
    if found is None:
        model.void_feedback(fb)
        turn.edit(turn.ev.message_id, turn.tr("card.gone"))
        return
    meeting, pair, other, name = found
    leave_question(turn, Flow.FEEDBACK, feedback_id=fb.id)
    now = turn.services.now()
    lang = turn.locale_of(person)
    if op == "met" and value in model.MET_ANSWERS:
        model.answer_met(fb, value, now)
        turn.edit(turn.ev.message_id, t(lang, f"fb.btn_met_{value}"))
        if value == "yes":
            model.mark_held(meeting)
            await _send_feedback_question(turn, person, fb)
        elif value == "no":
            model.mark_fell_through(meeting)
            await _no_followups_for(turn, person, pair)
            turn.send(t(lang, "fb.fell_through"), to=person)
            if not person.paused:
                await cards.offer_suggestions(turn, [person])
        else:
            await _moved(turn, person, fb, meeting, pair, other)
    elif op == "r" and value in ("1", "2", "3", "4", "5"):
        model.answer_rating(fb, int(value), now)
        turn.edit(turn.ev.message_id, "✓ " + "⭐" * int(value))
        await _send_feedback_question(turn, person, fb)
    elif op == "c" and value in model.CONTINUE_ANSWERS:
        model.answer_continue(fb, value, now)
        turn.edit(turn.ev.message_id, "✓ " + t(lang, f"fb.btn_{value}"))
        if value in ("yes", "maybe"):
            await _plan_outcomes(turn, pair, fb.starts_at)
        else:  # no follow-ups for someone who does not want to go on
            await _no_followups_for(turn, person, pair)
        await _send_feedback_question(turn, person, fb)
    elif op == "skip":
        turn.edit(turn.ev.message_id, t(lang, "fb.skipped"))
        _finish(turn, person, fb, name)
    else:
        turn.toast("button.invalid", alert=True)


async def _stale_feedback(turn: Turn, person: Person, fb: Feedback, op: str) -> None:
    """A feedback button its row has moved past: the message says what
    happened (the other side said the meeting moved, or one's own answer) and
    loses its buttons."""
    found = await _other(turn, person.id, fb.meeting_id)
    if found is None:
        model.void_feedback(fb)
        turn.edit(turn.ev.message_id, turn.tr("card.gone"))
        return
    meeting, _pair, _other_person, name = found
    if fb.step == FeedbackStep.VOID and fb.met != "moved":  # the other side said it was moved
        turn.edit(turn.ev.message_id, turn.tr("fb.moved_by_other", name=name,
                                              state=meeting_state(turn, person, meeting, name)))
        return
    turn.toast("fb.stale")  # answered by this person already: show their answer again
    answer = {"met": fb.met and turn.tr(f"fb.btn_met_{fb.met}"),
              "r": fb.rating and "✓ " + "⭐" * fb.rating,
              "c": fb.wants_to_continue and "✓ " + turn.tr(f"fb.btn_{fb.wants_to_continue}"),
              "skip": fb.step == FeedbackStep.DONE and not fb.text and turn.tr("fb.skipped")}.get(op)
    if answer:
        turn.edit(turn.ev.message_id, answer)


class FeedbackFlow(FlowHandler):
    """The questions after a meeting (steps met, rating, continue: answered
    with their buttons or typed, "ja", "4", "4 Sterne", "vielleicht") and the
    optional comment (step text)."""

    flow = Flow.FEEDBACK

    def awaits_answer(self, turn: Turn) -> bool:
        return turn.step is not None

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        if turn.step == FeedbackStep.TEXT:
            return await feedback_text(turn, turn.ev.text)
        return await typed_feedback_answer(turn, turn.ev.text)

    def resume(self, turn: Turn, profile: Profile) -> None:
        assert turn.state is not None and turn.person is not None and turn.step is not None
        turn.send(*_feedback_prompt(turn, turn.person, turn.step, **turn.state.data))

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        turn.goto(Flow.IDLE, None)
        turn.say("cancel.done")


async def _open_feedback(turn: Turn) -> Feedback | None:
    """The feedback row of the current step if that question is still open
    (answerable as its buttons are); otherwise back to idle."""
    person = turn.person
    assert turn.state is not None and person is not None
    fb = await turn.uow.followups.feedback(int(turn.state.data.get("feedback_id") or 0))
    if fb is None or fb.person_id != person.id or fb.step == FeedbackStep.VOID \
            or model.feedback_question(fb) != turn.step:
        turn.goto(Flow.IDLE, None)
        return None
    return fb


async def typed_feedback_answer(turn: Turn, text: str) -> bool:
    """A typed answer to the question of the current step, taken as its button
    would be; False if the question is closed (the text is then ordinary text)
    or the text is no answer to it (the buttons are shown again)."""
    fb = await _open_feedback(turn)
    if fb is None:
        return False
    value: str | int | None
    if turn.step == FeedbackStep.MET:
        op, value = "met", answers.choice(text, model.MET_ANSWERS)
    elif turn.step == FeedbackStep.RATING:
        op, value = "r", answers.rating(text)
    else:
        op, value = "c", answers.choice(text, model.CONTINUE_ANSWERS)
    if value is None:
        return False
    await on_feedback_button(turn, FeedbackButton(fb.id, op, str(value)))
    return True


async def feedback_text(turn: Turn, text: str) -> bool:
    """Free text in flow feedback/text; False if that question is closed (the
    text is then handled as ordinary text)."""
    person = turn.person
    assert person is not None
    fb = await _open_feedback(turn)
    if fb is None:
        return False
    text = text.strip()
    if len(text) > TEXT_LIMIT:
        turn.say("fb.text_too_long", limit=TEXT_LIMIT, length=len(text))
        return True
    if not text:
        turn.say("fb.text")
        return True
    if text.casefold() in (turn.tr("fb.btn_skip").casefold(), "skip", "überspringen"):
        await on_feedback_button(turn, FeedbackButton(fb.id, "skip"))
        return True
    found = await _other(turn, person.id, fb.meeting_id)
    _finish(turn, person, fb, found[3] if found else "", text)
    return True


def _finish(turn: Turn, person: Person, fb: Feedback, name: str, text: str | None = None) -> None:
    model.finish_feedback(fb, text, turn.services.now())
    if turn.state is not None and turn.state.flow == Flow.FEEDBACK:
        turn.goto(Flow.IDLE, None)
    lang = turn.locale_of(person)
    if model.bad_experience(fb):
        turn.send(t(lang, "fb.thanks_not_again", name=name), to=person)
    elif fb.wants_to_continue in ("yes", "maybe") and turn.services.settings.followup_after:
        turn.send(t(lang, "fb.thanks_followup", name=name), to=person)
    else:
        turn.send(t(lang, "fb.thanks"), to=person)


async def _moved(turn: Turn, person: Person, fb: Feedback, meeting: Meeting, pair: Pair, other: Person) -> None:
    """'We moved it': back into scheduling; the other side's open question
    about the old time is void."""
    for row in await turn.uow.followups.feedback_of_meeting(meeting.id, fb.starts_at):
        if row.id != fb.id and row.met is None:
            model.void_feedback(row)
    lang = turn.locale_of(person)
    if meeting.status not in model.AFTER_MEETING:
        turn.send(t(lang, "fb.moved_already"), to=person)
        return
    await turn.publish(model.moved_after_the_fact(meeting, person.id))
    me_profile = await turn.uow.intros.profile(person.id)
    turn.send(turn.tr_for(other, "fb.moved_other", name=me_profile.name if me_profile else ""), to=other)
    turn.send(t(lang, "fb.moved_you"), to=person)
    await ask_for_time(turn, meeting, pair, asker=person, other=other)


async def _plan_outcomes(turn: Turn, pair: Pair, met_at: datetime) -> None:
    """Follow-ups for both sides of a pair that wants to go on (once per stage)."""
    existing = {(o.person_id, o.stage) for o in await turn.uow.followups.outcomes_of_pair(pair.id)}
    meeting_rows = await turn.uow.followups.feedback_of_pair(pair.id)
    # Not asked: who does not want to go on, or said this meeting fell through.
    declined = {f.person_id for f in meeting_rows
                if f.wants_to_continue == "no" or (f.met == "no" and f.starts_at == met_at)}
    for stage, after in turn.services.policy.followups:
        for person_id in (pair.company_id, pair.creative_id):
            if (person_id, stage) not in existing and person_id not in declined:
                turn.uow.followups.add_outcome(Outcome(pair_id=pair.id, person_id=person_id, stage=stage,
                                                       due_at=met_at + after, status=OutcomeStatus.DUE, nudges=0))
    await turn.uow.session.flush()


async def _no_followups_for(turn: Turn, person: Person, pair: Pair) -> None:
    """The person's outcome questions about this pair that are not asked yet are void."""
    for oc in await turn.uow.followups.outcomes_of_pair(pair.id):
        if oc.person_id == person.id and oc.status == OutcomeStatus.DUE:
            model.void_outcome(oc)


# --- outcome follow-ups ------------------------------------------------------------------

async def _send_outcome_question(turn: Turn, person: Person, oc: Outcome, *, nudge: bool = False) -> bool:
    pair = await turn.uow.session.get(Pair, oc.pair_id) if oc.pair_id is not None else None
    other = await turn.uow.intros.profile(model.other_id(pair, person.id)) if pair is not None else None
    if other is None:
        return False
    lang = turn.locale_of(person)
    prefix = t(lang, "nudge.feedback") + "\n\n" if nudge else ""
    when = format_slot(turn.services.policy.met_at(oc.stage, oc.due_at), lang, turn.services.settings.tz)
    rows = [[turn.button_for(person, t(lang, f"oc.{a}"), OutcomeButton(oc.id, a))] for a in model.OUTCOMES]
    turn.send(prefix + t(lang, "oc.ask", name=other.name or "", slot=when), rows, to=person)
    return True


async def resend_open_outcome(turn: Turn, person: Person) -> bool:
    """The "what came of it" question waiting for this person, sent again;
    False if none is open."""
    for oc in await turn.uow.followups.outcomes_of_person(person.id):
        if oc.status == OutcomeStatus.ASKED and await _send_outcome_question(turn, person, oc):
            return True
    return False


async def on_outcome_button(turn: Turn, payload: OutcomeButton) -> None:
    person = turn.person
    assert person is not None
    oc = await turn.uow.followups.outcome(payload.outcome_id)
    if oc is None or oc.person_id != person.id or payload.answer not in model.OUTCOMES:
        turn.toast("button.invalid", alert=True)
        return
    if oc.status not in (OutcomeStatus.ASKED, OutcomeStatus.EXPIRED):
        turn.toast("fb.stale")  # only this person answers it: their answer is shown again, without buttons
        if oc.status == OutcomeStatus.ANSWERED and oc.answer in model.OUTCOMES:
            turn.edit(turn.ev.message_id, "✓ " + turn.tr_for(person, f"oc.{oc.answer}"))
        return
    model.answer_outcome(oc, payload.answer, turn.services.now())
    label = turn.tr_for(person, f"oc.{payload.answer}")
    turn.edit(turn.ev.message_id, "✓ " + label)
    turn.send(turn.tr_for(person, "oc.thanks", label=label), to=person)
