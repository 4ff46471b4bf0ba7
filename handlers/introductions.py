"""From a suggestion to a meeting: cards, double opt-in, introductions with a
briefing, time negotiation, /meetings, and reminders.

Buttons here are not tied to the conversation version (a card stays answerable
while someone edits their profile); their validity is checked against the
database instead: the suggestion, pair or meeting must belong to the presser and
still be in the state the button was made for. See docs/introductions.md.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.i18n import t
from db.models import Meeting, Pair, Person, Profile, Suggestion, utcnow
from handlers.scheduling import format_slot, meeting_ics, parse_proposal, propose_slots
from handlers.suggestions import describe
from handlers.types import Button, Document, OutMessage

if TYPE_CHECKING:
    from handlers.callbacks import CallbackPayload
    from handlers.turn import Turn

# Actions whose buttons are validated against the database, not the version.
ACTIONS = ("sg", "mt")
NOT_NOW_DAYS = 14


# --- helpers -------------------------------------------------------------------

def _minute(dt: datetime) -> str:
    return str(int(dt.timestamp() // 60))


def _from_minute(value: str) -> datetime | None:
    if not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value) * 60, tz=utcnow().tzinfo)


def _button(turn: Turn, person: Person, label: str, action: str, value: str) -> Button:
    """A button for `person` (signed with their id; not tied to a version)."""
    return Button(label, turn.core.signer.sign(person.telegram_id, action, value, 0))


def _send(turn: Turn, person: Person, text: str, buttons: list[list[Button]] | None = None,
          document: Document | None = None) -> None:
    turn.reply.messages.append(OutMessage(person.telegram_id, text, buttons or [], document))


def _first_sentence(text: str | None, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    match = re.match(r"(.+?[.!?])(\s|$)", text)
    return _short(match.group(1) if match else text, limit)


def _short(text: str | None, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


async def _people(turn: Turn, pair: Pair) -> tuple[Person, Profile, Person, Profile]:
    intros = turn.uow.intros
    company, creative = await intros.person(pair.company_id), await intros.person(pair.creative_id)
    cp, kp = await intros.profile(pair.company_id), await intros.profile(pair.creative_id)
    assert company and creative and cp and kp
    return company, cp, creative, kp


# --- suggestions as cards --------------------------------------------------------

async def offer_suggestions(turn: Turn, people: list[Person], pool: list[int] | None = None) -> int:
    """Compute suggestions for `people` (from `pool`, default everyone), store
    new ones, and show each person their next card. Returns people served."""
    intros = turn.uow.intros
    closed = set()
    for a, b in await intros.closed_pairs():
        closed.add((str(a), str(b)))
    blocked: dict[int, set[int]] = {}
    for person in people:
        for s in await intros.suggestions_of(person.id):
            recent_not_now = s.status == "not_now" and s.answered_at and turn.core.now() - s.answered_at < timedelta(days=NOT_NOW_DAYS)
            if s.status in ("declined", "interested") or recent_not_now:
                blocked.setdefault(person.id, set()).add(s.counterpart_id)
    exclude = closed | {(str(p), str(c)) for p, cs in blocked.items() for c in cs}
    ids = [p.id for p in people if not p.paused]
    results = await turn.core.matching.suggest_many(turn, ids, pool=pool, exclude=exclude)
    served = 0
    for person in people:
        if person.paused:
            continue
        existing = {s.counterpart_id: s for s in await intros.suggestions_of(person.id)}
        for _profile, suggestion in results.get(person.id, []):
            other = int(suggestion.counterpart_id)
            row = existing.get(other)
            if row is None:
                await intros.add_suggestion(Suggestion(
                    person_id=person.id, counterpart_id=other, score=float(suggestion.score),
                    reason_de=suggestion.reason("de"), reason_en=suggestion.reason("en"), status="pending"))
            elif row.status in ("not_now", "shown", "ignored"):  # ignored: offered again when asked for
                row.status, row.score = "pending", float(suggestion.score)
        if await show_next_card(turn, person, announce_empty=True):
            served += 1
    return served


async def show_next_card(turn: Turn, person: Person, *, announce_empty: bool = False) -> bool:
    intros = turn.uow.intros
    rows = await intros.suggestions_of(person.id)
    if any(s.status == "shown" for s in rows):
        return True  # one card at a time: the open one is still waiting
    pending = sorted((s for s in rows if s.status == "pending"), key=lambda s: -s.score)
    if not pending:
        if announce_empty:
            _send(turn, person, t(person.language, "cards.none" if not rows else "cards.done"))
        return False
    card = pending[0]
    other = await intros.profile(card.counterpart_id)
    if other is None:  # deleted since
        card.status = "declined"
        return await show_next_card(turn, person, announce_empty=announce_empty)
    card.status, card.shown_at = "shown", turn.core.now()
    interested = await _counterpart_interested(turn, person.id, card.counterpart_id)
    _send(turn, person, render_card(person.language, card, other, interested), _card_buttons(turn, person, card))
    return True


async def _counterpart_interested(turn: Turn, person_id: int, other_id: int) -> bool:
    back = await turn.uow.intros.suggestion_between(other_id, person_id)
    return back is not None and back.status == "interested"


def render_card(lang: str, card: Suggestion, other: Profile, interested: bool) -> str:
    reason = card.reason_de if lang == "de" else card.reason_en
    about_key = "card.challenge" if other.side == "production" else "card.skills"
    about = _short(other.seeks if other.side == "production" else other.offers)
    head = t(lang, "card.head_interested" if interested else "card.head")
    who = describe(lang, other)
    return (f"{head}\n\n{who}\n{t(lang, 'side.' + (other.side or 'creative'))}\n\n"
            f"{t(lang, about_key)}: {about}\n\n💡 {t(lang, 'card.why')}: {reason}")


def _card_buttons(turn: Turn, person: Person, card: Suggestion) -> list[list[Button]]:
    lang = person.language
    return [[_button(turn, person, t(lang, "btn.interested"), "sg", f"{card.id}:y")],
            [_button(turn, person, t(lang, "btn.not_now"), "sg", f"{card.id}:later"),
             _button(turn, person, t(lang, "btn.not_fit"), "sg", f"{card.id}:n")]]


async def answer_card(turn: Turn, person: Person, value: str) -> None:
    card_id, _, answer = value.partition(":")
    card = await turn.uow.intros.suggestion(int(card_id)) if card_id.isdigit() else None
    if card is None or card.person_id != person.id or answer not in ("y", "later", "n"):
        turn.toast("button.invalid", alert=True)
        return
    if card.status != "shown":
        turn.toast("card.already")
        return
    other_profile = await turn.uow.intros.profile(card.counterpart_id)
    other = await turn.uow.intros.person(card.counterpart_id)
    if other is None or other_profile is None:
        card.status = "declined"
        turn.toast("card.gone")
        await show_next_card(turn, person, announce_empty=True)
        return
    card.answered_at = turn.core.now()
    person.ignored_in_row = 0  # an answer ends a run of ignored cards
    name = other_profile.name or ""
    lang = person.language
    card.status = {"y": "interested", "later": "not_now", "n": "declined"}[answer]
    key = {"y": "card.answered_yes", "later": "card.answered_later", "n": "card.answered_no"}[answer]
    turn.edit(turn.ev.message_id, t(lang, key, name=name))
    if answer == "later":
        await show_next_card(turn, person, announce_empty=True)
        return
    pair = await _pair_for(turn, person, card, other)
    side = "company" if pair.company_id == person.id else "creative"
    setattr(pair, f"{side}_answer", "interested" if answer == "y" else "declined")
    if answer == "n":
        pair.status = "declined"
        await show_next_card(turn, person, announce_empty=True)
        return
    other_side = "creative" if side == "company" else "company"
    if getattr(pair, f"{other_side}_answer") == "interested" and pair.status == "open":
        await introduce(turn, pair)
        return
    if getattr(pair, f"{other_side}_answer") is None:
        await _invite_other_side(turn, person, other, card)
    await show_next_card(turn, person, announce_empty=False)


async def _pair_for(turn: Turn, person: Person, card: Suggestion, other: Person) -> Pair:
    profile = await turn.uow.intros.profile(person.id)
    company_id, creative_id = (person.id, other.id) if profile and profile.side == "production" else (other.id, person.id)
    pair = await turn.uow.intros.pair(company_id, creative_id)
    if pair is None:
        pair = await turn.uow.intros.add_pair(Pair(company_id=company_id, creative_id=creative_id, status="open",
                                                   reason_de=card.reason_de, reason_en=card.reason_en))
    return pair


async def _invite_other_side(turn: Turn, person: Person, other: Person, card: Suggestion) -> None:
    """The other side has not answered yet: make sure they get a card about
    this person (it says someone is interested, but no contact)."""
    if other.paused:
        return
    back = await turn.uow.intros.suggestion_between(other.id, person.id)
    if back is None:
        back = await turn.uow.intros.add_suggestion(Suggestion(
            person_id=other.id, counterpart_id=person.id, score=card.score + 1.0,
            reason_de=card.reason_de, reason_en=card.reason_en, status="pending"))
    elif back.status in ("not_now", "pending"):
        back.status, back.score = "pending", max(back.score, card.score) + 1.0
    else:
        return
    await show_next_card(turn, other)


# --- introduction ------------------------------------------------------------------

def _contact(turn: Turn, lang: str, person: Person, name: str) -> tuple[str, Button]:
    if person.username:
        return f"@{person.username}", Button(t(lang, "intro.chat", name=name), url=f"https://t.me/{person.username}")
    return t(lang, "intro.no_username"), Button(t(lang, "intro.chat", name=name), url=f"tg://user?id={person.telegram_id}")


async def introduce(turn: Turn, pair: Pair) -> None:
    company, cp, creative, kp = await _people(turn, pair)
    pair.status, pair.introduced_at = "introduced", turn.core.now()
    for me, other, other_profile in ((company, creative, kp), (creative, company, cp)):
        lang = me.language
        contact, chat_button = _contact(turn, lang, other, other_profile.name or "")
        reason = pair.reason_de if lang == "de" else pair.reason_en
        text = t(lang, "intro.text", who=describe(lang, other_profile), contact=contact,
                 challenge=_first_sentence(cp.seeks), creative=kp.name or "", reason=reason,
                 q1=t(lang, "intro.q1"), q2=t(lang, "intro.q2"), q3=t(lang, "intro.q3", creative=kp.name or ""))
        _send(turn, me, text, [[chat_button]])
    meeting = await turn.uow.intros.add_meeting(Meeting(pair_id=pair.id, status="negotiating",
                                                        duration_min=turn.core.settings.meeting_minutes))
    await _ask_for_time(turn, meeting, pair, asker=company, other=creative)


# --- scheduling ----------------------------------------------------------------------

async def _ask_for_time(turn: Turn, meeting: Meeting, pair: Pair, asker: Person, other: Person) -> None:
    settings = turn.core.settings
    a_profile, b_profile = await turn.uow.intros.profile(asker.id), await turn.uow.intros.profile(other.id)
    rejected = [datetime.fromisoformat(x) for x in meeting.rejected or []]
    slots = propose_slots(a_profile.availability if a_profile else None, b_profile.availability if b_profile else None,
                          turn.core.now(), settings.tz, count=3, exclude=rejected)
    meeting.slots = [s.isoformat() for s in slots]
    meeting.offer_at, meeting.offer_by = None, None
    lang = asker.language
    name = b_profile.name if b_profile else ""
    rows = [[_button(turn, asker, "📅 " + format_slot(s, lang, settings.tz), "mt", f"{meeting.id}:p:{_minute(s)}")]
            for s in slots]
    rows.append([_button(turn, asker, t(lang, "btn.other_time"), "mt", f"{meeting.id}:other")])
    rows.append([_button(turn, asker, t(lang, "btn.self_arrange"), "mt", f"{meeting.id}:self")])
    key = "sched.ask" if slots else "sched.none_common"
    _send(turn, asker, t(lang, key, name=name), rows)


async def _offer(turn: Turn, meeting: Meeting, pair: Pair, offerer: Person, when: datetime) -> None:
    settings = turn.core.settings
    company, cp, creative, kp = await _people(turn, pair)
    other, other_profile, my_profile = (creative, kp, cp) if offerer.id == company.id else (company, cp, kp)
    meeting.offer_at, meeting.offer_by = when, offerer.id
    _send(turn, offerer, t(offerer.language, "sched.wait_other", name=other_profile.name or "",
                           slot=format_slot(when, offerer.language, settings.tz)))
    lang = other.language
    m = _minute(when)
    buttons = [[_button(turn, other, t(lang, "btn.slot_ok"), "mt", f"{meeting.id}:a:{m}"),
                _button(turn, other, t(lang, "btn.slot_no"), "mt", f"{meeting.id}:r:{m}")],
               [_button(turn, other, t(lang, "btn.other_time"), "mt", f"{meeting.id}:other")],
               [_button(turn, other, t(lang, "btn.self_arrange"), "mt", f"{meeting.id}:self")]]
    _send(turn, other, t(lang, "sched.offer", name=my_profile.name or "", slot=format_slot(when, lang, settings.tz)),
          buttons)


async def _confirm(turn: Turn, meeting: Meeting, pair: Pair) -> None:
    settings = turn.core.settings
    company, cp, creative, kp = await _people(turn, pair)
    assert meeting.offer_at is not None
    meeting.starts_at, meeting.status = meeting.offer_at, "scheduled"
    meeting.offer_at, meeting.offer_by = None, None
    meeting.sequence += 1
    for me, other_profile in ((company, kp), (creative, cp)):
        lang = me.language
        slot = format_slot(meeting.starts_at, lang, settings.tz)
        _send(turn, me, t(lang, "sched.confirmed", slot=slot, name=other_profile.name or "",
                          minutes=meeting.duration_min))
        _send(turn, me, t(lang, "sched.ics_caption"), document=_ics(turn, meeting, lang, cp, kp))
    turn.plan_reminders(meeting.id, meeting.starts_at)


def _ics(turn: Turn, meeting: Meeting, lang: str, cp: Profile, kp: Profile, cancelled: bool = False) -> Document:
    assert meeting.starts_at is not None
    summary = t(lang, "ics.summary", company=cp.name or "", creative=kp.name or "")
    description = t(lang, "ics.description", challenge=_first_sentence(cp.seeks, 400))
    content = meeting_ics(uid=f"crosslab-meeting-{meeting.id}@crosslab", starts_at=meeting.starts_at,
                          duration=timedelta(minutes=meeting.duration_min), summary=summary, description=description,
                          tz=turn.core.settings.tz, sequence=meeting.sequence, cancelled=cancelled)
    return Document(f"crosslab-meeting-{meeting.id}.ics", content, "text/calendar")


async def on_meeting_button(turn: Turn, person: Person, value: str) -> None:
    parts = value.split(":")
    meeting = await turn.uow.intros.meeting(int(parts[0])) if parts[0].isdigit() else None
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or person.id not in (pair.company_id, pair.creative_id) or len(parts) < 2:
        turn.toast("button.invalid", alert=True)
        return
    op, arg = parts[1], (parts[2] if len(parts) > 2 else "")
    company, cp, creative, kp = await _people(turn, pair)
    other = creative if person.id == company.id else company
    other_profile = kp if person.id == company.id else cp
    settings = turn.core.settings
    negotiating = meeting.status == "negotiating"
    when = _from_minute(arg)
    if op == "p" and negotiating and meeting.offer_by is None and when is not None \
            and when.isoformat() in (meeting.slots or []):
        turn.edit(turn.ev.message_id, "✓ " + format_slot(when, person.language, settings.tz))
        await _offer(turn, meeting, pair, person, when)
    elif op == "a" and negotiating and meeting.offer_at and _minute(meeting.offer_at) == arg and meeting.offer_by != person.id:
        turn.edit(turn.ev.message_id, "✓ " + format_slot(meeting.offer_at, person.language, settings.tz))
        await _confirm(turn, meeting, pair)
    elif op == "r" and negotiating and meeting.offer_at and _minute(meeting.offer_at) == arg and meeting.offer_by != person.id:
        turn.edit(turn.ev.message_id, "✖ " + format_slot(meeting.offer_at, person.language, settings.tz))
        meeting.rejected = [*(meeting.rejected or []), meeting.offer_at.isoformat()]
        _send(turn, other, t(other.language, "sched.rejected", name=(kp if other.id == company.id else cp).name or "",
                             slot=format_slot(meeting.offer_at, other.language, settings.tz)))
        await _ask_for_time(turn, meeting, pair, asker=person, other=other)
    elif op == "other" and negotiating:
        turn.edit(turn.ev.message_id, t(person.language, "sched.other_chosen"))
        assert turn.state is not None
        turn.goto("meeting", "propose_time", meeting_id=meeting.id)
        turn.say("sched.ask_time")
    elif op == "self" and meeting.status in ("negotiating", "scheduled"):
        turn.edit(turn.ev.message_id, t(person.language, "sched.self_chosen"))
        await _self_arranged(turn, meeting, pair)
    elif op == "cancel" and meeting.status in ("negotiating", "scheduled"):
        _send(turn, person, t(person.language, "meeting.cancel_confirm", name=other_profile.name or ""),
              [[_button(turn, person, t(person.language, "btn.cancel_yes"), "mt", f"{meeting.id}:cx"),
                _button(turn, person, t(person.language, "btn.cancel_no"), "mt", f"{meeting.id}:keep")]])
    elif op == "keep":
        turn.edit(turn.ev.message_id, t(person.language, "meeting.kept"))
    elif op == "cx" and meeting.status in ("negotiating", "scheduled"):
        turn.edit(turn.ev.message_id, t(person.language, "meeting.cancelled_you"))
        await cancel_meeting(turn, meeting, pair, by=person)
    elif op == "resched" and meeting.status == "scheduled":
        turn.edit(turn.ev.message_id, t(person.language, "meeting.resched_you"))
        assert meeting.starts_at is not None
        _send(turn, other, t(other.language, "meeting.resched_other", name=(cp if person.id == company.id else kp).name or "",
                             slot=format_slot(meeting.starts_at, other.language, settings.tz)))
        meeting.rejected = [*(meeting.rejected or []), meeting.starts_at.isoformat()]
        meeting.status, meeting.starts_at = "negotiating", None
        turn.cancel_reminders(meeting.id)
        await _ask_for_time(turn, meeting, pair, asker=person, other=other)
    else:
        turn.toast("meeting.stale")


async def _self_arranged(turn: Turn, meeting: Meeting, pair: Pair) -> None:
    company, cp, creative, kp = await _people(turn, pair)
    meeting.status, meeting.offer_at, meeting.offer_by = "self_arranged", None, None
    turn.cancel_reminders(meeting.id)
    for me, other_profile in ((company, kp), (creative, cp)):
        _send(turn, me, t(me.language, "sched.self", name=other_profile.name or ""))


async def cancel_meeting(turn: Turn, meeting: Meeting, pair: Pair, by: Person) -> None:
    company, cp, creative, kp = await _people(turn, pair)
    was_scheduled = meeting.status == "scheduled" and meeting.starts_at is not None
    meeting.status = "cancelled"
    meeting.sequence += 1
    turn.cancel_reminders(meeting.id)
    other, by_profile = (creative, cp) if by.id == company.id else (company, kp)
    lang = other.language
    slot = format_slot(meeting.starts_at, lang, turn.core.settings.tz) if meeting.starts_at else t(lang, "meeting.no_time")
    _send(turn, other, t(lang, "meeting.cancelled_other", name=by_profile.name or "", slot=slot))
    if was_scheduled:
        for me in (company, creative):
            _send(turn, me, t(me.language, "sched.ics_cancel_caption"),
                  document=_ics(turn, meeting, me.language, cp, kp, cancelled=True))


async def proposed_time_text(turn: Turn, person: Person, text: str) -> None:
    """Free text while in flow meeting/propose_time."""
    assert turn.state is not None
    meeting_id = int(turn.state.data.get("meeting_id", 0))
    meeting = await turn.uow.intros.meeting(meeting_id)
    pair = await turn.uow.intros.pair_by_id(meeting.pair_id) if meeting else None
    if meeting is None or pair is None or meeting.status != "negotiating":
        turn.goto("idle", None)
        turn.say("meeting.stale")
        return
    when = parse_proposal(text, person.language, turn.core.now(), turn.core.settings.tz)
    if when is None:
        turn.say("sched.bad_time")
        return
    turn.goto("idle", None)
    meeting.slots = [*(meeting.slots or []), when.isoformat()]
    await _offer(turn, meeting, pair, person, when)


# --- /meetings ------------------------------------------------------------------------

async def cmd_meetings(turn: Turn, profile: Profile, args: str) -> None:
    person = turn.person
    assert person is not None
    rows = await turn.uow.intros.meetings_of(person.id, ("negotiating", "scheduled"))
    now = turn.core.now()
    rows = [(m, p) for m, p in rows if m.status == "negotiating" or (m.starts_at and m.starts_at > now)]
    if not rows:
        turn.say("meetings.none")
        return
    tz = turn.core.settings.tz
    for meeting, pair in rows:
        other_id = pair.creative_id if pair.company_id == person.id else pair.company_id
        other = await turn.uow.intros.profile(other_id)
        name = other.name if other else "?"
        if meeting.status == "scheduled" and meeting.starts_at:
            text = t(turn.lang, "meetings.scheduled", slot=format_slot(meeting.starts_at, turn.lang, tz), name=name)
            buttons = [[_button(turn, person, t(turn.lang, "btn.reschedule"), "mt", f"{meeting.id}:resched"),
                        _button(turn, person, t(turn.lang, "btn.cancel_meeting"), "mt", f"{meeting.id}:cancel")]]
        else:
            text = t(turn.lang, "meetings.negotiating", name=name)
            buttons = [[_button(turn, person, t(turn.lang, "btn.cancel_meeting"), "mt", f"{meeting.id}:cancel")]]
        turn.send(text, buttons)


# --- buttons entry point ------------------------------------------------------------------

async def on_button(turn: Turn, payload: CallbackPayload) -> None:
    person = turn.person
    assert person is not None
    if payload.action == "sg":
        await answer_card(turn, person, payload.value)
    else:
        await on_meeting_button(turn, person, payload.value)


# --- reminders -----------------------------------------------------------------------------

async def reminder_messages(core, uow, meeting_id: int, kind: str, starts_at: datetime) -> list[OutMessage]:
    """Messages for one due reminder, or none if it is stale or was sent."""
    meeting = await uow.intros.meeting(meeting_id)
    if meeting is None or meeting.status != "scheduled" or meeting.starts_at != starts_at or starts_at <= utcnow():
        return []
    if not await uow.intros.mark_reminder_sent(meeting_id, kind, starts_at):
        return []
    pair = await uow.intros.pair_by_id(meeting.pair_id)
    people = [(await uow.intros.person(pair.company_id), await uow.intros.profile(pair.creative_id)),
              (await uow.intros.person(pair.creative_id), await uow.intros.profile(pair.company_id))]
    out = []
    for me, other in people:
        if me is None or other is None:
            continue
        slot = format_slot(starts_at, me.language, core.settings.tz)
        out.append(OutMessage(me.telegram_id, t(me.language, "reminder.text", name=other.name or "", slot=slot,
                                                 before=kind)))
    return out
