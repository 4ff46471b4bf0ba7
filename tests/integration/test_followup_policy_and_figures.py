"""Follow-up policy (quiet hours, nudge timing), figures, settings, and the
bot's use of what meetings taught the matcher."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.settings import SettingsError
from handlers.figures import compute, render
from domain.durations import parse_quiet_hours
from domain.policy import FollowupPolicy as Policy
from tests.scenarios import feedback as sf
from tests.support.config import make_settings
from tests.support.harness import CoreHarness

BERLIN = ZoneInfo("Europe/Berlin")


def _policy(**kw) -> Policy:
    return Policy.from_settings(make_settings("sqlite+aiosqlite:///:memory:", **kw))


def test_quiet_hours_parse_and_wrap_midnight() -> None:
    assert parse_quiet_hours("21:00-08:00") == (time(21), time(8))
    assert parse_quiet_hours("22-6") == (time(22), time(6))
    assert parse_quiet_hours("") is None
    for bad in ("21:00", "25:00-08:00", "8-8", "abends"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)
    p = _policy()
    local = lambda h, m=0: datetime(2026, 11, 21, h, m, tzinfo=BERLIN)  # noqa: E731
    assert p.quiet_now(local(21)) and p.quiet_now(local(23, 59)) and p.quiet_now(local(0)) and p.quiet_now(local(7, 59))
    assert not p.quiet_now(local(8)) and not p.quiet_now(local(20, 59)) and not p.quiet_now(local(12))
    day = _policy(quiet_hours="12:00-14:00")
    assert day.quiet_now(local(13)) and not day.quiet_now(local(14)) and not day.quiet_now(local(23))
    assert not _policy(quiet_hours="").quiet_now(local(3))


def test_nudges_grow_and_stop() -> None:
    p = _policy(nudge_intervals="4d,2d")  # given in any order; used shortest first
    assert p.nudges == (timedelta(days=2), timedelta(days=4))
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert p.nudge_due(t0, 0, t0 + timedelta(days=1)) is None
    assert p.nudge_due(t0, 0, t0 + timedelta(days=2)) == "nudge"
    assert p.nudge_due(t0, 1, t0 + timedelta(days=3)) is None
    assert p.nudge_due(t0, 1, t0 + timedelta(days=4)) == "nudge"
    assert p.nudge_due(t0, 2, t0 + timedelta(days=3)) is None
    assert p.nudge_due(t0, 2, t0 + timedelta(days=4)) == "give_up"
    assert p.nudge_due(None, 0, t0) is None
    none = _policy(nudge_intervals="")
    assert none.nudge_due(t0, 0, t0 + timedelta(days=2)) == "give_up"


@pytest.mark.parametrize("field,value", [("nudge_intervals", "1d,2d,3d"), ("nudge_intervals", "soon"),
                                         ("quiet_hours", "nachts"), ("feedback_delay", "1h,2h"),
                                         ("followup_after", "zwei Wochen"), ("ignored_limit", -1),
                                         ("sweep_seconds", 0)])
def test_bad_followup_settings_are_one_sentence(field: str, value: object) -> None:
    with pytest.raises(SettingsError) as err:
        make_settings("sqlite+aiosqlite:///:memory:", **{field: value})
    assert field.upper() in str(err.value) and "\n" not in str(err.value)


def test_figures_from_rows() -> None:
    m = lambda i, pair, status="scheduled", at=True: SimpleNamespace(  # noqa: E731
        id=i, pair_id=pair, status=status, starts_at=datetime(2026, 1, i, tzinfo=timezone.utc) if at else None)
    f = lambda meeting, met, rating=None, cont=None, text=None: SimpleNamespace(  # noqa: E731
        meeting_id=meeting, met=met, rating=rating, wants_to_continue=cont, text=text)
    o = lambda pair, stage, answer: SimpleNamespace(pair_id=pair, stage=stage, answer=answer)  # noqa: E731
    meetings = [m(1, 1, "held"), m(2, 2, "fell_through"), m(3, 3, "negotiating", at=False), m(4, 4, "held"),
                m(5, 5, "cancelled")]
    feedback = [f(1, "yes", 5, "yes", "Gut"), f(1, "yes", 3, "maybe"), f(2, "no"), f(2, None), f(4, "yes", 1, "no")]
    outcomes = [o(1, "14d", "idea"), o(1, "14d", "contract"), o(4, "14d", None), o(1, "90d", None)]
    fig = compute(meetings, feedback, outcomes, ["14d", "90d"])
    assert (fig.proposed, fig.scheduled, fig.cancelled, fig.held, fig.rated, fig.comments) == (5, 3, 1, 2, 2, 1)
    assert fig.average_rating == pytest.approx(3.0) and fig.ratings == 3
    assert (fig.continue_yes, fig.continue_maybe, fig.continue_no) == (1, 1, 1)
    assert fig.share_continue == pytest.approx(1 / 3)
    assert fig.stages[0].pairs == 2 and fig.stages[0].answered == 1 and fig.stages[0].answers["contract"] == 1
    assert fig.stages[1].answered == 0
    only = compute(meetings, feedback, outcomes, ["14d"], pair_ids={2})
    assert (only.proposed, only.held, only.rated, only.average_rating) == (1, 0, 0, None)
    text = render("en", fig)
    assert "Average rating: 3.0" in text and "📝 A contract 1" in text
    assert "Durchschnittliche Bewertung: 3,0" in render("de", fig)
    empty = render("en", compute([], [], [], ["14d"]))
    assert "Average rating: –" in empty


@pytest.fixture
async def core(database_url: str):
    h = CoreHarness(make_settings(database_url))
    await h.start()
    yield h
    await h.stop()


async def _learned(h: CoreHarness):
    from handlers.turn import Turn

    async with h.core.uow() as uow:
        return await h.core.services.matching.learned(Turn.system(h.core.services, uow))


@pytest.mark.parametrize("rating,cont,direction", [("5", "Yes", 1), ("1", "No", -1)])
async def test_feedback_teaches_the_matcher(core: CoreHarness, rating: str, cont: str, direction: int) -> None:
    model, bad = await _learned(core)  # cold start: nothing learned, nothing excluded
    assert model.is_empty() and bad == set()
    company, creative, meeting = await sf.scheduled_meeting(core)
    core.set_time(sf._after_meeting(meeting))
    await core.sweep()
    await creative.press("Yes, we met")
    await creative.press(rating)
    await creative.press(cont)
    model, bad = await _learned(core)
    assert model.n_observations == 1
    from handlers.suggestions import to_participant

    async with core.sessions() as s:
        from sqlalchemy import select

        from db.models import Person, Profile

        rows = {p.telegram_id: to_participant(p, pr) for p, pr in
                (await s.execute(select(Person, Profile).join(Profile, Profile.person_id == Person.id))).all()}
    adjustment = model.adjustment(rows[1101], rows[2101])
    assert adjustment * direction > 0
    assert bad == ({(rows[1101].id, rows[2101].id)} if direction < 0 else set())


async def test_a_sweep_handles_a_batch_and_the_next_the_rest(core: CoreHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeps are bounded (BATCH rows of each kind); what is left is sent by the
    next sweep, each question exactly once."""
    import handlers.followups as fu

    monkeypatch.setattr(fu, "BATCH", 1)
    company, creative, meeting = await sf.scheduled_meeting(core)
    core.set_time(sf._after_meeting(meeting))
    first = await core.sweep()
    second = await core.sweep()
    third = await core.sweep()
    assert (first["asked"], second["asked"], third["asked"]) == (1, 1, 0)
    assert sf.count(company, sf.ASK_DE) == 1 and sf.count(creative, sf.ASK_EN) == 1


async def test_no_follow_ups_for_someone_who_does_not_want_to_go_on(core: CoreHarness) -> None:
    from sqlalchemy import select

    from db.models import Outcome, Person

    company, creative, meeting = await sf.scheduled_meeting(core)
    core.set_time(sf._after_meeting(meeting))
    await core.sweep()
    for chat, answers in ((company, ("Ja, wir haben", "5", "Ja", "Überspringen")),
                          (creative, ("Yes, we met", "3", "No", "Skip"))):
        for label in answers:
            await chat.press(label)
    async with core.sessions() as s:
        ids = {p.telegram_id: p.id for p in (await s.execute(select(Person))).scalars()}
        rows = (await s.execute(select(Outcome))).scalars().all()
    assert {(r.person_id, r.stage, r.status) for r in rows} == {
        (ids[1101], "14d", "due"), (ids[1101], "90d", "due"), (ids[2101], "14d", "void"), (ids[2101], "90d", "void")}
    core.set_time(meeting.starts_at + timedelta(days=14, hours=1))
    await core.sweep()
    assert "Was ist bisher daraus geworden" in company.last.text
    assert "What has come of it" not in creative.last.text
