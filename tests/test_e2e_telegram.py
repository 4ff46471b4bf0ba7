"""The same conversation scenarios through the Bot API emulator over real HTTP,
with the real aiogram and python-telegram-bot code."""
from __future__ import annotations

import pytest

import bot.transport_aiogram
import bot.transport_ptb
from bot import delivery
from tests import scenarios
from tests.conftest import make_settings
from tests.harness import EmulatorHarness

FRAMEWORKS = ["aiogram", "ptb"]


@pytest.fixture(params=FRAMEWORKS)
async def harness(request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch):
    h = EmulatorHarness(make_settings(sqlite_url), request.param)

    async def recording_deliver(channel, reply, callback_id=None):
        try:
            await delivery.deliver(channel, reply, callback_id)
        finally:
            h.note_delivered(reply)

    monkeypatch.setattr(bot.transport_aiogram, "deliver", recording_deliver)
    monkeypatch.setattr(bot.transport_ptb, "deliver", recording_deliver)
    await h.start()
    yield h
    await h.stop()
    assert not h.emu.internal_errors


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
