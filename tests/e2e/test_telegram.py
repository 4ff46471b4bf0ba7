"""What only the real bot shows, through the Bot API emulator over real HTTP
with the real aiogram and python-telegram-bot code (the scenarios run there
too: tests/scenarios)."""
from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from handlers.suggestions import MatchingService
from tests.scenarios import feedback as sf
from tests.support.config import make_settings
from tests.support.harness import EmulatorHarness, running_emulator_harness


@pytest.fixture(params=["aiogram", "ptb"])
async def bot(request: pytest.FixtureRequest, sqlite_url: str):
    async with running_emulator_harness(make_settings(sqlite_url), request.param) as h:
        yield h


async def test_commands_registered_in_both_languages(bot: EmulatorHarness) -> None:
    de = bot.emu.visible_commands(1, "de")
    en = bot.emu.visible_commands(1, "en")
    assert {c["command"] for c in de} == {c["command"] for c in en} >= {"start", "profile", "mydata", "delete", "help"}
    assert next(c for c in de if c["command"] == "delete")["description"] != next(
        c for c in en if c["command"] == "delete")["description"]


async def test_duplicate_delivery_is_ignored(bot: EmulatorHarness) -> None:
    chat = bot.chat(9201, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    await chat.say("Doppelt Gemoppelt")
    count = len(chat.messages)
    new = await chat.redeliver_last()
    assert new == [] and len(chat.messages) == count
    assert (await bot.state(9201)).step == "side"


async def test_the_running_bot_sweeps_by_itself(sqlite_url: str) -> None:
    """No explicit sweep: the app's scheduler runs one every SWEEP_SECONDS."""
    settings = make_settings(sqlite_url, sweep_seconds=0.3)
    async with running_emulator_harness(settings, "aiogram") as h:
        company, creative, meeting = await sf.scheduled_meeting(h)
        h.set_time(sf._after_meeting(meeting))
        await h.emu.wait_until(lambda: sf.ASK_DE in company.last.text and sf.ASK_EN in creative.last.text, 15,
                               "the feedback questions from the periodic sweep")
        await company.press("Ja, wir haben")
        assert "Wie hilfreich" in company.last.text


# --- issue 10.8: the model loads at start, in the background -----------------------

async def test_the_model_warms_up_at_start(bot: EmulatorHarness) -> None:
    """`start` begins loading the embedding model before any update arrives."""
    assert bot.app.warming is not None  # started by app.start, no update yet
    assert bot.emu.updates() == []
    await asyncio.wait_for(asyncio.shield(bot.app.warming), 180)
    assert bot.matching.ready and bot.matching.warm_seconds is not None


class HeldWarmUp(MatchingService):
    """A `MatchingService` whose warm-up waits (in its worker thread) until `go`
    is set; counts warm-ups and the matchings that wait for one."""

    def __init__(self) -> None:
        super().__init__(None)
        self.go = threading.Event()
        self.loads = 0
        self.waited = 0

    def _embed_once(self) -> None:
        self.loads += 1
        self.go.wait(120)
        super()._embed_once()

    async def _model_loaded(self) -> None:
        self.waited += 1
        await super()._model_loaded()


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_updates_are_answered_while_the_model_loads(sqlite_url: str, framework: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    """While the warm-up runs the bot answers everyone; the first matching waits
    for that same load (no second one), with "typing …" shown meanwhile; one
    INFO line says when the model is ready."""
    from tests.scenarios.meetings import COMPANY_CHALLENGE, _wait_for, onboard

    caplog.set_level(logging.INFO, logger="handlers.suggestions")
    matching = HeldWarmUp()
    async with running_emulator_harness(make_settings(sqlite_url), framework, matching) as h:
        try:
            chat = await onboard(h, 1401, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                                 days=("Di",), window="vormittags", confirm=False)
            assert "So sieht Ihr Profil aus" in chat.last.text  # a dozen updates answered meanwhile
            assert not h.app.warming.done() and not matching.ready
            first = asyncio.create_task(chat.press("Passt so"))  # needs the model
            await _wait_for(lambda: matching.waited == 1, 10)
            await _wait_for(lambda: "typing" in h.chat_actions(1401), 10)
            assert not first.done()
        finally:
            matching.go.set()
        await first
        assert any("Profil ist gespeichert" in m.text for m in chat.messages)
        assert matching.loads == 1 and matching.ready
        ready = [r for r in caplog.records if "ready after" in r.getMessage()]
        assert len(ready) == 1 and ready[0].levelno == logging.INFO


# --- issue 14.1: the token never reaches the log -------------------------------------

@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_the_token_never_reaches_the_log(sqlite_url: str, framework: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    """Every logger at DEBUG through a short conversation (httpx logs each
    request URL, which holds the token, under PTB): no record, formatted with
    its arguments and exception, carries the token or its secret part."""
    from tests.support.config import TOKEN

    caplog.set_level(logging.DEBUG)
    for name in [*logging.root.manager.loggerDict, "httpx", "httpcore", "telegram", "aiogram", "aiohttp"]:
        caplog.set_level(logging.DEBUG, logger=name)
    async with running_emulator_harness(make_settings(sqlite_url), framework) as h:
        chat = h.chat(9501, "Tara", "de")
        await chat.say("/start")
        await chat.press("Einverstanden")
        await chat.say("Tara Token")
        await chat.press_data("forged|x|0|AAAAAAAA")  # a rejected button
        await chat.say("/help")
    secret = TOKEN.split(":", 1)[1]
    assert len(caplog.records) > 20
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "") + (record.stack_info or "")
        assert secret not in text, (record.name, text[:300])
    assert secret not in caplog.text
    if framework == "ptb":  # httpx's request lines are there, without the token
        assert any("bot<redacted>/getUpdates" in r.getMessage() for r in caplog.records if r.name == "httpx")


# --- issue 14.8: processed_updates is pruned ------------------------------------------

async def test_the_sweep_forgets_old_update_ids(sqlite_url: str) -> None:
    """Handled update ids older than PROCESSED_UPDATES_KEEP go with the
    periodic sweep; recent ones (and the ones just handled) stay."""
    from datetime import timedelta

    from sqlalchemy import select

    from db.models import ProcessedUpdate, utcnow

    settings = make_settings(sqlite_url, processed_updates_keep="3d")
    async with running_emulator_harness(settings, "aiogram") as h:
        chat = h.chat(9601, "Pia", "de")
        await chat.say("/start")
        now, OLD = utcnow(), 10**9
        async with h.sessions() as s:
            s.add_all([ProcessedUpdate(update_id=OLD + 1, processed_at=now - timedelta(days=30)),
                       ProcessedUpdate(update_id=OLD + 2, processed_at=now - timedelta(days=3, minutes=5)),
                       ProcessedUpdate(update_id=OLD + 3, processed_at=now - timedelta(days=2, hours=23)),
                       ProcessedUpdate(update_id=OLD + 4, processed_at=now - timedelta(hours=1))])
            await s.commit()
        await h.sweep()
        async with h.sessions() as s:
            kept = set((await s.execute(select(ProcessedUpdate.update_id))).scalars())
    assert kept == {OLD + 3, OLD + 4, chat.last_update_id}
