"""Figures to take home (issue 13): `/stats CODE` with the funnel and its chart,
`/export CODE` with the CSV files for funders, and both refused to anyone but
the organisers. Written once, run on the core (SQLite, PostgreSQL) and
through the emulator on aiogram and PTB."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass

from tests.scenarios.feedback import _after_meeting, _meeting
from tests.scenarios.meetings import COMPANY_CHALLENGE, PHOTOGRAPHER, onboard
from tests.support.config import ADMIN_ID
from tests.support.events import new_event

PNG = b"\x89PNG\r\n\x1a\n"
COMMENT = "Sehr inspirierend; wir planen ein Fotoshooting.\nNächste Woche geht's los."
COMPANY_ID, CREATIVE_ID, HALFWAY_ID, CONSENT_ID, OUTSIDER_ID = 731101, 732101, 732102, 732103, 731901


@dataclass
class World:
    admin: object
    company: object
    creative: object
    slug: str


async def event_with_a_meeting(h) -> World:
    """An event with four people: a company and a photographer who were
    introduced, met and answered the feedback (the company: 4, continue yes,
    a comment; the photographer: 5, maybe); a creative who stopped at the
    profile summary; someone who only accepted the privacy notice. Outside the
    event, a company of the open pool."""
    admin = h.chat(ADMIN_ID, "Orga", "de")
    slug = await new_event(admin, "Werkstattrunde Möbel")
    company = await onboard(h, COMPANY_ID, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                            days=("Di",), window="vormittags", org="Seifert Möbelwerkstatt; Jäger & Söhne", slug=slug)
    creative = await onboard(h, CREATIVE_ID, lang="en", side="creative", name="Ben Okafor", text=PHOTOGRAPHER,
                             days=("Tue",), window="mornings", slug=slug)
    await onboard(h, HALFWAY_ID, lang="de", side="creative", name="=Lea Licht", text=PHOTOGRAPHER,
                  days=("Di",), window="vormittags", slug=slug, confirm=False)
    newcomer = h.chat(CONSENT_ID, "Ida", "de")
    await newcomer.say(f"/start {slug}")
    await newcomer.press("Einverstanden")
    await onboard(h, OUTSIDER_ID, lang="de", side="production", name="Olaf Außen", text=COMPANY_CHALLENGE,
                  days=("Di",), window="vormittags")
    await admin.say(f"/release {slug}")
    await admin.press("Freigeben")
    assert "Ben Okafor" in company.last.text and "Uta Seifert" in creative.last.text
    await creative.press("Interested")
    await company.press("Interessiert")
    await company.press("📅")
    await creative.press("Works")
    meeting = await _meeting(h)
    assert meeting.status == "scheduled"
    h.set_time(_after_meeting(meeting))
    await h.sweep()
    await company.press("Ja, wir haben")
    await company.press("4")
    await company.press("Ja")
    await company.say(COMMENT)
    await creative.press("Yes, we met")
    await creative.press("5")
    await creative.press("Maybe")
    await creative.press("Skip")
    assert (await _meeting(h)).status == "held"
    return World(admin, company, creative, slug)


async def stats_for_an_event_with_its_chart(h) -> None:
    w = await event_with_a_meeting(h)
    before = len(w.admin.messages)
    await w.admin.say(f"/stats {w.slug}")
    chart, text = w.admin.messages[before:][-2:]
    assert chart.kind == "photo" and chart.photo is not None and chart.photo.startswith(PNG)
    assert "Werkstattrunde Möbel" in chart.text
    text = text.text
    assert "Kennzahlen für „Werkstattrunde Möbel“" in text
    for line in ("Angemeldet: 4 (100 %) – 🏭 1 · 🎨 2", "Profil fertig: 2 (50 %) – 🏭 1 · 🎨 1",
                 "Zugelassen: 2 (50 %) – 🏭 1 · 🎨 1", "Vorschläge erhalten: 2 (50 %) – 🏭 1 · 🎨 1",
                 "Einander vorgestellt: 2 (50 %) – 🏭 1 · 🎨 1", "Getroffen: 2 (50 %) – 🏭 1 · 🎨 1",
                 "Wollen weitermachen: 1 (25 %) – 🏭 1 · 🎨 0",
                 "Abgesagt: 0", "Durchschnittliche Bewertung: 4,5", "50 % ja, 50 % vielleicht (von 2 Antworten)",
                 "Was 2 Wochen nach dem Treffen daraus geworden ist"):
        assert line in text, (line, text)
    # Without a code: everyone, the open pool too.
    before = len(w.admin.messages)
    await w.admin.say("/stats")
    chart, text = w.admin.messages[before:][-2:]
    assert chart.kind == "photo" and chart.photo.startswith(PNG) and "Alle Teilnehmenden" in chart.text
    assert "Angemeldet: 5 (100 %) – 🏭 2 · 🎨 2" in text.text and "Profil fertig: 3 (60 %)" in text.text
    # An unknown code: said so, with the events and their codes; no chart.
    before = len(w.admin.messages)
    await w.admin.say("/stats gibtsnicht")
    new = w.admin.messages[before:]
    assert len(new) == 1 and new[0].kind == "text"
    assert "gibtsnicht" in new[0].text and f"Werkstattrunde Möbel – Code: {w.slug}" in new[0].text


async def stats_and_export_are_for_organisers_only(h) -> None:
    w = await event_with_a_meeting(h)
    for chat in (w.company, w.creative):
        for command in (f"/stats {w.slug}", f"/export {w.slug}", "/export"):
            before = len(chat.messages)
            new = await chat.say(command)
            assert [m.kind for m in chat.messages[before:]] == ["text"], command
            assert "nur für das Organisationsteam" in new[-1].text or "organisers only" in new[-1].text


def _csvs(blob: bytes) -> dict[str, tuple[bytes, list[list[str]]]]:
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        out = {}
        for name in zf.namelist():
            raw = zf.read(name)
            out[name] = (raw, list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")))
        return out


async def export_for_an_event_as_csv_files(h) -> None:
    w = await event_with_a_meeting(h)
    before = len(w.admin.messages)
    await w.admin.say(f"/export {w.slug}")
    new = w.admin.messages[before:]
    assert len(new) == 1 and new[0].kind == "document"
    name, blob = new[0].document
    assert name.startswith(f"crosslab-{w.slug}-") and name.endswith(".zip")
    assert "Export für „Werkstattrunde Möbel“" in new[0].text and "Teilnehmende: 4" in new[0].text
    files = _csvs(blob)
    assert sorted(files) == ["ergebnisse.csv", "paare.csv", "rueckmeldungen.csv", "teilnehmende.csv", "treffen.csv",
                             "vorschlaege.csv"]
    for raw, _ in files.values():
        assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM, Excel's line ends
        text = raw.decode("utf-8-sig")
        for secret in (COMPANY_ID, CREATIVE_ID, HALFWAY_ID, CONSENT_ID, OUTSIDER_ID, ADMIN_ID):
            assert str(secret) not in text  # no Telegram ids ...
        assert "user73" not in text and "@" not in text  # ... nor usernames
        assert "Onlineshop" not in text and "studio shots" not in text  # nor challenge and skills texts
        assert "Fotoshooting" not in text  # nor written comments
        assert "Olaf Außen" not in text  # nor anyone outside the event
    people = files["teilnehmende.csv"][1]
    assert people[0] == ["ID", "Bereich", "Name", "Organisation", "Branche", "Disziplinen", "Veranstaltungen",
                         "Angemeldet am", "Profil fertig am", "Zugelassen", "Vorschläge erhalten", "Vorgestellt",
                         "Getroffen", "Will weitermachen"]
    assert len(people) == 1 + 4
    by_name = {row[2]: row for row in people[1:]}
    uta, ben, lea = by_name["Uta Seifert"], by_name["Ben Okafor"], by_name["'=Lea Licht"]  # no formula for Excel
    assert uta[1] == "production" and uta[3] == "Seifert Möbelwerkstatt; Jäger & Söhne" and uta[5] == ""
    assert uta[6] == "Werkstattrunde Möbel" and uta[7] and uta[8]
    assert uta[9:] == ["1", "1", "1", "1", "1"] and ben[9:] == ["1", "1", "1", "1", "0"]
    assert ben[1] == "creative" and "Foto" in ben[5] and ben[4] == ""
    assert lea[8] == "" and lea[9:] == ["0"] * 5
    ids = {row[2]: row[0] for row in people[1:]}
    assert all(i.startswith("P") for i in ids.values())
    # Suggestions: who was suggested to whom, with the score (decimal comma) and the status.
    suggestions = files["vorschlaege.csv"][1]
    assert suggestions[0][:4] == ["Person", "Vorgeschlagene Person", "Passung", "Status"]
    shown = {(r[0], r[1]): r for r in suggestions[1:]}
    assert shown[(ids["Uta Seifert"], ids["Ben Okafor"])][3] == "interested"
    assert "," in shown[(ids["Ben Okafor"], ids["Uta Seifert"])][2]
    pairs = files["paare.csv"][1]
    assert len(pairs) == 2 and pairs[1][:5] == [ids["Uta Seifert"], ids["Ben Okafor"], "interested", "interested",
                                                "introduced"]
    meetings = files["treffen.csv"][1]
    assert meetings[0] == ["Treffen", "Unternehmen", "Kreative Person", "Status", "Beginn", "Dauer (Minuten)",
                           "Ort (Art)", "Erstellt"]
    assert len(meetings) == 2 and meetings[1][1:4] == [ids["Uta Seifert"], ids["Ben Okafor"], "held"]
    assert meetings[1][4][:4].isdigit() and meetings[1][4][10] == " "  # 2027-03-02 10:00
    feedback = files["rueckmeldungen.csv"][1]
    assert len(feedback) == 3
    answers = {r[1]: r for r in feedback[1:]}
    assert answers[ids["Uta Seifert"]][5:9] == ["yes", "4", "yes", "1"]  # a comment was written (not its text)
    assert answers[ids["Ben Okafor"]][5:9] == ["yes", "5", "maybe", "0"]
    outcomes = files["ergebnisse.csv"][1]
    assert outcomes[0][:4] == ["Unternehmen", "Kreative Person", "Person", "Nachfrage nach"]
    # Without a code: everyone; an unknown code: the events.
    await w.admin.say("/export")
    everyone = _csvs(w.admin.last.document[1])
    assert len(everyone["teilnehmende.csv"][1]) == 1 + 5
    assert "Olaf Außen" in everyone["teilnehmende.csv"][0].decode("utf-8-sig")
    before = len(w.admin.messages)
    await w.admin.say("/export Gibt es nicht")
    new = w.admin.messages[before:]
    assert len(new) == 1 and new[0].document is None
    assert "Gibt es nicht" in new[0].text and w.slug in new[0].text and "/export CODE" in new[0].text


ALL = [stats_for_an_event_with_its_chart, stats_and_export_are_for_organisers_only, export_for_an_event_as_csv_files]
