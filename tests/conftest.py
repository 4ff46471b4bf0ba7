"""Shared fixtures.

`harness`: one fixture for every scenario, parametrised over the core on
SQLite, the core on PostgreSQL (when TEST_DATABASE_URL is set), and the real
bot on aiogram and on PTB through the Bot API emulator (a test may ask for
"aiogram-webhook" or "ptb-webhook" by indirect parametrisation: the emulator
then posts to the bot's webhook). Settings a test needs
come from its `settings` marker, e.g. ``@pytest.mark.settings(time_factor=50_000)``.
`core_harness`: the core alone on each database; `database_url`: a fresh
database on each.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

from tests.support.config import DATABASES, HARNESSES, database_for, make_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**values): settings for the harness fixtures")


def _marked_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("settings")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return await database_for(request.param, tmp_path)


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await database_for("sqlite", tmp_path)


@pytest.fixture(params=HARNESSES)
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    from tests.support.harness import CoreHarness, running_emulator_harness

    kind: str = request.param
    if kind.startswith("core-"):
        h = CoreHarness(make_settings(await database_for(kind.removeprefix("core-"), tmp_path),
                                      **_marked_settings(request)))
        await h.start()
        try:
            yield h
        finally:
            await h.stop()
        return
    settings = make_settings(await database_for("sqlite", tmp_path), **_marked_settings(request))
    framework, _, mode = kind.partition("-")  # "aiogram", "ptb-webhook", ...
    async with running_emulator_harness(settings, framework, mode=mode or "polling") as h:
        yield h


@pytest.fixture
async def core_harness(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Any]:
    from tests.support.harness import CoreHarness

    h = CoreHarness(make_settings(database_url, **_marked_settings(request)))
    await h.start()
    try:
        yield h
    finally:
        await h.stop()
