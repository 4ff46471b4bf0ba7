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
