"""Prometheus metrics (METRICS_LISTEN, bot/metrics.py) through the Bot API
emulator on both frameworks: after a few updates, a duplicate, a failing
update, a 429 and a queued message, a scrape of /metrics shows the counters
moved by exactly that much."""
from __future__ import annotations

import socket
from datetime import timedelta
from typing import Any, AsyncIterator

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from db.models import OutboxMessage, utcnow
from handlers.types import OutMessage, Reply
from i18n import t
from tests.support.config import database_for, make_settings
from tests.support.harness import running_emulator_harness


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> tuple[str, Samples]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain; version=")
            text = await resp.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(params=["aiogram", "ptb"])
async def h(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    settings = make_settings(await database_for("sqlite", tmp_path), metrics_listen=f"127.0.0.1:{free_port()}")
    async with running_emulator_harness(settings, request.param) as harness:
        yield harness


async def test_counters_move_with_updates_through_the_emulator(h) -> None:
    port = h.settings.metrics_address[1]
    assert h.app.metrics_server is not None and h.app.metrics_server.port == port
    _, before = await scrape(port)

    chat = h.chat(3301, "Klara", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    await chat.say("Klara Seifert")
    await chat.redeliver_last()  # the same update id again: nothing done

    # A flow that raises: the person gets the generic error message.
    dispatch = h.app.core.dispatch

    async def failing(turn: Any) -> None:
        if turn.ev.text == "boom":
            raise RuntimeError("a bug in a flow")
        await dispatch(turn)

    h.app.core.dispatch = failing
    new = await chat.say("boom")  # before: the rollback expired the person, reading their language failed: no reply
    assert new[-1].text == t("de", "error.generic")

    # Telegram asks to slow down once: the reply waits and goes out.
    h.emu.fail_next("sendMessage", 429, retry_after=1)
    await chat.say("Seifert Möbelwerkstatt")

    # A message the bot starts: written to the outbox, sent by the sender.
    async with h.app.core.uow() as uow:
        await uow.outbox.stage([OutMessage(3301, "Erinnerung")], own_chat=None, now=utcnow())
        await uow.commit()
    h.app.outbox.notify()
    await h.app.outbox.drain()

    await h.app.sweep()

    text, after = await scrape(port)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("crosslab_updates_total", kind="command", result="ok") == 1
    assert delta("crosslab_updates_total", kind="button", result="ok") == 1
    assert delta("crosslab_updates_total", kind="text", result="ok") == 2
    assert delta("crosslab_updates_total", kind="text", result="duplicate") == 1
    assert delta("crosslab_updates_total", kind="text", result="error") == 1
    assert delta("crosslab_update_handling_seconds_count") == 6
    assert delta("crosslab_update_handling_seconds_bucket", le="+Inf") == 6
    assert delta("crosslab_update_handling_seconds_sum") > 0
    assert delta("crosslab_outbox_sends_total", result="sent", path="reply") >= 4
    assert delta("crosslab_outbox_sends_total", result="sent", path="queue") == 1
    assert delta("crosslab_rate_limit_pauses_total", scope="all") + \
        delta("crosslab_rate_limit_pauses_total", scope="chat") == 1
    assert delta("crosslab_sweeps_total", result="ok") == 1
    assert value(after, "crosslab_leader") == 1
    assert value(after, "crosslab_outbox_messages", status="pending") == 0
    assert ("crosslab_outbox_messages", (("status", "sending"),)) in after
    assert "process_resident_memory_bytes" in text  # prometheus-client's process collector
    assert "TEST-token" not in text


async def test_outbox_depth_is_sampled_from_the_database(tmp_path: Any) -> None:
    """A worker without the sender (SCHEDULER=off) shows what waits and for
    how long the oldest due message has waited; the sample is reused for
    DEPTH_TTL seconds, then read again."""
    settings = make_settings(await database_for("sqlite", tmp_path), scheduler="off",
                             metrics_listen=f"127.0.0.1:{free_port()}")
    async with running_emulator_harness(settings, "aiogram") as h:
        port = h.settings.metrics_address[1]
        now = utcnow()
        async with h.sessions() as s:
            for age, not_before in ((90, None), (30, None), (0, now + timedelta(hours=1))):
                s.add(OutboxMessage(chat_id=4401, kind="message", priority=0, payload={"text": "x"},
                                    status="pending", created_at=now - timedelta(seconds=age),
                                    not_before=not_before, attempts=0, parts_done=0, in_doubt=False))
            await s.commit()
        _, samples = await scrape(port)
        assert value(samples, "crosslab_outbox_messages", status="pending") == 3
        assert value(samples, "crosslab_outbox_messages", status="sending") == 0
        assert 90 <= value(samples, "crosslab_outbox_oldest_due_seconds") < 120
        assert value(samples, "crosslab_leader") == 0
        sampler = h.app.metrics_server.before_scrape[0].__self__
        sampler._at -= sampler.ttl  # as if DEPTH_TTL had passed
        async with h.sessions() as s:
            await s.execute(OutboxMessage.__table__.delete())
            await s.commit()
        _, samples = await scrape(port)
        assert value(samples, "crosslab_outbox_messages", status="pending") == 0
        assert value(samples, "crosslab_outbox_oldest_due_seconds") == 0


async def test_metrics_are_off_by_default_and_a_busy_port_is_one_sentence(tmp_path: Any) -> None:
    from bot.settings import SettingsError

    settings = make_settings(await database_for("sqlite", tmp_path))
    async with running_emulator_harness(settings, "aiogram") as h:
        assert h.app.metrics_server is None
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            h.app.settings = h.app.settings.model_copy(update={"metrics_listen": f"127.0.0.1:{port}"})
            with pytest.raises(SettingsError, match=f"Cannot serve metrics on METRICS_LISTEN 127.0.0.1:{port}"):
                await h.app.start_metrics()
        assert h.app.metrics_server is None


def test_reminders_count_only_when_something_was_written() -> None:
    from bot import metrics

    def count() -> float:
        return metrics.REMINDERS.labels("1h")._value.get()

    start = count()
    metrics.note_reminder("1h", Reply())  # stale or sent before: nothing written
    assert count() == start
    metrics.note_reminder("1h", Reply(queued=2))
    assert count() == start + 1
