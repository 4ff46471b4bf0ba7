"""Every conversation scenario, written once against `Chat`, on every harness:
the core alone on SQLite and PostgreSQL, and the real bot on aiogram and PTB
through the Bot API emulator over HTTP (the `harness` fixture in conftest)."""
from __future__ import annotations

import itertools

import pytest

from tests.scenarios import broadcasts, events, feedback, figures, flood, meetings, onboarding, plans
from handlers.types import Incoming
from tests.support.harness import CoreHarness

_ids = itertools.count(5_000_000)

# Reminders 2 days and 1 day before, waits divided by 50,000: for a meeting six
# days ahead they come after ~7 s and ~8.6 s, with 3.5 s / 1.7 s of grace if the
# bot is down at that moment (the grace ends when the meeting starts, scaled too).
MEETING_SETTINGS = {"reminder_offsets": "2d,1d", "time_factor": 50_000}


@pytest.mark.parametrize("scenario", onboarding.ALL, ids=lambda s: s.__name__)
async def test_onboarding_and_commands(harness, scenario) -> None:
    await scenario(harness)


@pytest.mark.settings(**MEETING_SETTINGS)
@pytest.mark.parametrize("scenario", meetings.FAST + meetings.TIMED, ids=lambda s: s.__name__)
async def test_introductions_and_meetings(harness, scenario) -> None:
    await scenario(harness)


@pytest.mark.parametrize("scenario", feedback.ALL, ids=lambda s: s.__name__)
async def test_feedback_and_followups(harness, scenario) -> None:
    await scenario(harness)


@pytest.mark.parametrize("scenario", figures.ALL, ids=lambda s: s.__name__)
async def test_figures_and_exports(harness, scenario) -> None:
    await scenario(harness)


@pytest.mark.parametrize("scenario", broadcasts.ALL, ids=lambda s: s.__name__)
async def test_broadcasts(harness, scenario) -> None:
    await scenario(harness)


@pytest.mark.parametrize("scenario", events.ALL, ids=lambda s: s.__name__)
async def test_events(harness, scenario) -> None:
    await scenario(harness)


async def test_broadcast_report_with_a_403_and_a_429(harness) -> None:
    if not hasattr(harness, "emu"):
        pytest.skip("delivery needs the emulator (on the core harness no sender runs)")
    await broadcasts.report_with_blocked_and_rate_limited(harness)


@pytest.mark.settings(german_form="du")
async def test_german_form_setting(harness) -> None:
    await onboarding.du_by_setting(harness)


FLOOD_SETTINGS = {"flood_burst": flood.BURST, "flood_rate": 1.0}


@pytest.mark.settings(**FLOOD_SETTINGS)
@pytest.mark.parametrize("scenario", flood.ALL, ids=lambda s: s.__name__)
async def test_flood_control(harness, scenario) -> None:
    await scenario(harness)


# --- on the core alone (SQLite, PostgreSQL) ---------------------------------------------------

async def test_duplicate_update_changes_nothing(core_harness: CoreHarness) -> None:
    from handlers.types import Incoming

    chat = core_harness.chat(9101, "Dup", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    ev = Incoming(777001, chat.user, chat.user_id, "text", text="Doppelt Gemoppelt")
    first = await core_harness.core.handle(ev)
    second = await core_harness.core.handle(ev)
    assert first.messages and not second.messages and second.duplicate
    state = await core_harness.state(9101)
    assert state.step == "side"


async def test_username_change_is_picked_up_for_introductions(core_harness: CoreHarness) -> None:
    from dataclasses import replace

    chat = core_harness.chat(9301, "Nia", "de")
    await chat.say("/start")
    await chat.press("Einverstanden")
    assert (await core_harness.person(9301)).username == "user9301"
    chat.user = replace(chat.user, username="nia_neu")
    await chat.say("Nia Neumann")
    assert (await core_harness.person(9301)).username == "nia_neu"


@pytest.mark.settings(**MEETING_SETTINGS)
async def test_a_reminder_job_that_runs_twice_sends_once(core_harness: CoreHarness) -> None:
    """A crash between sending and removing the job makes APScheduler run it
    again after the restart: the second run must send nothing."""
    from sqlalchemy import select

    from db.models import Meeting

    company, creative = await meetings.introduced_pair(core_harness)
    await company.press("📅")
    await creative.press("Works")
    async with core_harness.sessions() as s:
        meeting = (await s.execute(select(Meeting))).scalar_one()
    first = await core_harness.core.reminder_reply(meeting.id, "1h", meeting.starts_at)
    again = await core_harness.core.reminder_reply(meeting.id, "1h", meeting.starts_at)
    assert {m.chat_id for m in first.messages} == {1101, 2101}
    assert again.messages == []
    # A reminder for a time the meeting no longer has (it moved) sends nothing.
    from datetime import timedelta

    stale = await core_harness.core.reminder_reply(meeting.id, "2h", meeting.starts_at + timedelta(days=1))
    assert stale.messages == []


@pytest.mark.settings(**MEETING_SETTINGS)
async def test_both_sides_say_yes_at_the_same_moment(core_harness: CoreHarness) -> None:
    """Both answers race (on PostgreSQL they run in parallel transactions): the
    pair must still be introduced exactly once."""
    import asyncio

    from sqlalchemy import func, select

    from db.models import Meeting, Pair

    company = await meetings.onboard(core_harness, 1401, lang="de", side="production", name="Uta Seifert",
                               text=meetings.COMPANY_CHALLENGE, days=("Di",), window="vormittags")
    creative = await meetings.onboard(core_harness, 2401, lang="en", side="creative", name="Ben Okafor",
                                text=meetings.PHOTOGRAPHER, days=("Tue",), window="mornings")
    await company.say("/matches")
    assert "Ben Okafor" in company.last.text and "Uta Seifert" in creative.last.text
    await asyncio.gather(company.press("Interessiert"), creative.press("Interested"))
    async with core_harness.sessions() as s:
        pairs = (await s.execute(select(Pair))).scalars().all()
        meeting_count = (await s.execute(select(func.count()).select_from(Meeting))).scalar_one()
    assert len(pairs) == 1 and pairs[0].status == "introduced" and meeting_count == 1
    assert sum("möchten sich kennenlernen" in m.text for m in company.messages) == 1
    assert sum("You'd both like to meet" in m.text for m in creative.messages) == 1


@pytest.mark.settings(**MEETING_SETTINGS)
async def test_reminders_say_where(core_harness: CoreHarness) -> None:
    """Issue 10.20: the place of the meeting is in both reminders."""
    from sqlalchemy import select

    from db.models import Meeting

    company, creative = await meetings.introduced_pair(core_harness)
    await company.press("📅")
    await company.press("Vor Ort")
    await company.say("Werkstraße 5, 04109 Leipzig")
    await creative.press("Works")
    async with core_harness.sessions() as s:
        meeting = (await s.execute(select(Meeting))).scalar_one()
    reply = await core_harness.core.reminder_reply(meeting.id, "1h", meeting.starts_at)
    sent = {m.chat_id: m.text for m in reply.messages}
    assert "Ort: Werkstraße 5, 04109 Leipzig" in sent[1101] and "Place: Werkstraße 5, 04109 Leipzig" in sent[2101]


@pytest.mark.settings(**MEETING_SETTINGS)
async def test_a_one_sided_mark_comes_first_at_release(core_harness: CoreHarness) -> None:
    """Issue 11: someone marked while browsing gets their card first at the
    next release (the mark is a strong signal), even where the matcher had
    not suggested them."""
    from sqlalchemy import delete, select

    from db.models import Suggestion
    from tests.support.config import ADMIN_ID
    from tests.support.events import new_event

    h = core_harness
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Markierrunde")
    company = await meetings.onboard(h, 1801, lang="de", side="production", name="Uta Seifert",
                                     text=meetings.COMPANY_CHALLENGE, days=("Di",), window="vormittags", slug=slug)
    await meetings.onboard(h, 2801, lang="en", side="creative", name="Ben Okafor", text=meetings.PHOTOGRAPHER,
                           days=("Tue",), window="mornings", slug=slug)
    designer = await meetings.onboard(h, 2802, lang="de", side="creative", name="Lea Licht",
                                      text=meetings.DESIGNER, days=("Di",), window="vormittags", slug=slug,
                                      discipline="UX")
    await admin.say(f"/release {slug}")
    await admin.press("Freigeben")
    await designer.say("/browse")
    await designer.press("Möchte ich treffen")
    uta, ben, lea = [(await h.person(i)).id for i in (1801, 2801, 2802)]
    async with h.sessions() as s:  # as if the company's card about Lea had never been computed
        await s.execute(delete(Suggestion).where(Suggestion.person_id == uta, Suggestion.counterpart_id == lea))
        await s.commit()
    await admin.say(f"/release {slug}")
    assert "1 Karte" in admin.last.text  # the preview counts it
    await admin.press("Freigeben")
    async with h.sessions() as s:
        cards = {c.counterpart_id: c for c in (await s.execute(
            select(Suggestion).where(Suggestion.person_id == uta))).scalars()}
    assert cards[lea].score > cards[ben].score and cards[lea].status == "pending"
    await company.press("Nicht jetzt")  # the open card (Ben): the marked one is next
    assert "Jemand möchte Sie kennenlernen" in company.last.text and "Lea Licht" in company.last.text


async def test_non_ascii_callback_data_is_an_invalid_button(core_harness: CoreHarness,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14.4: callback data from a modified client (non-ASCII, lone
    surrogates) gets the normal "button invalid" toast, before and after
    consent: no generic error, no ERROR log."""
    import logging

    caplog.set_level(logging.INFO)
    chat = core_harness.chat(9401, "Ümit", "de")
    await chat.say("/start")
    for data in ("ä|ö|ü|ß", "\ud800|x|1|y"):
        new = await chat.press_data(data)
        assert new == [] and chat.last_toast == "Diese Schaltfläche ist ungültig.", data
    await chat.press("Einverstanden")
    for data in ("ä|ö|ü|ß", "del|yes|1|äöüßäöü", "\ud800|x|1|y"):
        new = await chat.press_data(data)
        assert new == [] and chat.last_toast == "Diese Schaltfläche ist ungültig.", data
    assert not any("schiefgegangen" in m.text for m in chat.messages)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (await core_harness.state(9401)).step == "name"  # still where it was


async def test_delete_leaves_no_trace_in_the_sqlite_files(core_harness: CoreHarness) -> None:
    """Issue 14.7: right after /delete neither the SQLite file nor its
    write-ahead log holds the deleted person's texts: deleted rows are
    zeroed (secure_delete) and the WAL is checkpointed and truncated. The
    other side's state no longer carries the name either (they were at the
    comment question about the meeting)."""
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from tests.scenarios.feedback import _after_meeting, scheduled_meeting
    from tests.scenarios.meetings import PHOTOGRAPHER

    h = core_harness
    database = make_url(h.settings.database_url)
    if database.get_backend_name() != "sqlite":
        pytest.skip("the files of SQLite")
    company, creative, meeting = await scheduled_meeting(h)
    await creative.say("/results")
    await creative.press("Uta Seifert")
    await creative.say("Notiz QUUXNOTE-17 für die Werkstatt")
    await creative.say("/cancel")
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await creative.press("Yes, we met")
    await creative.press("5")
    await creative.press("Maybe")
    await creative.say("Kommentar PLUGHCOMMENT-42 zum Treffen")
    await company.press("Ja, wir haben")
    await company.press("4")
    await company.press("Ja")  # the company is at the comment question about Ben Okafor now
    assert (await h.state(1101)).data.get("name") == "Ben Okafor"
    files = [Path(database.database), Path(f"{database.database}-wal")]

    def stored() -> bytes:
        return b"".join(p.read_bytes() for p in files if p.exists())

    deleted = ("Ben Okafor", PHOTOGRAPHER[:40], "QUUXNOTE-17", "PLUGHCOMMENT-42", "user2101")
    assert all(text.encode() in stored() for text in deleted)
    await creative.say("/delete")
    await creative.press("delete everything")
    assert "erased" in creative.last.text
    left = stored()
    assert [text for text in deleted if text.encode() in left] == []
    assert b"Uta Seifert" in left  # the other side stays; the WAL was searched too (its later writes are
    # pages written after the delete, with secure_delete: no deleted text)
    async with h.sessions() as s:  # on builds where it is not the default too
        assert (await s.execute(text("PRAGMA secure_delete"))).scalar_one() == 1
    state = await h.state(1101)
    assert (state.flow, state.step, state.data) == ("idle", None, {})


async def test_broadcasts_list_is_paged_and_cancels_only_scheduled_ones(core_harness: CoreHarness) -> None:
    from datetime import timedelta

    from db.models import Broadcast, utcnow
    from tests.support.config import ADMIN_ID

    now = utcnow()
    async with core_harness.sessions() as s:
        for i in range(7):
            status = ("done", "cancelled", "scheduled")[i % 3]
            s.add(Broadcast(created_by=ADMIN_ID, locale="de", audience={"kind": "all", "event_id": None},
                            text=f"Nachricht {i}", status=status, created_at=now, recipients=4,
                            scheduled_for=now + timedelta(days=7 - i) if status == "scheduled" else None,
                            finished_at=now if status != "scheduled" else None,
                            report={"sent": 3, "unreachable": 1, "failed": 0, "in_doubt": 0} if status == "done" else None))
        await s.commit()
    organiser = core_harness.chat(ADMIN_ID, "Orga", "de")
    await organiser.say("/broadcasts")
    page = organiser.last
    assert "Rundmails: 7 (Seite 1 von 2)" in page.text
    # scheduled ones first, the soonest first; then the rest, newest first
    assert page.text.index("„Nachricht 5“") < page.text.index("„Nachricht 2“") < page.text.index("„Nachricht 6“")
    assert "gesendet 3 · nicht erreichbar 1" in page.text
    assert page.labels == ["✖️ #6 absagen", "✖️ #3 absagen", "▶️"]
    await organiser.press("▶️")
    assert "Seite 2 von 2" in organiser.last.text and organiser.last.labels == ["◀️"]
    await organiser.press("◀️")
    await organiser.press("#3 absagen")
    assert organiser.last_toast == "Rundmail #3 abgesagt." and organiser.last.labels == ["✖️ #6 absagen", "▶️"]
    await organiser.say("/help")
    assert "/broadcast –" in organiser.last.text and "/broadcasts –" in organiser.last.text


async def _add_creatives(h: CoreHarness, first_id: int, count: int) -> None:
    """Finished creative profiles in the open pool, straight into the database."""
    from db.models import Person, Profile, utcnow

    async with h.sessions() as s:
        for n in range(count):
            person = Person(telegram_id=first_id + n, first_name=f"K{n}", language="de", consent_at=utcnow())
            s.add(person)
            await s.flush()
            s.add(Profile(person_id=person.id, name=f"Kreative {first_id + n}", side="creative", organisation="Studio",
                          role="Designerin", disciplines=["ux"], languages=["de"],
                          offers=f"Interaction Design Nr. {n}: Bedienkonzepte für Maschinen und Nutzertests.",
                          seeks="Projekte mit Handwerksbetrieben.", availability={"days": [1], "windows": ["morning"]},
                          completed_at=utcnow()))
        await s.commit()


async def test_browse_costs_the_same_queries_for_1_and_10_people(core_harness: CoreHarness) -> None:
    """Issue 11: /browse loaded each shown person's card about the browser
    with a query of its own; now the statements of /browse and of a browse
    button do not grow with the number of people in the list."""
    from sqlalchemy import event

    h = core_harness
    company = await meetings.onboard(h, 1951, lang="de", side="production", name="Uta Seifert",
                                     text=meetings.MACHINES, days=("Di",), window="vormittags")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    async def measured(action) -> int:
        await action()  # once to warm the embedding cache (new texts are written once)
        statements.clear()
        event.listen(h.engine.sync_engine, "before_cursor_execute", count)
        try:
            await action()
        finally:
            event.remove(h.engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    figures = {}
    for total, first_id in ((1, 5000), (10, 5100)):
        if total == 10:
            await _add_creatives(h, first_id, 9)
        else:
            await _add_creatives(h, first_id, 1)
        browse = await measured(lambda: company.say("/browse"))
        assert f"1 / {total}" in company.last.text
        filter_press = await measured(lambda: company.press("Filter"))
        figures[total] = (browse, filter_press)
    assert figures[1] == figures[10], figures


async def test_a_database_outage_delays_the_answer_instead_of_losing_it(core_harness: CoreHarness,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14.2: the database away for a moment (PostgreSQL restarting, SQLite
    locked) raised before the error handler: no reply, the update lost. Now
    the update runs again after a short pause and is answered."""
    from sqlalchemy.exc import OperationalError

    import handlers.core as core_module
    from db.uow import PeopleRepository

    chat = core_harness.chat(9401, "Ada", "de")
    await chat.say("/start")
    real = PeopleRepository.load_context
    failures = {"left": 2}

    async def flaky(self, telegram_id, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT …", {"secret": "Geheimer Text"}, Exception("database is locked"))
        return await real(self, telegram_id, *args, **kwargs)

    monkeypatch.setattr(PeopleRepository, "load_context", flaky)
    monkeypatch.setattr(core_module, "DB_RETRY_DELAYS", (0.01, 0.01, 0.01))
    replies = await chat.press("Einverstanden")
    assert replies and "etwas schiefgegangen" not in chat.last.text
    assert failures["left"] == 0
    assert "the database is unavailable" in caplog.text and "Geheimer Text" not in caplog.text
    person = await core_harness.person(9401)
    assert person is not None and person.consent_at is not None  # consent recorded, onboarding goes on
    assert (await core_harness.state(9401)).step == "name"


async def test_sql_parameters_never_reach_errors_or_logs(database_url: str) -> None:
    """Issue 14.2: a failed statement's error carried its parameters (people's texts)."""
    from sqlalchemy import text

    from db.engine import create_engine

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            with pytest.raises(Exception) as info:
                await conn.execute(text("SELECT * FROM no_such_table WHERE x = :x"), {"x": "Mein privates Anliegen"})
        assert "Mein privates Anliegen" not in str(info.value)
    finally:
        await engine.dispose()


# --- organisers' plans (issue 13) -----------------------------------------------------------------

async def test_breakout_plan_review_and_release(harness) -> None:
    await plans.breakout_review_and_release(harness)


@pytest.mark.parametrize("scenario", plans.CORE_ONLY, ids=lambda s: s.__name__)
async def test_plans_on_the_core(core_harness: CoreHarness, scenario) -> None:
    """Speed rounds, results per group, restarts, what a plan respects: on the
    core (the whole review and release runs on every harness above)."""
    await scenario(core_harness)


async def test_stats_without_a_chart_when_drawing_fails(core_harness: CoreHarness, monkeypatch) -> None:
    """The figures in words matter more than the picture: if the chart cannot
    be drawn, /stats still answers, with the funnel in the text."""
    import handlers.figures
    from tests.support.config import ADMIN_ID

    def broken(*args, **kwargs):
        raise RuntimeError("no fonts")

    monkeypatch.setattr(handlers.figures, "chart_png", broken)
    await meetings.onboard(core_harness, 1451, lang="de", side="production", name="Uta Seifert",
                           text=meetings.COMPANY_CHALLENGE, days=("Di",), window="vormittags")
    admin = core_harness.chat(ADMIN_ID, "Orga", "de")
    new = await admin.say("/stats")
    assert [m.kind for m in new] == ["text"]
    assert "Angemeldet: 1 (100 %) – 🏭 1 · 🎨 0" in new[0].text and "Abgesagt: 0" in new[0].text


@pytest.mark.settings(**FLOOD_SETTINGS)
async def test_a_flood_at_once_is_cut_at_the_burst_and_others_go_on(core_harness: CoreHarness) -> None:
    """200 messages of one person arriving together (as from a webhook or one
    getUpdates batch) while another person talks: the flooder's first updates
    are handled, the rest dropped at once with one notice; every update of the
    other person is handled as usual, none dropped."""
    import asyncio

    from db.models import ProcessedUpdate
    from i18n import t

    h = core_harness
    clock = flood.FrozenClock()
    h.core.flood.clock = clock
    anna, bea = h.chat(8901, "Anna", "de"), h.chat(8902, "Bea", "de")
    await bea.say("/start")
    await bea.press("Einverstanden")
    before = await h.count(ProcessedUpdate)

    async def bea_talks() -> list[int]:
        counts = []
        for name in ("Bea Beispiel", "/help", "/help", "/help", "/help"):
            counts.append(len(await bea.say(name)))
            await asyncio.sleep(0)
        return counts

    results = await asyncio.gather(bea_talks(), *(anna.say(f"Flut {i}") for i in range(200)))
    assert all(n >= 1 for n in results[0])  # every message of Bea's answered
    assert sum(m.text == t("de", "flood.slow_down") for m in anna.messages) == 1
    assert sum(m.text == t("de", "flood.slow_down") for m in bea.messages) == 0
    assert await h.count(ProcessedUpdate) == before + flood.BURST + 5
    assert h.core.flood.dropped == 200 - flood.BURST
    assert (await h.state(8902)).step == "side"  # her name was taken; /help changed nothing


async def test_signed_buttons_with_odd_numbers_get_a_toast_not_an_error(core_harness: CoreHarness) -> None:
    """Found by the fuzzer (tests/fuzz): buttons the bot never offered but that
    carry its signature (a leaked key, an old bot version), with ids beyond 63
    bits, superscript digits or a minute past the year 9999, ended in "something
    went wrong" (OverflowError, ValueError) instead of a stale-button answer."""
    from handlers.introductions import _from_minute

    assert _from_minute("999999999999") is None and _from_minute("²") is None
    company, creative = await meetings.introduced_pair(core_harness)
    signer = core_harness.core.services.signer
    for action, value in (("sg", f"{2**64}:y"), ("sg", "²:y"), ("fb", f"{2**70}:met:"), ("oc", f"{2**65}:idea"),
                          ("mt", f"{2**64}:cx"), ("mt", "1:p:999999999999"), ("mt", "1:a:²"),
                          ("rl", f"c{2**80}:stamp"), ("lv", f"{2**64}:y"), ("ap", f"1:{2**64}:a"),
                          ("consent", f"y-de-{2**64}"), ("consent", "y-de-²")):
        body = f"{action}|{value}|0"
        reply = await core_harness.core.handle(Incoming(next(_ids), creative.user, creative.user_id, "button",
                                                        callback_data=f"{body}|{signer._sig(creative.user_id, body)}",
                                                        callback_id="x", message_id=1))
        assert not reply.error and (reply.callback_text or reply.messages), (action, value, reply)
    stranger = core_harness.chat(9501, "Ilse", "de")  # before consent: the privacy notice's buttons
    await stranger.say("/start")
    for action, value in (("plang", "en-" + "9" * 40), ("consent", "y-de-" + "9" * 40)):
        body = f"{action}|{value}|0"
        reply = await core_harness.core.handle(Incoming(next(_ids), stranger.user, stranger.user_id, "button",
                                                        callback_data=f"{body}|{signer._sig(stranger.user_id, body)}",
                                                        callback_id="x", message_id=1))
        assert not reply.error, (action, value, reply)


@pytest.mark.settings(**MEETING_SETTINGS)
async def test_a_meeting_time_past_the_year_9999_or_before_the_year_1_is_not_read(core_harness: CoreHarness) -> None:
    """Issue 14 (hostile input, a probe of typed times): "01.01.0001 00:30" raised OverflowError
    (generic error), and "31.12.9999 23:30" was offered and accepted as a
    meeting time — its end, reminders and follow-ups lie past the last
    datetime there is. A time more than ten years ahead is not read as one."""
    from db.models import Meeting
    from sqlalchemy import select

    company, creative = await meetings.introduced_pair(core_harness)
    await company.press("Andere Zeit")
    for typed in ("31.12.9999 23:30", "9999-12-31 10:00", "01.01.0001 00:30", "1.1.1 0:30"):
        new = await company.say(typed)
        assert new and "schiefgegangen" not in new[-1].text, typed
        assert (await core_harness.state(1101)).step == "propose_time"
    async with core_harness.sessions() as s:
        meeting = (await s.execute(select(Meeting))).scalar_one()
    assert meeting.offer_at is None and meeting.starts_at is None
    await core_harness.sweep()  # nothing out of range for the follow-ups either


async def test_a_failed_flush_at_the_commit_still_gets_the_error_reply(core_harness: CoreHarness) -> None:
    """A write that fails only when flushed at the commit (on PostgreSQL e.g.
    a value too long for its column) left the person unreadable: reading their
    language for the error reply raised PendingRollbackError (MissingGreenlet
    elsewhere) out of the core, and the person got no answer at all."""
    import dataclasses

    chat = core_harness.chat(9401, "Flo", "en")
    await chat.say("/start")
    await chat.press("I agree")
    commands = core_harness.core.registry.commands
    real = commands["help"].handler

    async def fails_at_the_commit(turn, profile, args) -> None:  # type: ignore[no-untyped-def]
        await real(turn, profile, args)
        turn.person.telegram_id = 2**70  # no database integer holds it: the flush fails

    commands["help"] = dataclasses.replace(commands["help"], handler=fails_at_the_commit)  # type: ignore[index]
    reply = await core_harness.core.handle(Incoming(next(_ids), chat.user, chat.user_id, "text", text="/help"))
    assert reply.error and "Something went wrong" in reply.messages[0].text  # in the person's language
    assert (await core_harness.person(9401)).telegram_id == 9401  # nothing of it stored


async def test_a_deleted_persons_contact_is_not_in_the_cancellation_sent_to_the_other_side(
        core_harness: CoreHarness) -> None:
    """Found by the fuzzer (tests/fuzz): /delete cancels the person's scheduled
    meeting, and the calendar cancellation sent to the other side carried the
    deleted person's Telegram contact and challenge — written to the outbox in
    the very transaction that erased them. Of them only the name is left."""
    from tests.scenarios.feedback import scheduled_meeting

    company, creative, _meeting = await scheduled_meeting(core_harness)
    await company.say("/delete")
    await company.press("Ja, alles löschen")
    cancellation = next(m for m in reversed(creative.messages) if m.document and m.document[0].endswith(".ics"))
    ics = cancellation.document[1].decode().replace("\r\n ", "")
    assert "METHOD:CANCEL" in ics and "no longer takes part" in ics and "Uta Seifert" in ics
    assert "user1101" not in ics and "Challenge" not in ics and "Möbel" not in ics
    own = next(m for m in reversed(creative.messages) if "cancelled the meeting" in m.text)
    assert "user1101" not in own.text


async def test_a_file_name_longer_than_its_column_is_cut_keeping_the_extension(core_harness: CoreHarness) -> None:
    """Found with the fuzzer's column check (tests/fuzz, by a directed probe): a file name of
    400 characters was stored in handover_items.filename (VARCHAR 300); SQLite
    keeps it, PostgreSQL refuses the whole update."""
    from sqlalchemy import select

    from db.models import HandoverItem

    company, creative = await meetings.introduced_pair(core_harness)
    await creative.say("/results")
    await creative.press("Uta")
    await creative.send_file("document", caption="Entwurf", filename="ä" * 400 + ".pdf")
    async with core_harness.sessions() as s:
        item = (await s.execute(select(HandoverItem))).scalar_one()
    assert item.filename is not None and len(item.filename) == 300 and item.filename.endswith("ä.pdf")
