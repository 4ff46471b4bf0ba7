"""What only the real bot shows, through the Bot API emulator over real HTTP
with the real aiogram and python-telegram-bot code (the scenarios run there
too: tests/scenarios)."""
from __future__ import annotations

import pytest

from tests.scenarios import feedback as sf
from tests.support.config import make_settings
from tests.support.harness import EmulatorHarness, running_emulator_harness


@pytest.fixture(params=["aiogram", "ptb"])
async def bot(request: pytest.FixtureRequest, sqlite_url: str):
    async with running_emulator_harness(make_settings(sqlite_url), request.param) as h:
        yield h


async def test_commands_registered_in_both_languages(bot: EmulatorHarness) -> None:
    de = bot.emu.visible_commands(1, "de")
    en = bot.emu.visible_commands(1, "en")
    assert {c["command"] for c in de} == {c["command"] for c in en} >= {"start", "profile", "mydata", "delete", "help"}
    assert next(c for c in de if c["command"] == "delete")["description"] != next(
        c for c in en if c["command"] == "delete")["description"]


async def test_duplicate_delivery_is_ignored(bot: EmulatorHarness) -> None:
    chat = bot.chat(9201, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    await chat.say("Doppelt Gemoppelt")
    count = len(chat.messages)
    new = await chat.redeliver_last()
    assert new == [] and len(chat.messages) == count
    assert (await bot.state(9201)).step == "side"


async def test_the_running_bot_sweeps_by_itself(sqlite_url: str) -> None:
    """No explicit sweep: the app's scheduler runs one every SWEEP_SECONDS."""
    settings = make_settings(sqlite_url, sweep_seconds=0.3)
    async with running_emulator_harness(settings, "aiogram") as h:
        company, creative, meeting = await sf.scheduled_meeting(h)
        h.set_time(sf._after_meeting(meeting))
        await h.emu.wait_until(lambda: sf.ASK_DE in company.last.text and sf.ASK_EN in creative.last.text, 15,
                               "the feedback questions from the periodic sweep")
        await company.press("Ja, wir haben")
        assert "Wie hilfreich" in company.last.text
