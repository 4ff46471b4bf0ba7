"""The fuzz tests' world: built once per module with the real conversations."""
from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.config import make_settings


@pytest.fixture(scope="module")
def world_loop() -> Any:
    from handlers.suggestions import MatchingService

    loop = asyncio.new_event_loop()
    directory = Path(tempfile.mkdtemp(prefix="crosslab-fuzz-world-"))
    matching = MatchingService(make_settings("sqlite+aiosqlite:///x.sqlite3").embedding_model)
    try:
        from tests.fuzz.test_core_stateful import build_world

        world = loop.run_until_complete(build_world(directory, matching))
        yield loop, world, matching
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        loop.close()
