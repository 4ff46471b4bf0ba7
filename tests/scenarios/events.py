"""Issue 13, organisers' events: /newevent as a conversation (with bad input),
/event to show and change an event, its QR code, applications with approve /
decline / a question and its answer, places per side with the waiting list
moving up, co-organisers who may organise their event and nothing else, and
refusals of every organiser command and (forged) button to participants."""
from __future__ import annotations

import struct

from sqlalchemy import select

from db.models import Event, EventOrganiser, EventParticipant, Person
from handlers.callbacks import ApplicationButton, EventButton, HandoverButton, ReleaseButton
from handlers.qr import qr_size
from tests.scenarios.meetings import COMPANY_CHALLENGE, DESIGNER, PHOTOGRAPHER, _wait_for, onboard
from tests.support.config import ADMIN_ID
from tests.support.events import new_event

ONLY = "Dieser Befehl ist nur für das Organisationsteam."


async def _event(h, slug: str) -> Event:
    async with h.sessions() as s:
        return (await s.execute(select(Event).where(Event.slug == slug))).scalar_one()


async def _statuses(h, slug: str) -> dict[int, str]:
    """Telegram id -> status in the event."""
    async with h.sessions() as s:
        rows = await s.execute(select(Person.telegram_id, EventParticipant.status)
                               .join(EventParticipant, EventParticipant.person_id == Person.id)
                               .join(Event, Event.id == EventParticipant.event_id).where(Event.slug == slug))
        return dict(rows.all())


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


async def newevent_conversation(h) -> None:
    admin = h.chat(ADMIN_ID, "Orga", "de")
    await admin.say("/newevent")
    assert "(1/6)" in admin.last.text and "Wie heißt die Veranstaltung" in admin.last.text
    await admin.say("ab")
    assert "3 bis 200 Zeichen" in admin.last.text
    await admin.say("Creative Production Lab")
    assert "(2/6) Wann findet sie statt" in admin.last.text
    await admin.say("01.03.2020 18:00")
    assert "liegt in der Vergangenheit" in admin.last.text
    await admin.say("irgendwann demnächst")
    assert "verstehe ich nicht als Datum mit Uhrzeit" in admin.last.text
    await admin.say("12.03.2031 18:00 bis 17:00")
    assert "nicht nach dem Beginn" in admin.last.text
    await admin.say("12.03.2031 18:00 bis 21:00")
    assert "(3/6) Wo?" in admin.last.text and "Noch offen" in admin.last.labels
    await admin.say("https://meet.example.org/lab")
    assert "(4/6)" in admin.last.text
    await admin.say("Bankett")
    assert "„Bankett“ kenne ich nicht als Format" in admin.messages[-2].text
    assert admin.last.labels == ["Offenes Networking", "Breakout-Runden", "Speed-Meetup", "Abbrechen"]
    await admin.press("Breakout-Runden")
    assert "(5/6) Wie viele Plätze" in admin.last.text
    for garbage in ("viele", "0", "5 10 15"):
        await admin.say(garbage)
        assert f"„{garbage}“ verstehe ich nicht als Zahl der Plätze" in admin.last.text, garbage
    await admin.say("5 10")
    assert "(6/6)" in admin.last.text
    await admin.say("vielleicht")
    assert "Schaltflächen" in admin.messages[-2].text and "Ja, mit Prüfung" in admin.last.labels
    await admin.press("Ja, mit Prüfung")
    summary = admin.last.text
    assert "Name: Creative Production Lab" in summary
    assert "Termin: Mi, 12.03.2031, 18:00 Uhr bis 21:00 Uhr" in summary
    assert "Ort: online: https://meet.example.org/lab" in summary and "Format: Breakout-Runden" in summary
    assert "Plätze: Unternehmen 5 · Kreative 10" in summary and "Anmeldungen: mit Prüfung" in summary
    await admin.press("Ändern")
    await admin.press("Plätze")
    assert "Bisher: Unternehmen 5 · Kreative 10" in admin.last.text and "↩️ Zurück" in admin.last.labels
    await admin.say("6 12")
    assert "Plätze: Unternehmen 6 · Kreative 12" in admin.last.text and "✅ Anlegen" in admin.last.labels
    await admin.press("Ändern")
    await admin.press("Ort")
    await admin.press("Zurück")  # left as it was
    assert "Ort: online: https://meet.example.org/lab" in admin.last.text
    assert await h.count(Event) == 0  # nothing before "Anlegen"
    await admin.press("Anlegen")
    assert any("Veranstaltung „Creative Production Lab“ angelegt" in m.text for m in admin.messages[-3:])
    qr = admin.last
    assert qr.document is not None and qr.document[0].endswith(".png") and "Plakate" in qr.text
    async with h.sessions() as s:
        event = (await s.execute(select(Event))).scalar_one()
    link = f"https://t.me/{h.core.services.bot_username}?start={event.slug}"
    assert link in qr.text and _png_size(qr.document[1]) == qr_size(link)
    assert (event.name, event.format, event.capacity_production, event.capacity_creative, event.approval) == \
        ("Creative Production Lab", "breakout", 6, 12, True)
    assert event.place == "https://meet.example.org/lab"
    assert (event.starts_at.isoformat(), event.ends_at.isoformat()) == ("2031-03-12T17:00:00+00:00",
                                                                          "2031-03-12T20:00:00+00:00")
    # The name given with the command: the conversation starts at the date; /cancel discards it.
    await admin.say("/newevent Sommerfest 2031")
    assert "(2/6)" in admin.last.text
    await admin.say("/cancel")
    assert "Verworfen" in admin.last.text
    assert await h.count(Event) == 1
    await admin.say("/newevent x")  # too short a name: asked for one
    assert "3 bis 200 Zeichen" in admin.messages[-2].text and "(1/6)" in admin.last.text
    await admin.press("Abbrechen")
    assert "Verworfen" in admin.last.text and (await h.state(ADMIN_ID)).flow == "idle"


async def event_card_and_editing(h) -> None:
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Werkstattabend", capacity="1")
    mia = h.chat(8301, "Mia", "de")
    await mia.say(f"/start {slug}")
    await mia.press("Einverstanden")  # joined, no profile yet
    await admin.say(f"/event {slug}")
    card = admin.last
    assert f"„Werkstattabend“ · Code {slug}" in card.text and "Format: Offenes Networking" in card.text
    assert "Plätze: Unternehmen 1 · Kreative 1" in card.text and "Anmeldungen: ohne Prüfung" in card.text
    assert "Unternehmen: 0 angemeldet" in card.text and "Bereich noch nicht gewählt: 1 angemeldet" in card.text
    assert f"Einladungslink: https://t.me/{h.core.services.bot_username}?start={slug}" in card.text
    assert "Vorschläge: noch nicht freigegeben" in card.text and "➕ Co-Organisator hinzufügen" in card.labels
    await admin.press("✏️ Name")
    assert "Bisher: Werkstattabend" in admin.last.text
    await admin.say("W")  # too short: said so, still at the question
    assert "3 bis 200 Zeichen" in admin.last.text
    await admin.say("Werkstattabend Herbst")
    assert "Gespeichert" in admin.messages[-2].text and "„Werkstattabend Herbst“" in admin.last.text
    await admin.press("✏️ Termin")
    await admin.say("gestern 18:00")
    assert "liegt in der Vergangenheit" in admin.last.text
    await admin.press("Zurück")
    assert "Termin: Mi, 12.03.2031, 18:00 Uhr" in admin.last.text
    await admin.press("✏️ Format")
    await admin.press("Speed-Meetup")
    assert "Format: Speed-Meetup" in admin.last.text
    await admin.press("✏️ Prüfung")
    await admin.press("Ja, mit Prüfung")
    assert "Anmeldungen: mit Prüfung" in admin.last.text and "📝 Bewerbungen (0)" in admin.last.labels
    await admin.press("Bewerbungen")
    assert admin.last_toast == "Keine offenen Bewerbungen."
    before = len(admin.messages)
    await admin.press("QR-Code")
    assert len(admin.messages) == before + 1 and admin.last.document[1][:4] == b"\x89PNG"
    event = await _event(h, slug)
    assert (event.name, event.format, event.approval) == ("Werkstattabend Herbst", "speed", True)
    # without a code: a button per event; an unknown one is said so
    await admin.say("/event")
    assert admin.last.text == "Welche Veranstaltung?"
    await admin.press("Werkstattabend Herbst")
    assert "Code " + slug in admin.last.text
    await admin.say("/event gibtsnicht")
    assert "„gibtsnicht“ finde ich nicht" in admin.messages[-2].text and admin.last.labels
    await admin.say("/events")
    assert f"„Werkstattabend Herbst“ · Code {slug} · Speed-Meetup" in admin.last.text
    assert f"?start={slug}" in admin.last.text and "Kreative: 0 angemeldet" in admin.last.text


async def approval_with_a_question(h) -> None:
    """Approval on, one creative place: applications go to the organisers with
    the profile; a question and its answer (typed straight away, or after
    "Antworten" from the middle of something else); approve, decline (the
    next on the waiting list moves up, as an application); only approved
    people are released."""
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Exklusivrunde", capacity="5 1", approval=True)
    company = await onboard(h, 1901, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                            days=("Di",), window="vormittags", slug=slug, org="Seifert Möbelwerkstatt")
    assert "geht jetzt an das Organisationsteam zur Prüfung" in company.last.text
    application = admin.last
    assert "Neue Anmeldung für „Exklusivrunde“ (Unternehmen)" in application.text
    assert "Name: Uta Seifert" in application.text and "Organisation: Seifert Möbelwerkstatt" in application.text
    assert COMPANY_CHALLENGE[:40] in application.text and "@user1901" not in application.text
    assert application.labels == ["✅ Annehmen", "❌ Ablehnen", "❓ Rückfrage"]
    await company.say("/matches")
    assert "prüft das Organisationsteam noch" in company.last.text
    await admin.say("/newevent Zwischendurch")  # the organiser is half-way through a new event ...
    await admin.say("12.03.2031 18:00")
    await admin.press("Rückfrage")  # ... and asks a question on the side
    assert "Ihre Rückfrage an Uta Seifert" in admin.last.text
    await admin.say("Welche Maschinen stehen in Ihrer Werkstatt?")
    assert "an Uta Seifert weitergeleitet" in admin.messages[-2].text
    assert "(3/6) Wo?" in admin.last.text  # then the new event goes on where it stopped
    assert "„Welche Maschinen stehen in Ihrer Werkstatt?“" in company.last.text
    assert company.last.labels == ["✍️ Antworten"]
    await company.say("Eine CNC-Fräse und eine Kantenanleimmaschine.")  # typed straight away
    assert "Ihre Antwort ist beim Organisationsteam" in company.last.text
    answer = admin.last
    assert "Antwort von Uta Seifert" in answer.text and "CNC-Fräse" in answer.text and "Welche Maschinen" in answer.text
    await admin.press("Annehmen")
    assert "✅ Angenommen: Uta Seifert für „Exklusivrunde“" in admin.last.text
    assert "Ihre Anmeldung für „Exklusivrunde“ ist angenommen" in company.last.text
    await admin.press_data(application.data_for("Ablehnen"), application.message_id)  # the first copy, later
    assert "schon entschieden (✅ Angenommen)" in (admin.last_toast or "")
    assert (await _statuses(h, slug))[1901] == "approved"

    ben = await onboard(h, 2901, lang="en", side="creative", name="Ben Okafor", text=PHOTOGRAPHER,
                        days=("Tue",), window="mornings", slug=slug)
    assert "now goes to the organisers for review" in ben.last.text
    lea = await onboard(h, 2902, lang="de", side="creative", name="Lea Licht", text=DESIGNER, days=("Di",),
                        window="vormittags", slug=slug, discipline="UX")
    assert "Warteliste, Platz 1" in lea.last.text  # the one creative place is Ben's application
    await lea.say("/matches")
    assert "Warteliste (Platz 1)" in lea.last.text
    await ben.say("/profile")  # in the middle of something: the answer comes through the button
    await admin.press("Rückfrage")
    assert "Ihre Rückfrage an Ben Okafor" in admin.last.text
    await admin.say("Do you have references in furniture?")
    assert "references in furniture" in ben.last.text and ben.last.labels == ["✍️ Answer"]
    await ben.press("Answer")
    assert "Just write your answer" in ben.last.text
    await ben.say("Yes: catalogues for three joineries.")
    assert "Your answer is with the organisers" in ben.last.text
    assert (await h.state(2901)).flow == "profile"  # back where he was
    assert "Antwort von Ben Okafor" in admin.last.text and "three joineries" in admin.last.text
    await admin.press("Ablehnen")
    assert "❌ Abgelehnt: Ben Okafor" in admin.messages[-2].text or "❌ Abgelehnt: Ben Okafor" in admin.last.text
    assert "application for “Exklusivrunde” was not accepted" in ben.last.text
    assert "ein Platz frei geworden" in lea.last.text and "zur Prüfung" in lea.last.text
    assert "Neue Anmeldung" in admin.last.text and "Lea Licht" in admin.last.text  # her application now
    await ben.say("/matches")
    assert "was not accepted" in ben.last.text
    assert await _statuses(h, slug) == {1901: "approved", 2901: "declined", 2902: "pending"}
    # Only approved participants are released.
    await admin.say(f"/release {slug}")
    assert "zugelassene Teilnehmende mit fertigem Profil: 1" in admin.last.text
    await admin.say("Spinnerei, Halle 14, Leipzig")  # the draft survived both questions
    assert "(4/6)" in admin.last.text
    await admin.say("/cancel")
    assert "Verworfen" in admin.last.text and await h.count(Event) == 1
    async with h.sessions() as s:
        row = (await s.execute(select(EventParticipant).join(Person).where(Person.telegram_id == 2901))).scalar_one()
    assert (row.question, row.answer) == ("Do you have references in furniture?", "Yes: catalogues for three joineries.")
    await ben.say("/mydata")
    data = ben.last.json()
    assert data["events"][0]["status"] == "declined" and data["events"][0]["answer"].startswith("Yes: catalogues")


async def capacity_and_waiting_list(h) -> None:
    """One place per side: the others wait (told their position) and move up
    when someone leaves, deletes their data, or the organisers add places."""
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Werkstattrunde", capacity="1")

    async def company(user_id: int, name: str):
        return await onboard(h, user_id, lang="de", side="production", name=name, text=COMPANY_CHALLENGE,
                             days=("Di",), window="vormittags", slug=slug)

    anna = await company(1951, "Anna Arndt")
    assert "sobald das Organisationsteam sie freigibt" in anna.last.text
    bert = await company(1952, "Bert Brand")
    assert "Warteliste, Platz 1" in bert.last.text
    cleo = await company(1953, "Cleo Claus")
    assert "Warteliste, Platz 2" in cleo.last.text
    await admin.say(f"/event {slug}")
    assert "Unternehmen: 3 angemeldet · 3 mit fertigem Profil · 1 zugelassen · 2 auf der Warteliste" in admin.last.text
    await anna.say("/leave")
    assert "„Werkstattrunde“ verlassen?" in anna.last.text
    await anna.press("Nein, dabei bleiben")
    assert "bleiben bei" in anna.last.text and (await _statuses(h, slug))[1951] == "approved"
    await anna.say("/leave")
    await anna.press("Ja, verlassen")
    assert "Sie haben „Werkstattrunde“ verlassen" in anna.last.text
    assert "Platz frei geworden – Sie sind dabei" in bert.last.text
    await cleo.say("/matches")
    assert "Warteliste (Platz 1)" in cleo.last.text  # moved up the list
    await bert.say("/delete")
    await bert.press("Ja, alles löschen")
    await _wait_for(lambda: any("Platz frei geworden – Sie sind dabei" in m.text for m in cleo.messages[-2:]))
    dora = await company(1954, "Dora Dietz")
    assert "Warteliste, Platz 1" in dora.last.text
    await admin.say(f"/event {slug}")
    await admin.press("✏️ Plätze")
    await admin.say("2 1")
    assert "Gespeichert" in admin.messages[-2].text and "Plätze: Unternehmen 2 · Kreative 1" in admin.last.text
    assert "Platz frei geworden – Sie sind dabei" in dora.last.text
    assert await _statuses(h, slug) == {1953: "approved", 1954: "approved"}


async def co_organiser_permissions(h) -> None:
    admin = h.chat(ADMIN_ID, "Orga", "de")
    cora = h.chat(6001, "Cora", "de")
    sam = h.chat(6002, "Sam", "de")
    lab = await new_event(admin, "Lab Frühjahr", approval=True)
    fair = await new_event(admin, "Messe")
    lab_id, fair_id = (await _event(h, lab)).id, (await _event(h, fair)).id
    await admin.say(f"/event {lab}")
    await admin.press("Co-Organisator hinzufügen")
    assert "Leiten Sie mir eine Nachricht dieser Person weiter" in admin.last.text
    await admin.say("irgendwer")
    assert "nur Ziffern" in admin.last.text
    await admin.forward("Hallo!", None, hidden="Anonyma")
    assert "Anonyma verbirgt" in admin.last.text
    await admin.forward("Hallo, hier ist Cora.", 6001, "Cora")
    assert "Cora organisiert „Lab Frühjahr“ jetzt mit" in admin.messages[-2].text
    assert "Co-Organisation: Cora" in admin.last.text and "✖️ Cora entfernen" in admin.last.labels
    assert "Sie organisieren jetzt „Lab Frühjahr“ mit" in cora.last.text and f"/event {lab}" in cora.last.text

    # Cora, without a profile of her own: her event, and nothing else.
    await cora.say("/help")
    assert "Sie organisieren mit:" in cora.last.text and "Lab Frühjahr" in cora.last.text
    assert "/newevent" not in cora.last.text and "Willkommen" not in cora.last.text
    await cora.say("/events")
    assert "Lab Frühjahr" in cora.last.text and "Messe" not in cora.last.text
    await cora.say(f"/event {lab}")
    assert "„Lab Frühjahr“" in cora.last.text and not any("Co-Organisator" in label for label in cora.last.labels)
    await cora.press("✏️ Ort")
    await cora.say("Spinnerei, Halle 14, Leipzig")
    assert "Ort: Spinnerei, Halle 14, Leipzig" in cora.last.text
    for command in (f"/event {fair}", f"/release {fair}", f"/stats {fair}"):
        await cora.say(command)
        assert "„Messe“ organisieren Sie nicht mit" in cora.last.text, command
    await cora.say("/stats")
    assert "Kennzahlen über alle Veranstaltungen sieht nur das Organisationsteam" in cora.last.text
    await cora.say(f"/stats {lab}")
    assert "Kennzahlen für „Lab Frühjahr“" in cora.last.text
    for command in ("/newevent Neu", "/broadcast", "/broadcasts"):
        await cora.say(command)
        assert cora.last.text == ONLY, command
    signer = h.core.services.signer
    for payload in (EventButton("edit", fair_id, "name", 0), EventButton("show", fair_id, "", 0),
                    EventButton("qr", fair_id, "", 0), EventButton("co", lab_id, "", 0),
                    EventButton("rmco", lab_id, "6001", 0), EventButton("ok", 0, "", 0), ReleaseButton("e", fair_id)):
        await cora.press_data(signer.sign(6001, payload.action, payload.pack(), 0), cora.last.message_id)
        assert cora.last_toast == ONLY, payload
    assert (await _event(h, fair)).name == "Messe" and await h.count(EventOrganiser) == 1

    # An application reaches both; whoever decides first decides.
    company = await onboard(h, 1971, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                            days=("Di",), window="vormittags", slug=lab)
    assert "Neue Anmeldung für „Lab Frühjahr“" in cora.last.text and "Neue Anmeldung" in admin.last.text
    await cora.press("Annehmen")
    assert "✅ Angenommen: Uta Seifert" in cora.last.text and "ist angenommen" in company.last.text
    await admin.press("Annehmen")
    assert "schon entschieden" in (admin.last_toast or "")

    # A Telegram id typed; that person's /mydata and /delete before any consent.
    await admin.say(f"/event {lab}")
    await admin.press("Co-Organisator hinzufügen")
    await admin.say("6002")
    assert "6002 organisiert „Lab Frühjahr“ jetzt mit" in admin.messages[-2].text
    await sam.say("/mydata")
    assert "mitorganisieren" in sam.last.text and "Lab Frühjahr" in sam.last.text
    await sam.say("/delete")
    assert "Gelöscht: Sie organisieren Lab Frühjahr nicht mehr mit" in sam.last.text
    assert await h.count(EventOrganiser) == 1
    # Removed: Cora is nobody's organiser any more.
    await admin.say(f"/event {lab}")
    await admin.press("Cora entfernen")
    assert admin.last_toast == "Entfernt." and "Co-Organisation: –" in admin.last.text
    await cora.say(f"/event {lab}")
    assert "Datenschutz" in cora.last.text and await h.count(EventOrganiser) == 0


async def refused_to_participants(h) -> None:
    """Every organiser command and button, to a participant: a clear refusal
    and nothing else (buttons checked when pressed, also correctly signed ones)."""
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Geschlossene Runde", approval=True)
    participant = await onboard(h, 1981, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                                days=("Di",), window="vormittags", slug=slug)
    application = admin.last
    event = await _event(h, slug)
    person = await h.person(1981)
    for command in ("/newevent Meine Runde", "/event", f"/event {slug}", "/events", f"/release {slug}",
                    f"/stats {slug}", "/stats"):
        await participant.say(command)
        assert participant.last.text == ONLY, command
    await participant.press_data(application.data_for("Annehmen"), participant.last.message_id)  # the admin's
    assert "ungültig" in (participant.last_toast or "")
    signer = h.core.services.signer
    version = (await h.state(1981)).version
    for payload in (EventButton("show", event.id, "", 0), EventButton("edit", event.id, "name", 0),
                    EventButton("qr", event.id, "", 0), EventButton("apps", event.id, "", 0),
                    EventButton("co", event.id, "", 0), EventButton("rmco", event.id, str(ADMIN_ID), 0),
                    EventButton("fmt", 0, "speed", version), EventButton("ok", 0, "", version),
                    EventButton("no", event.id, "", version),
                    ApplicationButton(event.id, person.id, "a"), ApplicationButton(event.id, person.id, "d"),
                    ApplicationButton(event.id, person.id, "q"), ReleaseButton("e", event.id),
                    ReleaseButton("c", event.id, "abc"), HandoverButton("c", person.id)):
        before = len(participant.messages)
        await participant.press_data(signer.sign(1981, payload.action, payload.pack(), 0),
                                     participant.last.message_id)
        assert participant.last_toast == ONLY and len(participant.messages) == before, payload
    assert (await h.state(1981)).flow == "idle"
    assert await _statuses(h, slug) == {1981: "pending"}
    after = await _event(h, slug)
    assert (after.name, after.format, after.released_at) == ("Geschlossene Runde", "open", None)
    # Someone who never agreed to the privacy notice: the notice, nothing else.
    stranger = h.chat(7998, "Sven", "de")
    await stranger.say(f"/event {slug}")
    assert "Datenschutz" in stranger.last.text
    await stranger.press_data(signer.sign(7998, "ev", EventButton("edit", event.id, "name", 0).pack(), 0),
                              stranger.last.message_id)
    assert "Datenschutz" in stranger.last.text and await h.person(7998) is None
    assert (await _event(h, slug)).name == "Geschlossene Runde"


ALL = [newevent_conversation, event_card_and_editing, approval_with_a_question, capacity_and_waiting_list,
       co_organiser_permissions, refused_to_participants]
