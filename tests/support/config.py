"""Test settings and the database matrix: SQLite always, PostgreSQL too when
TEST_DATABASE_URL is set (its public schema is reset for each test)."""
from __future__ import annotations

import os

from sqlalchemy import text

from bot.settings import Settings, load_settings

TOKEN = "123456789:TEST-token-for-the-local-emulator_xyz"
ADMIN_ID = 900001

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
# Where scenarios run: the core alone on each database, and the real bot
# (aiogram, PTB) through the Bot API emulator over HTTP on SQLite.
HARNESSES = [f"core-{db}" for db in DATABASES] + ["aiogram", "ptb"]


async def reset_postgres(url: str) -> None:
    from db.engine import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def database_for(kind: str, tmp_path: os.PathLike[str]) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{os.path.join(tmp_path, 'crosslab-test.sqlite3')}"
    url = load_settings(_env_file=None, database_url=PG_URL).database_url
    await reset_postgres(url)
    return url


def make_settings(database_url: str, api_url: str = "http://127.0.0.1:9", **extra: object) -> Settings:
    extra.setdefault("sweep_seconds", 86400)  # tests sweep explicitly (harness.sweep)
    # Scenarios send several messages to one chat at once; the per-chat pace
    # (1/s with bursts of 3 by default) is tested on its own (test_outbox.py).
    extra.setdefault("send_chat_rate", 1000.0)
    extra.setdefault("send_rate", 1000.0)
    # Scenarios send many updates at machine speed; flood control is tested on
    # its own (tests/unit/test_flood.py, the flood scenario) with flood_burst set.
    extra.setdefault("flood_burst", 0)
    extra.setdefault("webhook_url", "")  # polling unless a harness asks for webhook mode
    return load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        telegram_api_url=api_url,
        database_url=database_url,
        admin_ids=str(ADMIN_ID),
        **extra,
    )
