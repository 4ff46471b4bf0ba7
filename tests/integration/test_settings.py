"""Settings: malformed values stop start-up with one clear sentence."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.settings import SettingsError, load_settings


@pytest.mark.parametrize("override, fragment", [
    ({"telegram_bot_token": "not-a-token"}, "TELEGRAM_BOT_TOKEN looks malformed"),
    ({"telegram_api_url": "ftp://example.org"}, "TELEGRAM_API_URL must be an http(s) URL"),
    ({"database_url": "nonsense"}, "DATABASE_URL is not a database URL"),
    ({"database_url": "mysql://x@y/z"}, "DATABASE_URL must point to SQLite or PostgreSQL"),
    ({"admin_ids": "12,abc"}, "ADMIN_IDS must be Telegram user ids"),
    ({"timezone": "Mars/Olympus"}, "TIMEZONE 'Mars/Olympus' is not a known time zone"),
    ({"reminder_offsets": "soon"}, "REMINDER_OFFSETS must look like 24h,1h"),
    ({"processed_updates_keep": "12h"}, "PROCESSED_UPDATES_KEEP must be at least 1d"),
    ({"processed_updates_keep": "7d,8d"}, "PROCESSED_UPDATES_KEEP must look like 7d"),
    ({"send_rate": 0}, "SEND_RATE must be positive"),
    ({"send_chat_rate": -1}, "SEND_CHAT_RATE must be positive"),
    ({"send_chat_burst": 0}, "SEND_CHAT_BURST must be 1 or more"),
    ({"outbox_max_attempts": 0}, "OUTBOX_MAX_ATTEMPTS must be 1 or more"),
])
def test_malformed_settings_are_one_sentence(override: dict, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **override)
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.endswith(".")


def test_defaults_and_normalisation() -> None:
    s = load_settings(_env_file=None, database_url="postgresql://u@h/db", admin_ids="1, 2 3",
                      telegram_api_url="http://127.0.0.1:8081/")
    assert s.database_url == "postgresql+asyncpg://u@h/db"
    assert s.admin_ids == frozenset({1, 2, 3})
    assert s.telegram_api_url == "http://127.0.0.1:8081"
    assert s.bot_framework == "aiogram" and s.default_language == "de" and s.timezone == "Europe/Berlin"
    assert s.updates_kept_for == timedelta(days=7)
    assert load_settings(_env_file=None, processed_updates_keep="30d").updates_kept_for == timedelta(days=30)


@pytest.mark.parametrize("env, fragment", [
    ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "123"}, "TELEGRAM_BOT_TOKEN looks malformed"),
    ({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", "TELEGRAM_API_URL": "http://127.0.0.1:9"},
     "Cannot talk to the Telegram Bot API"),
])
def test_crosslab_run_stops_with_one_sentence(tmp_path, env: dict, fragment: str) -> None:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL"))}
    full_env.update({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **env})
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=full_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
