"""Organisers' plans (issue 13): /plan review (swap, take out, lock,
recompute), the release once and again, speed rounds with /round, results
per breakout group, and refusals for everyone else. The event's people are
written straight into the database (finished profiles, as
`tests.support.broadcast_world` does); each has a chat, so what they are
sent can be read."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from db.models import Event, EventParticipant, Person, Plan, PlanEntry, PlanNotice, Profile
from tests.support.config import ADMIN_ID

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
SLUG = "evplan01"
EVENT = "Werkstatttag Gruppen"

SHOP = ("Unsere Möbel verkaufen wir nur im eigenen Laden. Wir wollen online verkaufen, aber unsere Produktfotos "
        "sind schlecht und wir haben keinen Onlineshop.")
MACHINE = ("Die Bedienoberfläche unserer Schweißanlage ist kompliziert; wir brauchen ein verständliches "
           "Bedienkonzept und Tests mit den Leuten an der Maschine.")
BRAND = ("Wir wollen eine neue Marke und Verpackung für unsere Keramik entwickeln, die eine junge Kundschaft "
         "anspricht, und neue Produkte gestalten.")

# telegram id: (name, organisation, sector or disciplines, challenge or skills, language)
COMPANIES: dict[int, tuple[str, str, str, str, str]] = {
    3101: ("Uta Seifert", "Seifert Möbelwerkstatt", "Tischlerei, Massivholzmöbel", SHOP, "de"),
    3102: ("Jonas Berger", "Berger Metallbau", "Metallbau und Anlagenbau", MACHINE, "de"),
    3103: ("Mira Hahn", "Hahn Keramik", "Keramikmanufaktur, Geschirr", BRAND, "en"),
}
CREATIVES: dict[int, tuple[str, str, list[str], str, str]] = {
    4101: ("Ben Okafor", "Okafor Studio", ["photo_film"],
           "Product photographer: studio shots for online shops, 360° product views and lookbooks for furniture "
           "makers.", "en"),
    4102: ("Lea Licht", "Licht UX", ["ux"],
           "Interaction Designerin: Bedienkonzepte für Maschinen, Prototypen von Benutzeroberflächen und Nutzertests "
           "in Werkstätten.", "de"),
    4103: ("Kai Klein", "Klein Markenbüro", ["brand_strategy"],
           "Markenentwicklung, Namensfindung und Verpackungsdesign für Manufakturen und Familienbetriebe.", "de"),
    4104: ("Nora Netz", "Netz Web", ["digital"],
           "Ich baue Onlineshops und Webseiten für kleine Betriebe, mit Shopify und WooCommerce.", "de"),
    4105: ("Otto Ton", "Ton und Form", ["product_design"],
           "Produktdesign für Keramik und Gebrauchsgegenstände, von der Skizze bis zum Prototyp.", "de"),
    4106: ("Pia Pohl", "Pohl Research", ["ux", "innovation_business"],
           "Nutzerforschung und Workshops mit Beschäftigten: wie Menschen Maschinen wirklich bedienen.", "de"),
}
PEOPLE = {**{tid: (v[0], v[4]) for tid, v in COMPANIES.items()}, **{tid: (v[0], v[4]) for tid, v in CREATIVES.items()}}


@dataclass
class World:
    event_id: int
    ids: dict[int, int] = field(default_factory=dict)  # telegram id -> person id
    chats: dict[int, Any] = field(default_factory=dict)  # telegram id -> chat
    organiser: Any = None

    def person(self, telegram_id: int) -> int:
        return self.ids[telegram_id]

    def tid(self, person_id: int) -> int:
        return next(t for t, p in self.ids.items() if p == person_id)


async def seed(h: Any, *, event: str = EVENT, slug: str = SLUG) -> World:
    """An event with 3 companies and 6 creatives (finished profiles, in it),
    a chat for each of them and for the organiser."""
    async with h.sessions() as s:
        ev = Event(name=event, slug=slug, created_by=ADMIN_ID)
        s.add(ev)
        await s.flush()
        world = World(ev.id)
        for tid, (name, org, sector, text, lang) in COMPANIES.items():
            world.ids[tid] = await _person(s, ev, tid, name, lang, Profile(
                name=name, side="production", organisation=org, role="Inhaberin", sector=sector, seeks=text,
                offers=sector, wanted_disciplines=[], languages=["de", "en"]))
        for tid, (name, org, codes, text, lang) in CREATIVES.items():
            world.ids[tid] = await _person(s, ev, tid, name, lang, Profile(
                name=name, side="creative", organisation=org, role="Freiberuflich", disciplines=codes, offers=text,
                seeks="Projekte mit Handwerksbetrieben.", languages=["de", "en"]))
        await s.commit()
    for tid, (name, lang) in PEOPLE.items():
        world.chats[tid] = h.chat(tid, name.split()[0], lang)
    world.organiser = h.chat(ADMIN_ID, "Orga", "de")
    return world


async def _person(s: Any, event: Event, tid: int, name: str, lang: str, profile: Profile) -> int:
    person = Person(telegram_id=tid, username=f"user{tid}", first_name=name.split()[0], language=lang, consent_at=NOW)
    s.add(person)
    await s.flush()
    profile.person_id = person.id
    profile.availability = {"days": [1], "windows": ["morning"]}
    profile.completed_at = NOW
    s.add(profile)
    s.add(EventParticipant(event_id=event.id, person_id=person.id))
    return person.id


async def plan_row(h: Any) -> Plan:
    async with h.sessions() as s:
        return (await s.execute(select(Plan))).scalar_one()


async def entries(h: Any) -> list[PlanEntry]:
    async with h.sessions() as s:
        return list((await s.execute(select(PlanEntry).order_by(PlanEntry.round, PlanEntry.table_no,
                                                                 PlanEntry.id))).scalars())


async def notices(h: Any) -> list[PlanNotice]:
    async with h.sessions() as s:
        return list((await s.execute(select(PlanNotice))).scalars())


def groups_of(rows: list[PlanEntry]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for e in rows:
        out.setdefault(e.company_id, set()).add(e.creative_id)
    return out


def with_text(messages: list[Any], part: str) -> Any:
    return next(m for m in messages if part in m.text)


def count(chat: Any, part: str) -> int:
    return sum(part in m.text for m in chat.messages)


def forged(h: Any, telegram_id: int, payload: Any) -> str:
    """A payload correctly signed for `telegram_id` (someone who is no organiser)."""
    return h.core.services.signer.sign(telegram_id, payload.action, payload.pack(), 0)


async def settle(h: Any) -> None:
    """On the emulator: wait until the sender delivered what went to other chats."""
    if hasattr(h, "emu"):
        await h.app.outbox.drain()
        await h.emu.wait_idle(quiet=0.05)


# --- the whole review, on every harness ---------------------------------------------------------

async def breakout_review_and_release(h: Any) -> None:
    """/plan computes groups of 1 + 2 as a draft and shows them with scores
    and reasons; lock, take out, recompute, swap, time and place; participants
    and others cannot touch it; the release sends each person their group
    once, the moderator every profile; a second release only what changed."""
    from handlers.callbacks import PlanButton

    w = await seed(h)
    org = w.organiser
    uta, ben = w.chats[3101], w.chats[4101]
    await org.say(f"/plan {SLUG}")
    view = org.last
    assert "Gruppen aus 1 Unternehmen + 2 Kreativen" in view.text and "Entwurf (Stand 1)" in view.text
    assert "Gruppe 1 · Uta Seifert (Seifert Möbelwerkstatt)" in view.text and "Warum" not in view.text
    assert " · 1,00 – " in view.text  # the cohort's best pair, with its reason after the dash
    assert [label[:2] for label in view.labels[:6]] == ["1a", "1b", "2a", "2b", "3a", "3b"]
    assert {"🔄 Neu berechnen", "🕒 Zeit & Ort", "👤 Moderation", "📤 Freigeben …"} <= set(view.labels)
    rows = await entries(h)
    assert len(rows) == 6 and len({e.creative_id for e in rows}) == 6  # everyone placed, each creative once
    assert all(len(g) == 2 for g in groups_of(rows).values()) and not any(e.locked for e in rows)
    assert not any(m.text for c in w.chats.values() for m in c.messages)  # nothing sent to participants
    plan = await plan_row(h)
    stale_recompute = view.data_for("Neu berechnen")

    # Participants cannot use it: the command, the organiser's button, a button forged for themselves.
    await ben.say(f"/plan {SLUG}")
    assert "for organisers only" in ben.last.text
    await ben.press_data(stale_recompute, ben.last.message_id)
    assert "not valid" in (ben.last_toast or "")
    await ben.press_data(forged(h, 4101, PlanButton("rlc", plan.id, plan.version)), ben.last.message_id)
    assert "for organisers only" in (ben.last_toast or "")
    assert (await plan_row(h)).version == plan.version and not await notices(h)
    base = {tid: len(c.messages) for tid, c in w.chats.items()}

    def got(tid: int) -> list[Any]:
        return [m for m in w.chats[tid].messages[base[tid]:] if m.text]

    # Lock 1b, take out 2a: the pair goes and is never proposed again.
    await org.press("1b ")
    assert "Warum:" in org.last.text and org.last.labels[:3] == ["🔒 Festhalten", "✖ Herausnehmen", "⇄ Tauschen …"]
    await org.press("Festhalten")
    locked = next(e for e in await entries(h) if e.locked)
    assert "festgehalten" in (org.last_toast or "") and "🔒" in org.last.text
    await org.press("2a ")
    await org.press("Herausnehmen")
    removed = (await plan_row(h)).removed
    assert len(removed) == 1 and "(1 Platz frei)" in org.last.text and "Ohne Platz (1):" in org.last.text
    assert "vom Organisationsteam herausgenommen" in org.last.text and "1 Paar herausgenommen" in org.last.text
    await org.press_data(stale_recompute, org.last.message_id)  # a button of an older version: nothing happens
    assert "Nicht mehr aktuell" in (org.last_toast or "") and len(await entries(h)) == 5
    await org.press("Neu berechnen")
    rows = await entries(h)
    assert "Neu berechnet, um 1 festgehaltenes Paar herum" in org.last.text and len(rows) == 6
    assert [removed[0][0], removed[0][1]] not in [[e.company_id, e.creative_id] for e in rows]
    assert any(e.locked and (e.company_id, e.creative_id) == (locked.company_id, locked.creative_id) for e in rows)

    # Swap 1a with someone of another group: both new pairs are locked.
    before = groups_of(rows)
    await org.press("1a ")
    await org.press("Tauschen")
    assert "Mit wem soll" in org.last.text and all(label.startswith(("⇄", "◀")) for label in org.last.labels)
    await org.press("⇄")
    assert "haben die Plätze getauscht" in (org.last_toast or "")
    rows = await entries(h)
    assert groups_of(rows) != before and sum(e.locked for e in rows) == 3

    # Time and place, typed.
    await org.press("Zeit & Ort")
    assert "Wann findet es statt?" in org.last.text
    await org.say("Do, 12.03., 14:00–15:30 Uhr")
    assert "Wo?" in org.last.text
    await org.say("Werkhalle, Raum 2.14")
    assert "Gespeichert: 🕒 Do, 12.03., 14:00–15:30 Uhr · 📍 Werkhalle, Raum 2.14" in org.last.text

    # The release: a confirmation first, then each person once.
    await org.press("Freigeben")
    assert "9 Teilnehmende bekommen" in org.last.text and "Moderation (Sie)" in org.last.text
    assert not any(got(tid) for tid in w.chats)
    release = org.last.data_for("Jetzt freigeben")
    done = await org.press("Jetzt freigeben")
    await settle(h)
    confirmation, moderator = with_text(done, "freigegeben: 9 Teilnehmende"), with_text(done, "Moderation bei")
    assert "Moderation bei „Werkstatttag Gruppen“: 3 Gruppen" in moderator.text
    assert "Stärken:" in moderator.text and "Herausforderung:" in moderator.text
    assert all(len(got(tid)) == 1 for tid in w.chats)
    assert "Ihre Gruppe bei „Werkstatttag Gruppen“" in uta.last.text and "Ihre Frage, in Ihren eigenen Worten" in uta.last.text
    assert "🕒 Do, 12.03., 14:00–15:30 Uhr" in uta.last.text and "📍 Werkhalle, Raum 2.14" in uta.last.text
    assert "Your group at" in ben.last.text and "Why you are in it:" in ben.last.text
    assert len(await notices(h)) == 10  # 9 participants and the moderator
    await org.press_data(release, confirmation.message_id)  # pressed again: out of date, nothing sent
    await settle(h)
    assert "Nicht mehr aktuell" in (org.last_toast or "")
    assert all(len(got(tid)) == 1 for tid in w.chats)
    [shown] = await org.press("Freigeben …")
    assert "Nichts Neues zu verschicken" in shown.text

    # A change after the release: only those it concerns hear of it.
    await org.press("Zurück")
    await org.press("3a ")
    [shown] = await org.press("Herausnehmen")
    assert "Freigegeben, seitdem geändert" in shown.text
    gone = w.tid((await plan_row(h)).removed[-1][1])
    company = w.tid((await plan_row(h)).removed[-1][0])
    stays = {w.tid(e.creative_id) for e in await entries(h) if w.tid(e.company_id) == company}
    assert len(stays) == 1  # the group's other creative: their "also in the group" changed too
    [shown] = await org.press("Freigeben …")
    assert "neu 0, geändert 3; 6 haben den aktuellen Stand schon" in shown.text
    done = await org.press("Jetzt freigeben")
    await settle(h)
    confirmation = with_text(done, "Erneut freigegeben")
    assert "neu 0, geändert 3" in confirmation.text and "Steckbriefe aller Gruppen gingen" in confirmation.text
    assert "Änderung" in with_text(done, "Moderation bei").text  # the moderator's profiles changed too
    for tid in w.chats:
        assert len(got(tid)) == (2 if tid in {gone, company} | stays else 1), tid
    assert "Änderung" in w.chats[gone].last.text or "change" in w.chats[gone].last.text
    assert "keinen Platz" in w.chats[gone].last.text or "could not give you a place" in w.chats[gone].last.text


# --- speed rounds -----------------------------------------------------------------------------

async def speed_agenda_and_rounds(h: Any) -> None:
    """/plan CODE speed 4: 3 companies at fixed tables, 6 creatives moving,
    3 of them on a break each round (fairly: each meets twice); a swap with
    someone on a break; the release sends everyone their agenda; /round next
    pings partner, table and a line on why, or the break; a round announced
    again needs a confirmation, once."""
    from handlers.callbacks import PlanButton

    w = await seed(h)
    org, uta, ben = w.organiser, w.chats[3101], w.chats[4101]
    await org.say(f"/plan {SLUG} speed 9")
    assert "höchstens 6" in org.last.text and not await h.count(Plan)
    await org.say(f"/plan {SLUG} speed 4")
    view = org.last
    assert "Speed-Meetup mit 4 Runden" in view.text and "Runde 1 von 4" in view.text and "Seite 1 von 4" in view.text
    assert "T1 Uta Seifert (Seifert Möbelwerkstatt) ↔ " in view.text and "☕ Pause: " in view.text
    assert [label[:2] for label in view.labels[:3]] == ["T1", "T2", "T3"] and "▶" in view.labels
    rows = await entries(h)
    assert len(rows) == 12 and len({(e.company_id, e.creative_id) for e in rows}) == 12  # no pair twice
    assert {e.round for e in rows} == {1, 2, 3, 4} and all(
        len([e for e in rows if e.round == r]) == 3 for r in range(1, 5))
    tables = {e.company_id: e.table_no for e in rows}
    assert all(e.table_no == tables[e.company_id] for e in rows)  # companies keep their table
    meetings = {k: sum(e.creative_id == w.person(k) for e in rows) for k in CREATIVES}
    assert set(meetings.values()) == {2}  # breaks rotate fairly: everyone meets twice

    await org.press("▶")
    assert "Runde 2 von 4" in org.last.text
    round2 = [e for e in rows if e.round == 2]
    resting = {w.person(k) for k in CREATIVES} - {e.creative_id for e in round2}
    await org.press("T1 ")
    assert "Runde 2 · Tisch 1" in org.last.text
    await org.press("Tauschen")
    assert any(label.startswith("➕") for label in org.last.labels)
    await org.press("➕")
    assert "übernimmt den Platz" in (org.last_toast or "")
    rows = await entries(h)
    table1 = next(e for e in rows if e.round == 2 and e.table_no == 1)
    assert table1.creative_id in resting and table1.locked
    assert len({(e.company_id, e.creative_id) for e in rows}) == 12
    await org.press("Neu berechnen")
    rows = await entries(h)
    assert any(e.round == 2 and e.table_no == 1 and e.creative_id == table1.creative_id for e in rows)
    assert len(rows) == 12 and len({(e.company_id, e.creative_id) for e in rows}) == 12
    assert "Moderation" not in " ".join(org.last.labels)  # speed meetups have no moderator bundle

    await org.say("/round next")
    assert "noch kein freigegebenes Speed-Meetup" in org.last.text
    await org.press("Freigeben …")
    done = await org.press("Jetzt freigeben")
    confirmation = with_text(done, "freigegeben")
    assert "9 Teilnehmende" in confirmation.text and "/round next" in confirmation.text
    agenda = uta.last.text
    assert "Ihr Ablauf beim Speed-Meetup" in agenda and "Sie bleiben an Tisch 1" in agenda
    assert all(f"Runde {r}: " in agenda for r in range(1, 5))
    assert ben.last.text.count("☕ break") == 2 and "table" in ben.last.text
    assert not any("Moderation" in m.text for m in org.messages)

    # During the event.
    base = {tid: len(c.messages) for tid, c in w.chats.items()}
    await org.say("/round next")
    assert "Runde 1 von 4 („Werkstatttag Gruppen“) angekündigt: 3 Gespräche, am Tisch 6, in der Pause 3" in org.last.text
    rows = await entries(h)
    first = {e.company_id: e for e in rows if e.round == 1}
    for tid, chat in w.chats.items():
        new = [m.text for m in chat.messages[base[tid]:]]
        assert len(new) == 1, tid
        pid = w.person(tid)
        if tid in COMPANIES:
            partner = CREATIVES[w.tid(first[pid].creative_id)][0]
            said = (f"Round 1 of 4 starts: {partner}" if COMPANIES[tid][4] == "en"
                    else f"Runde 1 von 4 beginnt: An Tisch {first[pid].table_no} kommt {partner}")
            assert said in new[0] and ("Worüber:" in new[0] or "What about:" in new[0])
        elif any(e.creative_id == pid for e in first.values()):
            assert "Round 1 of 4 starts: please go to table" in new[0] or "Bitte gehen Sie zu Tisch" in new[0]
        else:
            assert "Pause für Sie. Weiter geht es in Runde" in new[0] or "a break for you" in new[0]
    await org.say("/round 1")
    again = org.last
    assert "wurde schon angekündigt (1×)" in again.text and all(len(c.messages) == base[t] + 1 for t, c in w.chats.items())
    repeat = again.data_for("Ja, noch einmal")
    await org.press("Ja, noch einmal")
    assert all(len(c.messages) == base[t] + 2 for t, c in w.chats.items())
    assert "Runde 1 von 4" in org.last.text and "angekündigt" in org.last.text
    await org.press_data(repeat, again.message_id)  # a second press: nothing
    assert "Nicht mehr aktuell" in (org.last_toast or "") and all(len(c.messages) == base[t] + 2
                                                                   for t, c in w.chats.items())
    await org.say("/round next")
    assert "Runde 2 von 4" in org.last.text
    await org.say("/round 7")
    assert "die Runden 1 bis 4" in org.last.text
    await ben.say("/round next")
    assert "for organisers only" in ben.last.text
    plan = await plan_row(h)
    await ben.press_data(forged(h, 4101, PlanButton("rn", plan.id, plan.version, 1, 2)), ben.last.message_id)
    assert "for organisers only" in (ben.last_toast or "") and (await plan_row(h)).announced == {"1": 2, "2": 1}
    await org.say("/round 4")
    await org.say("/round next")
    assert "Alle 4 Runden" in org.last.text


# --- results per group --------------------------------------------------------------------------

async def released_groups(h: Any) -> World:
    w = await seed(h)
    await w.organiser.say(f"/plan {SLUG}")
    await w.organiser.press("Freigeben …")
    await w.organiser.press("Jetzt freigeben")
    return w


async def results_per_group(h: Any) -> None:
    """After the breakout round the group's members hand notes and photos to
    their company: each on their own, or the organiser sends everything of
    a group as one bundle. Someone of another group cannot collect for it."""
    from db.models import HandoverItem
    from handlers.callbacks import HandoverButton

    w = await released_groups(h)
    plan = await plan_row(h)
    rows = await entries(h)
    uta = w.person(3101)
    first, second = [w.chats[w.tid(e.creative_id)] for e in rows if e.company_id == uta]
    outsider = w.chats[w.tid(next(e.creative_id for e in rows if e.company_id != uta))]

    await first.say("/results")
    assert any(" 1: Uta Seifert" in label for label in first.last.labels)
    await first.press(" 1: Uta Seifert")
    assert "Gruppe mit Uta Seifert" in first.last.text or "group with Uta Seifert" in first.last.text
    await first.say("Idee: Produktfotos im Tageslicht, Shop mit drei Kategorien")
    await first.send_file("photo", caption="Skizze vom Board")
    await first.say("/cancel")
    await second.say("/results")
    await second.press(" 1: Uta Seifert")
    await second.say("Nächster Schritt: Testshop bis Ende März")
    await second.say("/cancel")
    assert await h.count(HandoverItem) == 3

    # Someone of another group, with a button forged for themselves: nothing.
    await outsider.press_data(forged(h, outsider.user_id, HandoverButton("g", uta, plan.id)), outsider.last.message_id)
    assert outsider.last_toast in ("Diese Schaltfläche ist ungültig.", "This button is not valid.")
    assert (await h.state(outsider.user_id)).flow != "handover"

    # The organiser sends it all as one message.
    org = w.organiser
    await org.say("/results")
    assert "📦 Alles für Uta Seifert gebündelt senden (3)" in org.last.labels
    before = len(w.chats[3101].messages)
    await org.press("📦 Alles für Uta Seifert")
    assert "gebündelt gesendet – Einträge: 3, von 2 Personen" in org.last.text
    got = w.chats[3101].messages[before:]
    assert [m.kind for m in got] == ["text", "photo"]
    text = got[0].text
    assert "Ergebnisse Ihrer Gruppe bei „Werkstatttag Gruppen“, gebündelt vom Organisationsteam" in text
    assert "Produktfotos im Tageslicht" in text and "Testshop bis Ende März" in text and text.count("— von ") == 2
    async with h.sessions() as s:
        items = list((await s.execute(select(HandoverItem))).scalars())
    assert all(i.delivered_at is not None and i.plan_id == plan.id for i in items)
    await org.say("/results")
    assert not any(label.startswith("📦") for label in org.last.labels)  # nothing left to bundle

    # A member of another group hands over on their own.
    jonas = w.person(3102)
    member = w.chats[w.tid(next(e.creative_id for e in rows if e.company_id == jonas))]
    await member.say("/results")
    await member.press(" 2: Jonas Berger")
    await member.say("Bedienkonzept: große Tasten, klare Fehlermeldungen")
    await member.press("Send")
    assert "Aus Ihrer Gruppe bei „Werkstatttag Gruppen“" in w.chats[3102].last.text
    assert "große Tasten" in w.chats[3102].last.text

    # /mydata names the groups a person was in.
    await first.say("/mydata")
    [mine] = first.last.json()["plans"]
    assert (mine["event"], mine["format"], mine["group"], mine["released"]) == (EVENT, "breakout", 1, True)
    assert mine["with"] == "Uta Seifert"


# --- restarts, the moderator --------------------------------------------------------------------

async def draft_survives_a_restart_and_a_named_moderator(h: Any) -> None:
    """The draft is the database's: after a restart /plan shows it as it was
    (not computed again), and typing continues where it stopped. A moderator
    named by Telegram id gets every profile instead of the organiser."""
    w = await seed(h)
    org = w.organiser
    await org.say(f"/plan {SLUG}")
    before = [(e.company_id, e.creative_id) for e in await entries(h)]
    await org.press("Zeit & Ort")
    await h.restart()
    await org.say("Freitag, 13. März, 10 Uhr")
    assert "Wo?" in org.last.text
    await org.press("So lassen")
    assert "Gespeichert: 🕒 Freitag, 13. März, 10 Uhr · 📍 wird noch bekanntgegeben" in org.last.text
    await org.say(f"/plan {SLUG}")
    assert "Entwurf (Stand 2)" in org.last.text and "Plan berechnet" not in org.last.text
    assert [(e.company_id, e.creative_id) for e in await entries(h)] == before
    await org.press("Moderation")
    await org.say("Max")
    assert "nicht als Telegram-ID" in org.last.text
    await org.say("4106")
    assert "Moderation: Pia Pohl." in org.last.text and "👤 Moderation: Pia Pohl\n" in org.last.text, org.last.text
    async with h.sessions() as s:  # someone joins after the plan was computed
        event = await s.get(Event, w.event_id)
        await _person(s, event, 4199, "Lena Spät", "de", Profile(
            name="Lena Spät", side="creative", disciplines=["text"], offers="Texte für Webseiten.", languages=["de"]))
        await s.commit()
    [shown] = await org.press("Freigeben …")
    assert "Die Moderation (Pia Pohl) bekommt alle Steckbriefe" in shown.text
    assert "1 Person ist seit der Berechnung dazugekommen" in shown.text and "9 Teilnehmende" in shown.text
    await org.press("Jetzt freigeben")
    pia = w.chats[4106]
    said = sorted(m.text.split("\n")[0] for m in pia.messages)
    assert len(said) == 2 and said[0].startswith("👤 Moderation bei „Werkstatttag Gruppen“: 3 Gruppen mit allen")
    assert said[1].startswith("🧩 Ihre Gruppe bei „Werkstatttag Gruppen“"), said
    assert not any("Moderation bei" in m.text for m in org.messages)
    await pia.say("/results")  # the moderator collects for any of the groups
    assert sum("Gruppe" in label for label in pia.last.labels) == 3


# --- what the plan respects ----------------------------------------------------------------------

async def declined_and_met_pairs_and_marks(h: Any) -> None:
    """Pairs declined (a pair, or a card answered "not a fit") and pairs
    introduced already are never proposed; a "möchte ich treffen" mark goes
    to the solver as a wish."""
    from db.models import Pair, Suggestion

    w = await seed(h)
    uta, jonas, mira = w.person(3101), w.person(3102), w.person(3103)
    nora, lea, ben, otto = w.person(4104), w.person(4102), w.person(4101), w.person(4105)
    async with h.sessions() as s:
        s.add_all([Pair(company_id=uta, creative_id=nora, status="declined"),
                   Pair(company_id=jonas, creative_id=lea, status="introduced", introduced_at=NOW),
                   Suggestion(person_id=otto, counterpart_id=mira, status="declined"),
                   Suggestion(person_id=mira, counterpart_id=ben, status="interested")])
        await s.commit()
    inner = h.matching.inner
    seen: dict[str, Any] = {}
    original = inner.formation

    async def formation(turn: Any, rows: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        return await original(turn, rows, **kwargs)

    inner.formation = formation
    try:
        await w.organiser.say(f"/plan {SLUG}")
    finally:
        inner.formation = original
    pairs = {(e.company_id, e.creative_id) for e in await entries(h)}
    assert len(pairs) == 6 and not pairs & {(uta, nora), (jonas, lea), (mira, otto)}
    assert {(str(uta), str(nora)), (str(jonas), str(lea)), (str(otto), str(mira))} <= set(seen["forbidden"])
    assert set(seen["wishes"]) == {(str(mira), str(ben))}


async def only_admitted_people_are_planned(h: Any) -> None:
    """A plan is for the admitted: an open application, a declined one and
    someone on the waiting list get no place (and no message at the release)."""
    w = await seed(h)
    out = {4104: "declined", 4105: "pending", 4106: "waiting"}
    async with h.sessions() as s:
        for tid, status in out.items():
            row = (await s.execute(select(EventParticipant).where(
                EventParticipant.person_id == w.person(tid)))).scalar_one()
            row.status = status
        await s.commit()
    await w.organiser.say(f"/plan {SLUG}")
    plan, rows = await plan_row(h), await entries(h)
    gone = {w.person(tid) for tid in out}
    assert not gone & set(plan.people) and not gone & {e.creative_id for e in rows}
    assert len(rows) == 3 and len(plan.people) == 6  # 3 companies with 1 creative each
    await w.organiser.press("Freigeben …")
    assert "6 Teilnehmende bekommen" in w.organiser.last.text
    await w.organiser.press("Jetzt freigeben")
    await settle(h)
    assert not any(m.text for tid in out for m in w.chats[tid].messages)


# On the core only (the whole review and release runs on every harness: the
# frameworks see nothing new in these, and the suite's time matters).
CORE_ONLY = [speed_agenda_and_rounds, results_per_group, draft_survives_a_restart_and_a_named_moderator,
             declined_and_met_pairs_and_marks, only_admitted_people_are_planned]
