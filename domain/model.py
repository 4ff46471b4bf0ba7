"""The rules of Crosslab's matches: suggestion cards, pairs (double opt-in),
meetings, feedback and outcome follow-ups.

Pure: no database, no chat, no clock (instants are parameters). The functions
take any object with the named attributes (the ORM rows in `db.models`, or
plain test doubles), enforce which transitions are allowed, change the state
and return the domain event that the change means, if any. A transition that
is not allowed raises `InvalidTransition`: the conversations check a button's
validity first, so reaching one is a bug, not a user error.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.events import (MeetingCancelled, MeetingMoved, MeetingPlaceSet, MeetingScheduled, MeetingSelfArranged,
                           PairIntroduced, TimeOffered)


class InvalidTransition(Exception):
    """A state change the rules do not allow."""


def _require(obj: Any, allowed: frozenset[str] | tuple[str, ...], what: str) -> None:
    if obj.status not in allowed:
        raise InvalidTransition(f"{what}: not from {obj.status!r} (allowed: {', '.join(sorted(allowed))})")


# --- suggestion cards ----------------------------------------------------------------------------

class CardStatus(StrEnum):
    PENDING = "pending"  # computed, waiting to be shown (one card at a time)
    SHOWN = "shown"
    INTERESTED = "interested"
    NOT_NOW = "not_now"
    DECLINED = "declined"
    IGNORED = "ignored"  # no answer after the nudges


class CardAnswer(StrEnum):
    YES = "y"
    LATER = "later"
    NO = "n"


CARD_ANSWER_STATUS = {CardAnswer.YES: CardStatus.INTERESTED, CardAnswer.LATER: CardStatus.NOT_NOW,
                      CardAnswer.NO: CardStatus.DECLINED}
# A card in one of these states may be offered again when suggestions are computed anew.
CARD_REOFFERABLE = frozenset({CardStatus.NOT_NOW, CardStatus.SHOWN, CardStatus.IGNORED})


def show_card(card: Any, now: datetime) -> None:
    _require(card, (CardStatus.PENDING,), "show a card")
    card.status, card.shown_at = CardStatus.SHOWN, now


def answer_card(card: Any, answer: CardAnswer, now: datetime) -> None:
    _require(card, (CardStatus.SHOWN,), "answer a card")
    card.status, card.answered_at = CARD_ANSWER_STATUS[answer], now


def ignore_card(card: Any, now: datetime) -> None:
    """Given up after the nudges: counts towards pausing the person."""
    _require(card, (CardStatus.SHOWN,), "ignore a card")
    card.status, card.answered_at = CardStatus.IGNORED, now


def nudge_card(card: Any, now: datetime) -> None:
    card.nudges += 1
    card.nudged_at = now


def withdraw_card(card: Any) -> None:
    """The counterpart is gone (deleted their data)."""
    card.status = CardStatus.DECLINED


def reoffer_card(card: Any, score: float) -> None:
    _require(card, CARD_REOFFERABLE, "offer a card again")
    card.status, card.score = CardStatus.PENDING, score


# A card its owner can still mark "möchte ich treffen" while browsing (/browse).
CARD_MARKABLE = frozenset({CardStatus.PENDING, CardStatus.SHOWN, CardStatus.NOT_NOW, CardStatus.IGNORED})


def mark_card(card: Any, now: datetime) -> None:
    """Chosen while browsing: the same as answering the card "interested"."""
    _require(card, CARD_MARKABLE, "mark a card")
    card.status, card.answered_at = CardStatus.INTERESTED, now


def unmark_card(card: Any, pair: Any | None, person_id: int, now: datetime) -> None:
    """A mark taken back before the introduction: the card counts as "not
    now", the pair forgets this side's yes."""
    _require(card, (CardStatus.INTERESTED,), "take back a mark")
    if pair is not None:
        if pair.status != PairStatus.OPEN:
            raise InvalidTransition(f"take back a mark: pair is {pair.status}")
        setattr(pair, f"{side_of(pair, person_id).value}_answer", None)
    card.status, card.answered_at = CardStatus.NOT_NOW, now


def invite_back(card: Any, score: float) -> bool:
    """Someone is interested in this card's owner: their card about that person
    moves to the front. False if they already answered it."""
    if card.status not in (CardStatus.NOT_NOW, CardStatus.PENDING):
        return False
    card.status, card.score = CardStatus.PENDING, max(card.score, score) + 1.0
    return True


# --- pairs: both must say yes ----------------------------------------------------------------------

class PairStatus(StrEnum):
    OPEN = "open"
    INTRODUCED = "introduced"
    DECLINED = "declined"


class Side(StrEnum):
    COMPANY = "company"
    CREATIVE = "creative"

    @property
    def other(self) -> Side:
        return Side.CREATIVE if self is Side.COMPANY else Side.COMPANY


INTERESTED, NOT_INTERESTED = "interested", "declined"


def side_of(pair: Any, person_id: int) -> Side:
    if person_id == pair.company_id:
        return Side.COMPANY
    if person_id == pair.creative_id:
        return Side.CREATIVE
    raise InvalidTransition(f"person {person_id} is not in pair {pair.id}")


def other_id(pair: Any, person_id: int) -> int:
    return pair.creative_id if side_of(pair, person_id) is Side.COMPANY else pair.company_id


def answer_of(pair: Any, side: Side) -> str | None:
    return pair.company_answer if side is Side.COMPANY else pair.creative_answer


def record_pair_answer(pair: Any, person_id: int, interested: bool, now: datetime) -> PairIntroduced | None:
    """One side's answer; the introduction happens when both said yes."""
    side = side_of(pair, person_id)
    setattr(pair, f"{side.value}_answer", INTERESTED if interested else NOT_INTERESTED)
    if not interested:
        pair.status = PairStatus.DECLINED
        return None
    if answer_of(pair, side.other) == INTERESTED and pair.status == PairStatus.OPEN:
        pair.status, pair.introduced_at = PairStatus.INTRODUCED, now
        return PairIntroduced(pair.id)
    return None


# --- meetings ------------------------------------------------------------------------------------------

class MeetingStatus(StrEnum):
    NEGOTIATING = "negotiating"
    SCHEDULED = "scheduled"
    SELF_ARRANGED = "self_arranged"
    CANCELLED = "cancelled"
    HELD = "held"
    FELL_THROUGH = "fell_through"


OPEN_MEETING = (MeetingStatus.NEGOTIATING, MeetingStatus.SCHEDULED)
AFTER_MEETING = (MeetingStatus.SCHEDULED, MeetingStatus.SELF_ARRANGED, MeetingStatus.FELL_THROUGH)


class MeetingChange(StrEnum):
    """The last thing someone did to a meeting (`meeting.change`, by `meeting.changed_by`)."""

    OFFERED = "offered"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    SELF_ARRANGED = "self_arranged"
    CANCELLED = "cancelled"
    MOVED = "moved"


class PlaceKind(StrEnum):
    ONSITE = "onsite"  # place: an address
    ONLINE = "online"  # place: a link
    OPEN = "open"  # asked, left open


def _changed(meeting: Any, by_person_id: int | None, change: MeetingChange) -> None:
    meeting.changed_by, meeting.change = by_person_id, change


def propose_times(meeting: Any, slots: list[datetime]) -> None:
    """The bot proposes times; any offer on the table is withdrawn."""
    _require(meeting, (MeetingStatus.NEGOTIATING,), "propose times")
    meeting.slots = [s.isoformat() for s in slots]
    meeting.offer_at, meeting.offer_by = None, None


def add_typed_time(meeting: Any, when: datetime) -> None:
    _require(meeting, (MeetingStatus.NEGOTIATING,), "offer a typed time")
    meeting.slots = [*(meeting.slots or []), when.isoformat()]


def offer_time(meeting: Any, by_person_id: int, when: datetime) -> TimeOffered:
    _require(meeting, (MeetingStatus.NEGOTIATING,), "offer a time")
    meeting.offer_at, meeting.offer_by = when, by_person_id
    _changed(meeting, by_person_id, MeetingChange.OFFERED)
    return TimeOffered(meeting.id, by_person_id, when)


def reject_offer(meeting: Any, by_person_id: int | None = None) -> None:
    _require(meeting, (MeetingStatus.NEGOTIATING,), "reject a time")
    if meeting.offer_at is None:
        raise InvalidTransition("reject a time: nothing offered")
    meeting.rejected = [*(meeting.rejected or []), meeting.offer_at.isoformat()]
    _changed(meeting, by_person_id, MeetingChange.REJECTED)


def confirm_time(meeting: Any, by_person_id: int | None = None) -> MeetingScheduled:
    _require(meeting, (MeetingStatus.NEGOTIATING,), "confirm a time")
    if meeting.offer_at is None:
        raise InvalidTransition("confirm a time: nothing offered")
    _changed(meeting, by_person_id, MeetingChange.CONFIRMED)
    meeting.starts_at, meeting.status = meeting.offer_at, MeetingStatus.SCHEDULED
    meeting.offer_at, meeting.offer_by = None, None
    meeting.sequence += 1
    return MeetingScheduled(meeting.id, meeting.starts_at)


def reschedule(meeting: Any, by_person_id: int) -> MeetingMoved:
    """A scheduled meeting goes back to choosing a time; the old one is not offered again."""
    _require(meeting, (MeetingStatus.SCHEDULED,), "reschedule")
    return _back_to_negotiating(meeting, by_person_id)


def moved_after_the_fact(meeting: Any, by_person_id: int) -> MeetingMoved:
    """Feedback said "we moved it": back to choosing a time."""
    _require(meeting, AFTER_MEETING, "move a meeting")
    return _back_to_negotiating(meeting, by_person_id)


def _back_to_negotiating(meeting: Any, by_person_id: int) -> MeetingMoved:
    old = meeting.starts_at
    if meeting.status == MeetingStatus.SCHEDULED and old is not None:
        meeting.rejected = [*(meeting.rejected or []), old.isoformat()]
    meeting.status, meeting.starts_at = MeetingStatus.NEGOTIATING, None
    _changed(meeting, by_person_id, MeetingChange.MOVED)
    return MeetingMoved(meeting.id, by_person_id, old)


def arrange_themselves(meeting: Any, by_person_id: int | None = None) -> MeetingSelfArranged:
    _require(meeting, OPEN_MEETING, "arrange it themselves")
    _changed(meeting, by_person_id, MeetingChange.SELF_ARRANGED)
    meeting.status, meeting.offer_at, meeting.offer_by = MeetingStatus.SELF_ARRANGED, None, None
    return MeetingSelfArranged(meeting.id)


def cancel_meeting(meeting: Any, by_person_id: int, *, by_deletion: bool = False) -> MeetingCancelled:
    """`by_deletion`: the person deletes their data (what is sent about it
    carries none of theirs but the name)."""
    _require(meeting, OPEN_MEETING, "cancel a meeting")
    was_scheduled = meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at is not None
    meeting.status = MeetingStatus.CANCELLED
    meeting.sequence += 1
    _changed(meeting, by_person_id, MeetingChange.CANCELLED)
    return MeetingCancelled(meeting.id, by_person_id, meeting.starts_at, was_scheduled, by_deletion)


def set_place(meeting: Any, by_person_id: int, kind: PlaceKind, place: str) -> MeetingPlaceSet:
    """Where the meeting is (an address on site, a link online). A meeting
    already in calendars gets a higher SEQUENCE: the new .ics updates the entry."""
    _require(meeting, OPEN_MEETING, "set the place")
    if kind not in (PlaceKind.ONSITE, PlaceKind.ONLINE) or not place:
        raise InvalidTransition(f"place: {kind!r} {place!r}")
    meeting.place_kind, meeting.place = kind, place
    scheduled = meeting.status == MeetingStatus.SCHEDULED
    if scheduled:
        meeting.sequence += 1
    return MeetingPlaceSet(meeting.id, by_person_id, scheduled)


def leave_place_open(meeting: Any) -> None:
    """Asked where, and skipped: not asked again (a place given earlier stays)."""
    if meeting.place_kind is None:
        meeting.place_kind = PlaceKind.OPEN


def mark_held(meeting: Any) -> None:
    """Someone said they met (the first "yes" counts; later answers change nothing)."""
    if meeting.status in AFTER_MEETING:
        meeting.status = MeetingStatus.HELD


def mark_fell_through(meeting: Any) -> None:
    if meeting.status in (MeetingStatus.SCHEDULED, MeetingStatus.SELF_ARRANGED):
        meeting.status = MeetingStatus.FELL_THROUGH


# --- feedback after a meeting -------------------------------------------------------------------------

class FeedbackStep(StrEnum):
    MET = "met"
    RATING = "rating"
    CONTINUE = "continue"
    TEXT = "text"  # optional comment: never nudged, closed quietly
    DONE = "done"
    EXPIRED = "expired"  # no answer after the nudges (a late answer is still taken)
    VOID = "void"  # the meeting moved, or the other side is gone


QUESTIONS = (FeedbackStep.MET, FeedbackStep.RATING, FeedbackStep.CONTINUE, FeedbackStep.TEXT)
MET_ANSWERS = ("yes", "no", "moved")
CONTINUE_ANSWERS = ("yes", "maybe", "no")


def feedback_question(fb: Any) -> FeedbackStep:
    """The question a feedback row waits for (expired rows: the first unanswered)."""
    if fb.step in QUESTIONS:
        return FeedbackStep(fb.step)
    if fb.met is None:
        return FeedbackStep.MET
    if fb.met == "yes" and fb.rating is None:
        return FeedbackStep.RATING
    if fb.met == "yes" and fb.wants_to_continue is None:
        return FeedbackStep.CONTINUE
    return FeedbackStep.DONE


def _answering(fb: Any, question: FeedbackStep, now: datetime) -> None:
    if fb.step == FeedbackStep.VOID or feedback_question(fb) != question:
        raise InvalidTransition(f"answer {question}: the row waits for {feedback_question(fb)} ({fb.step})")
    fb.answered_at, fb.prompted_at, fb.nudges = now, now, 0


def answer_met(fb: Any, value: str, now: datetime) -> None:
    if value not in MET_ANSWERS:
        raise InvalidTransition(f"met: {value!r}")
    _answering(fb, FeedbackStep.MET, now)
    fb.met = value
    fb.step = {"yes": FeedbackStep.RATING, "no": FeedbackStep.DONE, "moved": FeedbackStep.VOID}[value]


def answer_rating(fb: Any, rating: int, now: datetime) -> None:
    if not 1 <= rating <= 5:
        raise InvalidTransition(f"rating {rating}")
    _answering(fb, FeedbackStep.RATING, now)
    fb.rating, fb.step = rating, FeedbackStep.CONTINUE


def answer_continue(fb: Any, value: str, now: datetime) -> None:
    if value not in CONTINUE_ANSWERS:
        raise InvalidTransition(f"continue: {value!r}")
    _answering(fb, FeedbackStep.CONTINUE, now)
    fb.wants_to_continue, fb.step = value, FeedbackStep.TEXT


def finish_feedback(fb: Any, text: str | None = None, now: datetime | None = None) -> None:
    """The optional comment, or none (skipped, or closed after the wait)."""
    if text is not None:
        fb.text, fb.answered_at = text, now
    fb.step = FeedbackStep.DONE


def expire_feedback(fb: Any) -> None:
    fb.step = FeedbackStep.EXPIRED


def void_feedback(fb: Any) -> None:
    fb.step = FeedbackStep.VOID


def counterpart_gone_feedback(fb: Any) -> None:
    """The other side deleted their data: what this person answered stays
    theirs; a question still open closes (the optional comment as skipped,
    anything else as void). Finished rows keep their step."""
    if fb.step == FeedbackStep.TEXT:
        finish_feedback(fb)
    elif fb.step in QUESTIONS:
        void_feedback(fb)


def nudged(row: Any, now: datetime) -> None:
    """A question (feedback, outcome) was asked again."""
    row.nudges += 1
    row.prompted_at = now


def bad_experience(fb: Any) -> bool:
    """Rated 2 or less, or does not want to go on: never suggested again."""
    return (fb.rating is not None and fb.rating <= 2) or fb.wants_to_continue == "no"


# --- outcome follow-ups ----------------------------------------------------------------------------------

class OutcomeStatus(StrEnum):
    DUE = "due"
    ASKED = "asked"
    ANSWERED = "answered"
    EXPIRED = "expired"
    VOID = "void"


OUTCOMES = ("nothing", "idea", "project", "contract", "funding")


def ask_outcome(oc: Any, now: datetime) -> None:
    _require(oc, (OutcomeStatus.DUE,), "ask for an outcome")
    oc.status, oc.asked_at, oc.prompted_at = OutcomeStatus.ASKED, now, now


def answer_outcome(oc: Any, answer: str, now: datetime) -> None:
    if answer not in OUTCOMES:
        raise InvalidTransition(f"outcome {answer!r}")
    _require(oc, (OutcomeStatus.ASKED, OutcomeStatus.EXPIRED), "answer an outcome")
    oc.status, oc.answer, oc.answered_at = OutcomeStatus.ANSWERED, answer, now


def expire_outcome(oc: Any) -> None:
    oc.status = OutcomeStatus.EXPIRED


def void_outcome(oc: Any) -> None:
    oc.status = OutcomeStatus.VOID


def counterpart_gone_outcome(oc: Any) -> None:
    """The other side deleted their data: an answer given stays; a question
    not answered yet will not be asked (any more)."""
    if oc.status in (OutcomeStatus.DUE, OutcomeStatus.ASKED):
        void_outcome(oc)
