"""`crosslab run` as operators run it, on both frameworks: LOG_FORMAT=json
gives one JSON object per stderr line with no token in any of them (PTB's
HTTP client logs request URLs), and METRICS_LISTEN serves the counters of
the updates it handled; SIGTERM (docker stop, systemctl stop) stops it
cleanly (before, under PTB it killed the process mid-way)."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from emulator import BotAPIEmulator
from tests.e2e.test_metrics import free_port
from tests.support.config import TOKEN

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_json_logs_and_metrics_of_a_running_bot(tmp_path: Path, framework: str) -> None:
    port = free_port()
    async with BotAPIEmulator(token=TOKEN) as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "LOG_"))}
        env.update({"PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url,
                    "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3", "BOT_FRAMEWORK": framework,
                    "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "METRICS_LISTEN": f"127.0.0.1:{port}"})
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert proc.stderr is not None
        reading = asyncio.ensure_future(proc.stderr.read())  # a full pipe would block the bot's logging
        try:
            emu.add_user(7001, "Klara", language_code="de")
            emu.send_text(7001, "/start")  # waits in the emulator until the bot polls
            await emu.wait_until(lambda: any("Datenschutz" in (m.text or "") for m in emu.sent(7001)), 60,
                                 "the welcome message")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    metrics = await resp.text()
            assert 'crosslab_updates_total{kind="command",result="ok"} 1.0' in metrics
            assert 'crosslab_outbox_sends_total{path="reply",result="sent"}' in metrics
            assert "crosslab_leader 1.0" in metrics
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
            err = await reading
    assert proc.returncode == 0, err.decode()[-2000:]
    stderr = err.decode()
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    messages = [r["message"] for r in records]
    assert any(m.startswith("Crosslab is running as @crosslab_test_bot") for m in messages)
    assert any(m.startswith("metrics: serving /metrics on 127.0.0.1:") for m in messages)
    assert any("bot<redacted>" in m for m in messages) or framework == "aiogram"  # PTB logs its URLs at DEBUG
    assert "stopped (SIGTERM)" in messages  # both frameworks poll with bot/polling.py: the app stops them
    assert "Scheduler has been shut down" in messages  # the leader's work stopped in order


async def test_a_taken_metrics_port_stops_the_start_with_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        async with BotAPIEmulator(token=TOKEN) as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "LOG_"))}
            env.update({"PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url,
                        "DATABASE_URL": f"sqlite:///{tmp_path}/bot.sqlite3", "METRICS_LISTEN": f"127.0.0.1:{port}"})
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "run", cwd=tmp_path, env=env,
                                                        stdout=asyncio.subprocess.DEVNULL,
                                                        stderr=asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 120)
    stderr = err.decode()
    assert proc.returncode == 2
    assert f"crosslab: Cannot serve metrics on METRICS_LISTEN 127.0.0.1:{port} (" in stderr
    assert "address already in use" in stderr
    assert "Traceback" not in stderr and "Unclosed" not in stderr  # what was opened is closed
