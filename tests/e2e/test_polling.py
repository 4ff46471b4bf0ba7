"""Long polling on both frameworks (bot/polling.py): an update is confirmed to
Telegram only once it was handled. Before, aiogram's and PTB's polling loops
confirmed a batch with the next getUpdates while its updates were still being
handled, so an update in hand when the process died was gone: SIGKILL during
onboarding left nearly everyone who had just answered without a reply
(bench/bench_chaos.py onboarding: 27 lost of 30 people onboarding)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest

from bot.polling import Poller
from tests.scenarios.meetings import _wait_for, onboard
from tests.scenarios.onboarding import CHALLENGE_DE
from tests.support.config import database_for, make_settings
from tests.support.harness import running_emulator_harness


@pytest.fixture(params=["aiogram", "ptb"])
async def h(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    settings = make_settings(await database_for("sqlite", tmp_path))
    async with running_emulator_harness(settings, request.param) as harness:
        yield harness


async def test_an_update_in_hand_when_the_bot_stops_comes_again_and_is_answered_once(
        h, monkeypatch: pytest.MonkeyPatch) -> None:
    chat = await onboard(h, 1401, lang="de", side="production", name="Uta Seifert", text=CHALLENGE_DE,
                         days=("Di",), window="vormittags", confirm=False)
    msg = next(m for m in reversed(chat.messages) if any("Passt so" in label for label in m.labels))
    entered, gate = asyncio.Event(), asyncio.Event()
    handle = h.core.handle

    async def slow(ev: Any) -> Any:  # this person's update stays in hand (nothing written yet)
        if ev.user.id == 1401:
            entered.set()
            await gate.wait()
        return await handle(ev)

    monkeypatch.setattr(h.core, "handle", slow)
    update = h.emu.press_button(1401, msg.message_id, msg.data_for("Passt so"))
    try:
        await asyncio.wait_for(entered.wait(), 20)
        other = h.chat(1402, "Ole", "de")
        await other.say("/start")  # fetched (and answered) after it: the bot asked for updates again meanwhile
        assert update["update_id"] in h.emu.unconfirmed_updates  # before: confirmed by that getUpdates
        # The bot goes down while still handling it (the stop gives up waiting,
        # as a crash would): nothing was committed, and Telegram still has it.
        monkeypatch.setattr(Poller, "drain_seconds", 0.2)
        await h.restart()
    finally:
        gate.set()
    await _wait_for(lambda: any("Profil ist gespeichert" in m.text for m in chat.messages), timeout=30)
    await h.emu.wait_until(lambda: update["update_id"] not in h.emu.unconfirmed_updates, 10, "confirmed")
    assert sum("Profil ist gespeichert" in m.text for m in chat.messages) == 1
    assert (await h.profile(1401)).completed_at is not None
