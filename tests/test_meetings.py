"""Introductions, scheduling, meetings and reminders: the same scenarios on the
core (SQLite, PostgreSQL) and through the emulator with aiogram and PTB."""
from __future__ import annotations

import pytest

from tests import scenarios_meetings as sm
from tests.conftest import make_settings
from tests.harness import CoreHarness, EmulatorHarness, running_emulator_harness

# Reminders 2 days and 1 day before, waits divided by 50,000: for a meeting six
# days ahead they come after ~7 s and ~8.6 s, with 3.5 s / 1.7 s of grace if the
# bot is down at that moment (the grace ends when the meeting starts, scaled too).
MEETING_SETTINGS = {"reminder_offsets": "2d,1d", "time_factor": 50_000}
ALL = sm.FAST + sm.TIMED


@pytest.fixture
async def core_harness(database_url: str):
    h = CoreHarness(make_settings(database_url, **MEETING_SETTINGS))
    await h.start()
    yield h
    await h.stop()


@pytest.fixture(params=["aiogram", "ptb"])
async def emulator_harness(request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    async with running_emulator_harness(make_settings(sqlite_url, **MEETING_SETTINGS), request.param, monkeypatch) as h:
        yield h


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.__name__)
async def test_on_core(core_harness: CoreHarness, scenario) -> None:
    await scenario(core_harness)


@pytest.mark.parametrize("scenario", ALL, ids=lambda s: s.__name__)
async def test_through_telegram(emulator_harness: EmulatorHarness, scenario) -> None:
    await scenario(emulator_harness)


async def test_a_reminder_job_that_runs_twice_sends_once(core_harness: CoreHarness) -> None:
    """A crash between sending and removing the job makes APScheduler run it
    again after the restart: the second run must send nothing."""
    from sqlalchemy import select

    from db.models import Meeting

    company, creative = await sm.introduced_pair(core_harness)
    await company.press("📅")
    await creative.press("Works")
    async with core_harness.sessions() as s:
        meeting = (await s.execute(select(Meeting))).scalar_one()
    first = await core_harness.core.reminder_reply(meeting.id, "1h", meeting.starts_at)
    again = await core_harness.core.reminder_reply(meeting.id, "1h", meeting.starts_at)
    assert {m.chat_id for m in first.messages} == {1101, 2101}
    assert again.messages == []
    # A reminder for a time the meeting no longer has (it moved) sends nothing.
    from datetime import timedelta

    stale = await core_harness.core.reminder_reply(meeting.id, "2h", meeting.starts_at + timedelta(days=1))
    assert stale.messages == []


async def test_both_sides_say_yes_at_the_same_moment(core_harness: CoreHarness) -> None:
    """Both answers race (on PostgreSQL they run in parallel transactions): the
    pair must still be introduced exactly once."""
    import asyncio

    from sqlalchemy import func, select

    from db.models import Meeting, Pair

    company = await sm.onboard(core_harness, 1401, lang="de", side="production", name="Uta Seifert",
                               text=sm.COMPANY_CHALLENGE, days=("Di",), window="vormittags")
    creative = await sm.onboard(core_harness, 2401, lang="en", side="creative", name="Ben Okafor",
                                text=sm.PHOTOGRAPHER, days=("Tue",), window="mornings")
    await company.say("/matches")
    assert "Ben Okafor" in company.last.text and "Uta Seifert" in creative.last.text
    await asyncio.gather(company.press("Interessiert"), creative.press("Interested"))
    async with core_harness.sessions() as s:
        pairs = (await s.execute(select(Pair))).scalars().all()
        meetings = (await s.execute(select(func.count()).select_from(Meeting))).scalar_one()
    assert len(pairs) == 1 and pairs[0].status == "introduced" and meetings == 1
    assert sum("Ihr möchtet euch beide kennenlernen" in m.text for m in company.messages) == 1
    assert sum("You'd both like to meet" in m.text for m in creative.messages) == 1
