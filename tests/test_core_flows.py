"""The conversation scenarios on the core alone, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from tests import scenarios
from tests.conftest import make_settings
from tests.harness import CoreHarness


@pytest.fixture
async def harness(database_url: str):
    h = CoreHarness(make_settings(database_url))
    await h.start()
    yield h
    await h.stop()


@pytest.mark.parametrize("scenario", scenarios.ALL, ids=lambda s: s.__name__)
async def test_scenario(harness: CoreHarness, scenario) -> None:
    await scenario(harness)


async def test_duplicate_update_changes_nothing(harness: CoreHarness) -> None:
    from handlers.types import Incoming

    chat = harness.chat(9101, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    ev = Incoming(777001, chat.user, chat.user_id, "text", text="Doppelt Gemoppelt")
    first = await harness.core.handle(ev)
    second = await harness.core.handle(ev)
    assert first.messages and not second.messages and second.duplicate
    state = await harness.state(9101)
    assert state.step == "side"


async def test_username_change_is_picked_up_for_introductions(harness: CoreHarness) -> None:
    from dataclasses import replace

    chat = harness.chat(9301, "Nia", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    assert (await harness.person(9301)).username == "user9301"
    chat.user = replace(chat.user, username="nia_neu")
    await chat.say("Nia Neumann")
    assert (await harness.person(9301)).username == "nia_neu"
