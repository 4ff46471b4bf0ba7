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
    # webhook mode
    ({"webhook_url": "https://bot.example.org/tg"}, "WEBHOOK_SECRET is required with WEBHOOK_URL"),
    ({"webhook_url": "https://bot.example.org/tg", "webhook_secret": "   "}, "WEBHOOK_SECRET is required"),
    ({"webhook_url": "https://bot.example.org/tg", "webhook_secret": "has space"},
     "WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -"),
    ({"webhook_url": "https://bot.example.org/tg", "webhook_secret": "geheim!"}, "WEBHOOK_SECRET must be 1 to 256"),
    ({"webhook_url": "https://bot.example.org/tg", "webhook_secret": "a" * 257}, "WEBHOOK_SECRET must be 1 to 256"),
    ({"webhook_url": "https://bot.example.org/tg", "webhook_secret": "ünïcode"}, "WEBHOOK_SECRET must be 1 to 256"),
    ({"webhook_url": "bot.example.org/tg", "webhook_secret": "s"}, "WEBHOOK_URL must be an https URL"),
    ({"webhook_url": "ftp://bot.example.org/tg", "webhook_secret": "s"}, "WEBHOOK_URL must be an https URL"),
    ({"webhook_url": "http://bot.example.org/tg", "webhook_secret": "s"}, "WEBHOOK_URL must start with https://"),
    ({"webhook_url": "https://bot.example.org:8080/tg", "webhook_secret": "s"},
     "WEBHOOK_URL must use port 443, 80, 88 or 8443"),
    ({"webhook_url": "https://bot.example.org:x/tg", "webhook_secret": "s"}, "WEBHOOK_URL has an invalid port"),
    ({"webhook_url": "https://bot.example.org/healthz", "webhook_secret": "s"}, "WEBHOOK_URL's path must not be /healthz"),
    ({"webhook_url": "https://bot.example.org/tg#x", "webhook_secret": "s"}, "WEBHOOK_URL must not contain a #fragment"),
    ({"webhook_listen": "8080"}, "WEBHOOK_LISTEN must be host:port"),
    ({"webhook_listen": "0.0.0.0:http"}, "WEBHOOK_LISTEN must be host:port"),
    ({"webhook_listen": "0.0.0.0:70000"}, "WEBHOOK_LISTEN must be host:port"),
    ({"webhook_listen": ":8080"}, "WEBHOOK_LISTEN must be host:port"),
    ({"webhook_max_connections": 0}, "WEBHOOK_MAX_CONNECTIONS must be between 1 and 100"),
    ({"webhook_max_connections": 101}, "WEBHOOK_MAX_CONNECTIONS must be between 1 and 100"),
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


def test_webhook_settings() -> None:
    polling = load_settings(_env_file=None)
    assert not polling.webhook_mode and polling.webhook_address == ("0.0.0.0", 8080)
    s = load_settings(_env_file=None, webhook_url=" https://bot.example.org:8443/telegram/hook ",
                      webhook_secret="A-z_09-" * 4, webhook_listen="[::]:9000")
    assert s.webhook_mode and s.webhook_url == "https://bot.example.org:8443/telegram/hook"
    assert s.webhook_path == "/telegram/hook" and s.webhook_address == ("::", 9000)
    assert s.webhook_max_connections == 40
    assert "A-z_09-" not in repr(s)  # the secret is not in the settings' repr
    assert load_settings(_env_file=None, webhook_url="https://bot.example.org",
                         webhook_secret="x").webhook_path == "/"
    # a local Bot API server (or the emulator) posts over plain http, to any port
    local = load_settings(_env_file=None, telegram_api_url="http://127.0.0.1:8081",
                          webhook_url="http://bot:8080/hook", webhook_secret="s" * 256)
    assert local.webhook_mode and local.webhook_address == ("0.0.0.0", 8080)


@pytest.mark.parametrize("env, fragment", [
    ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN is not set"),
    ({"TELEGRAM_BOT_TOKEN": "123"}, "TELEGRAM_BOT_TOKEN looks malformed"),
    ({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", "DATABASE_URL": "nonsense"}, "DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", "TELEGRAM_API_URL": "http://127.0.0.1:9"},
     "Cannot talk to the Telegram Bot API"),
    ({"TELEGRAM_BOT_TOKEN": "123456:abcdefghijklmnopqrstuvwxyz", "WEBHOOK_URL": "https://bot.example.org/tg"},
     "WEBHOOK_SECRET is required with WEBHOOK_URL"),
])
def test_crosslab_run_stops_with_one_sentence(tmp_path, env: dict, fragment: str) -> None:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_"))}
    full_env.update({"DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", **env})
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=full_env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert fragment in proc.stderr and "Traceback" not in proc.stderr
