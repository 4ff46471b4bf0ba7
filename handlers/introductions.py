"""From an introduction to a meeting: the briefing with both contacts, time
negotiation, /meetings, and reminders. See docs/introductions.md.

The rules (which state may follow which) are in `domain.model`; this module
is the conversation around them and the rendering of their events
(`on_pair_introduced`, `on_time_offered`, `on_meeting_scheduled`, ...), wired
to the bus in `handlers.registry`. Meeting buttons are validated against the
database: the meeting must belong to the presser and still be in the state
the button was made for.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from db.models import Meeting, Pair, Person, Profile, utcnow
from domain import model
from domain.durations import parse_offsets
from domain.events import (MeetingCancelled, MeetingMoved, MeetingPlaceSet, MeetingScheduled, MeetingSelfArranged,
                           PairIntroduced, TimeOffered)
from domain.model import MeetingChange, MeetingStatus, PlaceKind
from handlers import answers
from handlers.callbacks import Choice, MeetingButton, Payload, number
from handlers.flows import Flow, FlowHandler, leave_question, put_at_question
from handlers.scheduling import format_slot, meeting_ics, propose_slots, read_time
from handlers.text import describe, first_sentence, reminder_sentence, short
from handlers.types import Button, Document
from i18n import t

if TYPE_CHECKING:
    from handlers.services import Services
    from handlers.turn import Turn


# --- helpers -------------------------------------------------------------------

def _minute(dt: datetime) -> str:
    return str(int(dt.timestamp() // 60))


def _from_minute(value: str) -> datetime | None:
    """A time written by `_minute`; None for anything else (also a minute past
    the year 9999, which no datetime holds)."""
    minute = number(value, 12)
    if minute is None:
        return None
    try:
        return datetime.fromtimestamp(minute * 60, tz=utcnow().tzinfo)
    except (OverflowError, OSError, ValueError):
        return None


def _mt(turn: Turn, person: Person, label: str, meeting: Meeting, op: str, arg: str = "") -> Button:
    return turn.button_for(person, label, MeetingButton(meeting.id, op, arg))


async def people_of(turn: Turn, pair: Pair) -> tuple[Person, Profile, Person, Profile]:
    """(company, its profile, creative, their profile) of a pair."""
    intros = turn.uow.intros
    company, creative = await intros.person(pair.company_id), await intros.person(pair.creative_id)
    cp, kp = await intros.profile(pair.company_id), await intros.profile(pair.creative_id)
    assert company and creative and cp and kp
    return company, cp, creative, kp


async def _meeting_and_pair(turn: Turn, meeting_id: int) -> tuple[Meeting, Pair]:
    meeting = await turn.uow.intros.meeting(meeting_id)
    assert meeting is not None
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id)
    assert pair is not None
    return meeting, pair


# --- the introduction ----------------------------------------------------------------

def _contact(lang: str, person: Person, name: str) -> tuple[str, Button]:
    if person.username:
        return f"@{person.username}", Button(t(lang, "intro.chat", name=name), url=f"https://t.me/{person.username}")
    return t(lang, "intro.no_username"), Button(t(lang, "intro.chat", name=name), url=f"tg://user?id={person.telegram_id}")


async def on_pair_introduced(turn: Turn, event: PairIntroduced) -> None:
    """Each side gets the other's contact and a briefing written for them (never
    about themselves) that says who proposes the time; the company is asked for one."""
    pair = await turn.uow.intros.pair_by_id(event.pair_id)
    assert pair is not None
    company, cp, creative, kp = await people_of(turn, pair)
    asker, other = company, creative
    for me, them, profile in ((company, creative, kp), (creative, company, cp)):
        turn.send(*_briefing(turn, me, them, profile, asker == me, pair.reason_en if me.language == "en"
                             else pair.reason_de, challenge=cp.seeks), to=me)
    meeting = await turn.uow.intros.add_meeting(Meeting(pair_id=pair.id, status=MeetingStatus.NEGOTIATING,
                                                        duration_min=turn.services.settings.meeting_minutes))
    await ask_for_time(turn, meeting, pair, asker=asker, other=other)


def _briefing(turn: Turn, me: Person, them: Person, profile: Profile, i_propose: bool, reason: str,
              challenge: str | None) -> tuple[str, list[list[Button]]]:
    """The introduction for `me` about `them` (whose profile is `profile`).
    The company learns who the creative is and why they fit its challenge;
    the creative learns about the company and its challenge in its words."""
    lang = turn.locale_of(me)
    name = profile.name or ""
    contact, chat_button = _contact(lang, them, name)
    nxt = t(lang, "intro.next_you_propose") if i_propose else t(lang, "intro.next_other_proposes", name=name)
    role = "company" if profile.side == "creative" else "creative"  # the reader's side
    fields = dict(who=describe(lang, profile), contact=contact, name=name, reason=reason, next=nxt,
                  **{f"q{i}": t(lang, f"intro.{role}_q{i}", name=name) for i in (1, 2, 3)})
    if role == "company":
        text = t(lang, "intro.company", about=short(profile.offers, 300), **fields)
    else:
        text = t(lang, "intro.creative", challenge=short(challenge, 600), **fields)
    return text, [[chat_button]]


# --- choosing a time --------------------------------------------------------------------

async def ask_for_time(turn: Turn, meeting: Meeting, pair: Pair, asker: Person, other: Person) -> None:
    settings = turn.services.settings
    a_profile, b_profile = await turn.uow.intros.profile(asker.id), await turn.uow.intros.profile(other.id)
    rejected = [datetime.fromisoformat(x) for x in meeting.rejected or []]
    slots = propose_slots(a_profile.availability if a_profile else None, b_profile.availability if b_profile else None,
                          turn.services.now(), settings.tz, count=3, exclude=rejected)
    model.propose_times(meeting, slots)
    lang = turn.locale_of(asker)
    name = b_profile.name if b_profile else ""
    rows = [[_mt(turn, asker, "📅 " + format_slot(s, lang, settings.tz), meeting, "p", _minute(s))] for s in slots]
    rows.append([_mt(turn, asker, t(lang, "btn.other_time"), meeting, "other")])
    rows.append([_mt(turn, asker, t(lang, "btn.self_arrange"), meeting, "self")])
    turn.send(t(lang, "sched.ask" if slots else "sched.none_common", name=name), rows, to=asker)
    await put_at_question(turn, asker, Flow.MEETING, "slots", meeting_id=meeting.id)


async def on_time_offered(turn: Turn, event: TimeOffered) -> None:
    tz = turn.services.settings.tz
    meeting, pair = await _meeting_and_pair(turn, event.meeting_id)
    company, cp, creative, kp = await people_of(turn, pair)
    offerer, other, other_profile, my_profile = ((company, creative, kp, cp) if event.by_person_id == company.id
                                                 else (creative, company, cp, kp))
    when = event.when
    turn.send(turn.tr_for(offerer, "sched.wait_other", name=other_profile.name or "",
                slot=format_slot(when, offerer.language, tz)), to=offerer)
    question = {"meeting_id": meeting.id, "at": _minute(when), "name": my_profile.name or ""}
    text, buttons = _offer_prompt(turn, other, **question)
    turn.send(text + place_line(turn.locale_of(other), meeting), buttons, to=other)
    await put_at_question(turn, other, Flow.MEETING, "offer", **question)
    if meeting.place_kind is None:
        await _ask_place(turn, offerer, meeting, other_profile.name or "")


def _offer_prompt(turn: Turn, person: Person, *, meeting_id: int, at: str, name: str
                  ) -> tuple[str, list[list[Button]]]:
    """The question to `person` whether a time the other side offered suits them."""
    lang, tz = turn.locale_of(person), turn.services.settings.tz

    def button(key: str, op: str, arg: str = "") -> Button:
        return turn.button_for(person, t(lang, key), MeetingButton(meeting_id, op, arg))

    when = _from_minute(at)
    assert when is not None
    rows = [[button("btn.slot_ok", "a", at), button("btn.slot_no", "r", at)],
            [button("btn.other_time", "other")], [button("btn.self_arrange", "self")]]
    return t(lang, "sched.offer", name=name, slot=format_slot(when, lang, tz)), rows


async def on_meeting_scheduled(turn: Turn, event: MeetingScheduled) -> None:
    meeting, pair = await _meeting_and_pair(turn, event.meeting_id)
    company, cp, creative, kp = await people_of(turn, pair)
    for me, other, other_profile in ((company, creative, kp), (creative, company, cp)):
        lang = turn.locale_of(me)
        slot = format_slot(event.starts_at, lang, turn.services.settings.tz)
        turn.send(t(lang, "sched.confirmed", slot=slot, name=other_profile.name or "", minutes=meeting.duration_min)
                  + place_line(lang, meeting), to=me)
        turn.send(t(lang, "sched.ics_caption"), document=_ics(turn, meeting, me, other, cp, kp), to=me)
        if meeting.place_kind is None and meeting.changed_by == me.id:  # agreed, and nobody said where yet
            await _ask_place(turn, me, meeting, other_profile.name or "")


async def on_self_arranged(turn: Turn, event: MeetingSelfArranged) -> None:
    _meeting, pair = await _meeting_and_pair(turn, event.meeting_id)
    company, cp, creative, kp = await people_of(turn, pair)
    for me, other_profile in ((company, kp), (creative, cp)):
        turn.send(turn.tr_for(me, "sched.self", name=other_profile.name or ""), to=me)


async def on_meeting_cancelled(turn: Turn, event: MeetingCancelled) -> None:
    """The other side is told; both get a cancelling .ics if it was in calendars."""
    meeting, pair = await _meeting_and_pair(turn, event.meeting_id)
    company, cp, creative, kp = await people_of(turn, pair)
    other, by_profile = (creative, cp) if event.by_person_id == company.id else (company, kp)
    lang = other.language
    slot = (format_slot(event.starts_at, lang, turn.services.settings.tz) if event.starts_at
            else t(lang, "meeting.no_time"))
    turn.send(t(lang, "meeting.cancelled_other", name=by_profile.name or "", slot=slot), to=other)
    if event.was_scheduled:
        for me, them in ((company, creative), (creative, company)):
            gone = event.by_deletion and them.id == event.by_person_id
            turn.send(turn.tr_for(me, "sched.ics_cancel_caption"),
                      document=_ics(turn, meeting, me, them, cp, kp, cancelled=True, gone=gone), to=me)


def _ics(turn: Turn, meeting: Meeting, me: Person, other: Person, cp: Profile, kp: Profile,
         cancelled: bool = False, gone: bool = False) -> Document:
    """`me`'s calendar entry (METHOD:PUBLISH, or CANCEL): the place as LOCATION
    (and URL for a link), the other person's name and Telegram contact in the
    DESCRIPTION. One UID per meeting; every change raises the SEQUENCE.
    `gone`: the other person deleted their data — of theirs only the name."""
    assert meeting.starts_at is not None
    lang = turn.locale_of(me)
    other_profile = kp if other.id == kp.person_id else cp
    summary = t(lang, "ics.summary", company=cp.name or "", creative=kp.name or "")
    if gone:
        description = t(lang, "ics.about_gone", name=other_profile.name or "")
    else:
        description = t(lang, "ics.about", name=other_profile.name or "", contact=_ics_contact(other),
                        challenge=first_sentence(cp.seeks, 400))
    where = meeting.place if meeting.place_kind in (PlaceKind.ONSITE, PlaceKind.ONLINE) else None
    content = meeting_ics(uid=f"crosslab-meeting-{meeting.id}@crosslab", starts_at=meeting.starts_at,
                          duration=timedelta(minutes=meeting.duration_min), summary=summary, description=description,
                          tz=turn.services.settings.tz, sequence=meeting.sequence, cancelled=cancelled,
                          location=where, url=where if meeting.place_kind == PlaceKind.ONLINE else None)
    return Document(f"crosslab-meeting-{meeting.id}.ics", content, "text/calendar")


def _ics_contact(person: Person) -> str:
    if person.username:
        return f"Telegram @{person.username} – https://t.me/{person.username}"
    return f"Telegram – tg://user?id={person.telegram_id}"


# --- where: on site (an address) or online (a link) ---------------------------------------------------

PLACE_CHOICES = {"site": PlaceKind.ONSITE, "online": PlaceKind.ONLINE}
_LINK = re.compile(r"^(https?://)?([\w-]+\.)+[a-z]{2,}(:\d+)?([/?#]\S*)?$", re.IGNORECASE)


def place_line(lang: str, meeting: Meeting) -> str:
    """"\n📍 Ort: …" / "\n💻 Online: …" when the place is known, else ""."""
    if meeting.place_kind not in (PlaceKind.ONSITE, PlaceKind.ONLINE) or not meeting.place:
        return ""
    return "\n" + t(lang, f"place.line_{meeting.place_kind}", place=meeting.place)


async def _ask_place(turn: Turn, me: Person, meeting: Meeting, other_name: str) -> None:
    _send_place_question(turn, me, meeting.id, other_name)
    await put_at_question(turn, me, Flow.MEETING, "where", meeting_id=meeting.id, name=other_name)


def _send_place_question(turn: Turn, me: Person, meeting_id: int, other_name: str) -> None:
    lang = turn.locale_of(me)

    def button(label: str, arg: str) -> Button:
        return turn.button_for(me, t(lang, label), MeetingButton(meeting_id, "where", arg))

    turn.send(t(lang, "place.ask", name=other_name), [
        [button("btn.place_onsite", "site"), button("btn.place_online", "online")],
        [button("btn.place_open", "open")]], to=me)


_ONSITE_WORDS = re.compile(r"^(vor ort|on ?site|in person|persönlich|bei uns|bei ihnen|bei dir)\W*$", re.IGNORECASE)
_ONLINE_WORDS = re.compile(r"^(online|video|videocall|video call|zoom|teams|jitsi|google meet)\W*$", re.IGNORECASE)
_OPEN_WORDS = re.compile(r"^(offen|offen lassen|weiß (ich )?(noch )?nicht|egal|später|open|later|skip|don't know)\W*$",
                         re.IGNORECASE)


async def where_text(turn: Turn, text: str) -> bool:
    """Step where (on site / online / leave open, asked with buttons): "vor
    Ort", "online", "offen" work like the buttons; a link is the online place,
    an address (words and a number) the on-site place; anything else gets the
    question again. False if the meeting is over or gone."""
    person = turn.person
    assert person is not None and turn.state is not None
    meeting = await turn.uow.intros.meeting(int(turn.state.data.get("meeting_id") or 0))
    if meeting is None or meeting.status not in model.OPEN_MEETING:
        turn.goto(Flow.IDLE, None)
        return False
    text = " ".join(text.split())
    if _ONSITE_WORDS.match(text) or _ONLINE_WORDS.match(text):
        arg = "site" if _ONSITE_WORDS.match(text) else "online"
        turn.goto(Flow.MEETING, "place", meeting_id=meeting.id, kind=str(PLACE_CHOICES[arg]))
        turn.say(f"place.chosen_{arg}")
        turn.say("place.ask_address" if arg == "site" else "place.ask_link")
        return True
    if _OPEN_WORDS.match(text):
        turn.goto(Flow.IDLE, None)
        if not place_line(turn.locale, meeting):
            model.leave_place_open(meeting)
        turn.say("place.left_open")
        return True
    link = _link(text) if " " not in text else None
    address = (text if 5 <= len(text) <= 300 and re.search(r"\d", text) and re.search(r"[^\W\d_]{3}", text)
               and read_time(text, person.language, turn.services.now(), turn.services.settings.tz) is None
               else None)
    if link is None and address is None:
        turn.say("input.answer_open_question")
        _send_place_question(turn, person, meeting.id, str(turn.state.data.get("name") or ""))
        return True
    kind = PlaceKind.ONLINE if link is not None else PlaceKind.ONSITE
    turn.goto(Flow.IDLE, None)
    await turn.publish(model.set_place(meeting, person.id, kind, link or address or ""))
    return True


async def _place_button(turn: Turn, meeting: Meeting, pair: Pair, arg: str) -> None:
    if arg == "open" and place_line(turn.locale, meeting):
        turn.edit(turn.ev.message_id, turn.tr("place.kept") + place_line(turn.locale, meeting))
    elif arg == "open":
        model.leave_place_open(meeting)
        turn.edit(turn.ev.message_id, turn.tr("place.left_open"))
    elif arg in PLACE_CHOICES:
        turn.edit(turn.ev.message_id, turn.tr(f"place.chosen_{arg}"))
        turn.goto(Flow.MEETING, "place", meeting_id=meeting.id, kind=str(PLACE_CHOICES[arg]))
        turn.say("place.ask_address" if arg == "site" else "place.ask_link")
    else:
        turn.toast("button.invalid", alert=True)


def _link(text: str) -> str | None:
    if not _LINK.match(text):
        return None
    return text if text.lower().startswith(("http://", "https://")) else "https://" + text


async def place_text(turn: Turn, text: str) -> None:
    """The typed address or link (flow meeting, step place)."""
    person = turn.person
    assert person is not None and turn.state is not None
    meeting = await turn.uow.intros.meeting(int(turn.state.data.get("meeting_id", 0)))
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or meeting.status not in model.OPEN_MEETING:
        turn.goto(Flow.IDLE, None)
        await _say_stale(turn, meeting, pair)
        return
    text = " ".join(text.split())
    kind = PlaceKind(str(turn.state.data.get("kind", PlaceKind.ONSITE)))
    place = _link(text) if kind == PlaceKind.ONLINE else (text if 3 <= len(text) <= 300 else None)
    if place is None:
        turn.say("place.bad_link" if kind == PlaceKind.ONLINE else "place.bad_address")
        return
    turn.goto(Flow.IDLE, None)
    await turn.publish(model.set_place(meeting, person.id, kind, place))


async def on_place_set(turn: Turn, event: MeetingPlaceSet) -> None:
    """The other side learns where; a meeting already in calendars gets a new .ics for both."""
    meeting, pair = await _meeting_and_pair(turn, event.meeting_id)
    company, cp, creative, kp = await people_of(turn, pair)
    setter, other, setter_profile, other_profile = ((company, creative, cp, kp) if event.by_person_id == company.id
                                                    else (creative, company, kp, cp))
    turn.send(turn.tr_for(setter, "place.saved", name=other_profile.name or "")
              + place_line(turn.locale_of(setter), meeting), to=setter)
    turn.send(turn.tr_for(other, "place.set_other", name=setter_profile.name or "")
              + place_line(turn.locale_of(other), meeting), to=other)
    if event.was_scheduled and meeting.starts_at is not None:
        for me, them in ((company, creative), (creative, company)):
            turn.send(turn.tr_for(me, "sched.ics_update_caption"), document=_ics(turn, meeting, me, them, cp, kp),
                      to=me)


# --- a button someone else's answer overtook ----------------------------------------------------------

_DONE_SLOT = {MeetingChange.OFFERED: "offer_at", MeetingChange.CONFIRMED: "starts_at"}
_STATE = {MeetingStatus.NEGOTIATING: "meeting.state_negotiating", MeetingStatus.SELF_ARRANGED: "meeting.state_self_arranged",
          MeetingStatus.CANCELLED: "meeting.state_cancelled", MeetingStatus.HELD: "meeting.state_held",
          MeetingStatus.FELL_THROUGH: "meeting.state_fell_through"}


def meeting_state(turn: Turn, me: Person, meeting: Meeting, other_name: str) -> str:
    """Where the meeting stands now, for `me`."""
    lang, tz = turn.locale_of(me), turn.services.settings.tz
    if meeting.status == MeetingStatus.NEGOTIATING and meeting.offer_at is not None:
        key = "meeting.state_offer_yours" if meeting.offer_by == me.id else "meeting.state_offer_theirs"
        return t(lang, key, name=other_name, slot=format_slot(meeting.offer_at, lang, tz))
    if meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at is not None:
        return t(lang, "meeting.state_scheduled", slot=format_slot(meeting.starts_at, lang, tz)) + place_line(lang, meeting)
    return t(lang, _STATE.get(MeetingStatus(meeting.status), "meeting.state_negotiating"), name=other_name)


def stale_text(turn: Turn, me: Person, meeting: Meeting, pair: Pair, other_name: str) -> str:
    """What happened instead (who did what last) and where things stand now."""
    lang, tz = turn.locale_of(me), turn.services.settings.tz
    state = meeting_state(turn, me, meeting, other_name)
    change = MeetingChange(meeting.change) if meeting.change else None
    at = (getattr(meeting, _DONE_SLOT[change]) if change in _DONE_SLOT
          else datetime.fromisoformat(meeting.rejected[-1]) if change == MeetingChange.REJECTED and meeting.rejected
          else None)
    if change is None or meeting.changed_by not in (pair.company_id, pair.creative_id) \
            or (change in (*_DONE_SLOT, MeetingChange.REJECTED) and at is None):
        return t(lang, "meeting.stale_state", state=state)
    done = t(lang, f"meeting.done_{change}", slot=format_slot(at, lang, tz) if at else "")
    if meeting.changed_by == me.id:
        return t(lang, "meeting.stale_you", done=done, state=state)
    return t(lang, "meeting.stale_other", name=other_name, done=done, state=state)


async def stale_meeting_button(turn: Turn, meeting: Meeting, pair: Pair) -> None:
    """A meeting button that is no longer valid: its message now says what
    happened and where things stand, and loses its buttons."""
    person = turn.person
    assert person is not None
    other = await turn.uow.intros.profile(model.other_id(pair, person.id))
    turn.edit(turn.ev.message_id, stale_text(turn, person, meeting, pair, other.name if other else ""))


async def _say_stale(turn: Turn, meeting: Meeting | None, pair: Pair | None) -> None:
    if meeting is None or pair is None or turn.person is None:
        turn.say("meeting.stale")
        return
    other = await turn.uow.intros.profile(model.other_id(pair, turn.person.id))
    turn.send(stale_text(turn, turn.person, meeting, pair, other.name if other else ""))


# --- reminder jobs (after the commit) ----------------------------------------------------

def plan_reminders(services: Services, event: MeetingScheduled) -> None:
    if services.reminders is not None and services.reminders.running:
        services.reminders.plan(event.meeting_id, event.starts_at)


def cancel_reminders(services: Services, event: MeetingMoved | MeetingSelfArranged | MeetingCancelled) -> None:
    if services.reminders is not None and services.reminders.running:
        services.reminders.cancel(event.meeting_id)


# --- meeting buttons ------------------------------------------------------------------------

async def on_meeting_button(turn: Turn, payload: MeetingButton) -> None:
    person = turn.person
    assert person is not None
    meeting = await turn.uow.intros.meeting(payload.meeting_id)
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or person.id not in (pair.company_id, pair.creative_id):
        turn.toast("button.invalid", alert=True)
        return
    leave_question(turn, Flow.MEETING, meeting_id=meeting.id)
    op, arg = payload.op, payload.arg
    company, cp, creative, kp = await people_of(turn, pair)
    other = creative if person.id == company.id else company
    other_profile = kp if person.id == company.id else cp
    tz = turn.services.settings.tz
    lang = person.language
    negotiating = meeting.status == MeetingStatus.NEGOTIATING
    offered_to_me = (negotiating and meeting.offer_at is not None and _minute(meeting.offer_at) == arg
                     and meeting.offer_by != person.id)
    when = _from_minute(arg)
    if op == "p" and negotiating and meeting.offer_by is None and when is not None \
            and when.isoformat() in (meeting.slots or []):
        turn.edit(turn.ev.message_id, "✓ " + format_slot(when, lang, tz))
        await turn.publish(model.offer_time(meeting, person.id, when))
    elif op == "a" and offered_to_me:
        assert meeting.offer_at is not None
        turn.edit(turn.ev.message_id, "✓ " + format_slot(meeting.offer_at, lang, tz))
        await turn.publish(model.confirm_time(meeting, person.id))
    elif op == "r" and offered_to_me:
        assert meeting.offer_at is not None
        turn.edit(turn.ev.message_id, "✖ " + format_slot(meeting.offer_at, lang, tz))
        model.reject_offer(meeting, person.id)
        turn.send(turn.tr_for(other, "sched.rejected", name=(kp if other.id == company.id else cp).name or "",
                    slot=format_slot(meeting.offer_at, other.language, tz)), to=other)
        await ask_for_time(turn, meeting, pair, asker=person, other=other)
    elif op == "other" and negotiating:
        turn.edit(turn.ev.message_id, t(lang, "sched.other_chosen"))
        turn.goto(Flow.MEETING, "propose_time", meeting_id=meeting.id)
        turn.say("sched.ask_time")
    elif op == "self" and meeting.status in model.OPEN_MEETING:
        turn.edit(turn.ev.message_id, t(lang, "sched.self_chosen"))
        await turn.publish(model.arrange_themselves(meeting, person.id))
    elif op == "cancel" and meeting.status in model.OPEN_MEETING:
        turn.send(t(lang, "meeting.cancel_confirm", name=other_profile.name or ""),
                  [[_mt(turn, person, t(lang, "btn.cancel_yes"), meeting, "cx"),
                    _mt(turn, person, t(lang, "btn.cancel_no"), meeting, "keep")]], to=person)
    elif op == "keep":
        turn.edit(turn.ev.message_id, t(lang, "meeting.kept"))
    elif op == "cx" and meeting.status in model.OPEN_MEETING:
        turn.edit(turn.ev.message_id, t(lang, "meeting.cancelled_you"))
        await turn.publish(model.cancel_meeting(meeting, person.id))
    elif op == "resched" and meeting.status == MeetingStatus.SCHEDULED:
        turn.edit(turn.ev.message_id, t(lang, "meeting.resched_you"))
        assert meeting.starts_at is not None
        turn.send(turn.tr_for(other, "meeting.resched_other", name=(cp if person.id == company.id else kp).name or "",
                    slot=format_slot(meeting.starts_at, other.language, tz)), to=other)
        await turn.publish(model.reschedule(meeting, person.id))
        await ask_for_time(turn, meeting, pair, asker=person, other=other)
    elif op == "where" and meeting.status in model.OPEN_MEETING:
        await _place_button(turn, meeting, pair, arg)
    else:
        await stale_meeting_button(turn, meeting, pair)


class MeetingFlow(FlowHandler):
    """Typing a time of one's own (step propose_time, then confirm_time when it
    needs a word from the person: in the past, ambiguous or a guess), answering
    a time the other side offered (step offer: "ok", "passt", "ja", "nein" or a
    time of one's own instead), or the address or link (step place)."""

    flow = Flow.MEETING

    def awaits_answer(self, turn: Turn) -> bool:
        return turn.step is not None

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        assert turn.state is not None
        text, data = turn.ev.text, turn.state.data
        if turn.step == "place":
            await place_text(turn, text)
        elif turn.step == "propose_time":
            await proposed_time_text(turn, text)
        elif turn.step == "confirm_time":
            answer, choices = answers.choice(text), data.get("choices") or []
            if answer == answers.YES and len(choices) == 1:
                await _take_choice(turn, choices[0])
            elif answer == answers.NO:
                turn.goto(Flow.MEETING, "propose_time", meeting_id=data.get("meeting_id"))
                turn.say("sched.ask_time")
            elif answer is not None:
                return False  # "ja" to two readings: the buttons say which
            else:
                await proposed_time_text(turn, text)  # another time instead
        elif turn.step == "offer":
            return await offered_time_text(turn, text)
        elif turn.step == "slots":
            return await slots_text(turn, text)
        elif turn.step == "where":
            return await where_text(turn, text)
        else:
            return False
        return True

    async def on_button(self, turn: Turn, profile: Profile, payload: Payload) -> bool:
        if not (isinstance(payload, Choice) and payload.kind == "when" and turn.step == "confirm_time"
                and turn.state is not None and payload.value in (turn.state.data.get("choices") or [])):
            return False
        await _take_choice(turn, payload.value)
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        assert turn.state is not None and turn.person is not None
        if turn.step == "place":
            turn.say("place.ask_link" if turn.state.data.get("kind") == PlaceKind.ONLINE else "place.ask_address")
        elif turn.step == "confirm_time":
            _ask_to_confirm(turn)
        elif turn.step == "offer":
            turn.send(*_offer_prompt(turn, turn.person, **turn.state.data))
        elif turn.step == "slots":
            turn.say("sched.slots_above")
        elif turn.step == "where":
            _send_place_question(turn, turn.person, int(turn.state.data.get("meeting_id") or 0),
                                 str(turn.state.data.get("name") or ""))
        else:
            turn.say("sched.ask_time")

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        turn.goto(Flow.IDLE, None)
        turn.say("cancel.done")


async def _negotiating_meeting(turn: Turn) -> Meeting | None:
    """The meeting of the current step, if its time is still being chosen;
    otherwise the person is told where it stands and is back to idle."""
    assert turn.state is not None
    meeting = await turn.uow.intros.meeting(int(turn.state.data.get("meeting_id") or 0))
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or meeting.status != MeetingStatus.NEGOTIATING:
        turn.goto(Flow.IDLE, None)
        await _say_stale(turn, meeting, pair)
        return None
    return meeting


async def proposed_time_text(turn: Turn, text: str) -> None:
    """A time typed by someone choosing one (steps propose_time, confirm_time)."""
    person = turn.person
    assert person is not None
    meeting = await _negotiating_meeting(turn)
    if meeting is None:
        return
    tz = turn.services.settings.tz
    reading = read_time(text, person.language, turn.services.now(), tz)
    if reading is None:
        turn.say("sched.bad_time")
    elif reading.when is not None:
        await _offer_typed(turn, meeting, reading.when)
    elif not reading.choices:
        assert reading.past is not None
        turn.goto(Flow.MEETING, "propose_time", meeting_id=meeting.id)
        turn.say("sched.past", slot=format_slot(reading.past, turn.lang, tz))
    else:
        turn.goto(Flow.MEETING, "confirm_time", meeting_id=meeting.id, text=text[:80],
                  choices=[_minute(c) for c in reading.choices],
                  past=_minute(reading.past) if reading.past is not None else None)
        turn.bump()
        _ask_to_confirm(turn)


def _ask_to_confirm(turn: Turn) -> None:
    """Step confirm_time: the readings of a typed time, a button each."""
    assert turn.state is not None
    data, tz = turn.state.data, turn.services.settings.tz
    choices = [c for c in map(_from_minute, data.get("choices") or []) if c is not None]

    def slot(when: datetime) -> str:
        return format_slot(when, turn.lang, tz)

    rows = [[turn.button("📅 " + slot(c), Choice("when", _minute(c)))] for c in choices]
    past = _from_minute(data.get("past") or "")
    if past is not None:
        turn.say("sched.past_choice", rows, slot=slot(past), choice=slot(choices[0]))
    elif len(choices) > 1:
        turn.say("sched.which", rows, text=data.get("text", ""))
    else:
        turn.say("sched.guess", rows, slot=slot(choices[0]))


async def _take_choice(turn: Turn, value: str) -> None:
    """One reading of a typed time confirmed (its button, or "ja")."""
    meeting = await _negotiating_meeting(turn)
    when = _from_minute(value)
    if meeting is None or when is None:
        return
    if turn.ev.kind == "button":  # "ja" needs no echo: the offer's confirmation follows
        turn.edit(turn.ev.message_id, "✓ " + format_slot(when, turn.lang, turn.services.settings.tz))
    await _offer_typed(turn, meeting, when)


async def _offer_typed(turn: Turn, meeting: Meeting, when: datetime) -> None:
    assert turn.person is not None
    turn.goto(Flow.IDLE, None)
    model.add_typed_time(meeting, when)
    await turn.publish(model.offer_time(meeting, turn.person.id, when))


async def offered_time_text(turn: Turn, text: str) -> bool:
    """Step offer: "ok"/"passt"/"ja" accept the offered time, "nein" declines it
    (as its buttons do), a time of one's own is proposed instead. False if the
    offer is gone (the text is then ordinary text) or the text says none of this."""
    person = turn.person
    assert person is not None and turn.state is not None
    data = turn.state.data
    meeting = await turn.uow.intros.meeting(int(data.get("meeting_id") or 0))
    if (meeting is None or meeting.status != MeetingStatus.NEGOTIATING or meeting.offer_at is None
            or _minute(meeting.offer_at) != data.get("at") or meeting.offer_by == person.id):
        turn.goto(Flow.IDLE, None)
        return False
    answer = answers.choice(text)
    if answer is not None:
        await on_meeting_button(turn, MeetingButton(meeting.id, "a" if answer == answers.YES else "r", data["at"]))
        return True
    if read_time(text, person.language, turn.services.now(), turn.services.settings.tz) is not None:
        turn.goto(Flow.MEETING, "propose_time", meeting_id=meeting.id)
        await proposed_time_text(turn, text)
        return True
    return False


async def slots_text(turn: Turn, text: str) -> bool:
    """Step slots (the proposed times, "other time", "we arrange it"): a typed
    time is proposed as one's own; anything else gets the list again. False if
    the meeting is no longer waiting for this person's choice."""
    person = turn.person
    assert person is not None and turn.state is not None
    meeting = await turn.uow.intros.meeting(int(turn.state.data.get("meeting_id") or 0))
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or meeting.status != MeetingStatus.NEGOTIATING or meeting.offer_by is not None:
        turn.goto(Flow.IDLE, None)
        return False
    if read_time(text, person.language, turn.services.now(), turn.services.settings.tz) is not None:
        turn.goto(Flow.MEETING, "propose_time", meeting_id=meeting.id)
        await proposed_time_text(turn, text)
        return True
    other = await turn.uow.intros.person(model.other_id(pair, person.id))
    if other is None:
        return False
    turn.say("input.answer_open_question")
    await ask_for_time(turn, meeting, pair, asker=person, other=other)
    return True


# --- /meetings ------------------------------------------------------------------------

async def cmd_meetings(turn: Turn, profile: Profile, args: str) -> None:
    person = turn.person
    assert person is not None
    rows = await turn.uow.intros.meetings_of(person.id, model.OPEN_MEETING)
    now = turn.services.now()
    rows = [(m, p) for m, p in rows if m.status == MeetingStatus.NEGOTIATING or (m.starts_at and m.starts_at > now)]
    if not rows:
        turn.say("meetings.none")
        return
    tz = turn.services.settings.tz
    for meeting, pair in rows:
        other = await turn.uow.intros.profile(model.other_id(pair, person.id))
        name = other.name if other else "?"
        if meeting.status == MeetingStatus.SCHEDULED and meeting.starts_at:
            text = (turn.tr("meetings.scheduled", slot=format_slot(meeting.starts_at, turn.lang, tz), name=name)
                    + place_line(turn.locale, meeting))
            buttons = [[_mt(turn, person, turn.tr("btn.reschedule"), meeting, "resched"),
                        _mt(turn, person, turn.tr("btn.cancel_meeting"), meeting, "cancel")]]
        else:
            text = turn.tr("meetings.negotiating", name=name)
            buttons = [[_mt(turn, person, turn.tr("btn.cancel_meeting"), meeting, "cancel")]]
        turn.send(text, buttons)


# --- reminders -----------------------------------------------------------------------------

async def remind(turn: Turn, meeting_id: int, kind: str, starts_at: datetime) -> None:
    """Both sides' messages for one due reminder; none if it is stale (the
    meeting moved, was cancelled or has begun) or was sent already."""
    meeting = await turn.uow.intros.meeting(meeting_id)
    if (meeting is None or meeting.status != MeetingStatus.SCHEDULED or meeting.starts_at != starts_at
            or starts_at <= turn.services.now()):
        return
    if not await turn.uow.intros.mark_reminder_sent(meeting_id, kind, starts_at):
        return
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id)
    assert pair is not None
    try:
        before = parse_offsets(kind)[0][1]  # the kind is the offset's label, "24h"
    except (ValueError, IndexError):
        before = starts_at - turn.services.now()
    for me_id, other_id in ((pair.company_id, pair.creative_id), (pair.creative_id, pair.company_id)):
        me, other = await turn.uow.intros.person(me_id), await turn.uow.intros.profile(other_id)
        if me is None or other is None:
            continue
        turn.send(reminder_sentence(turn.locale_of(me), other.name or "", starts_at, before,
                                    turn.services.settings.tz) + place_line(turn.locale_of(me), meeting), to=me)
