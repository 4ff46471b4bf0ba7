"""Organisers' announcements: `/broadcast` (a short conversation: audience,
message, preview; send now or at a time), `/broadcasts` (past and scheduled
ones with their reports; a scheduled one can be cancelled), the "no more
announcements" button under each one and `/settings` for participants.

The draft lives in the organiser's conversation state (flow `broadcast`), so
a restart continues it. Sending expands the audience at that moment (now, or
when a scheduled one is due: `start_due`, run by the periodic sweep) and
writes one outbox row per recipient in the same transaction; the sender
(bot/outbox.py) delivers them at the global rate, and bot/broadcasts.py keeps
the organiser's progress message up to date and finishes with the delivery
report (`finish`). Every button is checked on press: organisers only.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from db.models import Broadcast, utcnow
from db.uow import AUDIENCES, Audience, Recipient
from handlers.account import organiser_record
from handlers.callbacks import BroadcastButton, OptOutButton, SettingsButton, number
from handlers.flows import Flow, FlowHandler, current
from handlers.scheduling import format_slot, read_time
from handlers.text import short
from handlers.types import TELEGRAM_TEXT_LIMIT, Attachment, Button, OutMessage
from i18n import locale_for, t

if TYPE_CHECKING:
    from db.models import Event, Profile
    from handlers.turn import Turn

PLACEHOLDERS = ("vorname", "event")
NAME_LIMIT = 64  # a {vorname} is cut to this many characters
LABEL_LIMIT = 40  # the link button's label
URL_LIMIT = 2000
CHOICES = 12  # events offered as buttons
PAGE = 5  # broadcasts per page of /broadcasts
BAR = 10  # characters of the progress bar
PRIORITY = 2  # after replies (0) and the bot's own messages (1)


# --- the message: placeholders ------------------------------------------------------------

class TemplateError(ValueError):
    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key, self.fields = key, fields


def parse(text: str) -> list[tuple[str, str | None]]:
    """(literal, placeholder or None) pieces of a broadcast text. Only
    {vorname} and {event}; a brace of one's own is written twice ({{ }})."""
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError:
        raise TemplateError("bc.bad_braces", vorname="{vorname}", event="{event}") from None
    out: list[tuple[str, str | None]] = []
    for literal, name, spec, conversion in pieces:
        if name is not None and (name not in PLACEHOLDERS or spec or conversion):
            given = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise TemplateError("bc.bad_placeholder", given=short(given, 40), vorname="{vorname}", event="{event}")
        out.append((literal, name))
    return out


def render(text: str, vorname: str, event: str) -> str:
    """The text one recipient gets (`text` was checked with `parse`)."""
    values = {"vorname": short(vorname, NAME_LIMIT), "event": event}
    return "".join(literal + (values[name] if name else "") for literal, name in parse(text))


def longest(text: str, event: str) -> int:
    """The length of `text` with the longest name any recipient may have."""
    return sum(len(literal) + (NAME_LIMIT if name == "vorname" else len(event) if name else 0)
               for literal, name in parse(text))


def check_text(text: str, event: str) -> TemplateError | None:
    if not text.strip():
        return TemplateError("bc.empty_text")
    try:
        worst = longest(text, event)
    except TemplateError as exc:
        return exc
    if worst > TELEGRAM_TEXT_LIMIT:
        return TemplateError("bc.too_long", length=len(text), worst=worst, limit=TELEGRAM_TEXT_LIMIT)
    return None


def read_link(text: str) -> dict[str, str] | None:
    """"Label https://…" (the address last) -> {"label", "url"}; None if it is not one."""
    head, _, url = " ".join(text.split()).rpartition(" ")
    label = head.strip()
    if not label or len(label) > LABEL_LIMIT or len(url) > URL_LIMIT:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or "." not in host or any(c in url for c in "<>\"'"):
        return None
    return {"label": label, "url": url}


def first_name(recipient: Recipient) -> str:
    return (recipient.first_name or (recipient.name or "").split(" ")[0]).strip()


# --- the draft in the conversation state ------------------------------------------------------

def _draft(turn: Turn) -> dict[str, Any]:
    assert turn.state is not None
    return dict(turn.state.data) if turn.flow == Flow.BROADCAST else {}


def _go(turn: Turn, step: str, draft: dict[str, Any]) -> None:
    turn.goto(Flow.BROADCAST, step, **draft)


def _leave(turn: Turn, draft: dict[str, Any]) -> None:
    """Back where the organiser was before /broadcast (e.g. a question of their own)."""
    back = draft.get("back") or {}
    turn.goto(back.get("flow") or Flow.IDLE, back.get("step"), **(back.get("data") or {}))
    turn.bump()


def _btn(turn: Turn, label: str, op: str, arg: object = "") -> Button:
    """A button of the current prompt (its version is checked on press)."""
    assert turn.person is not None
    return turn.button_for(turn.person, label, BroadcastButton(op, str(arg), turn.version))


def _list_btn(turn: Turn, label: str, op: str, arg: object) -> Button:
    """A button of /broadcasts: checked against the broadcast's row, not a prompt."""
    return Button(label, turn.services.signer.sign(turn.ev.user.id, "bc", BroadcastButton(op, str(arg)).pack(), 0))


def _show(turn: Turn, text: str, rows: list[list[Button]] | None = None) -> None:
    """Edit the message whose button was pressed, or send anew after typing."""
    turn.edit(turn.ev.message_id, text, rows)


async def _event(turn: Turn, draft: dict[str, Any]) -> Event | None:
    return await turn.uow.events.get(int(draft["event_id"])) if draft.get("event_id") else None


async def _audience(turn: Turn, kind: str, event: Event | None) -> Audience:
    if kind == "event" and event is None:
        return Audience([])  # the event was deleted since
    return await turn.uow.broadcasts.audience(kind, event.id if event is not None else None)


def _audience_label(locale: str, kind: str, event: Event | str | None) -> str:
    name = event if isinstance(event, str) or event is None else event.name
    if kind == "event":
        return t(locale, "bc.aud_of_event", event=name or "?")
    label = t(locale, f"bc.aud_{kind}")
    return t(locale, "bc.aud_in_event", audience=label, event=name) if name else label


def _count_line(turn: Turn, audience: Audience) -> str:
    line = turn.tr("bc.count", count=len(audience.recipients))
    if audience.opted_out or audience.unreachable:
        line += "\n" + turn.tr("bc.excluded", opted_out=audience.opted_out, unreachable=audience.unreachable)
    return line


# --- /broadcast --------------------------------------------------------------------------------

async def cmd_broadcast(turn: Turn, profile: Profile | None, args: str) -> None:
    await organiser_record(turn)  # organisers need no profile, but a place in a conversation
    assert turn.state is not None
    back = None
    if turn.flow not in (Flow.IDLE, Flow.NONE, Flow.BROADCAST):
        back = {"flow": turn.state.flow, "step": turn.state.step, "data": turn.state.data}
    elif turn.flow == Flow.BROADCAST:
        back = turn.state.data.get("back")
    _go(turn, "audience", {"back": back})
    _ask_audience(turn, edit=False)


def _ask_audience(turn: Turn, *, edit: bool = True) -> None:
    turn.bump()
    rows = [[_btn(turn, turn.tr(f"bc.aud_{kind}"), "aud", kind)] for kind in AUDIENCES]
    rows.append([_btn(turn, turn.tr("bc.btn_abort"), "no")])
    text = turn.tr("bc.ask_audience")
    if edit:
        _show(turn, text, rows)
    else:
        turn.send(text, rows)


async def _ask_event(turn: Turn, draft: dict[str, Any]) -> None:
    events = list(reversed(await turn.uow.events.all()))[:CHOICES]  # newest first
    required = draft.get("kind") == "event"
    if not events:
        if required:
            turn.toast("bc.no_events", alert=True)
            return
        await _after_audience(turn, draft)
        return
    _go(turn, "event", draft)
    turn.bump()
    rows = []
    for event in events:
        count = await turn.uow.events.participant_count(event)
        rows.append([_btn(turn, turn.tr("admin.release_event_button", event=short(event.name, 40), count=count),
                          "ev", event.id)])
    if not required:
        rows.append([_btn(turn, turn.tr("bc.btn_no_event"), "ev", 0)])
    rows.append([_btn(turn, turn.tr("bc.btn_abort"), "no")])
    _show(turn, turn.tr("bc.ask_event" if required else "bc.ask_narrow",
                        audience=turn.tr(f"bc.aud_{draft['kind']}")), rows)


async def _after_audience(turn: Turn, draft: dict[str, Any]) -> None:
    if draft.get("text"):
        await _compose(turn, draft)
        return
    event = await _event(turn, draft)
    audience = await _audience(turn, draft["kind"], event)
    _go(turn, "text", draft)
    turn.bump()
    rows = [[_btn(turn, turn.tr("bc.btn_abort"), "no")]]
    head = _audience_label(turn.locale, draft["kind"], event) + "\n" + _count_line(turn, audience)
    _show(turn, head + "\n\n" + turn.tr("bc.ask_text", vorname="{vorname}", event="{event}",
                                        limit=TELEGRAM_TEXT_LIMIT), rows)


async def _compose(turn: Turn, draft: dict[str, Any], note: str | None = None) -> None:
    """The draft so far and what can be changed; a photo/file or a new text may be sent here."""
    event = await _event(turn, draft)
    audience = await _audience(turn, draft["kind"], event)
    _go(turn, "compose", draft)
    turn.bump()
    attachment = draft.get("attachment")
    button = draft.get("button")
    if attachment is None:
        what = turn.tr("bc.none")
    elif attachment["kind"] == "photo":
        what = turn.tr("bc.att_photo")
    else:
        what = turn.tr("bc.att_document", name=attachment.get("filename") or "")
    text = turn.tr("bc.compose", audience=_audience_label(turn.locale, draft["kind"], event),
                   people=turn.tr("bc.count", count=len(audience.recipients)), chars=len(draft.get("text") or ""),
                   attachment=what,
                   button=f"{button['label']} → {button['url']}" if button else turn.tr("bc.none"))
    if note:
        text = note + "\n\n" + text
    rows = [[_btn(turn, turn.tr("bc.btn_text"), "txt"), _btn(turn, turn.tr("bc.btn_link"), "lnk")]]
    removes = []
    if attachment is not None:
        removes.append(_btn(turn, turn.tr("bc.btn_remove_attachment"), "rma"))
    if button is not None:
        removes.append(_btn(turn, turn.tr("bc.btn_remove_link"), "rml"))
    if removes:
        rows.append(removes)
    rows.append([_btn(turn, turn.tr("bc.btn_audience"), "chg")])
    rows.append([_btn(turn, turn.tr("bc.btn_preview"), "pv"), _btn(turn, turn.tr("bc.btn_abort"), "no")])
    _show(turn, text, rows)


def _recipient_message(turn: Turn, text: str, draft: dict[str, Any] | Broadcast, telegram_id: int,
                       locale: str, broadcast_id: int) -> OutMessage:
    """The message as a recipient sees it: the text, the link button, the
    opt-out button (signed for them), the photo or file after the text."""
    button = draft.get("button") if isinstance(draft, dict) else draft.button
    attachment = draft.get("attachment") if isinstance(draft, dict) else draft.attachment
    rows: list[list[Button]] = []
    if button:
        rows.append([Button(button["label"], url=button["url"])])
    opt_out = OptOutButton(broadcast_id)
    rows.append([Button(t(locale, "bc.btn_opt_out"),
                        turn.services.signer.sign(telegram_id, opt_out.action, opt_out.pack(), 0))])
    media = [Attachment(**attachment)] if attachment else []
    return OutMessage(telegram_id, text, rows, media=media)


def _own_name(turn: Turn, profile_name: str | None) -> str:
    person = turn.person
    return (turn.ev.user.first_name or (person.first_name if person else "") or (profile_name or "").split(" ")[0])


async def _preview(turn: Turn, draft: dict[str, Any]) -> None:
    """The message exactly as recipients get it (with the organiser's name), then
    what to do with it. The second message becomes the progress message."""
    event = await _event(turn, draft)
    audience = await _audience(turn, draft["kind"], event)
    profile = await turn.uow.intros.profile(turn.person.id) if turn.person is not None else None
    text = render(draft["text"], _own_name(turn, profile.name if profile else None), event.name if event else "")
    if turn.ev.kind == "button":
        turn.edit(turn.ev.message_id, turn.tr("bc.previewed"))
    turn.reply.messages.append(_recipient_message(turn, text, draft, turn.ev.chat_id, turn.locale, 0))
    _go(turn, "preview", draft)
    turn.bump()
    rows = [[_btn(turn, turn.tr("bc.btn_send"), "go"), _btn(turn, turn.tr("bc.btn_schedule"), "pl")],
            [_btn(turn, turn.tr("bc.btn_edit"), "ed"), _btn(turn, turn.tr("bc.btn_abort"), "no")]]
    head = turn.tr("bc.preview", audience=_audience_label(turn.locale, draft["kind"], event))
    turn.send(head + "\n" + _count_line(turn, audience), rows)


# --- sending ---------------------------------------------------------------------------------

async def write_messages(turn: Turn, b: Broadcast) -> int:
    """Expand the audience now and write one outbox row per recipient (in the
    caller's transaction); records the count and who was left out."""
    event = await turn.uow.events.get(b.event_id) if b.event_id is not None else None
    audience = await _audience(turn, b.audience["kind"], event)
    messages = []
    for r in audience.recipients:
        locale = locale_for(r.language, r.german_form or turn.services.settings.german_form)
        text = render(b.text, first_name(r), event.name if event is not None else "")
        messages.append((r.telegram_id, _recipient_message(turn, text, b, r.telegram_id, locale, b.id).to_payload()))
    await turn.uow.outbox.add_many(messages, kind="broadcast", priority=PRIORITY, broadcast_id=b.id, now=utcnow())
    b.recipients = len(audience.recipients)
    b.report = {"opted_out": audience.opted_out, "excluded_unreachable": audience.unreachable}
    return b.recipients


async def _send_now(turn: Turn, draft: dict[str, Any]) -> None:
    event = await _event(turn, draft)
    audience = await _audience(turn, draft["kind"], event)
    if not audience.recipients:
        turn.toast("bc.nobody", alert=True)
        return
    now = turn.services.now()
    b = await turn.uow.broadcasts.add(_new(turn, draft, status="sending", started_at=now,
                                           progress_message_id=turn.ev.message_id))
    n = await write_messages(turn, b)
    turn.reply.queued += n
    _leave(turn, draft)
    turn.edit(turn.ev.message_id, progress_text(b.locale, _title(b.text), n, {}))


def _new(turn: Turn, draft: dict[str, Any], **values: Any) -> Broadcast:
    return Broadcast(created_by=turn.ev.user.id, locale=turn.locale,
                     audience={"kind": draft["kind"], "event_id": draft.get("event_id")},
                     event_id=draft.get("event_id"), text=draft["text"], attachment=draft.get("attachment"),
                     button=draft.get("button"), progress_chat_id=turn.ev.chat_id, created_at=turn.services.now(),
                     **values)


def _ask_when(turn: Turn, draft: dict[str, Any]) -> None:
    _go(turn, "when", draft)
    turn.bump()
    rows = [[_btn(turn, turn.tr("bc.btn_back"), "pv"), _btn(turn, turn.tr("bc.btn_abort"), "no")]]
    _show(turn, turn.tr("bc.ask_when", tz=str(turn.services.settings.tz)), rows)


async def _when_typed(turn: Turn, draft: dict[str, Any]) -> None:
    tz = turn.services.settings.tz
    now = turn.services.now()
    reading = read_time(turn.ev.text, turn.lang, now, tz)
    if reading is None:
        turn.say("bc.bad_when")
    elif reading.when is not None:
        await _schedule(turn, draft, reading.when)
    elif not reading.choices:
        assert reading.past is not None
        turn.say("bc.past_when", slot=format_slot(reading.past, turn.lang, tz))
    else:
        choices = [int(c.timestamp() // 60) for c in reading.choices]
        _go(turn, "when", {**draft, "choices": choices})
        turn.bump()
        rows = [[_btn(turn, "🕒 " + format_slot(c, turn.lang, tz), "at", int(c.timestamp() // 60))]
                for c in reading.choices]
        rows.append([_btn(turn, turn.tr("bc.btn_abort"), "no")])
        turn.send(turn.tr("bc.which_when"), rows)


async def _schedule(turn: Turn, draft: dict[str, Any], when: datetime) -> None:
    tz = turn.services.settings.tz
    if when <= turn.services.now():
        turn.say("bc.past_when", slot=format_slot(when, turn.lang, tz))
        return
    draft = {k: v for k, v in draft.items() if k != "choices"}
    b = await turn.uow.broadcasts.add(_new(turn, draft, status="scheduled", scheduled_for=when))
    _leave(turn, draft)
    event = await _event(turn, draft)
    text = turn.tr("bc.scheduled", id=str(b.id), slot=format_slot(when, turn.lang, tz), title=_title(b.text),
                   audience=_audience_label(turn.locale, draft["kind"], event))
    _show(turn, text)


async def start_due(turn: Turn, now: datetime) -> int:
    """Start every scheduled broadcast that is due (the audience as it is now).
    Returns how many messages were written."""
    written = 0
    for b in await turn.uow.broadcasts.due(now):
        if await turn.uow.broadcasts.claim(b.id, "scheduled", "sending", started_at=now):
            b.status, b.started_at = "sending", now
            written += await write_messages(turn, b)
    return written


# --- progress and the report ---------------------------------------------------------------

def _title(text: str) -> str:
    return short(text.split("\n", 1)[0], 40)


def bar(done: int, total: int) -> str:
    filled = BAR if total <= 0 else min(BAR, round(BAR * done / total))
    return "▓" * filled + "░" * (BAR - filled)


def progress_text(locale: str, title: str, total: int, by_status: dict[str, int]) -> str:
    """The organiser's progress message while sending (from the outbox's counts)."""
    sent, blocked, failed = (by_status.get(s, 0) for s in ("sent", "unreachable", "failed"))
    done = sent + blocked + failed
    return t(locale, "bc.progress", title=title, bar=bar(done, total), done=done, total=total, sent=sent,
             waiting=max(0, total - done), blocked=blocked, failed=failed)


def report_fields(b: Broadcast) -> dict[str, int]:
    report = b.report or {}
    return {k: int(report.get(k, 0)) for k in ("sent", "unreachable", "failed", "in_doubt", "opted_out",
                                              "excluded_unreachable")}


def report_text(locale: str, b: Broadcast) -> str:
    return t(locale, "bc.report", id=str(b.id), title=_title(b.text), recipients=b.recipients or 0, **report_fields(b))


async def finish(turn: Turn, broadcast_id: int, by_status: dict[str, int], in_doubt: int) -> bool:
    """No message of the broadcast waits any more: mark it done, turn the
    progress message into its final state and send the delivery report
    (staged by the caller). False if it was finished already."""
    b = await turn.uow.broadcasts.get(broadcast_id)
    if b is None or b.status != "sending":
        return False
    report = {**(b.report or {}), "sent": by_status.get("sent", 0), "unreachable": by_status.get("unreachable", 0),
              "failed": by_status.get("failed", 0), "in_doubt": in_doubt}
    now = turn.services.now()
    if not await turn.uow.broadcasts.claim(b.id, "sending", "done", finished_at=now, report=report):
        return False
    b.status, b.finished_at, b.report = "done", now, report
    if b.progress_chat_id is not None:
        done = t(b.locale, "bc.progress_done", title=_title(b.text), bar=bar(1, 1), total=b.recipients or 0)
        if b.progress_message_id is not None:
            turn.reply.messages.append(OutMessage(b.progress_chat_id, done, edit_message_id=b.progress_message_id))
        turn.reply.messages.append(OutMessage(b.progress_chat_id, report_text(b.locale, b)))
    return True


@dataclass(frozen=True)
class Progress:
    """A broadcast being sent, as the progress updater needs it."""

    broadcast_id: int
    locale: str
    chat_id: int | None
    message_id: int | None
    title: str
    recipients: int

    def text(self, by_status: dict[str, int]) -> str:
        return progress_text(self.locale, self.title, self.recipients, by_status)


async def sending(turn: Turn) -> list[Progress]:
    return [Progress(b.id, b.locale, b.progress_chat_id, b.progress_message_id, _title(b.text), b.recipients or 0)
            for b in await turn.uow.broadcasts.with_status("sending")]


# --- buttons ------------------------------------------------------------------------------------

async def on_broadcast_button(turn: Turn, payload: BroadcastButton) -> None:
    if not turn.is_admin:
        turn.toast("admin.only", alert=True)
        return
    if payload.op == "x":
        await _cancel_scheduled(turn, payload)
        return
    if payload.op == "pg":
        await show_list(turn, number(payload.arg) or 0, edit=True)
        return
    if turn.flow != Flow.BROADCAST or payload.version != turn.version:
        turn.toast("button.stale")
        return
    draft = _draft(turn)
    op, arg = payload.op, payload.arg
    if op == "no":
        _leave(turn, draft)
        _show(turn, turn.tr("bc.discarded"))
    elif op == "aud" and arg in AUDIENCES:
        draft.update(kind=arg, event_id=None)
        await _ask_event(turn, draft)
    elif op == "ev" and (event_id := number(arg)) is not None and "kind" in draft:
        event = await turn.uow.events.get(event_id) if event_id else None
        if (event is None and event_id) or (event is None and draft["kind"] == "event"):
            turn.toast("button.stale")
            return
        draft["event_id"] = event.id if event is not None else None
        if draft.get("text") and (problem := check_text(draft["text"], event.name if event else "")):
            turn.say(problem.key, **problem.fields)
            draft["text"] = None  # the event's name makes it too long: ask for the text again
        await _after_audience(turn, draft)
    elif "kind" not in draft or (op not in ("txt", "chg") and not draft.get("text")):
        turn.toast("button.stale")
    elif op == "txt":
        _go(turn, "text", draft)
        turn.bump()
        _show(turn, turn.tr("bc.ask_text", vorname="{vorname}", event="{event}", limit=TELEGRAM_TEXT_LIMIT),
              [[_btn(turn, turn.tr("bc.btn_back"), "ed")]])
    elif op == "lnk":
        _go(turn, "link", draft)
        turn.bump()
        _show(turn, turn.tr("bc.ask_link", limit=LABEL_LIMIT), [[_btn(turn, turn.tr("bc.btn_back"), "ed")]])
    elif op == "rma":
        draft["attachment"] = None
        await _compose(turn, draft)
    elif op == "rml":
        draft["button"] = None
        await _compose(turn, draft)
    elif op == "chg":
        _go(turn, "audience", draft)
        _ask_audience(turn)
    elif op == "ed":
        await _compose(turn, draft)
    elif op == "pv":
        await _preview(turn, draft)
    elif op == "go":
        await _send_now(turn, draft)
    elif op == "pl":
        _ask_when(turn, draft)
    elif op == "at" and (minute := number(arg)) is not None and minute in (draft.get("choices") or []):
        await _schedule(turn, draft, _from_minute(minute))
    else:
        turn.toast("button.stale")


def _from_minute(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=timezone.utc)


async def on_opt_out(turn: Turn, payload: OptOutButton) -> None:
    """"No more announcements" under a broadcast."""
    person = turn.person
    if payload.broadcast_id == 0 or person is None or person.consent_at is None:
        turn.toast("bc.opt_out_preview", alert=True)  # the organiser's preview
        return
    person.announcements_opt_out = True
    turn.toast("bc.opted_out_toast")
    turn.say("bc.opted_out")


# --- /broadcasts -------------------------------------------------------------------------------

async def cmd_broadcasts(turn: Turn, profile: Profile | None, args: str) -> None:
    await show_list(turn, 0, edit=False)


async def show_list(turn: Turn, page: int, *, edit: bool) -> None:
    items, total = await turn.uow.broadcasts.page(page * PAGE, PAGE)
    if total == 0:
        turn.say("bc.list_empty")
        return
    pages = (total + PAGE - 1) // PAGE
    page = max(0, min(page, pages - 1))
    if not items and page > 0:
        items, _ = await turn.uow.broadcasts.page(page * PAGE, PAGE)
    tz = turn.services.settings.tz
    events = {e.id: e.name for e in await turn.uow.events.all()}
    lines = [turn.tr("bc.list_head", count=total, page=page + 1, pages=pages)]
    rows: list[list[Button]] = []
    for b in items:
        label = _audience_label(turn.locale, b.audience.get("kind", "all"),
                                events.get(b.event_id) if b.event_id is not None else None)
        when = b.scheduled_for if b.status == "scheduled" else (b.finished_at or b.started_at or b.created_at)
        state = turn.tr(f"bc.st_{b.status}", slot=format_slot(when, turn.lang, tz))
        lines.append(turn.tr("bc.list_line", id=str(b.id), state=state, audience=label, title=_title(b.text)))
        if b.status == "done":
            lines.append(turn.tr("bc.list_report", recipients=b.recipients or 0, **report_fields(b)))
        elif b.status == "sending":
            lines.append(turn.tr("bc.list_sending", recipients=b.recipients or 0))
        if b.status == "scheduled":
            rows.append([_list_btn(turn, turn.tr("bc.btn_cancel_scheduled", id=str(b.id)), "x", b.id)])
    nav = []
    if page > 0:
        nav.append(_list_btn(turn, "◀️", "pg", page - 1))
    if page + 1 < pages:
        nav.append(_list_btn(turn, "▶️", "pg", page + 1))
    if nav:
        rows.append(nav)
    text = "\n\n".join(lines)
    if edit:
        _show(turn, text, rows)
    else:
        turn.send(text, rows)


async def _cancel_scheduled(turn: Turn, payload: BroadcastButton) -> None:
    broadcast_id = number(payload.arg)
    if broadcast_id is None:
        turn.toast("button.invalid", alert=True)
        return
    if not await turn.uow.broadcasts.claim(broadcast_id, "scheduled", "cancelled",
                                           finished_at=turn.services.now()):
        turn.toast("bc.not_cancellable", alert=True)
        return
    turn.toast("bc.cancelled_scheduled", id=payload.arg)
    await show_list(turn, 0, edit=True)


# --- /settings (participants) ---------------------------------------------------------------------

def _settings(turn: Turn) -> tuple[str, list[list[Button]]]:
    person = turn.person
    assert person is not None
    off = person.announcements_opt_out
    text = turn.tr("settings.text", announcements=turn.tr("settings.off" if off else "settings.on"))
    label = turn.tr("settings.btn_on" if off else "settings.btn_off")
    return text, [[turn.button_for(person, label, SettingsButton("on" if off else "off"))]]


async def cmd_settings(turn: Turn, profile: Profile, args: str) -> None:
    text, rows = _settings(turn)
    turn.send(text, rows)
    current(turn).after_aside(turn, profile)


async def on_settings_button(turn: Turn, payload: SettingsButton) -> None:
    person = turn.person
    assert person is not None
    person.announcements_opt_out = payload.announcements == "off"
    turn.toast("settings.now_off" if person.announcements_opt_out else "settings.now_on")
    text, rows = _settings(turn)
    _show(turn, text, rows)


# --- the flow ----------------------------------------------------------------------------------

class BroadcastFlow(FlowHandler):
    """/broadcast: steps audience → event → text → compose (⇄ link) → preview
    (→ when); the draft is the state's data."""

    flow = Flow.BROADCAST
    prompting = True

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        if not turn.is_admin:
            _leave(turn, _draft(turn))
            turn.say("admin.only")
            return True
        draft, step, text = _draft(turn), turn.step, turn.ev.text
        if step in ("text", "compose"):
            await self._take_text(turn, draft, text)
        elif step == "link":
            link = read_link(text)
            if link is None:
                turn.say("bc.bad_link", limit=LABEL_LIMIT)
                return True
            draft["button"] = link
            await _compose(turn, draft)
        elif step == "when":
            await _when_typed(turn, draft)
        else:
            turn.say("input.use_buttons")
            self.resume(turn, profile)
        return True

    @staticmethod
    async def _take_text(turn: Turn, draft: dict[str, Any], text: str) -> None:
        event = await _event(turn, draft)
        problem = check_text(text, event.name if event is not None else "")
        if problem is not None:
            turn.say(problem.key, **problem.fields)
            return
        draft["text"] = text
        await _compose(turn, draft, note=turn.tr("bc.text_saved"))

    async def on_attachment(self, turn: Turn, profile: Profile) -> bool:
        att = turn.ev.attachment
        if att is None or turn.step not in ("text", "compose") or not turn.is_admin:
            return False
        draft = _draft(turn)
        draft["attachment"] = {k: v for k, v in (("kind", att.kind), ("file_id", att.file_id),
                                                  ("filename", att.filename), ("mime_type", att.mime_type)) if v}
        caption = turn.ev.text
        if caption.strip():
            await self._take_text(turn, draft, caption)
            return True
        if draft.get("text"):
            await _compose(turn, draft, note=turn.tr("bc.attachment_saved"))
        else:
            _go(turn, "text", draft)
            turn.say("bc.attachment_then_text")
        return True

    def unsupported_hint(self, turn: Turn) -> None:
        if turn.step in ("text", "compose"):
            turn.say("bc.only_photo_or_file")

    def resume(self, turn: Turn, profile: Profile) -> None:
        """The current step's question again, as a new message."""
        draft, step = _draft(turn), turn.step
        turn.bump()
        if step in ("audience", "event") or "kind" not in draft:
            _ask_audience(turn, edit=False)
        elif step == "text":
            turn.send(turn.tr("bc.ask_text", vorname="{vorname}", event="{event}", limit=TELEGRAM_TEXT_LIMIT),
                      [[_btn(turn, turn.tr("bc.btn_abort"), "no")]])
        elif step == "link":
            turn.send(turn.tr("bc.ask_link", limit=LABEL_LIMIT), [[_btn(turn, turn.tr("bc.btn_back"), "ed")]])
        elif step == "when":
            turn.send(turn.tr("bc.ask_when", tz=str(turn.services.settings.tz)),
                      [[_btn(turn, turn.tr("bc.btn_back"), "pv"), _btn(turn, turn.tr("bc.btn_abort"), "no")]])
        else:  # compose, preview
            turn.send(turn.tr("bc.resume"), [[_btn(turn, turn.tr("bc.btn_edit"), "ed"),
                                              _btn(turn, turn.tr("bc.btn_preview"), "pv")],
                                             [_btn(turn, turn.tr("bc.btn_abort"), "no")]])

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        _leave(turn, _draft(turn))
        turn.say("bc.discarded")
