"""Organisers' events (issue 13): `/newevent` (a short conversation: name →
date and time → place or online link → format → places per side → approval
→ summary with *Anlegen* · *Ändern* · *Abbrechen*), `/event CODE` (the event
with its counts per side, every field editable by a button, the QR code,
the open applications, co-organisers), `/events` (code, counts per side and
link of every event one organises), the invitation link as a QR code PNG,
and the organisers' answers to applications (*Annehmen* · *Ablehnen* ·
*Rückfrage*).

The draft, a field being changed, a question being typed and a co-organiser
being added live in the organiser's conversation state (flow `event`), so a
restart continues them. Every button and every typed answer is checked when
it arrives (`handlers.organisers.may_organise`): creating events and adding
co-organisers are for admins; everything about one event also for its
co-organisers. The participants' side of admission is `handlers.admission`.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from db.models import Event, EventOrganiser
from db.uow import SideCounts
from domain.admission import MAX_CAPACITY, SIDES, Admission, EventFormat
from handlers import admission
from handlers.account import organiser_record
from handlers.admin import deep_link, find_events
from handlers.callbacks import ApplicationButton, EventButton, number
from handlers.flows import Flow, FlowHandler, put_at_question
from handlers.organisers import may_organise, organised_events, refuse
from handlers.qr import qr_png
from handlers.scheduling import format_slot, read_time
from handlers.text import profile_card, short
from handlers.types import Button, Document, OutMessage
from i18n import locale_for, t

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from db.models import Profile
    from handlers.turn import Turn

FIELDS = ("name", "when", "place", "format", "capacity", "approval")  # the questions, in order
FORMATS = tuple(f.value for f in EventFormat)
NAME_MIN, NAME_MAX = 3, 200
PLACE_MIN, PLACE_MAX = 2, 300
QUESTION_LIMIT = 1000
CHOICES = 12  # events offered as buttons
# Card buttons, checked against the event's row (not a prompt of the conversation).
ROW_OPS = frozenset({"show", "edit", "qr", "apps", "co", "rmco"})


# --- reading typed answers --------------------------------------------------------------------------

def read_name(text: str) -> str | None:
    name = " ".join(text.split())
    return name if NAME_MIN <= len(name) <= NAME_MAX else None


@dataclass(frozen=True)
class When:
    """A typed date and time (and optional end): the instants, or why not."""

    starts: datetime | None = None
    ends: datetime | None = None
    error: str | None = None  # a catalog key
    fields: dict[str, Any] = field(default_factory=dict)


# "18:00 bis 21:00", "12.03. 10 Uhr – 14.03. 17 Uhr", "Fri 6pm to 9pm"; a hyphen only between spaces
# (it is part of "2027-03-12").
_RANGE = re.compile(r"\s+(?:bis|to|until|till)\s+|\s*[–—]\s*|\s+-\s+", re.IGNORECASE)


def read_when(text: str, lang: str, now: datetime, tz: ZoneInfo) -> When:
    """When an event takes place: a day and a time in the future (read like a
    typed meeting time, `handlers.scheduling.read_time`), optionally "bis"
    an end: a time on the same day, or another day and time."""
    parts = _RANGE.split(text.strip(), maxsplit=1)
    reading = read_time(parts[0], lang, now, tz)
    example = _example(lang, now, tz)
    if reading is None:
        return When(error="event.bad_when", fields={"example": example})
    if reading.past is not None:
        return When(error="event.past_when", fields={"slot": format_slot(reading.past, lang, tz), "example": example})
    if reading.when is None:
        options = " · ".join(format_slot(c, lang, tz) for c in reading.choices)
        return When(error="event.which_when", fields={"options": options, "example": example})
    starts = reading.when
    if len(parts) == 1 or not parts[1].strip():
        return When(starts=starts)
    end_text = parts[1].strip()
    end = read_time(end_text, lang, starts, tz)
    if end is None or end.when is None:  # a time alone: on the day it starts
        end = read_time(f"{starts.astimezone(tz):%d.%m.%Y} {end_text}", lang, now, tz)
    if end is None or end.when is None:
        return When(error="event.bad_end", fields={"example": example})
    if end.when <= starts:
        return When(error="event.end_before_start", fields={"slot": format_slot(starts, lang, tz)})
    return When(starts=starts, ends=end.when)


def _example(lang: str, now: datetime, tz: ZoneInfo) -> str:
    year = now.astimezone(tz).year + 1
    return f"12.03.{year} 18:00" if lang != "en" else f"12 Mar {year} 6pm"


def read_place(text: str) -> str | None:
    """An address or an online link (http/https with a host); None if neither."""
    place = " ".join(text.split())
    if not PLACE_MIN <= len(place) <= PLACE_MAX:
        return None
    if place.lower().startswith(("http://", "https://")):
        try:
            parts = urlsplit(place)
        except ValueError:
            return None
        if " " in place or "." not in (parts.hostname or ""):
            return None
    return place


_FORMAT_WORDS = {
    "open": ("offen", "offenes", "open", "networking", "1:1", "eins zu eins", "one-to-one"),
    "breakout": ("breakout", "break-out", "gruppe", "gruppen", "group", "groups", "runde", "runden", "rooms"),
    "speed": ("speed", "speeddating", "speed-dating", "rotation", "tische", "tables"),
}


def read_format(text: str) -> str | None:
    """A typed format: "offenes Networking", "Breakout", "Speed-Meetup", …"""
    words = set(re.findall(r"[\w:-]+", text.casefold()))
    words |= {w for word in list(words) for w in word.split("-")}
    found = {fmt for fmt, keys in _FORMAT_WORDS.items() if words & set(keys)}
    return found.pop() if len(found) == 1 else None


_UNLIMITED = {"unbegrenzt", "unbeschränkt", "unlimited", "no limit", "keine grenze", "offen", "∞", "beliebig"}


def read_capacity(text: str) -> tuple[int | None, int | None] | None:
    """Places per side: "12" (each side), "5 10" / "5/10" / "5 + 10" / "5 und 10"
    (companies, creatives) or "unbegrenzt"; None if it is none of these."""
    words = " ".join(text.casefold().split()).strip(" .!")
    if words in _UNLIMITED:
        return None, None
    match = re.fullmatch(r"(\d{1,6})(?:\s*(?:[/+,;x×&]|und|and)?\s*(\d{1,6}))?", words)
    if match is None:
        return None
    numbers = [int(match.group(1)), int(match.group(2) or match.group(1))]
    if not all(1 <= n <= MAX_CAPACITY for n in numbers):
        return None
    return numbers[0], numbers[1]


def read_yes_no(text: str) -> bool | None:
    word = text.casefold().strip(" .!")
    if word in ("ja", "j", "yes", "y", "mit prüfung", "with approval"):
        return True
    if word in ("nein", "n", "no", "ohne prüfung", "without approval"):
        return False
    return None


# --- an event's values (the draft is the same dict) -----------------------------------------------

def values_of(event: Event) -> dict[str, Any]:
    return {"name": event.name, "starts": _iso(event.starts_at), "ends": _iso(event.ends_at), "place": event.place,
            "format": event.format, "cap_p": event.capacity_production, "cap_c": event.capacity_creative,
            "approval": event.approval}


def apply(event: Event, values: dict[str, Any]) -> None:
    columns = {"name": "name", "place": "place", "format": "format", "cap_p": "capacity_production",
               "cap_c": "capacity_creative", "approval": "approval"}
    for key, column in columns.items():
        if key in values:
            setattr(event, column, values[key])
    if "starts" in values:
        event.starts_at = _instant(values["starts"])
        event.ends_at = _instant(values.get("ends"))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# --- rendering ----------------------------------------------------------------------------------------

def when_text(turn: Turn, values: dict[str, Any]) -> str:
    starts, ends = _instant(values.get("starts")), _instant(values.get("ends"))
    if starts is None:
        return turn.tr("event.not_set")
    tz = turn.services.settings.tz
    text = format_slot(starts, turn.lang, tz)
    if ends is None:
        return text
    if ends.astimezone(tz).date() == starts.astimezone(tz).date():
        return turn.tr("event.until_time", start=text, end=f"{ends.astimezone(tz):%H:%M}")
    return turn.tr("event.until_day", start=text, end=format_slot(ends, turn.lang, tz))


def place_text(turn: Turn, place: str | None) -> str:
    if not place:
        return turn.tr("event.not_set")
    return turn.tr("event.online", link=place) if place.lower().startswith(("http://", "https://")) else place


def capacity_text(turn: Turn, values: dict[str, Any]) -> str:
    p, c = values.get("cap_p"), values.get("cap_c")
    if p is None and c is None:
        return turn.tr("event.unlimited")
    unlimited = turn.tr("event.unlimited")
    return turn.tr("event.capacity_value", production=p if p is not None else unlimited,
                   creative=c if c is not None else unlimited)


def summary_text(turn: Turn, values: dict[str, Any]) -> str:
    return turn.tr("event.summary", name=values.get("name") or turn.tr("event.not_set"),
                   when=when_text(turn, values), place=place_text(turn, values.get("place")),
                   format=turn.tr(f"event.format_{values.get('format') or 'open'}"),
                   capacity=capacity_text(turn, values),
                   approval=turn.tr("event.approval_yes" if values.get("approval") else "event.approval_no"))


def counts_text(turn: Turn, event: Event, counts: dict[str | None, SideCounts]) -> str:
    lines = []
    for side in (*SIDES, None):
        c = counts.get(side)
        if c is None and side is None:
            continue
        c = c or SideCounts()
        if side is None:
            lines.append(turn.tr("event.counts_unknown_side", registered=c.registered))
            continue
        line = turn.tr("event.counts", side=turn.tr(f"event.side_{side}"), registered=c.registered,
                       onboarded=c.onboarded, approved=c.approved, waiting=c.waiting)
        if event.approval or c.pending:
            line += turn.tr("event.counts_pending", pending=c.pending)
        if c.declined:
            line += turn.tr("event.counts_declined", declined=c.declined)
        lines.append(line)
    return "\n".join(lines)


async def card_text(turn: Turn, event: Event) -> str:
    counts = (await turn.uow.events.counts([event.id]))[event.id]
    co = await turn.uow.events.co_organisers(event.id)
    released = (turn.tr("event.released_at", slot=format_slot(event.released_at, turn.lang, turn.services.settings.tz))
                if event.released_at else turn.tr("event.not_released"))
    names = ", ".join(c.name or str(c.telegram_id) for c in co) or turn.tr("event.none")
    return (turn.tr("event.card_head", event=event.name, code=event.slug) + "\n\n" + summary_text(turn, values_of(event))
            + "\n" + turn.tr("event.card_more", released=released, organisers=names) + "\n\n"
            + counts_text(turn, event, counts) + "\n\n" + turn.tr("event.card_link", link=deep_link(turn, event.slug)))


def _row_btn(turn: Turn, label: str, op: str, event_id: int, arg: object = "") -> Button:
    """A button of the event's card: checked against its row when pressed."""
    payload = EventButton(op, event_id, str(arg), 0)
    return Button(label, turn.services.signer.sign(turn.ev.user.id, payload.action, payload.pack(), 0))


async def card_buttons(turn: Turn, event: Event) -> list[list[Button]]:
    edit = lambda f: _row_btn(turn, "✏️ " + turn.tr(f"event.field_{f}"), "edit", event.id, f)  # noqa: E731
    rows = [[edit("name"), edit("when")], [edit("place"), edit("format")], [edit("capacity"), edit("approval")]]
    more = [_row_btn(turn, turn.tr("event.btn_qr"), "qr", event.id)]
    pending = len(await turn.uow.events.applications(event.id))
    if event.approval or pending:
        more.append(_row_btn(turn, turn.tr("event.btn_applications", count=pending), "apps", event.id))
    rows.append(more)
    if await may_organise(turn, None):  # co-organisers are added by admins
        rows.append([_row_btn(turn, turn.tr("event.btn_add_co"), "co", event.id)])
        for co in await turn.uow.events.co_organisers(event.id):
            label = turn.tr("event.btn_remove_co", name=short(co.name or str(co.telegram_id), 30))
            rows.append([_row_btn(turn, label, "rmco", event.id, co.telegram_id)])
    return rows


async def send_card(turn: Turn, event: Event, *, edit: bool = False) -> None:
    text, rows = await card_text(turn, event), await card_buttons(turn, event)
    if edit:
        turn.edit(turn.ev.message_id, text, rows)
    else:
        turn.send(text, rows)


def send_qr(turn: Turn, event: Event) -> None:
    link = deep_link(turn, event.slug)
    turn.send(turn.tr("event.qr_caption", event=event.name, link=link),
              document=Document(f"crosslab-{event.slug}.png", qr_png(link), "image/png"))


# --- the conversation: state --------------------------------------------------------------------------

def _data(turn: Turn) -> dict[str, Any]:
    assert turn.state is not None
    return dict(turn.state.data) if turn.flow == Flow.EVENT else {}


def _back(turn: Turn, *, aside: bool = True) -> dict[str, Any] | None:
    """Where the organiser was, to return to afterwards (a question of their
    own, a broadcast draft, a new event half done). A new /newevent (`aside`
    False) replaces a draft in progress instead of returning to it."""
    assert turn.state is not None
    if turn.flow in (Flow.IDLE, Flow.NONE):
        return None
    if turn.flow == Flow.EVENT and not aside:
        return turn.state.data.get("back")
    return {"flow": turn.state.flow, "step": turn.state.step, "data": turn.state.data}


def _go(turn: Turn, step: str, data: dict[str, Any]) -> None:
    turn.goto(Flow.EVENT, step, **data)


def _leave(turn: Turn, data: dict[str, Any]) -> None:
    """Back where the organiser was before (`_resume_draft` asks a new
    event half done again, after this turn's other messages)."""
    back = data.get("back") or {}
    turn.goto(back.get("flow") or Flow.IDLE, back.get("step"), **(back.get("data") or {}))
    turn.bump()


def _resume_draft(turn: Turn) -> None:
    """Returned to a new event half done (an aside interrupted it): its question again."""
    if turn.flow == Flow.EVENT:
        resume_step(turn)


def _btn(turn: Turn, label: str, op: str, event_id: int = 0, arg: object = "") -> Button:
    """A button of the current prompt (its version is checked on press)."""
    assert turn.person is not None
    return turn.button_for(turn.person, label, EventButton(op, event_id, str(arg), turn.version))


def _draft(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data.get("draft") or {})


# --- the conversation: questions ----------------------------------------------------------------------

def ask(turn: Turn, step: str, data: dict[str, Any]) -> None:
    """Move to `step` and send its question: for a new event with its number
    (2/6) and *Abbrechen*; when changing a field, what it is now and *Zurück*."""
    _go(turn, step, data)
    turn.bump()
    event_id = int(data.get("event_id") or 0)
    changing = bool(event_id or data.get("edit"))
    values = _draft(data)
    text = turn.tr(f"event.ask_{step}", example=_example(turn.lang, turn.services.now(), turn.services.settings.tz),
                   max=MAX_CAPACITY)
    if not changing:
        text = f"({FIELDS.index(step) + 1}/{len(FIELDS)}) " + text
    elif step != "name" or values.get("name"):
        text += "\n\n" + turn.tr("event.now", value=_field_value(turn, step, values))
    rows: list[list[Button]] = []
    if step == "place":
        rows.append([_btn(turn, turn.tr("event.btn_place_open"), "plc", event_id)])
    elif step == "format":
        rows += [[_btn(turn, turn.tr(f"event.format_{f}"), "fmt", event_id, f)] for f in FORMATS]
    elif step == "capacity":
        rows.append([_btn(turn, turn.tr("event.btn_unlimited"), "cap", event_id)])
    elif step == "approval":
        rows.append([_btn(turn, turn.tr("event.btn_approval_yes"), "apr", event_id, "y"),
                     _btn(turn, turn.tr("event.btn_approval_no"), "apr", event_id, "n")])
    rows.append([_btn(turn, turn.tr("event.btn_back"), "bk", event_id) if changing
                 else _btn(turn, turn.tr("event.btn_cancel"), "no", event_id)])
    turn.send(text, rows)


def _field_value(turn: Turn, step: str, values: dict[str, Any]) -> str:
    if step == "name":
        return values.get("name") or turn.tr("event.not_set")
    if step == "when":
        return when_text(turn, values)
    if step == "place":
        return place_text(turn, values.get("place"))
    if step == "format":
        return turn.tr(f"event.format_{values.get('format') or 'open'}")
    if step == "capacity":
        return capacity_text(turn, values)
    return turn.tr("event.approval_yes" if values.get("approval") else "event.approval_no")


def show_summary(turn: Turn, data: dict[str, Any]) -> None:
    data = {k: v for k, v in data.items() if k != "edit"}
    _go(turn, "summary", data)
    turn.bump()
    turn.send(turn.tr("event.summary_head") + "\n\n" + summary_text(turn, _draft(data)),
              [[_btn(turn, turn.tr("event.btn_create"), "ok")],
               [_btn(turn, turn.tr("event.btn_change"), "chg"), _btn(turn, turn.tr("event.btn_cancel"), "no")]])


def show_menu(turn: Turn, data: dict[str, Any]) -> None:
    _go(turn, "menu", data)
    turn.bump()
    fields = [_btn(turn, turn.tr(f"event.field_{f}"), "fld", 0, f) for f in FIELDS]
    rows = [fields[i:i + 2] for i in range(0, len(fields), 2)] + [[_btn(turn, turn.tr("event.btn_back"), "bk")]]
    turn.edit(turn.ev.message_id, turn.tr("event.which_field"), rows)


async def answer(turn: Turn, data: dict[str, Any], step: str, values: dict[str, Any]) -> None:
    """A question answered: the next one (new event), the summary (a field of
    the draft changed), or the event changed and its card shown."""
    event_id = int(data.get("event_id") or 0)
    if event_id:
        await _change_event(turn, data, event_id, values)
        return
    data = {**data, "draft": {**_draft(data), **values}}
    if data.get("edit") or step == FIELDS[-1]:
        show_summary(turn, data)
    else:
        ask(turn, FIELDS[FIELDS.index(step) + 1], data)


async def _change_event(turn: Turn, data: dict[str, Any], event_id: int, values: dict[str, Any]) -> None:
    event = await turn.uow.events.get(event_id, lock=True)
    _leave(turn, data)
    if event is None:
        turn.say("event.gone")
        _resume_draft(turn)
        return
    approval_before = event.approval
    apply(event, values)
    await turn.uow.session.flush()
    if approval_before and not event.approval:
        await admission.approve_pending(turn, event)  # nobody waits for a decision that no longer exists
    if {"cap_p", "cap_c", "approval"} & values.keys():
        await admission.move_up_all(turn, event)  # more places: the waiting list moves up
    turn.say("event.saved")
    await send_card(turn, event)
    _resume_draft(turn)


async def create(turn: Turn, data: dict[str, Any]) -> None:
    draft = _draft(data)
    if not draft.get("name") or not draft.get("starts"):
        turn.toast("button.stale")
        return
    slug = "ev" + secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    event = Event(name=draft["name"], slug=slug, created_by=turn.ev.user.id, format=draft.get("format") or "open",
                  approval=bool(draft.get("approval")), created_at=turn.services.now())
    apply(event, draft)
    event = await turn.uow.events.add(event)
    _leave(turn, data)
    turn.edit(turn.ev.message_id, turn.tr("event.summary_head") + "\n\n" + summary_text(turn, draft))
    turn.say("admin.event_created", event=event.name, link=deep_link(turn, event.slug))
    send_qr(turn, event)


# --- commands -----------------------------------------------------------------------------------------

async def cmd_newevent(turn: Turn, profile: Profile | None, args: str) -> None:
    """A new event, question by question; `/newevent NAME` starts at the date."""
    await organiser_record(turn)  # organisers need no profile, but a place in a conversation
    data: dict[str, Any] = {"back": _back(turn, aside=False), "draft": {}}
    if args.strip():
        name = read_name(args)
        if name is None:
            turn.say("event.bad_name", min=NAME_MIN, max=NAME_MAX)
            ask(turn, "name", data)
            return
        data["draft"] = {"name": name}
        ask(turn, "when", data)
        return
    ask(turn, "name", data)


async def cmd_event(turn: Turn, profile: Profile | None, args: str) -> None:
    """`/event CODE` (a code, the link or the name): the event's card; without
    one, the events one organises as buttons."""
    mine = list(await organised_events(turn))
    found: list[Event] = []
    if args.strip():
        found = find_events(await turn.uow.events.all(), args)
        if len(found) == 1:
            if not await may_organise(turn, found[0]):
                turn.say("event.not_yours", event=found[0].name)
                return
            await send_card(turn, found[0])
            return
        if not found:
            turn.say("event.unknown_code", given=short(args, 80))
    choices = [e for e in mine if e in found] or mine
    if not choices:
        turn.say("admin.no_events")
        return
    rows = [[_row_btn(turn, short(e.name, 50), "show", e.id)] for e in list(reversed(choices))[:CHOICES]]
    turn.send(turn.tr("event.choose"), rows)


async def cmd_events(turn: Turn, profile: Profile | None, args: str) -> None:
    """Every event one organises: code, format, date, counts per side, link."""
    events = list(await organised_events(turn))
    if not events:
        turn.say("admin.no_events")
        return
    counts = await turn.uow.events.counts([e.id for e in events])
    parts = []
    for event in events:
        values = values_of(event)
        parts.append(turn.tr("event.list_line", event=event.name, code=event.slug,
                             format=turn.tr(f"event.format_{event.format}"), when=when_text(turn, values),
                             link=deep_link(turn, event.slug))
                     + "\n" + counts_text(turn, event, counts[event.id]))
    rows = [[_row_btn(turn, "📋 " + short(e.name, 50), "show", e.id)] for e in list(reversed(events))[:CHOICES]]
    turn.send("\n\n".join(parts), rows)


# --- buttons ------------------------------------------------------------------------------------------

async def on_event_button(turn: Turn, payload: EventButton) -> None:
    if payload.op in ROW_OPS:
        await _on_card_button(turn, payload)
        return
    # The conversation: creating an event is for admins; a field of an event, a
    # question or a co-organiser for those who organise that event.
    if not await may_organise(turn, payload.event_id or None):
        refuse(turn)
        return
    data = _data(turn)
    if (turn.flow != Flow.EVENT or payload.version != turn.version
            or payload.event_id != int(data.get("event_id") or 0)):
        turn.toast("button.stale")
        return
    step, op, arg = turn.step, payload.op, payload.arg
    if op == "no":
        _leave(turn, data)
        turn.edit(turn.ev.message_id, turn.tr("event.discarded" if step in (*FIELDS, "summary", "menu")
                                              and not payload.event_id else "cancel.done"))
        _resume_draft(turn)
    elif op == "bk":
        await _back_button(turn, data, step)
    elif op == "fmt" and step == "format" and arg in FORMATS:
        turn.edit(turn.ev.message_id, turn.tr("chosen", label=turn.tr(f"event.format_{arg}")))
        await answer(turn, data, step, {"format": arg})
    elif op == "cap" and step == "capacity":
        turn.edit(turn.ev.message_id, turn.tr("chosen", label=turn.tr("event.unlimited")))
        await answer(turn, data, step, {"cap_p": None, "cap_c": None})
    elif op == "apr" and step == "approval" and arg in ("y", "n"):
        turn.edit(turn.ev.message_id, turn.tr("chosen", label=turn.tr(
            "event.approval_yes" if arg == "y" else "event.approval_no")))
        await answer(turn, data, step, {"approval": arg == "y"})
    elif op == "plc" and step == "place":
        turn.edit(turn.ev.message_id, turn.tr("chosen", label=turn.tr("event.not_set")))
        await answer(turn, data, step, {"place": None})
    elif op == "ok" and step == "summary":
        await create(turn, data)
    elif op == "chg" and step == "summary":
        show_menu(turn, data)
    elif op == "fld" and step == "menu" and arg in FIELDS:
        turn.edit(turn.ev.message_id, turn.tr("chosen", label=turn.tr(f"event.field_{arg}")))
        ask(turn, arg, {**data, "edit": True})
    else:
        turn.toast("button.stale")


async def _back_button(turn: Turn, data: dict[str, Any], step: str | None) -> None:
    """*Zurück*: a field left as it was (back to the summary, or the card)."""
    event_id = int(data.get("event_id") or 0)
    if event_id:
        _leave(turn, data)
        turn.edit(turn.ev.message_id, turn.tr("event.unchanged"))
        event = await turn.uow.events.get(event_id)
        if event is not None and step in FIELDS:
            await send_card(turn, event)
        _resume_draft(turn)
        return
    turn.edit(turn.ev.message_id, turn.tr("event.unchanged"))
    show_summary(turn, data)


async def _on_card_button(turn: Turn, payload: EventButton) -> None:
    event = await turn.uow.events.get(payload.event_id)
    if event is None:
        turn.toast("event.gone", alert=True)
        return
    if not await may_organise(turn, None if payload.op in ("co", "rmco") else event):
        refuse(turn)
        return
    op = payload.op
    if op == "show":
        await send_card(turn, event)
    elif op == "qr":
        send_qr(turn, event)
    elif op == "apps":
        await _applications(turn, event)
    elif op == "edit" and payload.arg in FIELDS:
        await organiser_record(turn)
        ask(turn, payload.arg, {"back": _back(turn), "event_id": event.id, "draft": values_of(event)})
    elif op == "co":
        await organiser_record(turn)
        _go(turn, "coorg", {"back": _back(turn), "event_id": event.id})
        turn.bump()
        turn.send(turn.tr("event.ask_co", event=event.name), [[_btn(turn, turn.tr("event.btn_back"), "bk", event.id)]])
    elif op == "rmco" and (telegram_id := number(payload.arg)) is not None:
        removed = await turn.uow.events.remove_co_organiser(event.id, telegram_id)
        turn.toast("event.co_removed" if removed else "button.stale")
        await send_card(turn, event, edit=True)
    else:
        turn.toast("button.invalid", alert=True)


async def _applications(turn: Turn, event: Event) -> None:
    """The open applications again, each with its buttons (for this organiser)."""
    rows = await turn.uow.events.applications(event.id)
    if not rows:
        turn.toast("app.none_open", alert=True)
        return
    for person, profile, row in rows:
        text = turn.tr("app.new", event=event.name, side=turn.tr(f"event.side_{profile.side}") if profile.side else "",
                       name=profile.name or "?", profile=profile_card(turn.locale, profile))
        if row.question:
            text += "\n\n" + turn.tr("app.asked", question=row.question,
                                     answer=row.answer or turn.tr("app.no_answer_yet"))
        turn.send(text, admission.decision_buttons(turn, turn.ev.user.id, turn.locale, event.id, person.id))


async def on_application_button(turn: Turn, payload: ApplicationButton) -> None:
    """The organisers' *Annehmen* · *Ablehnen* · *Rückfrage* (and the applicant's *Antworten*)."""
    if payload.op == "r":
        await admission.on_reply_button(turn, payload)
        return
    event = await turn.uow.events.get(payload.event_id)
    if event is None:
        turn.toast("event.gone", alert=True)
        return
    if not await may_organise(turn, event):
        refuse(turn)
        return
    row = await turn.uow.events.participant(event.id, payload.person_id, lock=True)
    profile = await turn.uow.intros.profile(payload.person_id)
    if row is None or profile is None:
        turn.toast("app.gone", alert=True)
        return
    if row.status != Admission.PENDING:
        turn.toast("app.decided_already", alert=True, status=turn.tr(f"app.status_{row.status}"))
        return
    if payload.op == "q":
        await organiser_record(turn)
        _go(turn, "question", {"back": _back(turn), "event_id": event.id, "person_id": row.person_id})
        turn.bump()
        turn.send(turn.tr("app.ask_question", name=profile.name or "?", event=event.name),
                  [[_btn(turn, turn.tr("event.btn_cancel"), "no", event.id)]])
        return
    approve = payload.op == "a"
    await admission.decide_application(turn, event, row, approve)
    outcome = turn.tr("app.status_approved" if approve else "app.status_declined")
    turn.edit(turn.ev.message_id, turn.tr("app.decided", name=profile.name or "?", event=event.name, outcome=outcome)
              + "\n\n" + profile_card(turn.locale, profile))


# --- typed: a question to an applicant, a co-organiser --------------------------------------------------

async def _send_question(turn: Turn, data: dict[str, Any], text: str) -> None:
    text = text.strip()
    if len(text) < 2:
        turn.say("input.too_short", min=2)
        return
    if len(text) > QUESTION_LIMIT:
        turn.say("input.too_long", max=QUESTION_LIMIT, length=len(text))
        return
    event = await turn.uow.events.get(int(data["event_id"]))
    row = await turn.uow.events.participant(int(data["event_id"]), int(data["person_id"]), lock=True)
    applicant = await turn.uow.intros.person(int(data["person_id"]))
    _leave(turn, data)
    if event is None or row is None or applicant is None or row.status != Admission.PENDING:
        turn.say("app.gone")
        _resume_draft(turn)
        return
    row.question, row.answer = text, None
    reply = ApplicationButton(event.id, applicant.id, "r")
    turn.send(turn.tr_for(applicant, "app.question", event=event.name, question=text),
              [[turn.button_for(applicant, turn.tr_for(applicant, "app.btn_answer"), reply)]], to=applicant)
    await put_at_question(turn, applicant, Flow.APPLICATION, "answer", event_id=event.id)
    profile = await turn.uow.intros.profile(applicant.id)
    turn.say("app.question_sent", name=(profile.name if profile else None) or "?")
    _resume_draft(turn)


_TELEGRAM_ID = re.compile(r"[1-9]\d{0,14}")


async def _add_co_organiser(turn: Turn, data: dict[str, Any]) -> None:
    ev = turn.ev
    if ev.forward_from is not None:
        telegram_id = ev.forward_from.id
        name = " ".join(p for p in (ev.forward_from.first_name, ev.forward_from.last_name) if p)
    elif ev.forward_hidden is not None:
        turn.say("event.co_hidden", name=short(ev.forward_hidden, 60) or "?")
        return
    elif ev.kind == "text" and _TELEGRAM_ID.fullmatch(ev.text.strip().replace(" ", "")):
        telegram_id, name = int(ev.text.strip().replace(" ", "")), ""
    else:
        turn.say("event.co_bad")
        return
    event = await turn.uow.events.get(int(data["event_id"]))
    if event is None:
        _leave(turn, data)
        turn.say("event.gone")
        _resume_draft(turn)
        return
    label = name or str(telegram_id)
    if turn.services.is_admin(telegram_id):
        turn.say("event.co_is_admin", name=label)
        return
    added = await turn.uow.events.add_co_organiser(EventOrganiser(
        event_id=event.id, telegram_id=telegram_id, name=short(name, 200), added_by=ev.user.id,
        added_at=turn.services.now()))
    _leave(turn, data)
    turn.say("event.co_added" if added else "event.co_already", name=label, event=event.name)
    if added:
        person = await turn.uow.people.by_telegram_id(telegram_id)
        settings = turn.services.settings
        locale = turn.locale_of(person) if person is not None else locale_for(settings.default_language,
                                                                                 settings.german_form)
        turn.reply.messages.append(OutMessage(telegram_id, t(locale, "event.co_welcome", event=event.name,
                                                             code=event.slug)))
    await send_card(turn, event)
    _resume_draft(turn)


class EventFlow(FlowHandler):
    """The organiser's `event` flow: the steps of `FIELDS`, `summary` and
    `menu` (a new event; with `event_id` in the data: one field of that
    event), `question` (to an applicant), `coorg` (a co-organiser)."""

    flow = Flow.EVENT
    prompting = True

    async def _allowed(self, turn: Turn, data: dict[str, Any]) -> bool:
        event_id = int(data.get("event_id") or 0)
        global_step = not event_id or turn.step == "coorg"  # a new event; co-organisers: admins only
        return await may_organise(turn, None if global_step else event_id)

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        data, step, text = _data(turn), turn.step, turn.ev.text
        if not await self._allowed(turn, data):
            _leave(turn, data)
            refuse(turn)
            return True
        if step == "name":
            name = read_name(text)
            if name is None:
                turn.say("event.bad_name", min=NAME_MIN, max=NAME_MAX)
            else:
                await answer(turn, data, step, {"name": name})
        elif step == "when":
            when = read_when(text, turn.lang, turn.services.now(), turn.services.settings.tz)
            if when.error is not None:
                turn.say(when.error, **when.fields)
            else:
                await answer(turn, data, step, {"starts": _iso(when.starts), "ends": _iso(when.ends)})
        elif step == "place":
            place = read_place(text)
            if place is None:
                turn.say("event.bad_place", min=PLACE_MIN, max=PLACE_MAX)
            else:
                await answer(turn, data, step, {"place": place})
        elif step == "format":
            fmt = read_format(text)
            if fmt is None:
                turn.say("event.unknown_format", given=short(text, 40))
                ask(turn, step, data)
            else:
                await answer(turn, data, step, {"format": fmt})
        elif step == "capacity":
            capacity = read_capacity(text)
            if capacity is None:
                turn.say("event.bad_capacity", given=short(text, 40), max=MAX_CAPACITY)
            else:
                await answer(turn, data, step, {"cap_p": capacity[0], "cap_c": capacity[1]})
        elif step == "approval" and (yes := read_yes_no(text)) is not None:
            await answer(turn, data, step, {"approval": yes})
        elif step == "question":
            await _send_question(turn, data, text)
        elif step == "coorg":
            await _add_co_organiser(turn, data)
        else:
            turn.say("input.use_buttons")
            self.resume(turn, profile)
        return True

    async def on_attachment(self, turn: Turn, profile: Profile) -> bool:
        """A forwarded photo, sticker, … at the co-organiser step: its sender counts."""
        if turn.step != "coorg" or (turn.ev.forward_from is None and turn.ev.forward_hidden is None):
            return False
        data = _data(turn)
        if not await self._allowed(turn, data):
            _leave(turn, data)
            refuse(turn)
            return True
        await _add_co_organiser(turn, data)
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        resume_step(turn)

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        data, new_event = _data(turn), turn.step in (*FIELDS, "summary", "menu") and not _data(turn).get("event_id")
        _leave(turn, data)
        turn.say("event.discarded" if new_event else "cancel.done")
        _resume_draft(turn)


def resume_step(turn: Turn) -> None:
    """The current step's question again, as a new message."""
    data, step = _data(turn), turn.step
    event_id = int(data.get("event_id") or 0)
    if step in FIELDS:
        ask(turn, step, data)
    elif step in ("summary", "menu"):  # the menu is one press away from the summary
        show_summary(turn, data)
    elif step == "question":
        turn.bump()
        turn.send(turn.tr("app.type_question"), [[_btn(turn, turn.tr("event.btn_cancel"), "no", event_id)]])
    elif step == "coorg":
        turn.bump()
        turn.send(turn.tr("event.type_co"), [[_btn(turn, turn.tr("event.btn_back"), "bk", event_id)]])
