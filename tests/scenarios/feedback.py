"""Feedback after meetings, nudges, quiet hours, pausing after ignored cards,
outcome follow-ups, results hand-over and figures: written once, run on the
core (SQLite, PostgreSQL) and through the emulator on aiogram and PTB.

Time is simulated: `h.set_time(...)` moves the clock of the conversations
and follow-ups, `h.sweep()` runs one follow-up sweep at that time.
"""
from __future__ import annotations

import json

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Feedback, HandoverItem, Meeting, Outcome, Person, Suggestion
from i18n import t
from tests.support.config import ADMIN_ID
from tests.support.events import new_event
from tests.scenarios.meetings import COMPANY_CHALLENGE, DESIGNER, introduced_pair, onboard, texts

BERLIN = ZoneInfo("Europe/Berlin")
ASK_DE, ASK_EN = "Haben Sie sich getroffen?", "Did you meet?"
NUDGE_DE, NUDGE_EN = "Eine kurze Erinnerung", "A gentle reminder"


async def scheduled_meeting(h):
    company, creative = await introduced_pair(h)
    await company.press("📅")
    await creative.press("Works")
    meeting = await _meeting(h)
    assert meeting.status == "scheduled"
    return company, creative, meeting


async def _meeting(h) -> Meeting:
    async with h.sessions() as s:
        return (await s.execute(select(Meeting).order_by(Meeting.id.desc()))).scalars().first()


async def _feedback(h) -> list[Feedback]:
    async with h.sessions() as s:
        return list((await s.execute(select(Feedback).order_by(Feedback.id))).scalars())


def _after_meeting(meeting: Meeting, minutes: int = 5) -> datetime:
    """The default FEEDBACK_DELAY (2h) after the meeting's end, plus a little."""
    return meeting.starts_at + timedelta(minutes=meeting.duration_min) + timedelta(hours=2, minutes=minutes)


def _local(day, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def count(chat, needle: str) -> int:
    return sum(needle in m.text for m in chat.messages)


# --- answer paths --------------------------------------------------------------------------

async def feedback_yes_then_outcomes_and_figures(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(meeting.starts_at + timedelta(minutes=30))
    await h.sweep()
    assert count(company, ASK_DE) == 0  # not before the meeting's end + delay
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    assert ASK_DE in company.last.text and "Ben Okafor" in company.last.text
    assert ASK_EN in creative.last.text and "Uta Seifert" in creative.last.text
    await h.sweep()  # a second sweep at the same time sends nothing twice
    assert count(company, ASK_DE) == 1 and count(creative, ASK_EN) == 1
    # The company: yes, 4, yes, and a few words.
    question = company.last
    replay = question.data_for("Ja, wir haben")
    await company.press("Ja, wir haben")
    assert "Wie hilfreich" in company.last.text
    await company.press("4")
    assert "weiter zusammenarbeiten" in company.last.text
    await company.press("Ja")
    assert "Möchten Sie uns noch etwas sagen" in company.last.text
    await company.say("Sehr inspirierend, wir planen ein Fotoshooting.")
    assert "in ein paar Wochen" in company.last.text
    # The creative: yes, 5, maybe, skip.
    await creative.press("Yes, we met")
    await creative.press("5")
    await creative.press("Maybe")
    await creative.press("Skip")
    assert "in a few weeks" in creative.last.text
    rows = await _feedback(h)
    assert sorted((f.met, f.rating, f.wants_to_continue, f.step) for f in rows) == [
        ("yes", 4, "yes", "done"), ("yes", 5, "maybe", "done")]
    assert next(f.text for f in rows if f.rating == 4) == "Sehr inspirierend, wir planen ein Fotoshooting."
    assert (await _meeting(h)).status == "held"
    # A late press on an answered question (a replayed button) changes nothing.
    await company.press_data(replay, question.message_id)
    assert "schon beantwortet" in (company.last_toast or "")

    # About two weeks later: what came of it?
    h.set_time(meeting.starts_at + timedelta(days=14, hours=1))
    await h.sweep()
    assert "Was ist bisher daraus geworden" in company.last.text
    assert "What has come of it so far" in creative.last.text
    await company.press("gemeinsames Projekt")
    assert "Notiert" in company.last.text
    h.set_time(meeting.starts_at + timedelta(days=16, hours=2))
    await h.sweep()
    assert count(creative, NUDGE_EN) == 1 and count(company, NUDGE_DE) == 0  # only the one who did not answer
    await creative.press("An idea")
    # About three months later, again.
    h.set_time(meeting.starts_at + timedelta(days=90, hours=1))
    await h.sweep()
    assert "Was ist bisher daraus geworden" in company.last.text
    new = await company.say("Wir haben einen Auftrag bekommen!")  # typed: the question again, with its buttons
    assert "Bitte antworten Sie über die Schaltflächen" in new[0].text and "Was ist bisher daraus geworden" in new[-1].text
    assert any("Ein Auftrag" in label for label in new[-1].labels)
    await company.press("Ein Auftrag")
    async with h.sessions() as s:
        outcomes = list((await s.execute(select(Outcome).order_by(Outcome.due_at, Outcome.id))).scalars())
    assert [(o.stage, o.answer) for o in outcomes if o.answer] == [("14d", "project"), ("14d", "idea"), ("90d", "contract")]

    # Figures for organisers.
    admin = h.chat(ADMIN_ID, "Orga", "de")
    await admin.say("/stats")
    stats = admin.last.text
    for line in ("Vorstellungen mit vorgeschlagenem Treffen: 1", "Stattgefunden (mindestens eine Seite sagt ja): 1",
                 "Bewertet: 1", "Durchschnittliche Bewertung: 4,5", "50 % ja, 50 % vielleicht (von 2 Antworten)",
                 "Was 2 Wochen nach dem Treffen daraus geworden ist (1 von 1 Paaren haben geantwortet): "
                 "🤝 Ein gemeinsames Projekt 1",
                 "Was 3 Monate nach dem Treffen daraus geworden ist (1 von 1 Paaren haben geantwortet): 📝 Ein Auftrag 1"):
        assert line in stats, (line, stats)
    await company.say("/stats")
    assert "nur für das Organisationsteam" in company.last.text
    # Everything is in the company's data export.
    await company.say("/mydata")
    data = company.last.json()
    assert data["feedback"][0]["rating"] == 4 and data["feedback"][0]["wants_to_continue"] == "yes"
    assert {(o["stage"], o["answer"]) for o in data["outcomes"]} >= {("14d", "project"), ("90d", "contract")}


async def feedback_no_offers_a_new_suggestion(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    await onboard(h, 2102, lang="de", side="creative", name="Ida Neu", text=DESIGNER, days=("Di",), window="vormittags")
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await company.press("Nein, es ist ausgefallen")
    assert any("Schade" in m.text for m in company.messages[-3:])
    assert "Ida Neu" in company.last.text and "Interessiert" in " ".join(company.last.labels)
    assert (await _meeting(h)).status == "fell_through"
    # The creative is still asked, and can still say they met.
    await creative.press("No, it fell through")
    fb = await _feedback(h)
    assert sorted(f.met for f in fb) == ["no", "no"]


async def feedback_moved_goes_back_to_scheduling(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await creative.press("We moved it")
    assert "new time" in texts(creative)
    assert "wurde verschoben" in texts(company) and "Ben Okafor" in texts(company)
    assert "When will you and Uta Seifert meet" in creative.last.text
    moved = await _meeting(h)
    assert moved.status == "negotiating" and moved.starts_at is None
    # The company's open question about the old time is void now; pressing it
    # says what happened instead of "already answered" (issue 10.19).
    question = next(m for m in reversed(company.messages) if ASK_DE in m.text)
    await company.press_data(question.data_for("Ja, wir haben"), question.message_id)
    edited = next(m for m in company.messages if m.message_id == question.message_id)
    assert "Ben Okafor hat bereits angegeben, dass das Treffen verschoben wurde" in edited.text, edited.text
    assert "Aktueller Stand" in edited.text and not edited.labels
    assert "schon beantwortet" not in (company.last_toast or "")
    await creative.press("📅")
    await company.press("Passt")
    again = await _meeting(h)
    assert again.status == "scheduled" and again.starts_at > meeting.starts_at
    # After the new time, both are asked again (about the new time).
    h.set_time(_after_meeting(again))
    await h.sweep()
    assert ASK_DE in company.last.text and ASK_EN in creative.last.text
    assert count(company, ASK_DE) == 1  # the first question now says the meeting was moved
    assert {f.starts_at for f in await _feedback(h)} == {meeting.starts_at, again.starts_at}


# --- nudges, quiet hours, pause -----------------------------------------------------------------

async def nudges_stop_after_two_and_respect_quiet_hours(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    day = meeting.starts_at.astimezone(BERLIN).date()
    # The question is due the same evening, but 23:00 and 07:00 are quiet hours.
    for when in (_local(day, 23), _local(day + timedelta(days=1), 7)):
        h.set_time(when)
        await h.sweep()
        assert count(company, ASK_DE) == 0 and count(creative, ASK_EN) == 0
    h.set_time(_local(day + timedelta(days=1), 19, 30))
    await h.sweep()
    assert count(company, ASK_DE) == 1
    await creative.press("Yes, we met")  # the creative answers; the company stays quiet
    # First nudge due two days later at 19:30 local, held back during the night.
    for when in (_local(day + timedelta(days=3), 22), _local(day + timedelta(days=4), 7, 30)):
        h.set_time(when)
        await h.sweep()
        assert count(company, NUDGE_DE) == 0
    h.set_time(_local(day + timedelta(days=4), 8, 30))
    await h.sweep()
    assert count(company, NUDGE_DE) == 1 and ASK_DE in company.last.text
    # Second nudge after four more days (growing intervals), not earlier.
    h.set_time(_local(day + timedelta(days=7), 12))
    await h.sweep()
    assert count(company, NUDGE_DE) == 1
    h.set_time(_local(day + timedelta(days=8), 12))
    await h.sweep()
    assert count(company, NUDGE_DE) == 2
    # Then it stops: given up quietly, never a third.
    for days in (12, 13, 40):
        h.set_time(_local(day + timedelta(days=days), 14))
        await h.sweep()
    assert count(company, NUDGE_DE) == 2
    # The creative answered "yes" to the first question but not the rating: nudged for that one.
    assert count(creative, NUDGE_EN) == 2 and "How useful" in creative.messages[-1].text
    steps = {f.person_id: f.step for f in await _feedback(h)}
    assert sorted(steps.values()) == ["expired", "expired"]
    # A late answer to a given-up question is still welcome.
    await company.press("Ja, wir haben")
    assert "Wie hilfreich" in company.last.text


async def paused_people_get_no_feedback_questions(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    await creative.say("/pause")
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    assert count(company, ASK_DE) == 1 and count(creative, ASK_EN) == 0
    h.set_time(_after_meeting(meeting) + timedelta(days=3))
    await h.sweep()
    assert count(creative, ASK_EN) == 0
    await creative.say("/resume")
    await h.sweep()
    assert count(creative, ASK_EN) == 1 and count(creative, NUDGE_EN) == 0


async def three_ignored_cards_pause_the_person(h) -> None:
    from tests.scenarios.meetings import PHOTOGRAPHER

    for i, (name, text) in enumerate((("Ben Okafor", PHOTOGRAPHER), ("Ida Neu", DESIGNER),
                                       ("Eva Brand", "Brand designer: logos, packaging and websites for family firms."))):
        await onboard(h, 2400 + i, lang="en", side="creative", name=name, text=text, days=("Tue",), window="mornings")
    company = await onboard(h, 1400, lang="de", side="production", name="Uta Seifert",
                            text="Wir brauchen bessere Produktfotos und einen Onlineshop für unsere Möbel.",
                            days=("Di",), window="vormittags")
    assert "Ein Vorschlag für Sie" in company.last.text
    start = datetime.now(BERLIN).replace(hour=10, minute=0, second=0, microsecond=0) + timedelta(days=1)
    day = sweeps = 0
    for card in range(3):
        for step in (2, 4, 4):  # two nudges, then it is given up
            day, sweeps = day + step, sweeps + 1
            h.set_time(start + timedelta(days=day, hours=sweeps))  # an hour of margin per step (DST)
            await h.sweep()
        if card < 2:
            assert "Ein Vorschlag für Sie" in company.last.text  # the next card
    assert "/resume" in company.last.text and "nicht geantwortet" in company.last.text
    assert count(company, "Noch Interesse?") == 6
    async with h.sessions() as s:
        person = (await s.execute(select(Person).where(Person.telegram_id == 1400))).scalar_one()
        assert person.paused and person.ignored_in_row == 3
        statuses = [c.status for c in (await s.execute(select(Suggestion).where(Suggestion.person_id == person.id)))
                    .scalars()]
        assert statuses.count("ignored") == 3
    before = len(company.messages)
    h.set_time(start + timedelta(days=day + 10, hours=sweeps))
    await h.sweep()
    assert len(company.messages) == before  # paused: nothing more
    await company.say("/resume")
    async with h.sessions() as s:
        person = (await s.execute(select(Person).where(Person.telegram_id == 1400))).scalar_one()
        assert not person.paused and person.ignored_in_row == 0


# --- robustness -----------------------------------------------------------------------------

async def feedback_survives_restarts_and_bad_input(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await h.restart()
    await company.press("Ja, wir haben")  # a button from before the restart
    await h.restart()
    await company.press("2")
    await company.press_data("fb|999999:r:5|0|AAAAAAAAAAA")  # forged
    assert "ungültig" in (company.last_toast or "")
    await company.press("Nein")
    await h.restart()
    await company.send_kind("sticker")
    assert "Möchten Sie uns noch etwas sagen" in company.last.text
    await company.say("x" * 10_000)
    assert "etwas lang" in company.last.text and "10.000" in company.last.text
    await company.say("Leider keine gemeinsame Basis.")
    assert "nicht noch einmal vor" in company.last.text
    fb = next(f for f in await _feedback(h) if f.rating is not None)
    assert (fb.rating, fb.wants_to_continue, fb.text, fb.step) == (2, "no", "Leider keine gemeinsame Basis.", "done")
    # Text after the question closed is ordinary text again, not feedback.
    await company.say("Hallo?")
    assert (await _feedback(h))[0].text in (None, "Leider keine gemeinsame Basis.")
    # The badly rated pair is never suggested again, even by an organiser's release.
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Zweite Runde")
    await company.say(f"/start {slug}")
    await creative.say(f"/start {slug}")
    await admin.say(f"/release {slug}")
    await admin.press("Freigeben")
    assert "Ben Okafor" not in company.last.text and "Uta Seifert" not in creative.last.text
    async with h.sessions() as s:
        again = (await s.execute(select(Suggestion).where(Suggestion.status.in_(("pending", "shown"))))).scalars().all()
        assert again == []


# --- results hand-over --------------------------------------------------------------------------

async def results_hand_over_reaches_the_company(h) -> None:
    company, creative = await introduced_pair(h)
    await creative.say("/results")
    assert "Which company" in creative.last.text
    await creative.press("Uta Seifert")
    assert "Send me notes" in creative.last.text
    await creative.say("Idee 1: 360°-Ansichten für die Stühle.")
    await creative.send_file("photo", caption="Moodboard")
    await creative.send_file("document", caption="Shot list", filename="shotlist.pdf")
    assert "3 so far" in creative.last.text
    await creative.send_kind("sticker")
    assert "text notes, photos and files" in creative.last.text
    await h.restart()  # collected items are kept in the database
    before = len(company.messages)
    collecting = next(m for m in reversed(creative.messages) if any("Send" in label for label in m.labels))
    send = collecting.data_for("Send")
    await creative.press_data(send, collecting.message_id)
    assert "Sent to Uta Seifert: 3 items" in texts(creative)
    new = company.messages[before:]
    head = next(m for m in new if "Ergebnisse Ihres Treffens" in m.text)
    assert "Ben Okafor (" in head.text and "360°-Ansichten" in head.text and "shotlist.pdf" in head.text
    assert [m.kind for m in new if m.kind in ("photo", "document")] == ["photo", "document"]
    await creative.press_data(send, collecting.message_id)  # handed over already: the button is stale
    assert "no longer open" in (creative.last_toast or "") or "Nothing collected" in (creative.last_toast or "")
    # Issue 10.18: a company's /results tells it how results reach it, not "to a company".
    await company.say("/results")
    assert "Kreativen" in company.last.text and "/mydata" in company.last.text
    assert "an ein Unternehmen" not in company.last.text and not company.last.buttons
    await company.say("/mydata")
    data = company.last.json()
    assert [i["kind"] for i in data["results_received"]] == ["note", "photo", "document"]
    assert data["results_received"][0]["text"] == "Idee 1: 360°-Ansichten für die Stühle."
    # An organiser can hand over too, for any company; someone else cannot use their buttons.
    admin = h.chat(ADMIN_ID, "Orga", "de")
    await admin.say("/results")
    assert "Für welches Unternehmen" in admin.last.text
    company_button = admin.last.data_for("Uta Seifert")
    await creative.press_data(company_button)
    assert "not valid" in (creative.last_toast or "")
    await admin.press("Uta Seifert")
    await admin.say("Protokoll der Breakout-Session")
    await admin.press("Senden")
    assert "Protokoll der Breakout-Session" in company.last.text


async def organiser_hands_over_without_a_profile(h) -> None:
    """Issue 10.17: an organiser without a participant profile uses /results
    (and the other organiser commands) without the privacy notice or the
    onboarding; /start still shows them the notice. Issue 10.18: the company
    sees who collected the results with full name and organisation."""
    company = await onboard(h, 1701, lang="de", side="production", name="Uta Seifert",
                            text=COMPANY_CHALLENGE, days=("Di",), window="vormittags", org="Seifert Möbelwerkstatt")
    admin = h.chat(ADMIN_ID, "Petra", "de")
    for command in ("/results", "/stats", "/events"):
        new = await admin.say(command)
        assert new and not any("Willkommen" in m.text or "Wie heißt" in m.text for m in new), command
    await admin.say("/results")
    assert "Für welches Unternehmen" in admin.last.text
    await admin.press("Uta Seifert")
    await admin.say("Protokoll der Breakout-Session")
    await admin.send_file("photo", caption="Tafelbild")
    await admin.say("/cancel")  # kept; picked up again
    await admin.say("/results")
    await admin.press("Uta Seifert")
    before = len(company.messages)
    await admin.press("Senden")
    head = next(m for m in company.messages[before:] if "Protokoll der Breakout-Session" in m.text)
    assert "Petra (Organisationsteam)" in head.text
    # What the organiser's record holds is exported by /mydata (not "nothing stored").
    await admin.say("/results")
    await admin.press("Uta Seifert")
    await admin.say("Noch eine Notiz")
    await admin.say("/cancel")
    await admin.say("/mydata")
    data = admin.last.json()
    assert "Noch eine Notiz" in json.dumps(data, ensure_ascii=False)
    # The organiser's record is no participant: /start shows the privacy notice.
    await admin.say("/start")
    assert any("Einverstanden" in label for label in admin.last.labels)
    await admin.press("Einverstanden")
    assert "Uta Seifert" not in admin.last.text and admin.last.text  # onboarding begins, no error


async def organiser_record_is_deleted_on_request(h) -> None:
    """An organiser's record (no consent, created by /results) is erased by
    /delete like a participant's."""
    company = await onboard(h, 1801, lang="de", side="production", name="Uta Seifert",
                            text=COMPANY_CHALLENGE, days=("Di",), window="vormittags", org="Seifert Möbelwerkstatt")
    admin = h.chat(ADMIN_ID, "Petra", "de")
    await admin.say("/results")
    await admin.press("Uta Seifert")
    await admin.say("Notiz, die gelöscht werden soll")
    await admin.say("/delete")
    assert "endgültig löschen" in admin.last.text
    await admin.press("Ja, alles löschen")
    assert "Alle Ihre Daten sind gelöscht" in admin.last.text
    assert await h.person(ADMIN_ID) is None
    assert company.last.text  # the company is untouched


async def fell_through_is_not_followed_up(h) -> None:
    """Issue 10.13: someone who says the meeting fell through is not asked
    two weeks later what came of it (the other side, who met, is)."""
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await creative.press("Yes, we met")
    await creative.press("5")
    await creative.press("Yes")
    await creative.press("Skip")
    await company.press("Nein, es ist ausgefallen")
    h.set_time(meeting.starts_at + timedelta(days=14, hours=1))
    await h.sweep()
    assert "What has come of it so far" in creative.last.text
    assert count(company, "Was ist bisher daraus geworden") == 0


async def typed_answers_to_the_feedback_questions(h) -> None:
    """Issue 10.15: "ja", "4", "vielleicht" typed at the feedback questions count
    like their buttons; anything else gets the question with its buttons again."""
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await company.say("Ja")
    assert "Wie hilfreich" in company.last.text
    await company.say("blabla")
    assert company.messages[-2].text == t("de", "input.use_buttons")
    assert "Wie hilfreich" in company.last.text and company.last.labels == ["1", "2", "3", "4", "5"]
    await company.say("4")
    assert "weiter zusammenarbeiten" in company.last.text
    await company.say("vielleicht")
    assert company.last.text == t("de", "fb.text")
    await company.say("Gute Ideen für die Fotos.")
    assert "in ein paar Wochen" in company.last.text
    await creative.say("yes")
    await creative.say("5 stars")
    await creative.say("no")
    await creative.say("skip")
    assert creative.messages[-2].text == t("en", "fb.skipped") and "not suggest Uta Seifert" in creative.last.text
    rows = await _feedback(h)
    assert sorted((f.met, f.rating, f.wants_to_continue, f.text, f.step) for f in rows) == [
        ("yes", 4, "maybe", "Gute Ideen für die Fotos.", "done"), ("yes", 5, "no", None, "done")]
    await company.say("4")  # every question answered: ordinary text again
    assert company.last.text == t("de", "idle.text")


async def typed_no_at_did_you_meet(h) -> None:
    company, creative, meeting = await scheduled_meeting(h)
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await creative.send_kind("sticker")  # not text: the question with its buttons again
    assert ASK_EN in creative.last.text and any("Yes, we met" in label for label in creative.last.labels)
    await creative.say("nein")
    assert (await _meeting(h)).status == "fell_through"
    assert [f.met for f in await _feedback(h) if f.met] == ["no"]


async def deleting_keeps_the_other_sides_answers(h) -> None:
    """Issue 14.7: /delete erases the person and what was theirs; the other
    side of the pair keeps their own feedback and follow-up answers (only
    the link to the meeting goes), results a company received stay without
    the sender's name, results never handed over go, and nothing is asked
    about the deleted person any more."""
    company, creative, meeting = await scheduled_meeting(h)
    await creative.say("/results")
    await creative.press("Uta Seifert")
    await creative.say("Idee 1: 360°-Ansichten für die Stühle.")
    await creative.press("Send")
    await creative.say("/results")
    await creative.press("Uta Seifert")
    await creative.say("Noch nicht übergebene Notiz")
    await creative.say("/cancel")
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await company.press("Ja, wir haben")
    await company.press("4")
    await company.press("Ja")
    await company.say("Sehr inspirierend, wir planen ein Fotoshooting.")
    await creative.press("Yes, we met")
    await creative.press("5")
    await creative.press("Maybe")
    await creative.press("Skip")
    h.set_time(meeting.starts_at + timedelta(days=14, hours=1))
    await h.sweep()
    await company.press("gemeinsames Projekt")  # the creative leaves theirs open
    await creative.say("/delete")
    await creative.press("delete everything")
    assert await h.person(2101) is None
    uta = await h.person(1101)
    async with h.sessions() as s:
        rows = list((await s.execute(select(Feedback))).scalars())
        outcomes = list((await s.execute(select(Outcome))).scalars())
        items = list((await s.execute(select(HandoverItem))).scalars())
    assert [(f.person_id, f.meeting_id, f.rating, f.step) for f in rows] == [(uta.id, None, 4, "done")]
    assert {(o.person_id, o.pair_id, o.stage, o.status, o.answer) for o in outcomes} == {
        (uta.id, None, "14d", "answered", "project"), (uta.id, None, "90d", "void", None)}
    assert [(i.from_person_id, i.from_name, i.text) for i in items] == [
        (None, "", "Idee 1: 360°-Ansichten für die Stühle.")]
    await company.say("/mydata")
    data = company.last.json()
    assert [(f["rating"], f["wants_to_continue"], f["text"]) for f in data["feedback"]] == [
        (4, "yes", "Sehr inspirierend, wir planen ein Fotoshooting.")]
    assert [(o["stage"], o["answer"], o["with"]) for o in data["outcomes"] if o["answer"]] == [("14d", "project", "")]
    assert [(i["from"], i["text"]) for i in data["results_received"]] == [("", "Idee 1: 360°-Ansichten für die Stühle.")]
    assert "Ben Okafor" not in json.dumps(data, ensure_ascii=False)
    # Nothing more about the deleted person: the 90-day follow-up stays away.
    before = len(company.messages)
    h.set_time(meeting.starts_at + timedelta(days=90, hours=1))
    await h.sweep()
    h.set_time(meeting.starts_at + timedelta(days=95))
    await h.sweep()
    assert company.messages[before:] == []
    admin = h.chat(ADMIN_ID, "Orga", "de")
    await admin.say("/stats")
    assert "Vorstellungen mit vorgeschlagenem Treffen: 0" in admin.last.text


ALL = [feedback_yes_then_outcomes_and_figures, fell_through_is_not_followed_up, feedback_no_offers_a_new_suggestion,
       feedback_moved_goes_back_to_scheduling, nudges_stop_after_two_and_respect_quiet_hours,
       paused_people_get_no_feedback_questions, three_ignored_cards_pause_the_person,
       feedback_survives_restarts_and_bad_input, results_hand_over_reaches_the_company,
       organiser_hands_over_without_a_profile, organiser_record_is_deleted_on_request,
       typed_answers_to_the_feedback_questions, typed_no_at_did_you_meet, deleting_keeps_the_other_sides_answers]
