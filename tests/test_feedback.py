"""Feedback, nudges, follow-ups, hand-over and figures: the same scenarios on
the core (SQLite, PostgreSQL) and through the emulator with aiogram and PTB."""
from __future__ import annotations

import pytest

from tests import scenarios_feedback as sf
from tests.conftest import make_settings
from tests.harness import CoreHarness, EmulatorHarness, running_emulator_harness


@pytest.fixture
async def core_harness(database_url: str):
    h = CoreHarness(make_settings(database_url))
    await h.start()
    yield h
    await h.stop()


@pytest.fixture(params=["aiogram", "ptb"])
async def emulator_harness(request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    async with running_emulator_harness(make_settings(sqlite_url), request.param, monkeypatch) as h:
        yield h


@pytest.mark.parametrize("scenario", sf.ALL, ids=lambda s: s.__name__)
async def test_on_core(core_harness: CoreHarness, scenario) -> None:
    await scenario(core_harness)


@pytest.mark.parametrize("scenario", sf.ALL, ids=lambda s: s.__name__)
async def test_through_telegram(emulator_harness: EmulatorHarness, scenario) -> None:
    await scenario(emulator_harness)


async def test_the_running_bot_sweeps_by_itself(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No explicit sweep: the app's scheduler runs one every SWEEP_SECONDS."""
    settings = make_settings(sqlite_url, sweep_seconds=0.3)
    async with running_emulator_harness(settings, "aiogram", monkeypatch) as h:
        company, creative, meeting = await sf.scheduled_meeting(h)
        h.set_time(sf._after_meeting(meeting))
        await h.emu.wait_until(lambda: sf.ASK_DE in company.last.text and sf.ASK_EN in creative.last.text, 15,
                               "the feedback questions from the periodic sweep")
        await company.press("Ja, wir haben")
        assert "Wie hilfreich" in company.last.text
