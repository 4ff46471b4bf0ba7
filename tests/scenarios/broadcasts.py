"""Organisers' announcements (/broadcast, /broadcasts) and opting out
(the button under each one, /settings), on every harness. On the core
harness no sender runs: what would be sent is read from the outbox; on the
emulator harnesses it is delivered (`h.app.broadcasts.settle()` waits for the
sender and the delivery report)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from db.models import Broadcast, OutboxMessage, Person
from handlers.callbacks import BroadcastButton
from tests.support.broadcast_world import EXPECTED, NAMES, PEOPLE, seed_world
from tests.support.config import ADMIN_ID

TEXT = "Hallo {vorname}, am Freitag ist {event}! Eine geschweifte Klammer: {{ok}}"
KIND_LABELS = {"all": "Alle", "production": "Unternehmen (Produktion)", "creative": "Kreative",
               "event": "Teilnehmende einer Veranstaltung", "onboarding": "Anmeldung nicht abgeschlossen",
               "feedback": "Rückmeldung nach Treffen offen", "unscheduled": "Vorgestellt, aber ohne Termin"}


def delivers(h: Any) -> bool:
    return hasattr(h, "emu")


async def world_with_chats(h: Any):
    world = await seed_world(h.sessions)
    for tid, (name, *_rest, lang) in PEOPLE.items():
        h.chat(tid, name.split()[0], lang)
    return world


async def rows(h: Any, broadcast_id: int | None = None) -> list[OutboxMessage]:
    async with h.sessions() as s:
        q = select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
        if broadcast_id is not None:
            q = q.where(OutboxMessage.broadcast_id == broadcast_id)
        return list((await s.execute(q.order_by(OutboxMessage.id))).scalars())


async def broadcasts(h: Any) -> list[Broadcast]:
    async with h.sessions() as s:
        return list((await s.execute(select(Broadcast).order_by(Broadcast.id))).scalars())


async def choose(organiser: Any, kind: str, event: str | None) -> None:
    """/broadcast, an audience and (if asked) an event or none."""
    await organiser.say("/broadcast")
    assert "An wen soll sie gehen?" in organiser.last.text
    await organiser.press(KIND_LABELS[kind])
    if event is not None:
        await organiser.press(event)
    elif kind != "event":
        await organiser.press("Ohne Eingrenzung")


async def settle(h: Any) -> None:
    if delivers(h):
        await h.app.broadcasts.settle()
        await h.emu.wait_idle(quiet=0.05)


def message(chat: Any, message_id: int) -> Any:
    return next(m for m in chat.messages if m.message_id == message_id)


def texts(chat: Any) -> list[str]:
    return [m.text for m in chat.messages]


# --- the whole conversation -----------------------------------------------------------------------

async def compose_preview_and_send(h) -> None:
    world = await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    await choose(organiser, "event", "Werkstatttag")
    assert "👥 3 Personen bekommen die Rundmail." in organiser.last.text
    assert "Nicht dabei: 1 abbestellt, 0 nicht erreichbar." in organiser.last.text
    assert "{vorname}" in organiser.last.text and "{event}" in organiser.last.text
    await organiser.say(TEXT)
    assert "Text übernommen" in organiser.last.text and "Anhang: –" in organiser.last.text
    # a photo, then a link button (first one that is not a link)
    await organiser.send_file("photo")
    assert "Anhang: Foto" in organiser.last.text
    await organiser.press("Link-Schaltfläche")
    await organiser.say("Zur Anmeldung javascript:alert(1)")
    assert "kann ich nicht als Link lesen" in organiser.last.text
    await organiser.say("Zur Anmeldung https://example.org/anmeldung?x=1")
    assert "Link: Zur Anmeldung → https://example.org/anmeldung?x=1" in organiser.last.text
    await organiser.press("Vorschau")
    # the preview exactly as recipients get it (with the organiser's name), then the choices
    control = organiser.last
    assert "So sieht die Rundmail aus" in control.text and "3 Personen" in control.text
    assert control.labels == ["📤 Senden", "🕒 Planen …", "✏️ Bearbeiten", "✖️ Abbrechen"]
    photo, preview = organiser.messages[-2], organiser.messages[-3]
    assert photo.kind == "photo"
    assert preview.text == "Hallo Orga, am Freitag ist Werkstatttag! Eine geschweifte Klammer: {ok}"
    assert preview.labels == ["Zur Anmeldung", "🔕 Keine Rundmails mehr"]
    await organiser.press("Keine Rundmails mehr")  # in the preview: explained, nothing changes
    assert "Vorschau" in (organiser.last_toast or "")
    # edit: the text again, then send
    await organiser.press("Bearbeiten")
    await organiser.press("Text ändern")
    await organiser.say("Hallo {vorname}, am Freitag ist {event}!")
    await organiser.press("Vorschau")
    assert organiser.messages[-3].text == "Hallo Orga, am Freitag ist Werkstatttag!"
    progress = organiser.last
    send = progress.data_for("Senden")
    await organiser.press_data(send, progress.message_id)
    shown = message(organiser, progress.message_id)
    assert not shown.buttons and ("wird gesendet" in shown.text or "fertig" in shown.text)
    if not delivers(h):
        assert "░░░░░░░░░░ 0 von 3" in shown.text and "Ausstehend: 3" in shown.text
    [b] = await broadcasts(h)
    assert (b.status, b.recipients, b.event_id, b.audience["kind"]) == ("sending", 3, world.event_id, "event")
    assert b.progress_message_id is not None and b.report == {"opted_out": 1, "excluded_unreachable": 0}
    out = {r.chat_id: r for r in await rows(h, b.id)}
    assert set(out) == {7001, 7002, 7005}
    for tid, row in out.items():
        assert (row.kind, row.priority) == ("broadcast", 2)
    if not delivers(h):  # a sent row keeps no text (docs/outbox.md): read what would go out
        for tid, row in out.items():
            assert row.payload["text"] == f"Hallo {NAMES[tid]}, am Freitag ist Werkstatttag!"
            assert row.payload["buttons"][0] == [{"text": "Zur Anmeldung", "url": "https://example.org/anmeldung?x=1"}]
            assert row.payload["media"][0]["kind"] == "photo"
        assert out[7002].payload["buttons"][1][0]["text"] == "🔕 No more announcements"  # in the recipient's language
        assert out[7001].payload["buttons"][1][0]["text"] == "🔕 Keine Rundmails mehr"
    await organiser.press_data(send, progress.message_id)  # a second press changes nothing
    assert organiser.last_toast is not None and "nicht mehr aktuell" in organiser.last_toast
    assert len(await broadcasts(h)) == 1 and len(await rows(h)) == 3
    if delivers(h):
        await settle(h)
        for tid in (7001, 7002, 7005):
            chat = next(c for c in h.chats if c.user_id == tid)
            got = [m for m in chat.messages if "am Freitag" in m.text]
            assert len(got) == 1 and chat.messages[-1].kind == "photo"
        assert not any("am Freitag" in t for c in h.chats if c.user_id in (7003, 7004, 7006) for t in texts(c))
        [b] = await broadcasts(h)
        assert b.status == "done" and b.report["sent"] == 3 and b.finished_at is not None
        report = organiser.last.text
        assert "Zustellbericht" in report and "Gesendet: 3" in report and "Nicht angeschrieben: 1 abbestellt" in report
        assert "fertig" in message(organiser, progress.message_id).text


async def each_audience_with_its_exclusions(h) -> None:
    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    for (kind, in_event), (expected, opted_out, unreachable) in EXPECTED.items():
        await choose(organiser, kind, "Werkstatttag" if in_event else None)
        text = organiser.last.text
        count = len(expected)
        assert (f"👥 {count} Personen" if count != 1 else "👥 1 Person bekommt") in text, (kind, text)
        if opted_out or unreachable:
            assert f"Nicht dabei: {opted_out} abbestellt, {unreachable} nicht erreichbar." in text, (kind, text)
        else:
            assert "Nicht dabei" not in text
        await organiser.press("Abbrechen")
        assert "verworfen" in organiser.last.text
    # sent: the audience as it is at that moment (production side within the event)
    await choose(organiser, "production", "Werkstatttag")
    await organiser.say("Liebe Unternehmen, {vorname}: bitte Stand aufbauen.")
    await organiser.press("Vorschau")
    await organiser.press("Senden")
    assert {r.chat_id for r in await rows(h)} == EXPECTED[("production", True)][0]
    await settle(h)


async def placeholders_are_checked(h) -> None:
    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    await choose(organiser, "all", None)
    await organiser.say("Hallo {name}!")
    assert "Den Platzhalter {name} kenne ich nicht" in organiser.last.text
    assert "{vorname} und {event}" in organiser.last.text
    await organiser.say("Hallo {vorname!r}")
    assert "Den Platzhalter {vorname!r} kenne ich nicht" in organiser.last.text
    await organiser.say("Hallo {vorname")
    assert "geschweifte Klammer steht allein" in organiser.last.text and "{{ oder }}" in organiser.last.text
    await organiser.say("Preis: 5 } Euro")
    assert "geschweifte Klammer steht allein" in organiser.last.text
    await organiser.say("x" * 4090 + "{vorname}")  # fits as typed, not with a long name
    assert "Der Text ist zu lang: 4.099 Zeichen, mit eingesetzten Namen bis zu 4.154" in organiser.last.text
    await organiser.say("   ")
    assert "braucht einen Text" in organiser.last.text
    await organiser.say("{vorname}, {{vorname}} ist ein Platzhalter. {event}.")
    assert "Text übernommen" in organiser.last.text
    await organiser.press("Vorschau")
    assert organiser.messages[-2].text == "Orga, {vorname} ist ein Platzhalter. ."  # no event chosen: empty
    await organiser.press("Senden")
    if delivers(h):  # what arrived (a sent row keeps no text)
        await settle(h)
        got = {c.user_id: c.messages[-1].text for c in h.chats if c.user_id in (7001, 7002)}
        payloads = {tid: next(m.text for m in reversed(c.messages) if "Platzhalter" in m.text)
                    for c in h.chats for tid in (c.user_id,) if tid in got}
    else:
        payloads = {r.chat_id: r.payload["text"] for r in await rows(h)}
    assert payloads[7002] == "Ben, {vorname} ist ein Platzhalter. ."
    assert payloads[7001] == "Klara, {vorname} ist ein Platzhalter. ."
    await settle(h)


# --- refusals -------------------------------------------------------------------------------------

async def refused_to_participants(h) -> None:
    await world_with_chats(h)
    participant = next(c for c in h.chats if c.user_id == 7001)
    for command in ("/broadcast", "/broadcasts"):
        await participant.say(command)
        assert participant.last.text == "Dieser Befehl ist nur für das Organisationsteam."
    # the organiser starts one; the participant replays the organiser's buttons ...
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    await organiser.say("/broadcast")
    everyone = organiser.last.data_for("Alle")
    await participant.press_data(everyone, participant.last.message_id)
    assert "nicht gültig" in (participant.last_toast or "") or "ungültig" in (participant.last_toast or "")
    # ... and forges their own, correctly signed for them: refused on press, nothing happens
    signer = h.core.services.signer
    for op, arg in (("aud", "all"), ("go", ""), ("x", "1"), ("pg", "0")):
        payload = BroadcastButton(op, arg, 0)
        forged = signer.sign(7001, payload.action, payload.pack(), 0)
        await participant.press_data(forged, participant.last.message_id)
        assert participant.last_toast == "Dieser Befehl ist nur für das Organisationsteam.", op
    state = await h.state(7001)
    assert state.flow == "idle"
    # someone who never agreed to the privacy notice gets the notice, nothing else
    stranger = h.chat(7999, "Sven", "de")
    await stranger.say("/broadcast")
    assert "Datenschutz" in stranger.last.text and await h.person(7999) is None
    # the organiser's draft is untouched, and nothing was sent
    await organiser.press("Alle")
    assert "Ohne Eingrenzung" in organiser.last.labels
    assert await rows(h) == [] and await broadcasts(h) == []


# --- scheduled ------------------------------------------------------------------------------------

async def schedule_then_cancel_or_send(h) -> None:
    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    start = h.core.services.now()
    h.set_time(start)
    await choose(organiser, "creative", None)
    await organiser.say("Hallo {vorname}, Erinnerung an morgen.")
    await organiser.press("Vorschau")
    await organiser.press("Planen")
    assert "Wann soll die Rundmail rausgehen?" in organiser.last.text and "Europe/Berlin" in organiser.last.text
    await organiser.say("irgendwann")
    assert "kann ich nicht lesen" in organiser.last.text
    await organiser.say("01.01.2020 10:00")
    assert "liegt in der Vergangenheit" in organiser.last.text
    await organiser.say("übermorgen 10:00")
    assert "Geplant: Rundmail #1" in organiser.last.text and "/broadcasts" in organiser.last.text
    [b] = await broadcasts(h)
    assert b.status == "scheduled" and b.scheduled_for > start and await rows(h) == []
    assert (await h.state(ADMIN_ID)).flow == "idle"
    # /broadcasts lists it with a button to cancel it
    await organiser.say("/broadcasts")
    assert "geplant für" in organiser.last.text and "„Hallo {vorname}, Erinnerung an morgen.“" in organiser.last.text
    await organiser.press("#1 absagen")
    assert "abgesagt" in (organiser.last_toast or "") and "✖️ abgesagt" in organiser.last.text
    assert (await broadcasts(h))[0].status == "cancelled"
    # a second one, sent when it is due: the audience as it is then
    await choose(organiser, "creative", None)
    await organiser.say("Hallo {vorname}, heute ist es so weit.")
    await organiser.press("Vorschau")
    await organiser.press("Planen")
    await organiser.say("übermorgen 11:00")
    scheduled = (await broadcasts(h))[1]
    async with h.sessions() as s:  # Carla opts in again after it was planned
        person = (await s.execute(select(Person).where(Person.telegram_id == 7003))).scalar_one()
        person.announcements_opt_out = False
        await s.commit()
    h.set_time(scheduled.scheduled_for - timedelta(minutes=1))
    await h.sweep()
    assert await rows(h) == []
    h.set_time(scheduled.scheduled_for + timedelta(seconds=30))
    await h.sweep()
    b = (await broadcasts(h))[1]
    assert b.status in ("sending", "done") and b.recipients == 3
    assert {r.chat_id for r in await rows(h)} == {7002, 7003, 7007}
    await h.sweep()  # started once only
    assert len(await rows(h)) == 3
    if delivers(h):
        await settle(h)
        assert (await broadcasts(h))[1].status == "done"
        assert "Zustellbericht" in organiser.last.text and "Gesendet: 3" in organiser.last.text
        carla = next(c for c in h.chats if c.user_id == 7003)
        assert any(m.text == "Hallo Carla, heute ist es so weit." for m in carla.messages)
    await organiser.say("/broadcasts")
    assert organiser.last.text.count("#") >= 2 and "✖️ abgesagt" in organiser.last.text
    assert not any("absagen" in label for label in organiser.last.labels)


# --- opting out -----------------------------------------------------------------------------------

async def opt_out_button_and_settings(h) -> None:
    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    await choose(organiser, "production", None)
    await organiser.say("Guten Morgen {vorname}")
    await organiser.press("Vorschau")
    await organiser.press("Senden")
    klara = next(c for c in h.chats if c.user_id == 7001)
    [row] = [r for r in await rows(h) if r.chat_id == 7001]
    data = row.payload["buttons"][-1][0]["data"] if not delivers(h) else ""
    if delivers(h):
        await settle(h)
        data = next(m for m in reversed(klara.messages)
                    if any("Keine Rundmails" in label for label in m.labels)).data_for("Keine Rundmails mehr")
        await klara.press("Keine Rundmails mehr")
    else:
        await klara.press_data(data)
    assert klara.last_toast == "Abbestellt."
    assert "keine Rundmails vom Organisationsteam mehr" in klara.last.text and "/settings" in klara.last.text
    assert (await h.person(7001)).announcements_opt_out is True
    await klara.say("/settings")
    assert "Rundmails vom Organisationsteam: aus (abbestellt)" in klara.last.text
    # the next broadcast leaves her out, and says so
    await choose(organiser, "production", None)
    assert "👥 2 Personen" in organiser.last.text and "Nicht dabei: 1 abbestellt, 1 nicht erreichbar." in organiser.last.text
    await organiser.press("Abbrechen")
    await klara.press("Rundmails wieder bekommen")
    assert klara.last_toast == "Rundmails wieder an." and "Rundmails vom Organisationsteam: an" in klara.last.text
    assert (await h.person(7001)).announcements_opt_out is False
    await klara.press_data(data)  # the old button still works
    assert (await h.person(7001)).announcements_opt_out is True
    await klara.say("/mydata")
    assert "Rundmails vom Organisationsteam: aus (abbestellt)" in klara.last.text
    assert klara.last.json()["person"]["announcements_opt_out"] is True
    await klara.say("/help")
    assert "/settings" in klara.last.text
    stranger = h.chat(7998, "Sina", "de")
    await stranger.say("/start")
    assert "Rundmails" in stranger.last.text and "/settings" in stranger.last.text  # the privacy notice


ALL = [compose_preview_and_send, each_audience_with_its_exclusions, placeholders_are_checked,
       refused_to_participants, schedule_then_cancel_or_send, opt_out_button_and_settings]


# --- delivery with failures (the emulator) ---------------------------------------------------------

async def report_with_blocked_and_rate_limited(h) -> None:
    """One recipient blocked the bot (403), Telegram asks to slow down once
    (429): everyone else gets exactly one copy; the report says so, and the
    blocked one leaves the next audience."""
    await world_with_chats(h)
    organiser = h.chat(ADMIN_ID, "Orga", "de")
    h.emu.block_bot(7005, notify=False)
    await choose(organiser, "all", None)
    await organiser.say("Hallo {vorname}, die Ergebnisse sind online.")
    await organiser.press("Vorschau")
    progress = organiser.last
    h.emu.fail_next("sendMessage", 429, retry_after=1)
    await organiser.press("Senden")
    await h.app.broadcasts.settle()
    await h.emu.wait_idle(quiet=0.05)
    for tid in (7001, 7002, 7007, 7008):
        copies = [m for m in h.emu.sent(tid) if (m.text or "").endswith("die Ergebnisse sind online.")]
        assert len(copies) == 1, tid
    assert not h.emu.sent(7005)
    [b] = await broadcasts(h)
    assert b.status == "done"
    assert {k: b.report[k] for k in ("sent", "unreachable", "failed", "in_doubt")} == \
        {"sent": 4, "unreachable": 1, "failed": 0, "in_doubt": 0}
    report = organiser.last.text
    for line in ("Empfänger: 5", "Gesendet: 4", "Nicht erreichbar (Bot blockiert, Konto weg): 1", "Fehlgeschlagen: 0",
                 "Unsicher (nach einer Unterbrechung evtl. doppelt): 0"):
        assert line in report, (line, report)
    final = h.emu.message(ADMIN_ID, progress.message_id).text
    assert "fertig" in final and "▓" * 10 in final
    assert any("wird gesendet" in (e.get("old_text") or "") for e in h.emu.message(ADMIN_ID, progress.message_id).edits)
    assert (await h.person(7005)).unreachable_at is not None
    await choose(organiser, "all", None)
    assert "👥 4 Personen" in organiser.last.text and "1 abbestellt, 2 nicht erreichbar" in organiser.last.text
