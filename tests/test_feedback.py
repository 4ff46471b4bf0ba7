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
