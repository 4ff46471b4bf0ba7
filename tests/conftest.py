"""Shared fixtures.

Databases: every `database_url` test runs on SQLite, and again on PostgreSQL
when TEST_DATABASE_URL is set (its public schema is reset for each test).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.settings import Settings, load_settings

TOKEN = "123456789:TEST-token-for-the-local-emulator_xyz"
ADMIN_ID = 900001

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

_PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DB_PARAMS = ["sqlite"] + (["postgresql"] if _PG_URL else [])


async def reset_postgres(url: str) -> None:
    from db.engine import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=DB_PARAMS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'crosslab-test.sqlite3'}"
    url = load_settings(_env_file=None, database_url=_PG_URL).database_url
    await reset_postgres(url)
    return url


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'crosslab-test.sqlite3'}"


def make_settings(database_url: str, api_url: str = "http://127.0.0.1:9", **extra: object) -> Settings:
    extra.setdefault("sweep_seconds", 86400)  # tests sweep explicitly (harness.sweep)
    return load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_url=api_url,
        database_url=database_url,
        admin_ids=str(ADMIN_ID),
        **extra,
    )
