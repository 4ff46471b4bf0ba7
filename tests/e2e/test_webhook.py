"""Webhook mode (bot/webhook.py): the emulator posts updates to the bot's own
aiohttp server, on aiogram and on PTB. The secret is checked before anything
is read, an update is acknowledged only once it was handled, a redelivered
one changes nothing, a failed one is answered 500 and comes again; the health
checks; `crosslab run` in webhook mode as its own process."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.webhook import SECRET_HEADER, WebhookConfig, WebhookServer
from db.engine import create_engine
from db.models import Person, ProcessedUpdate
from tests.scenarios import onboarding
from tests.support.config import TOKEN, make_settings
from tests.support.harness import WEBHOOK_SECRET, EmulatorHarness, free_port, running_emulator_harness

WEBHOOK_HARNESSES = ["aiogram-webhook", "ptb-webhook"]


def text_update(update_id: int, user_id: int, text: str, first_name: str = "Wanda") -> dict[str, Any]:
    """An update as Telegram posts it: a private text message."""
    user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "de"}
    message: dict[str, Any] = {"message_id": update_id % 100_000, "date": int(time.time()), "text": text,
                               "chat": {"id": user_id, "type": "private", "first_name": first_name}, "from": user}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


async def post(h: EmulatorHarness, body: Any, secret: str | None = WEBHOOK_SECRET, *,
               raw: bytes | None = None) -> tuple[int, str]:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as http:
        async with http.post(h.settings.webhook_url, headers=headers,
                             data=raw if raw is not None else json.dumps(body).encode(),
                             ) as resp:
            return resp.status, await resp.text()


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as resp:
            return resp.status, await resp.json()


def base(h: EmulatorHarness) -> str:
    return f"http://127.0.0.1:{h.app.webhook.port}"


async def recorded(h: EmulatorHarness, update_id: int) -> bool:
    async with h.sessions() as s:
        return (await s.get(ProcessedUpdate, update_id)) is not None


# --- conversations over the webhook ------------------------------------------------------

@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
@pytest.mark.parametrize("scenario", [onboarding.onboard_company_de, onboarding.restart_mid_onboarding,
                                      onboarding.edited_messages_are_answered], ids=lambda s: s.__name__)
async def test_scenarios_in_webhook_mode(harness: EmulatorHarness, scenario: Any) -> None:
    await scenario(harness)
    webhook = harness.emu.webhook
    assert webhook is not None and webhook["url"] == harness.settings.webhook_url
    assert webhook["secret_token"] == WEBHOOK_SECRET and webhook["max_connections"] == 40
    assert not any(method == "getUpdates" for method, _ in harness.emu.requests)  # nobody polled
    assert harness.app.webhook.handled >= 1 and harness.app.webhook.failed == 0  # this process (restarts count anew)


# --- the secret ----------------------------------------------------------------------------

@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_a_missing_or_wrong_secret_is_refused_and_nothing_happens(harness: EmulatorHarness,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    h = harness
    h.emu.add_user(8101, "Wanda", language_code="de")
    wrong = [None, "", WEBHOOK_SECRET[:-1], WEBHOOK_SECRET + "x", WEBHOOK_SECRET[:-1] + "Y", "ä" * 5,
             WEBHOOK_SECRET.upper()]
    for i, secret in enumerate(wrong):
        status, _ = await post(h, text_update(700_001 + i, 8101, "/start"), secret)
        assert status == 403, secret
    # not even a body that is no update is looked at without the secret
    assert (await post(h, None, "nope", raw=b"\x00not json"))[0] == 403
    await asyncio.sleep(0.2)
    assert h.emu.sent(8101) == [] and await h.person(8101) is None
    assert not any([await recorded(h, 700_001 + i) for i in range(len(wrong))])
    assert h.app.webhook.forbidden == len(wrong) + 1 and h.app.webhook.handled == 0
    refusals = [r for r in caplog.records if "without the right secret" in r.getMessage()]
    assert len(refusals) == 1  # at most one line a minute, however many
    assert all(WEBHOOK_SECRET not in r.getMessage() for r in caplog.records)

    status, _ = await post(h, text_update(700_101, 8101, "/start"))  # the right one
    assert status == 200
    assert "Willkommen" in h.emu.last(8101).text  # delivered before the 200
    assert await recorded(h, 700_101)


# --- redelivery, bad bodies, failures -------------------------------------------------------

@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_a_redelivered_update_is_handled_once(harness: EmulatorHarness) -> None:
    chat = harness.chat(8201, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    await chat.say("Doppelt Gemoppelt")
    count = len(chat.messages)
    assert await chat.redeliver_last() == [] and len(chat.messages) == count  # through the emulator
    assert (await harness.state(8201)).step == "side"
    # the same body posted twice more, at once: acknowledged both times, handled once
    update = text_update(700_201, 8201, "Noch einmal")
    results = await asyncio.gather(post(harness, update), post(harness, update))
    assert [status for status, _ in results] == [200, 200]
    answer = [m.text for m in chat.messages[count:]]  # one answer: a hint and the question again, once
    assert len(answer) == 2 and "Bitte wählen Sie über die Schaltflächen" in answer[0] and "(2/9)" in answer[1]
    assert await post(harness, update) == (200, "")  # and later once more
    await harness.emu.wait_idle(quiet=0.1)
    assert len(chat.messages) == count + 2
    assert (await harness.state(8201)).step == "side"


@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_a_body_that_is_no_update_gets_400(harness: EmulatorHarness) -> None:
    h = harness
    h.emu.add_user(8301, "Wanda", language_code="de")
    bodies: list[tuple[Any, bytes | None]] = [
        (None, b"this is not json"), (None, b"\xff\xfe\x00"), (None, b""), ([1, 2, 3], None),
        ({"message": {"text": "no id"}}, None), ({"update_id": "7"}, None), ({"update_id": True}, None),
        ({"update_id": 700_301, "message": "a string, not a message"}, None),
        ({"update_id": 700_302, "message": {"text": "/start"}}, None),  # no chat, no date
    ]
    for body, raw in bodies:
        status, text = await post(h, body, raw=raw)
        assert status == 400, (body, raw, text)
    assert h.app.webhook.rejected == len(bodies) and h.app.webhook.handled == 0
    assert not await recorded(h, 700_301) and not await recorded(h, 700_302)
    assert h.emu.sent(8301) == [] and await h.person(8301) is None


class FailsFirst:
    """The core, composed: its first `handle` raises as a database that went
    away between two updates would (before anything is recorded)."""

    def __init__(self, core: Any, times: int = 1) -> None:
        self.core, self.times = core, times

    async def handle(self, ev: Any) -> Any:
        if self.times > 0:
            self.times -= 1
            raise ConnectionResetError("the database went away")
        return await self.core.handle(ev)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.core, name)


@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_an_update_whose_handling_fails_gets_500_and_comes_again(harness: EmulatorHarness,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    h = harness
    h.app.transport.bind(FailsFirst(h.core, times=2), h.note_delivered, h.app.outbox)
    chat = h.chat(8401, "Fiona", "de")
    new = await chat.say("/start")  # 500, 500, then 200: Telegram (the emulator) sent it three times
    assert len(new) == 1 and "Willkommen" in new[0].text
    assert h.app.webhook.failed == 2 and h.app.webhook.handled == 1
    assert h.emu.webhook["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
    failures = [r for r in caplog.records if "failed; answering 500" in r.getMessage()]
    assert len(failures) == 2 and all(r.exc_info for r in failures)
    await chat.press("Einverstanden")  # the conversation goes on
    assert "Wie heißen Sie" in chat.last.text


# --- health checks ------------------------------------------------------------------------

@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_health_and_readiness(harness: EmulatorHarness) -> None:
    h = harness
    assert await get(f"{base(h)}/healthz") == (200, {"status": "ok"})
    status, body = await get(f"{base(h)}/readyz")
    assert status == 200 and body["status"] == "ready" and body["database"] == "migrated"
    assert body["model"] in ("loading", "ready")  # not waited for: the bot answers while it loads
    async with aiohttp.ClientSession() as http:  # the update path is POST only
        async with http.get(h.settings.webhook_url) as resp:
            assert resp.status == 405


async def test_health_when_the_database_is_gone(tmp_path: Path) -> None:
    """The SQLite file's directory removed and the connection closed: /healthz
    says 503 (the process is up, the database is not), /readyz still 200."""
    folder = tmp_path / "db"
    folder.mkdir()
    settings = make_settings(f"sqlite+aiosqlite:///{folder}/crosslab.sqlite3")
    async with running_emulator_harness(settings, "aiogram", mode="webhook") as h:
        assert (await get(f"{base(h)}/healthz"))[0] == 200
        await h.app.outbox.stop()  # its loop would only log the same error every second
        shutil.rmtree(folder)
        await h.app.engine.dispose()
        status, body = await get(f"{base(h)}/healthz")
        assert status == 503 and body["status"] == "unavailable" and body["database"] == "OperationalError"
        assert (await get(f"{base(h)}/readyz"))[0] == 200


async def test_health_before_start_and_with_an_unreachable_postgresql(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Listening before the database is migrated: both checks 503 (and
    updates 503: Telegram retries); attached to a PostgreSQL that refuses
    connections: /healthz 503. A short secret is accepted with a warning."""
    port = free_port()
    server = WebhookServer(WebhookConfig(url=f"http://127.0.0.1:{port}/hook", secret="s3cret-s3cret",
                                         host="127.0.0.1", port=port, path="/hook"))
    await server.listen()
    weak = [r for r in caplog.records if "WEBHOOK_SECRET has only 13 characters" in r.getMessage()]
    assert len(weak) == 1 and "s3cret" not in weak[0].getMessage()
    engine = create_engine("postgresql+asyncpg://crosslab:pw@127.0.0.1:1/crosslab", pool_pre_ping=False)
    try:
        url = f"http://127.0.0.1:{port}"
        assert (await get(f"{url}/healthz"))[0] == 503
        status, body = await get(f"{url}/readyz")
        assert status == 503 and body["status"] == "starting"
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{url}/hook", json=text_update(1, 1, "hi"),
                                 headers={SECRET_HEADER: "s3cret-s3cret"}) as resp:
                assert resp.status == 503
        server.attach(_NeverCalled(), engine)
        status, body = await get(f"{url}/healthz")
        assert status == 503 and body["status"] == "unavailable"
        server.set_ready()
        assert (await get(f"{url}/readyz"))[0] == 200
    finally:
        await server.stop()
        await engine.dispose()
    assert server.state == "stopped"


class _NeverCalled:
    def parse_update(self, data: dict[str, Any]) -> object:
        raise AssertionError("not expected")

    async def process_update(self, update: object) -> None:
        raise AssertionError("not expected")


# --- bounded concurrency, stopping ----------------------------------------------------------

class _Gated:
    """An `UpdateSink` whose updates wait for a gate; counts how many are inside at once."""

    def __init__(self) -> None:
        self.inside = self.most = self.done = 0
        self.gate = asyncio.Event()

    def parse_update(self, data: dict[str, Any]) -> object:
        return data

    async def process_update(self, update: object) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            await self.gate.wait()
        finally:
            self.inside -= 1
        self.done += 1


async def test_at_most_max_connections_updates_at_once_and_a_stop_waits_for_them(sqlite_url: str) -> None:
    port = free_port()
    secret = "gate-secret-123"
    server = WebhookServer(WebhookConfig(url=f"http://127.0.0.1:{port}/u", secret=secret, host="127.0.0.1",
                                         port=port, path="/u", max_connections=2))
    sink = _Gated()
    engine = create_engine(sqlite_url)
    await server.listen()
    server.attach(sink, engine)
    server.set_ready()
    try:
        async with aiohttp.ClientSession() as http:
            async def one(i: int) -> int:
                async with http.post(f"http://127.0.0.1:{port}/u", json={"update_id": i},
                                     headers={SECRET_HEADER: secret}) as resp:
                    return resp.status

            requests = [asyncio.create_task(one(i)) for i in range(6)]
            for _ in range(100):
                if sink.inside == 2:
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert sink.inside == 2 and not any(r.done() for r in requests)  # four wait for a slot
            stopping = asyncio.create_task(server.stop(grace=10))
            await asyncio.sleep(0.1)
            assert not stopping.done() and (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 503
            async with http.post(f"http://127.0.0.1:{port}/u", json={"update_id": 99},
                                 headers={SECRET_HEADER: secret}) as resp:
                assert resp.status == 503  # a stopping server takes nothing new
            sink.gate.set()
            assert await asyncio.gather(*requests) == [200] * 6  # the ones taken are handled to the end
            await stopping
        assert sink.most == 2 and sink.done == 6 and server.state == "stopped"
    finally:
        await server.stop()
        await engine.dispose()


# --- back to polling -------------------------------------------------------------------------

@pytest.mark.parametrize("harness", WEBHOOK_HARNESSES, indirect=True)
async def test_switching_back_to_polling(harness: EmulatorHarness) -> None:
    """Stopping keeps the webhook set (another instance may serve it); a
    polling start deletes it and carries on the same conversations."""
    h = harness
    chat = h.chat(8501, "Polly", "de")
    await chat.say("/start")
    await h.app.stop()
    assert h.emu.webhook is not None  # kept on stop
    h.settings = h.settings.model_copy(update={"webhook_url": ""})
    await h._start_bot()
    assert h.app.webhook is None and h.emu.webhook is None
    await chat.press("Einverstanden")
    assert "Wie heißen Sie" in chat.last.text
    assert any(method == "getUpdates" for method, _ in h.emu.requests)


# --- `crosslab run` in webhook mode -----------------------------------------------------------

@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_crosslab_run_in_webhook_mode(tmp_path: Path, framework: str) -> None:
    """The process listens, sets the webhook with its secret and the update
    types, says so in one INFO line (never the secret, even at DEBUG), answers
    through the webhook, and on SIGTERM stops cleanly, the webhook kept."""
    from emulator import BotAPIEmulator

    port = free_port()
    secret = "run-secret-" + "x" * 30
    async with BotAPIEmulator() as emu:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_"))}
        env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url, "LOG_LEVEL": "DEBUG",
                    "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.sqlite3",
                    "WEBHOOK_URL": f"http://127.0.0.1:{port}/tg/hook", "WEBHOOK_SECRET": secret,
                    "WEBHOOK_LISTEN": f"127.0.0.1:{port}", "BOT_FRAMEWORK": framework})
        log_path = tmp_path / "run.log"  # a file, not a pipe: DEBUG output would fill a pipe nobody reads
        log_file = log_path.open("w")
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                                stdout=log_file, stderr=subprocess.STDOUT, text=True)
        try:
            async def ready() -> bool:
                try:
                    return (await get(f"http://127.0.0.1:{port}/readyz"))[0] == 200
                except aiohttp.ClientError:
                    return False

            deadline = time.monotonic() + 90
            while not await ready():
                assert proc.poll() is None, log_path.read_text()[-3000:]
                assert time.monotonic() < deadline, "the bot never became ready"
                await asyncio.sleep(0.2)
            webhook = emu.webhook
            assert webhook is not None and webhook["url"] == env["WEBHOOK_URL"] and webhook["secret_token"] == secret
            allowed = emu.calls("setWebhook")[-1]["allowed_updates"]
            assert (json.loads(allowed) if isinstance(allowed, str) else allowed) == \
                ["message", "edited_message", "callback_query"]
            emu.add_user(8601, "Runa", language_code="de")
            replies = await emu.say(8601, "/start", timeout=30)
            assert "Willkommen" in replies[-1].text
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log_file.close()
        out = log_path.read_text()
        assert proc.returncode == 0, out[-3000:]
        assert emu.webhook is not None  # kept: another instance may serve it
    mode_lines = [line for line in out.splitlines() if "webhook mode: listening on" in line]
    assert len(mode_lines) == 1 and " INFO " in mode_lines[0]
    assert f"127.0.0.1:{port}" in mode_lines[0] and "/tg/hook" in mode_lines[0]
    assert secret not in out and TOKEN.split(":")[1] not in out
    assert "Traceback" not in out


def test_crosslab_run_stops_with_one_sentence_when_the_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_URL", "WEBHOOK_"))}
        env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": "http://127.0.0.1:9",
                    "DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3", "WEBHOOK_URL": "http://127.0.0.1/hook",
                    "WEBHOOK_SECRET": "abc", "WEBHOOK_LISTEN": f"127.0.0.1:{port}"})
        proc = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"cannot listen on 127.0.0.1:{port} (WEBHOOK_LISTEN)" in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.rstrip().endswith(".")
