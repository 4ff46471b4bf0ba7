"""The rules in `domain.model`, on plain objects: no chat, no database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from domain import model
from domain.events import MeetingCancelled, MeetingMoved, MeetingScheduled, MeetingSelfArranged, PairIntroduced, TimeOffered
from domain.model import CardAnswer, CardStatus, FeedbackStep, InvalidTransition, MeetingStatus, OutcomeStatus, PairStatus

T0 = datetime(2027, 3, 4, 9, 0, tzinfo=timezone.utc)


@dataclass
class FakeCard:
    status: str = CardStatus.PENDING
    score: float = 0.5
    shown_at: datetime | None = None
    answered_at: datetime | None = None
    nudges: int = 0
    nudged_at: datetime | None = None


@dataclass
class FakePair:
    id: int = 7
    company_id: int = 1
    creative_id: int = 2
    company_answer: str | None = None
    creative_answer: str | None = None
    status: str = PairStatus.OPEN
    introduced_at: datetime | None = None


@dataclass
class FakeMeeting:
    id: int = 3
    status: str = MeetingStatus.NEGOTIATING
    starts_at: datetime | None = None
    offer_at: datetime | None = None
    offer_by: int | None = None
    slots: list[str] | None = None
    rejected: list[str] | None = None
    sequence: int = 0
    place_kind: str | None = None
    place: str | None = None
    changed_by: int | None = None
    change: str | None = None


@dataclass
class FakeFeedback:
    step: str = FeedbackStep.MET
    met: str | None = None
    rating: int | None = None
    wants_to_continue: str | None = None
    text: str | None = None
    answered_at: datetime | None = None
    prompted_at: datetime | None = None
    nudges: int = 1


@dataclass
class FakeOutcome:
    status: str = OutcomeStatus.DUE
    answer: str | None = None
    asked_at: datetime | None = None
    prompted_at: datetime | None = None
    answered_at: datetime | None = None
    nudges: int = 0
    extra: dict = field(default_factory=dict)


# --- cards ---------------------------------------------------------------------------------------

def test_a_card_is_shown_then_answered_once() -> None:
    card = FakeCard()
    model.show_card(card, T0)
    assert card.status == CardStatus.SHOWN and card.shown_at == T0
    model.answer_card(card, CardAnswer.LATER, T0 + timedelta(hours=1))
    assert card.status == CardStatus.NOT_NOW and card.answered_at == T0 + timedelta(hours=1)
    with pytest.raises(InvalidTransition):
        model.answer_card(card, CardAnswer.YES, T0)
    with pytest.raises(InvalidTransition):
        model.show_card(card, T0)  # only pending cards are shown


def test_ignored_cards_can_be_offered_again_and_interest_moves_a_card_up() -> None:
    card = FakeCard(status=CardStatus.SHOWN)
    model.ignore_card(card, T0)
    assert card.status == CardStatus.IGNORED
    model.reoffer_card(card, 0.9)
    assert card.status == CardStatus.PENDING and card.score == 0.9
    assert model.invite_back(card, 0.95) and card.score == pytest.approx(1.95)
    answered = FakeCard(status=CardStatus.DECLINED)
    assert not model.invite_back(answered, 0.9) and answered.status == CardStatus.DECLINED
    with pytest.raises(InvalidTransition):
        model.reoffer_card(FakeCard(status=CardStatus.INTERESTED), 0.5)


# --- pairs -----------------------------------------------------------------------------------------

def test_two_yes_introduce_once() -> None:
    pair = FakePair()
    assert model.record_pair_answer(pair, 1, True, T0) is None
    assert pair.status == PairStatus.OPEN and pair.company_answer == "interested"
    assert model.record_pair_answer(pair, 2, True, T0) == PairIntroduced(7)
    assert pair.status == PairStatus.INTRODUCED and pair.introduced_at == T0
    assert model.record_pair_answer(pair, 2, True, T0) is None  # never twice


def test_one_no_closes_the_pair_and_strangers_are_refused() -> None:
    pair = FakePair(creative_answer="interested")
    assert model.record_pair_answer(pair, 1, False, T0) is None
    assert pair.status == PairStatus.DECLINED and pair.company_answer == "declined"
    with pytest.raises(InvalidTransition):
        model.record_pair_answer(pair, 99, True, T0)
    assert model.other_id(pair, 1) == 2 and model.other_id(pair, 2) == 1


# --- meetings -------------------------------------------------------------------------------------

def test_offer_confirm_reschedule_cancel() -> None:
    meeting = FakeMeeting()
    model.propose_times(meeting, [T0, T0 + timedelta(days=1)])
    assert meeting.slots == [T0.isoformat(), (T0 + timedelta(days=1)).isoformat()]
    assert model.offer_time(meeting, 1, T0) == TimeOffered(3, 1, T0)
    assert model.confirm_time(meeting) == MeetingScheduled(3, T0)
    assert meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at == T0 and meeting.sequence == 1
    assert meeting.offer_at is None and meeting.offer_by is None
    with pytest.raises(InvalidTransition):
        model.confirm_time(meeting)
    assert model.reschedule(meeting, 2) == MeetingMoved(3, 2, T0)
    assert meeting.status == MeetingStatus.NEGOTIATING and meeting.starts_at is None
    assert meeting.rejected == [T0.isoformat()]  # the old time is not proposed again
    assert model.cancel_meeting(meeting, 1) == MeetingCancelled(3, 1, None, False)
    assert meeting.status == MeetingStatus.CANCELLED and meeting.sequence == 2
    for change in (lambda: model.cancel_meeting(meeting, 1), lambda: model.arrange_themselves(meeting),
                   lambda: model.offer_time(meeting, 1, T0)):
        with pytest.raises(InvalidTransition):
            change()


def test_every_change_records_who_made_it() -> None:
    """Issue 10.19: a late button can say who did what."""
    meeting = FakeMeeting()
    model.offer_time(meeting, 1, T0)
    assert (meeting.changed_by, meeting.change) == (1, model.MeetingChange.OFFERED)
    model.reject_offer(meeting, 2)
    assert (meeting.changed_by, meeting.change) == (2, model.MeetingChange.REJECTED)
    model.offer_time(meeting, 2, T0 + timedelta(days=1))
    model.confirm_time(meeting, 1)
    assert (meeting.changed_by, meeting.change) == (1, model.MeetingChange.CONFIRMED)
    model.reschedule(meeting, 2)
    assert (meeting.changed_by, meeting.change) == (2, model.MeetingChange.MOVED)
    model.arrange_themselves(meeting, 1)
    assert (meeting.changed_by, meeting.change) == (1, model.MeetingChange.SELF_ARRANGED)
    other = FakeMeeting()
    model.cancel_meeting(other, 2)
    assert (other.changed_by, other.change) == (2, model.MeetingChange.CANCELLED)


def test_the_place_of_a_meeting() -> None:
    """Issue 10.20: a place given while negotiating changes no calendar entry;
    one given for a scheduled meeting raises the SEQUENCE (a new .ics follows)."""
    from domain.events import MeetingPlaceSet

    meeting = FakeMeeting()
    model.leave_place_open(meeting)
    assert meeting.place_kind == model.PlaceKind.OPEN
    assert model.set_place(meeting, 1, model.PlaceKind.ONSITE, "Werkstraße 5") == MeetingPlaceSet(3, 1, False)
    assert (meeting.place_kind, meeting.place, meeting.sequence) == ("onsite", "Werkstraße 5", 0)
    model.leave_place_open(meeting)  # a place given stays
    assert meeting.place_kind == "onsite"
    scheduled = FakeMeeting(status=MeetingStatus.SCHEDULED, starts_at=T0, sequence=1)
    assert model.set_place(scheduled, 2, model.PlaceKind.ONLINE, "https://meet.example.org/x") == MeetingPlaceSet(3, 2, True)
    assert scheduled.sequence == 2
    with pytest.raises(InvalidTransition):
        model.set_place(scheduled, 2, model.PlaceKind.OPEN, "x")
    with pytest.raises(InvalidTransition):
        model.set_place(FakeMeeting(status=MeetingStatus.CANCELLED), 1, model.PlaceKind.ONSITE, "x")


def test_rejecting_needs_an_offer_and_remembers_it() -> None:
    meeting = FakeMeeting()
    with pytest.raises(InvalidTransition):
        model.reject_offer(meeting)
    model.offer_time(meeting, 2, T0)
    model.reject_offer(meeting)
    assert meeting.rejected == [T0.isoformat()]


def test_a_scheduled_meeting_cancelled_says_so_for_the_calendars() -> None:
    meeting = FakeMeeting(status=MeetingStatus.SCHEDULED, starts_at=T0, sequence=1)
    assert model.cancel_meeting(meeting, 2) == MeetingCancelled(3, 2, T0, True)
    assert meeting.sequence == 2


def test_after_the_meeting() -> None:
    arranged = FakeMeeting(status=MeetingStatus.SCHEDULED, offer_at=T0, offer_by=1)
    assert model.arrange_themselves(arranged) == MeetingSelfArranged(3)
    assert arranged.status == MeetingStatus.SELF_ARRANGED and arranged.offer_at is None
    model.mark_fell_through(arranged)
    assert arranged.status == MeetingStatus.FELL_THROUGH
    model.mark_held(arranged)  # the other side says they met after all
    assert arranged.status == MeetingStatus.HELD
    model.mark_fell_through(arranged)  # a later "no" changes nothing
    assert arranged.status == MeetingStatus.HELD
    moved = FakeMeeting(status=MeetingStatus.SCHEDULED, starts_at=T0)
    assert model.moved_after_the_fact(moved, 1) == MeetingMoved(3, 1, T0)
    assert moved.status == MeetingStatus.NEGOTIATING and moved.rejected == [T0.isoformat()]
    with pytest.raises(InvalidTransition):
        model.moved_after_the_fact(FakeMeeting(status=MeetingStatus.CANCELLED), 1)


# --- feedback and outcomes -----------------------------------------------------------------------

def test_feedback_questions_in_order() -> None:
    fb = FakeFeedback()
    assert model.feedback_question(fb) == FeedbackStep.MET
    with pytest.raises(InvalidTransition):
        model.answer_rating(fb, 4, T0)  # not the question asked
    model.answer_met(fb, "yes", T0)
    assert fb.step == FeedbackStep.RATING and fb.nudges == 0 and fb.answered_at == T0
    model.answer_rating(fb, 2, T0)
    model.answer_continue(fb, "maybe", T0)
    assert fb.step == FeedbackStep.TEXT and model.bad_experience(fb)
    model.finish_feedback(fb, "Gutes Gespräch", T0)
    assert fb.step == FeedbackStep.DONE and fb.text == "Gutes Gespräch"
    with pytest.raises(InvalidTransition):
        model.answer_rating(FakeFeedback(step=FeedbackStep.RATING, met="yes"), 6, T0)


def test_expired_feedback_still_takes_a_late_answer_but_void_does_not() -> None:
    fb = FakeFeedback()
    model.expire_feedback(fb)
    assert model.feedback_question(fb) == FeedbackStep.MET
    model.answer_met(fb, "no", T0)
    assert fb.step == FeedbackStep.DONE
    moved = FakeFeedback()
    model.answer_met(moved, "moved", T0)
    assert moved.step == FeedbackStep.VOID
    with pytest.raises(InvalidTransition):
        model.answer_met(moved, "yes", T0)


def test_outcomes() -> None:
    oc = FakeOutcome()
    with pytest.raises(InvalidTransition):
        model.answer_outcome(oc, "idea", T0)  # not asked yet
    model.ask_outcome(oc, T0)
    assert oc.status == OutcomeStatus.ASKED and oc.prompted_at == T0
    model.nudged(oc, T0 + timedelta(days=2))
    assert oc.nudges == 1 and oc.prompted_at == T0 + timedelta(days=2)
    model.expire_outcome(oc)
    model.answer_outcome(oc, "contract", T0 + timedelta(days=9))  # late, still taken
    assert oc.status == OutcomeStatus.ANSWERED and oc.answer == "contract"
    with pytest.raises(InvalidTransition):
        model.answer_outcome(FakeOutcome(status=OutcomeStatus.ASKED), "millions", T0)
