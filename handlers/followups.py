"""After the meeting: feedback, nudges, outcome follow-ups, and pausing people
who go quiet. See docs/followups.md.

Everything here is driven by rows in the database (feedback, outcomes,
suggestion cards), never by timers in memory: `sweep` runs periodically (the
scheduler calls `CrosslabCore.tick`), looks at what is due at `core.now()`, and
returns the messages to send. A restart loses nothing; a sweep that runs twice
finds the rows already moved on.

Buttons are validated against their row (owner and current question), like
the introduction buttons, so a question stays answerable while someone does
something else, and a late answer to an expired question is still taken.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.i18n import t
from db.models import Feedback, Meeting, Outcome, Pair, Person, Profile
from handlers import introductions as intro
from handlers.scheduling import format_slot, parse_offsets
from handlers.types import Button, Incoming, UserRef

if TYPE_CHECKING:
    from handlers.callbacks import CallbackPayload
    from handlers.core import CrosslabCore
    from handlers.turn import Turn
    from bot.settings import Settings
    from db.uow import SqlAlchemyUnitOfWork

ACTIONS = ("fb", "oc")
MET = ("yes", "no", "moved")
CONTINUE = ("yes", "maybe", "no")
OUTCOMES = ("nothing", "idea", "project", "contract", "funding")
TEXT_LIMIT = 2000
SELF_ARRANGED_AFTER = timedelta(days=7)  # no time known: ask a week after they chose to arrange it
QUESTIONS = ("met", "rating", "continue", "text")
BATCH = 300  # rows of each kind per sweep: a sweep stays short; the rest waits a minute


# --- policy from settings ------------------------------------------------------------

def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """'21:00-08:00' -> (21:00, 08:00); '' -> None. Raises ValueError."""
    spec = spec.strip()
    if not spec:
        return None
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?", spec)
    if not m:
        raise ValueError(spec)
    h1, m1, h2, m2 = int(m.group(1)), int(m.group(2) or 0), int(m.group(3)), int(m.group(4) or 0)
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError(spec)
    return time(h1, m1), time(h2, m2)


@dataclass(frozen=True)
class Policy:
    delay: timedelta
    nudges: tuple[timedelta, ...]  # growing intervals; at most two
    quiet: tuple[time, time] | None
    followups: tuple[tuple[str, timedelta], ...]  # ("14d", 14 days), ... shortest first
    ignored_limit: int
    tz: object

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        nudges = tuple(sorted(d for _, d in parse_offsets(settings.nudge_intervals)))
        return cls(
            delay=parse_offsets(settings.feedback_delay)[0][1],
            nudges=nudges,
            quiet=parse_quiet_hours(settings.quiet_hours),
            followups=tuple(sorted(parse_offsets(settings.followup_after), key=lambda x: x[1])),
            ignored_limit=settings.ignored_limit,
            tz=settings.tz,
        )

    @property
    def shortest_wait(self) -> timedelta:
        """Nothing asked more recently than this can be due for a nudge or give-up."""
        return min((*self.nudges, self.give_up_after))

    @property
    def give_up_after(self) -> timedelta:
        """After the last nudge, wait this long once more before giving up."""
        return self.nudges[-1] if self.nudges else timedelta(days=2)

    def quiet_now(self, now: datetime) -> bool:
        if self.quiet is None:
            return False
        local = now.astimezone(self.tz).time()  # type: ignore[arg-type]
        start, end = self.quiet
        if start < end:
            return start <= local < end
        return local >= start or local < end

    def nudge_due(self, prompted_at: datetime | None, nudges: int, now: datetime) -> str | None:
        """'nudge', 'give_up' or None for something asked at `prompted_at`."""
        if prompted_at is None:
            return None
        if nudges < len(self.nudges):
            return "nudge" if now >= prompted_at + self.nudges[nudges] else None
        return "give_up" if now >= prompted_at + self.give_up_after else None


# --- the sweep -------------------------------------------------------------------------

def system_turn(core: CrosslabCore, uow: SqlAlchemyUnitOfWork) -> Turn:
    """A turn without an incoming update: the bot speaks first."""
    from handlers.turn import Turn

    ev = Incoming(update_id=0, user=UserRef(id=0), chat_id=0, kind="tick")
    return Turn(core, uow, ev, core.settings.default_language)


async def sweep(turn: Turn, now: datetime) -> dict[str, int]:
    """Send what is due at `now`: feedback questions, nudges, outcome
    follow-ups; give up on what stayed unanswered; pause people who ignored
    too many cards. Nothing is sent during quiet hours or to paused people
    (the repository leaves them out); it waits. Returns counts for logging and
    the demo."""
    policy = turn.core.followup_policy
    counts = {"asked": 0, "nudged": 0, "expired": 0, "followups": 0, "paused": 0}
    if policy.quiet_now(now):
        return counts
    fu = turn.uow.followups
    prompted_before = now - policy.shortest_wait
    # 1. Meetings that are over: one feedback row per person and meeting time.
    for meeting, pair in await fu.meetings_due_for_feedback(now - policy.delay, now - SELF_ARRANGED_AFTER, BATCH):
        if meeting.status == "scheduled" and meeting.starts_at is not None:
            if meeting.starts_at + timedelta(minutes=meeting.duration_min) + policy.delay > now:
                continue
            anchor = meeting.starts_at
        else:
            anchor = meeting.updated_at
        for person_id in (pair.company_id, pair.creative_id):
            fu.add_feedback(Feedback(meeting_id=meeting.id, person_id=person_id, starts_at=anchor, step="met",
                                     nudges=0))
    await turn.uow.session.flush()
    open_feedback = await fu.open_feedback(prompted_before, BATCH)
    open_outcomes = await fu.open_outcomes(now, prompted_before, BATCH)
    cards = await fu.shown_cards(prompted_before, BATCH)
    meetings = await fu.load_many(Meeting, Meeting.id, {fb.meeting_id for fb, _ in open_feedback})
    pairs = await fu.load_many(Pair, Pair.id, {m.pair_id for m in meetings} | {oc.pair_id for oc, _ in open_outcomes})
    people = {i for p in pairs for i in (p.company_id, p.creative_id)} | {c.counterpart_id for c, _ in cards}
    await fu.load_many(Person, Person.id, people)
    await fu.load_many(Profile, Profile.person_id, people)
    # 2. Feedback: ask, nudge or give up.
    for fb, person in open_feedback:
        if fb.asked_at is None:
            if await _send_feedback_question(turn, person, fb, lock=False):
                fb.asked_at = fb.prompted_at = now
                counts["asked"] += 1
            continue
        due = policy.nudge_due(fb.prompted_at, fb.nudges if fb.step != "text" else len(policy.nudges), now)
        if fb.step == "text":  # optional: never nudged, closed quietly
            if due == "give_up":
                fb.step = "done"
            continue
        if due == "nudge" and await _send_feedback_question(turn, person, fb, nudge=True, lock=False):
            fb.nudges += 1
            fb.prompted_at = now
            counts["nudged"] += 1
        elif due == "give_up":
            fb.step = "expired"
            counts["expired"] += 1
    # 3. Outcome follow-ups.
    for oc, person in open_outcomes:
        if oc.status == "due":
            if await _send_outcome_question(turn, person, oc):
                oc.status, oc.asked_at, oc.prompted_at = "asked", now, now
                counts["followups"] += 1
            else:
                oc.status = "void"
            continue
        due = policy.nudge_due(oc.prompted_at, oc.nudges, now)
        if due == "nudge" and await _send_outcome_question(turn, person, oc, nudge=True):
            oc.nudges += 1
            oc.prompted_at = now
            counts["nudged"] += 1
        elif due == "give_up":
            oc.status = "expired"
            counts["expired"] += 1
    # 4. Suggestion cards nobody answers.
    for card, person in cards:
        due = policy.nudge_due(card.nudged_at or card.shown_at, card.nudges, now)
        if due == "nudge":
            other = await turn.uow.intros.profile(card.counterpart_id)
            if other is None:
                continue
            interested = await intro._counterpart_interested(turn, person.id, card.counterpart_id)
            text = t(person.language, "nudge.card") + "\n\n" + intro.render_card(person.language, card, other, interested)
            intro._send(turn, person, text, intro._card_buttons(turn, person, card))
            card.nudges += 1
            card.nudged_at = now
            counts["nudged"] += 1
        elif due == "give_up":
            card.status, card.answered_at = "ignored", now
            counts["expired"] += 1
            person.ignored_in_row += 1
            if policy.ignored_limit and person.ignored_in_row >= policy.ignored_limit:
                person.paused = True
                counts["paused"] += 1
                intro._send(turn, person, t(person.language, "nudge.paused", count=person.ignored_in_row))
            else:
                await intro.show_next_card(turn, person)
    return counts


# --- feedback questions ------------------------------------------------------------------

def _question(fb: Feedback) -> str:
    """The question a feedback row waits for (expired rows: the first unanswered)."""
    if fb.step in QUESTIONS:
        return fb.step
    if fb.met is None:
        return "met"
    if fb.met == "yes" and fb.rating is None:
        return "rating"
    if fb.met == "yes" and fb.wants_to_continue is None:
        return "continue"
    return "done"


async def _other(turn: Turn, person_id: int, meeting_id: int, *, lock: bool = True
                 ) -> tuple[Meeting, Pair, Person, str] | None:
    """The meeting, pair, other person and their name; locked when answering,
    read plainly (often from the preloaded session) when the sweep asks."""
    if lock:
        meeting = await turn.uow.intros.meeting(meeting_id)
        pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    else:
        meeting = await turn.uow.session.get(Meeting, meeting_id)
        pair = await turn.uow.session.get(Pair, meeting.pair_id) if meeting else None
    if meeting is None or pair is None:
        return None
    other_id = pair.creative_id if pair.company_id == person_id else pair.company_id
    other = await turn.uow.intros.person(other_id)
    other_profile = await turn.uow.intros.profile(other_id)
    if other is None or other_profile is None:
        return None
    return meeting, pair, other, other_profile.name or ""


def _fb_button(turn: Turn, person: Person, key: str, fb: Feedback, op: str, value: str) -> Button:
    return intro._button(turn, person, t(person.language, key), "fb", f"{fb.id}:{op}:{value}")


async def _send_feedback_question(turn: Turn, person: Person, fb: Feedback, *, nudge: bool = False,
                                  lock: bool = True) -> bool:
    found = await _other(turn, person.id, fb.meeting_id, lock=lock)
    if found is None:
        fb.step = "void"
        return False
    _meeting, _pair, _other_person, name = found
    lang = person.language
    question = _question(fb)
    prefix = t(lang, "nudge.feedback") + "\n\n" if nudge else ""
    if question == "met":
        slot = format_slot(fb.starts_at, lang, turn.core.settings.tz)
        key = "fb.ask" if _meeting.status != "self_arranged" else "fb.ask_arranged"
        intro._send(turn, person, prefix + t(lang, key, name=name, slot=slot), [
            [_fb_button(turn, person, "fb.btn_met_yes", fb, "met", "yes")],
            [_fb_button(turn, person, "fb.btn_met_no", fb, "met", "no")],
            [_fb_button(turn, person, "fb.btn_met_moved", fb, "met", "moved")]])
    elif question == "rating":
        intro._send(turn, person, prefix + t(lang, "fb.rating", name=name),
                    [[intro._button(turn, person, str(n), "fb", f"{fb.id}:r:{n}")
                      for n in range(1, 6)]])
    elif question == "continue":
        intro._send(turn, person, prefix + t(lang, "fb.continue", name=name), [[
            _fb_button(turn, person, "fb.btn_yes", fb, "c", "yes"),
            _fb_button(turn, person, "fb.btn_maybe", fb, "c", "maybe"),
            _fb_button(turn, person, "fb.btn_no", fb, "c", "no")]])
    else:
        return False
    return True


async def on_button(turn: Turn, payload: CallbackPayload) -> None:
    person = turn.person
    assert person is not None
    if payload.action == "oc":
        await _on_outcome_button(turn, person, payload.value)
        return
    parts = payload.value.split(":")
    fb = await turn.uow.followups.feedback(int(parts[0])) if parts[0].isdigit() else None
    if fb is None or fb.person_id != person.id or len(parts) not in (2, 3):
        turn.toast("button.invalid", alert=True)
        return
    op, value = parts[1], (parts[2] if len(parts) == 3 else "")
    question = _question(fb)
    expected = {"met": "met", "r": "rating", "c": "continue", "skip": "text"}.get(op)
    if expected is None or expected != question or fb.step == "void":
        turn.toast("fb.stale")
        return
    found = await _other(turn, person.id, fb.meeting_id)
    if found is None:
        fb.step = "void"
        turn.toast("fb.stale")
        return
    meeting, pair, other, name = found
    now = turn.core.now()
    fb.answered_at, fb.prompted_at, fb.nudges = now, now, 0
    lang = person.language
    if op == "met" and value in MET:
        fb.met = value
        turn.edit(turn.ev.message_id, t(lang, f"fb.btn_met_{value}"))
        if value == "yes":
            fb.step = "rating"
            if meeting.status in ("scheduled", "self_arranged", "fell_through"):
                meeting.status = "held"
            await _send_feedback_question(turn, person, fb)
        elif value == "no":
            fb.step = "done"
            if meeting.status in ("scheduled", "self_arranged"):
                meeting.status = "fell_through"
            intro._send(turn, person, t(lang, "fb.fell_through"))
            if not person.paused:
                await intro.offer_suggestions(turn, [person])
        else:
            await _moved(turn, person, fb, meeting, pair, other)
    elif op == "r" and value in ("1", "2", "3", "4", "5"):
        fb.rating = int(value)
        fb.step = "continue"
        turn.edit(turn.ev.message_id, "✓ " + "⭐" * fb.rating)
        await _send_feedback_question(turn, person, fb)
    elif op == "c" and value in CONTINUE:
        fb.wants_to_continue = value
        fb.step = "text"
        turn.edit(turn.ev.message_id, "✓ " + t(lang, f"fb.btn_{value}"))
        if value in ("yes", "maybe"):
            await _plan_outcomes(turn, pair, fb.starts_at)
        else:  # no follow-ups for someone who does not want to go on
            for oc in await turn.uow.followups.outcomes_of_pair(pair.id):
                if oc.person_id == person.id and oc.status == "due":
                    oc.status = "void"
        turn.goto("feedback", "text", feedback_id=fb.id)
        intro._send(turn, person, t(lang, "fb.text"), [[_fb_button(turn, person, "fb.btn_skip", fb, "skip", "")]])
    elif op == "skip":
        turn.edit(turn.ev.message_id, t(lang, "fb.skipped"))
        _finish(turn, person, fb, name)
    else:
        turn.toast("button.invalid", alert=True)


async def feedback_text(turn: Turn, person: Person, text: str) -> bool:
    """Free text in flow feedback/text; False if that question is closed (the
    text is then handled as ordinary text)."""
    assert turn.state is not None
    fb = await turn.uow.followups.feedback(int(turn.state.data.get("feedback_id", 0)))
    if fb is None or fb.person_id != person.id or fb.step != "text":
        turn.goto("idle", None)
        return False
    text = text.strip()
    if len(text) > TEXT_LIMIT:
        turn.say("fb.text_too_long", limit=TEXT_LIMIT, length=len(text))
        return True
    if not text:
        turn.say("fb.text")
        return True
    fb.text = text
    fb.answered_at = turn.core.now()
    found = await _other(turn, person.id, fb.meeting_id)
    _finish(turn, person, fb, found[3] if found else "")
    return True


def _finish(turn: Turn, person: Person, fb: Feedback, name: str) -> None:
    fb.step = "done"
    if turn.state is not None and turn.state.flow == "feedback":
        turn.goto("idle", None)
    lang = person.language
    if (fb.rating is not None and fb.rating <= 2) or fb.wants_to_continue == "no":
        intro._send(turn, person, t(lang, "fb.thanks_not_again", name=name))
    elif fb.wants_to_continue in ("yes", "maybe") and turn.core.settings.followup_after.strip():
        intro._send(turn, person, t(lang, "fb.thanks_followup", name=name))
    else:
        intro._send(turn, person, t(lang, "fb.thanks"))


async def _moved(turn: Turn, person: Person, fb: Feedback, meeting: Meeting, pair: Pair, other: Person) -> None:
    """'We moved it': back into scheduling; the other side's open question
    about the old time is void."""
    fb.step = "void"
    for row in await turn.uow.followups.feedback_of_meeting(meeting.id, fb.starts_at):
        if row.id != fb.id and row.met is None:
            row.step = "void"
    lang = person.language
    if meeting.status not in ("scheduled", "self_arranged", "fell_through"):
        intro._send(turn, person, t(lang, "fb.moved_already"))
        return
    if meeting.status == "scheduled" and meeting.starts_at is not None:
        meeting.rejected = [*(meeting.rejected or []), meeting.starts_at.isoformat()]
    meeting.status, meeting.starts_at = "negotiating", None
    turn.cancel_reminders(meeting.id)
    me_profile = await turn.uow.intros.profile(person.id)
    intro._send(turn, other, t(other.language, "fb.moved_other", name=me_profile.name if me_profile else ""))
    intro._send(turn, person, t(lang, "fb.moved_you"))
    await intro._ask_for_time(turn, meeting, pair, asker=person, other=other)


async def _plan_outcomes(turn: Turn, pair: Pair, met_at: datetime) -> None:
    """Follow-ups for both sides of a pair that wants to go on (once per stage)."""
    policy = turn.core.followup_policy
    existing = {(o.person_id, o.stage) for o in await turn.uow.followups.outcomes_of_pair(pair.id)}
    meeting_rows = await turn.uow.followups.feedback_of_pair(pair.id)
    declined = {f.person_id for f in meeting_rows if f.wants_to_continue == "no"}
    for stage, after in policy.followups:
        for person_id in (pair.company_id, pair.creative_id):
            if (person_id, stage) not in existing and person_id not in declined:
                turn.uow.followups.add_outcome(Outcome(pair_id=pair.id, person_id=person_id, stage=stage,
                                                       due_at=met_at + after, status="due", nudges=0))
    await turn.uow.session.flush()


# --- outcome follow-ups ------------------------------------------------------------------

async def _pair_other(turn: Turn, person_id: int, pair_id: int) -> tuple[Pair, str] | None:
    pair = await turn.uow.session.get(Pair, pair_id)
    if pair is None:
        return None
    other = await turn.uow.intros.profile(pair.creative_id if pair.company_id == person_id else pair.company_id)
    if other is None:
        return None
    return pair, other.name or ""


async def _send_outcome_question(turn: Turn, person: Person, oc: Outcome, *, nudge: bool = False) -> bool:
    found = await _pair_other(turn, person.id, oc.pair_id)
    if found is None:
        return False
    _pair, name = found
    lang = person.language
    prefix = t(lang, "nudge.feedback") + "\n\n" if nudge else ""
    met_at = oc.due_at - dict(turn.core.followup_policy.followups).get(oc.stage, timedelta(0))
    when = format_slot(met_at, lang, turn.core.settings.tz)
    rows = [[intro._button(turn, person, t(lang, f"oc.{a}"), "oc", f"{oc.id}:{a}")] for a in OUTCOMES]
    intro._send(turn, person, prefix + t(lang, "oc.ask", name=name, slot=when), rows)
    return True


async def _on_outcome_button(turn: Turn, person: Person, value: str) -> None:
    oc_id, _, answer = value.partition(":")
    oc = await turn.uow.followups.outcome(int(oc_id)) if oc_id.isdigit() else None
    if oc is None or oc.person_id != person.id or answer not in OUTCOMES:
        turn.toast("button.invalid", alert=True)
        return
    if oc.status not in ("asked", "expired"):
        turn.toast("fb.stale")
        return
    oc.status, oc.answer, oc.answered_at = "answered", answer, turn.core.now()
    label = t(person.language, f"oc.{answer}")
    turn.edit(turn.ev.message_id, "✓ " + label)
    intro._send(turn, person, t(person.language, "oc.thanks", label=label))


__all__ = ["ACTIONS", "Policy", "sweep", "system_turn", "on_button", "feedback_text"]
