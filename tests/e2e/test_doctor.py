"""`crosslab doctor` (bot/doctor.py): the real command against the Bot API
emulator and a real database, healthy and broken (wrong token, unreachable
database, malformed settings, a webhook at odds with the mode, messages that
failed), and its verdicts on migrations, the model, the clock and the webhook."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import text

from bot.doctor import ApiProbe, Check, clock_check, database_checks, model_check, webhook_check
from db.engine import create_engine
from db.migrate import upgrade
from db.models import OutboxMessage, utcnow
from emulator import BotAPIEmulator
from tests.support.config import TOKEN, make_settings

ROOT = Path(__file__).resolve().parents[2]


async def doctor(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, list[str]]:
    """Run `crosslab doctor` in a fresh process (no .env: cwd is tmp_path)."""
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DATABASE_URL", "ADMIN_IDS", "WEBHOOK_", "EMBEDDING_", "TIMEZONE"))}
    full.update({"PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **env})
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "doctor", *args, cwd=tmp_path,
                                                env=full, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert "Traceback" not in err.decode(), err.decode()
    lines = out.decode().splitlines()
    assert lines[0] == "Crosslab doctor"
    return proc.returncode or 0, lines[1:]


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config

    return str(ScriptDirectory.from_config(alembic_config()).get_current_head())


def line(lines: list[str], name: str) -> str:
    found = [ln for ln in lines if ln[2:].split("  ")[0].strip() == name]
    assert len(found) == 1, (name, lines)
    return found[0]


@pytest.fixture
async def emu() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(token=TOKEN) as emulator:  # any other token: 401
        yield emulator


async def migrated_sqlite(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crosslab.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


def env_for(emu: BotAPIEmulator, url: str, **extra: str) -> dict[str, str]:
    return {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url, "DATABASE_URL": url,
            "ADMIN_IDS": "900001", **extra}


@pytest.mark.slow
async def test_a_healthy_installation_is_all_ticks(tmp_path: Path, emu: BotAPIEmulator) -> None:
    code, lines = await doctor(tmp_path, env_for(emu, await migrated_sqlite(tmp_path)))
    assert code == 0, lines
    assert [ln[0] for ln in lines[:-1]] == ["✓"] * 7, lines
    assert lines[-1] == "all good"
    settings = line(lines, "settings")
    assert "TELEGRAM_BOT_TOKEN=(set)" in settings and "ADMIN_IDS=900001" in settings
    assert "TELEGRAM_API_URL=http://127.0.0.1:" in settings and "BOT_FRAMEWORK" not in settings  # defaults not listed
    assert TOKEN.split(":")[1] not in "\n".join(lines)
    assert f"migrations at head ({head_revision()})" in line(lines, "database") and "SQLite" in line(lines, "database")
    assert "0 pending, 0 sending" in line(lines, "outbox")
    model = line(lines, "model")
    assert "use-multilingual-v3 loaded offline in" in model and "MB memory" in model and "512 dimensions" in model
    assert "@crosslab_test_bot (id 123456789)" in line(lines, "bot api")
    assert "none set: polling mode; 0 update(s) waiting" in line(lines, "webhook")
    assert "TIMEZONE Europe/Berlin" in line(lines, "clock") and "within" in line(lines, "clock")


async def test_a_wrong_token_is_a_cross(tmp_path: Path, emu: BotAPIEmulator) -> None:
    wrong = "123456789:AAwrong-token-for-the-doctor-test_000"
    code, lines = await doctor(tmp_path, {**env_for(emu, await migrated_sqlite(tmp_path)),
                                          "TELEGRAM_BOT_TOKEN": wrong}, "--skip-model")
    assert code == 1
    api = line(lines, "bot api")
    assert api.startswith("✗") and "refused the token (401 Unauthorized)" in api and "@BotFather" in api
    assert line(lines, "webhook").startswith("–")
    assert line(lines, "database").startswith("✓") and line(lines, "model").startswith("–")
    assert line(lines, "clock").startswith("✓")  # a 401 has a Date header too
    assert lines[-1] == "1 problem(s), 0 warning(s)"
    assert "AAwrong-token" not in "\n".join(lines)


async def test_an_unreachable_database_is_a_cross(tmp_path: Path, emu: BotAPIEmulator) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"postgresql://crosslab:s3cret-db-password@127.0.0.1:{port}/crosslab"
    code, lines = await doctor(tmp_path, env_for(emu, url), "--skip-model")
    assert code == 1
    db = line(lines, "database")
    assert db.startswith("✗") and f"postgresql+asyncpg://crosslab:***@127.0.0.1:{port}/crosslab" in db
    assert "server runs" in db
    assert line(lines, "outbox").startswith("–")
    assert line(lines, "bot api").startswith("✓")  # the rest is still checked
    assert "s3cret-db-password" not in "\n".join(lines)


async def test_malformed_settings_are_one_cross(tmp_path: Path) -> None:
    code, lines = await doctor(tmp_path, {"TELEGRAM_BOT_TOKEN": TOKEN, "TIMEZONE": "Mars/Olympus"})
    assert code == 1
    assert lines == ["✗ settings    TIMEZONE 'Mars/Olympus' is not a known time zone (example: Europe/Berlin). "
                     "→ Correct it in .env or the environment (see .env.example)."]


async def test_warnings_alone_exit_zero(tmp_path: Path, emu: BotAPIEmulator) -> None:
    """A webhook left set although this configuration polls, a message that
    failed, no organisers: three "!" lines, exit code 0."""
    url = await migrated_sqlite(tmp_path)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(OutboxMessage.__table__.insert().values(
            chat_id=1, kind="message", priority=0, payload={"text": "x"}, status="failed", attempts=8,
            parts_done=0, in_doubt=False, created_at=utcnow()))
    await engine.dispose()
    status, _ = await emu.execute("setWebhook", {"url": "https://127.0.0.1:9/hook"}, TOKEN)
    assert status == 200
    env = env_for(emu, url)
    del env["ADMIN_IDS"]
    code, lines = await doctor(tmp_path, env, "--skip-model")
    assert code == 0, lines
    webhook = line(lines, "webhook")
    assert webhook.startswith("!") and "a webhook is set (https://127.0.0.1:9/hook)" in webhook
    assert "set WEBHOOK_URL if webhook mode was meant" in webhook
    assert line(lines, "outbox").startswith("!") and "1 failed" in line(lines, "outbox")
    assert line(lines, "organisers").startswith("!")
    assert lines[-1] == "0 problem(s), 3 warning(s)"


async def test_webhook_mode_with_failing_deliveries_is_a_warning(tmp_path: Path, emu: BotAPIEmulator) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hook = f"http://127.0.0.1:{port}/telegram"
    emu.webhook_retry_delay = 30.0
    await emu.execute("setWebhook", {"url": hook, "secret_token": "doctor-secret-1234"}, TOKEN)
    emu.add_user(5, "Ada")
    emu.send_text(5, "hallo")  # Telegram tries to deliver it: connection refused
    await emu.wait_until(lambda: bool((emu.webhook or {}).get("last_error_date")), 10, "a failed delivery")
    code, lines = await doctor(tmp_path, env_for(emu, await migrated_sqlite(tmp_path), WEBHOOK_URL=hook,
                                                 WEBHOOK_SECRET="doctor-secret-1234"), "--skip-model")
    assert code == 0, lines
    webhook = line(lines, "webhook")
    assert webhook.startswith("!") and f"Telegram calls {hook}; its last delivery failed 0 min ago" in webhook
    assert "Connection refused" in webhook and "1 update(s) waiting" in webhook
    assert "doctor-secret-1234" not in "\n".join(lines)


# -- the verdicts, one by one ---------------------------------------------------------------
async def test_migrations_behind_or_unknown(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    await upgrade(engine, "0009")
    await engine.dispose()
    db, outbox = await database_checks(make_settings(url))
    head = head_revision()
    assert db.status == "warn" and f"at migration 0009; {int(head) - 9} pending up to {head}" in db.summary
    assert "next start applies them" in db.advice and outbox.status == "skip"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    await engine.dispose()
    db, _ = await database_checks(make_settings(url))
    assert db.status == "fail" and "0099, which this version does not know" in db.summary
    db, _ = await database_checks(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'missing-dir' / 'x.sqlite3'}"))
    assert db.status == "fail" and "does not exist" in db.summary
    assert not (tmp_path / "missing-dir").exists()


@pytest.mark.slow
async def test_a_model_that_cannot_load_offline_is_a_cross(tmp_path: Path) -> None:
    settings = make_settings("sqlite+aiosqlite:///x.sqlite3",
                             embedding_model=f"sentence-transformers:{tmp_path / 'no-such-model'}")
    check = await model_check(settings, timeout=240)
    assert check.status == "fail" and "cannot be loaded offline" in check.summary, check
    assert "EMBEDDING_MODEL" in check.advice


async def test_a_model_that_takes_too_long_is_a_cross() -> None:
    check = await model_check(make_settings("sqlite+aiosqlite:///x.sqlite3"), timeout=0.05)
    assert check.status == "fail" and "did not load within 0 s" in check.summary


def test_clock_verdicts() -> None:
    s = make_settings("sqlite+aiosqlite:///x.sqlite3")
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)
    ok = clock_check(s, 0.8, now=winter)
    assert ok.status == "ok" and ok.summary.startswith("TIMEZONE Europe/Berlin: 13:00 CET (UTC+01:00)")
    assert clock_check(s, -12.0, now=winter).status == "warn"
    assert "12 s behind" in clock_check(s, -12.0, now=winter).summary
    late = clock_check(s, 400.0, now=winter)
    assert late.status == "fail" and "400 s ahead of" in late.summary and "NTP" in late.advice
    assert clock_check(s, None).status == "warn"
    summer = clock_check(make_settings("sqlite+aiosqlite:///x.sqlite3", timezone="America/St_Johns"), 0.0,
                         now=datetime(2026, 7, 1, 12, 0, tzinfo=timezone.utc))
    assert "(UTC-02:30)" in summer.summary


def test_webhook_verdicts() -> None:
    polling = make_settings("sqlite+aiosqlite:///x.sqlite3")
    hooked = polling.model_copy(update={"webhook_url": "https://bot.example.org/tg"})
    now = datetime(2026, 1, 15, 12, 0, tzinfo=timezone.utc)

    def probe(**info: Any) -> ApiProbe:
        return ApiProbe(Check("bot api", "ok", ""), reached=True, webhook=info)

    assert webhook_check(hooked, probe(url="", pending_update_count=3)).status == "warn"
    other = webhook_check(hooked, probe(url="https://old.example.org/tg"))
    assert other.status == "warn" and "not WEBHOOK_URL https://bot.example.org/tg" in other.summary
    good = webhook_check(hooked, probe(url="https://bot.example.org/tg", pending_update_count=2,
                                       last_error_date=int((now - timedelta(hours=3)).timestamp()),
                                       last_error_message="old"), now)
    assert good.status == "ok" and "2 update(s) waiting" in good.summary
    piling = webhook_check(hooked, probe(url="https://bot.example.org/tg", pending_update_count=500), now)
    assert piling.status == "warn" and "do not keep up" in piling.advice
    assert webhook_check(polling, ApiProbe(Check("bot api", "fail", ""))).status == "skip"
