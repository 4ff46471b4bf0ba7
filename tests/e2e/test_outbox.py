"""Delivery under faults, through the Bot API emulator on both frameworks
(issue 12): what the bot decided reaches people although Telegram answers
502, 429, 400 or 403 on the way, or the bot dies between the commit and the send."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from db.models import OutboxMessage, Person, ReminderSent
from tests.scenarios.feedback import ASK_DE, ASK_EN, _after_meeting, scheduled_meeting
from tests.scenarios.meetings import COMPANY_CHALLENGE, _wait_for, introduced_pair, onboard, texts
from tests.support.config import database_for, make_settings
from tests.support.harness import running_emulator_harness

FRAMEWORKS = ["aiogram", "ptb"]


@pytest.fixture(params=FRAMEWORKS)
async def h(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Any]:
    marker = request.node.get_closest_marker("settings")
    extra = dict(marker.kwargs) if marker is not None else {}
    settings = make_settings(await database_for("sqlite", tmp_path), **extra)
    async with running_emulator_harness(settings, request.param) as harness:
        yield harness


def to_chat(chat_id: int):
    return lambda params: str(params.get("chat_id")) == str(chat_id)


async def outbox_status(h) -> dict[str, int]:
    async with h.sessions() as s:
        rows = await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return dict(rows.all())


async def test_a_502_during_an_introduction_loses_nothing(h) -> None:
    """Before: both said yes, one 502 ended delivery after the commit: the pair
    was introduced and neither side got the contact, briefing or times."""
    company = await onboard(h, 1101, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                            days=("Di", "Do"), window="vormittags", org="Seifert Möbelwerkstatt")
    from tests.scenarios.meetings import PHOTOGRAPHER

    creative = await onboard(h, 2101, lang="en", side="creative", name="Ben Okafor", text=PHOTOGRAPHER,
                             days=("Tue", "Thu"), window="mornings")
    await creative.press("Interested")
    # The next two messages to each side fail with 502 Bad Gateway.
    h.emu.fail_next("sendMessage", 502, times=2, when=to_chat(1101))
    h.emu.fail_next("sendMessage", 502, times=2, when=to_chat(2101))
    await company.press("Interessiert")
    await _wait_for(lambda: "Wann treffen Sie sich" in texts(company) and "You'd both like to meet" in texts(creative))
    assert "@user2101" in texts(company) and "@user1101" in texts(creative)
    assert "Zur Vorbereitung" in texts(company) and "To prepare" in texts(creative)
    status = await outbox_status(h)
    assert set(status) <= {"sent", "pending", "sending"} and "failed" not in status


async def test_a_refused_contact_button_sends_the_introduction_without_it(h) -> None:
    """BUTTON_USER_PRIVACY_RESTRICTED (a tg://user button for someone who hides
    their account) is a 400: the message goes again without its link buttons."""
    company = await onboard(h, 1102, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                            days=("Di", "Do"), window="vormittags")
    from tests.scenarios.meetings import PHOTOGRAPHER

    creative = await onboard(h, 2102, lang="en", side="creative", name="Ben Okafor", text=PHOTOGRAPHER,
                             days=("Tue", "Thu"), window="mornings")
    await creative.press("Interested")

    def with_link(params: Any) -> bool:
        return "url" in str(params.get("reply_markup") or "")

    h.emu.fail_next("sendMessage", 400, "Bad Request: BUTTON_USER_PRIVACY_RESTRICTED", times=2, when=with_link)
    await company.press("Interessiert")
    await _wait_for(lambda: "You'd both like to meet" in texts(creative) and "möchten sich kennenlernen" in texts(company))
    intro = next(m for m in company.messages if "möchten sich kennenlernen" in m.text)
    assert "@user2102" in intro.text  # the contact is still in the text
    assert not any("t.me" in data or "tg://" in data for row in intro.buttons for _, data in row)
    assert "Wann treffen Sie sich" in texts(company)  # the rest of the reply arrived too


async def test_the_sweep_resends_a_failed_feedback_question(h) -> None:
    """Before: the sweep marked both questions asked, one 502 and nobody got
    one, and no retry until the nudge two days later."""
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    h.emu.fail_next("sendMessage", 502, when=to_chat(1101))
    await h.sweep()
    await _wait_for(lambda: ASK_DE in texts(company) and ASK_EN in texts(creative), timeout=20)
    assert sum(ASK_DE in m.text for m in company.messages) == 1


@pytest.mark.settings(reminder_offsets="2d,1d", time_factor=50_000)
async def test_a_reminder_decided_before_a_crash_arrives_after_the_restart(h) -> None:
    """Before: `reminders_sent` was committed first; a bot that died while
    sending never sent it. Now the reminder's messages are in the outbox with
    the mark: the sender that comes back sends them, once."""
    company, creative = await introduced_pair(h)
    day = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=6)
    await company.press("Andere Zeit")
    await company.say(f"{day:%d.%m.%Y} 10:00")
    await creative.press("Works")
    await h.app.outbox.stop()  # the sender dies: what is decided from now on stays in the outbox

    async def marked() -> int:
        async with h.sessions() as s:
            return int((await s.execute(select(func.count()).select_from(ReminderSent))).scalar_one())

    for _ in range(300):
        if await marked() >= 2:
            break
        await asyncio.sleep(0.05)
    assert await marked() == 2  # both reminders decided (one row per meeting and kind)
    assert not any("Erinnerung" in m.text for m in company.messages)
    await h.restart()
    await _wait_for(lambda: sum("Erinnerung" in m.text for m in company.messages) == 2
                    and sum("Reminder" in m.text for m in creative.messages) == 2, timeout=30)
    await asyncio.sleep(0.5)
    assert sum("Erinnerung" in m.text for m in company.messages) == 2
    assert sum("Reminder" in m.text for m in creative.messages) == 2


@pytest.mark.settings(reminder_offsets="2d,1d", time_factor=50_000)
async def test_a_failed_send_to_one_side_does_not_repeat_the_reminder_to_the_other(h) -> None:
    """Before: the second person's failed send retried the whole reminder
    (the company got two, the creative one)."""
    company, creative = await introduced_pair(h)
    h.emu.fail_next("sendMessage", 502, times=2, when=lambda p: str(p.get("chat_id")) == "2101"
                    and "Reminder" in str(p.get("text")))
    day = datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=6)
    await company.press("Andere Zeit")
    await company.say(f"{day:%d.%m.%Y} 10:00")
    await creative.press("Works")
    await _wait_for(lambda: sum("Erinnerung" in m.text for m in company.messages) >= 2
                    and sum("Reminder" in m.text for m in creative.messages) >= 2, timeout=40)
    await asyncio.sleep(0.5)
    assert sum("Erinnerung" in m.text for m in company.messages) == 2
    assert sum("Reminder" in m.text for m in creative.messages) == 2


@pytest.mark.settings(outbox_lease_seconds=0.5)
async def test_a_crash_after_the_commit_delays_the_reply_but_does_not_lose_it(h) -> None:
    """SIGKILL after "Passt so", before the reply went out: the profile is
    saved, and after the restart the saved-profile message arrives."""
    from tests.scenarios.onboarding import CHALLENGE_DE

    chat = await onboard(h, 1301, lang="de", side="production", name="Uta Seifert", text=CHALLENGE_DE,
                         days=("Di",), window="vormittags", confirm=False)
    real = h.app.outbox.deliver_reply

    async def dies_before_sending(reply: Any, chat_id: int, callback_id: str | None = None) -> None:
        return None  # the process is gone: nothing is sent, nothing is marked

    h.app.outbox.deliver_reply = dies_before_sending
    msg = next(m for m in reversed(chat.messages) if any("Passt so" in label for label in m.labels))
    update = h.emu.press_button(1301, msg.message_id, msg.data_for("Passt so"))
    await h.emu.wait_until(lambda: update["update_id"] in h.handled, 20, "handled")
    assert not any("Profil ist gespeichert" in m.text for m in chat.messages)
    h.app.outbox.deliver_reply = real
    await h.restart()
    await _wait_for(lambda: any("Profil ist gespeichert" in m.text for m in chat.messages), timeout=20)
    assert (await h.profile(1301)).completed_at is not None
    assert sum("Profil ist gespeichert" in m.text for m in chat.messages) == 1


async def test_a_blocked_person_is_marked_unreachable_and_their_queue_dropped(h) -> None:
    company, creative = await introduced_pair(h)
    h.emu.block_bot(2101, notify=False)
    await company.press("📅")  # the offered time goes to the creative: 403
    await h.app.outbox.drain()
    async with h.sessions() as s:
        person = (await s.execute(select(Person).where(Person.telegram_id == 2101))).scalar_one()
        assert person.unreachable_at is not None
    status = await outbox_status(h)
    assert status.get("unreachable", 0) >= 1 and "failed" not in status
    # When they write again they are reachable again.
    h.emu.block_bot(2101, blocked=False, notify=False)
    await creative.say("/help")
    async with h.sessions() as s:
        person = (await s.execute(select(Person).where(Person.telegram_id == 2101))).scalar_one()
        assert person.unreachable_at is None


async def test_a_429_pauses_the_queue_and_everything_arrives(h) -> None:
    """A release to several people with a 429 (retry_after 1) in the middle."""
    company, creative = await introduced_pair(h)
    h.emu.fail_next("sendMessage", 429, retry_after=1, when=to_chat(2101))
    await company.press("📅")
    await _wait_for(lambda: "Works" in " ".join(l for m in creative.messages for l in m.labels), timeout=20)
    assert "failed" not in await outbox_status(h)


async def test_replies_stay_in_order_when_one_waits_out_a_429(h) -> None:
    """Issue 14.5: a 429 with retry_after on a reply let the person's next
    message be answered first. One chat's replies now go out in order."""
    chat = await onboard(h, 1401, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                         days=("Di",), window="vormittags")
    mark = len(chat.messages)
    h.emu.fail_next("sendMessage", 429, retry_after=2, when=to_chat(1401))
    first = h.emu.send_text(1401, "/help")
    second = h.emu.send_text(1401, "/meetings")
    await h.emu.wait_until(lambda: {first["update_id"], second["update_id"]} <= h.handled, 30, "both handled")
    await h.emu.wait_idle(quiet=0.05)
    new = [m.text for m in chat.messages[mark:]]
    help_at = next(i for i, text in enumerate(new) if "So funktioniert Crosslab" in text)
    meetings_at = next(i for i, text in enumerate(new) if "keine geplanten Termine" in text)
    assert help_at < meetings_at, new


@pytest.mark.settings(send_rate=2.0)
async def test_a_broadcast_restarted_half_way_reaches_everyone_once(h) -> None:
    """Issue 12: restart mid-way → every reachable recipient exactly one copy."""
    from tests.scenarios.broadcasts import choose, world_with_chats
    from tests.support.config import ADMIN_ID

    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    await choose(organiser, "all", None)
    await organiser.say("Hallo {vorname}, das Programm für Freitag steht.")
    await organiser.press("Vorschau")
    progress = organiser.last
    h.emu.press_button(ADMIN_ID, progress.message_id, progress.data_for("Senden"))  # not waiting for the sender
    recipients = {7001, 7002, 7005, 7007, 7008}
    chats = {c.user_id: c for c in h.chats}

    def got(tid: int) -> int:
        return sum("das Programm für Freitag" in m.text for m in chats[tid].messages)

    await _wait_for(lambda: sum(got(t) for t in recipients) >= 1, timeout=20)
    assert sum(got(t) for t in recipients) < len(recipients)  # half-way
    await h.restart()
    await _wait_for(lambda: all(got(t) >= 1 for t in recipients), timeout=30)
    await asyncio.sleep(1.0)
    assert {t: got(t) for t in recipients} == {t: 1 for t in recipients}
    assert not any(got(t) for t in (7003, 7004, 7006))  # opted out, unreachable, no consent


@pytest.mark.settings(send_rate=1.0)
async def test_a_sweep_restarted_half_way_asks_everyone_once(h) -> None:
    """Issue 12: the same for a follow-up sweep going through the outbox."""
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.app.sweep()  # decided: both questions are in the outbox, sent one per second
    await _wait_for(lambda: (ASK_DE in texts(company)) or (ASK_EN in texts(creative)), timeout=20)
    await h.restart()
    await _wait_for(lambda: ASK_DE in texts(company) and ASK_EN in texts(creative), timeout=30)
    await asyncio.sleep(1.0)
    assert sum(ASK_DE in m.text for m in company.messages) == 1
    assert sum(ASK_EN in m.text for m in creative.messages) == 1
