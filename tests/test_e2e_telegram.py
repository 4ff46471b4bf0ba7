"""The same conversation scenarios through the Bot API emulator over real HTTP,
with the real aiogram and python-telegram-bot code."""
from __future__ import annotations

import pytest

from tests import scenarios
from tests.conftest import make_settings
from tests.harness import EmulatorHarness, running_emulator_harness

FRAMEWORKS = ["aiogram", "ptb"]


@pytest.fixture(params=FRAMEWORKS)
async def harness(request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    async with running_emulator_harness(make_settings(sqlite_url), request.param, monkeypatch) as h:
        yield h


@pytest.mark.parametrize("scenario", scenarios.ALL, ids=lambda s: s.__name__)
async def test_scenario(harness: EmulatorHarness, scenario) -> None:
    await scenario(harness)


async def test_commands_registered_in_both_languages(harness: EmulatorHarness) -> None:
    de = harness.emu.visible_commands(1, "de")
    en = harness.emu.visible_commands(1, "en")
    assert {c["command"] for c in de} == {c["command"] for c in en} >= {"start", "profile", "mydata", "delete", "help"}
    assert next(c for c in de if c["command"] == "delete")["description"] != next(
        c for c in en if c["command"] == "delete")["description"]


async def test_duplicate_delivery_is_ignored(harness: EmulatorHarness) -> None:
    chat = harness.chat(9201, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    await chat.say("Doppelt Gemoppelt")
    count = len(chat.messages)
    new = await chat.redeliver_last()
    assert new == [] and len(chat.messages) == count
    assert (await harness.state(9201)).step == "side"
