"""Results hand-over (`/results`): notes, photos and files from a session are
collected for a company and handed to it in one message.

A participant picks one of their introductions; an organiser picks any
company. Every item is stored as it arrives (nothing is lost on a restart);
"send" delivers the collection: one text message with every note and
caption, the photos and files attached as albums (by Telegram file_id, never
downloaded). Delivered items are part of the company's `/mydata`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from db.models import HandoverItem, Person, Profile
from domain.model import PairStatus
from handlers.account import organiser_record
from handlers.callbacks import HandoverButton
from handlers.flows import Flow, FlowHandler
from handlers.text import short
from handlers.types import Attachment, Button
from i18n import t

if TYPE_CHECKING:
    from handlers.turn import Turn

NOTE_LIMIT = 3500
MAX_ITEMS = 50
CHOICES = 12  # companies / introductions offered as buttons


def _ho_button(turn: Turn, label: str, op: str, target: int | None = None) -> Button:
    assert turn.person is not None
    return turn.button_for(turn.person, label, HandoverButton(op, target))


async def cmd_results(turn: Turn, profile: Profile | None, args: str) -> None:
    person = turn.person
    if person is None or person.consent_at is None:
        if not turn.is_admin:
            turn.say("ho.start_first")
            return
        person = await organiser_record(turn)  # organisers need no profile, but a record of what they collect
    rows: list[list[Button]] = []
    if turn.is_admin:
        for company, cp in (await turn.uow.people.companies())[:CHOICES]:
            rows.append([_ho_button(turn, short(f"{cp.name} – {cp.organisation or ''}".rstrip(" –"), 60),
                                    "c", company.id)])
    elif profile is not None and profile.side == "production":
        # Companies receive results (from creatives they were introduced to,
        # or from the organisers); they do not hand any over.
        turn.say("ho.for_companies")
        return
    elif profile is not None and profile.completed_at is not None:
        for pair in (await turn.uow.intros.introduced_pairs_of(person.id))[:CHOICES]:
            other = await turn.uow.intros.profile(pair.creative_id if pair.company_id == person.id else pair.company_id)
            if other is not None:
                rows.append([_ho_button(turn, short(other.name or "?", 60), "p", pair.id)])
    if not rows:
        turn.say("ho.nothing_to_choose")
        return
    turn.send(turn.tr("ho.choose"), rows)


async def _target(turn: Turn, payload: HandoverButton) -> tuple[Person, Profile, int | None] | None:
    """(company, its profile, pair id) a button refers to, if the presser may use it."""
    person = turn.person
    assert person is not None and payload.target is not None
    if payload.op == "p":
        pair = await turn.uow.intros.pair_by_id(payload.target)
        if pair is None or person.id not in (pair.company_id, pair.creative_id) or pair.status != PairStatus.INTRODUCED:
            return None
        company_id, pair_id = pair.company_id, pair.id
    elif payload.op == "c" and turn.is_admin:
        company_id, pair_id = payload.target, None
    else:
        return None
    company = await turn.uow.intros.person(company_id)
    cp = await turn.uow.intros.profile(company_id)
    if company is None or cp is None or cp.side != "production":
        return None
    return company, cp, pair_id


def _collect_buttons(turn: Turn, company_id: int) -> list[list[Button]]:
    return [[_ho_button(turn, turn.tr("ho.btn_send"), "s", company_id),
             _ho_button(turn, turn.tr("ho.btn_later"), "x")]]


async def on_handover_button(turn: Turn, payload: HandoverButton) -> None:
    person = turn.person
    assert person is not None and turn.state is not None
    if payload.op == "x":
        await cancel(turn, edit=True)
        return
    if payload.op == "s":
        data = turn.state.data if turn.flow == Flow.HANDOVER else {}
        if str(payload.target) != str(data.get("company_id")):
            turn.toast("ho.stale")
            return
        await _deliver(turn, person, int(data["company_id"]), data.get("pair_id"))
        return
    if payload.op == "c" and not turn.is_admin:  # any company: the organisers' choice
        turn.toast("admin.only", alert=True)
        return
    target = await _target(turn, payload)
    if target is None:
        turn.toast("button.invalid", alert=True)
        return
    company, cp, pair_id = target
    turn.goto(Flow.HANDOVER, "collect", company_id=company.id, pair_id=pair_id)
    waiting = await turn.uow.followups.undelivered_items(person.id, company.id)
    turn.edit(turn.ev.message_id, "✓ " + (cp.name or ""))
    turn.send(turn.tr("ho.collecting", company=cp.name or "", count=len(waiting)), _collect_buttons(turn, company.id))


async def on_content(turn: Turn, profile: Profile) -> None:
    """A note, photo or file while collecting."""
    person = turn.person
    assert person is not None and turn.state is not None
    ev = turn.ev
    company_id = int(turn.state.data.get("company_id", 0))
    pending = await turn.uow.followups.undelivered_items(person.id, company_id)
    if len(pending) >= MAX_ITEMS:
        turn.say("ho.too_many", limit=MAX_ITEMS)
        return
    text = ev.text.strip()
    if ev.attachment is None:
        if not text:
            turn.say("ho.empty")
            return
        if len(text) > NOTE_LIMIT:
            turn.say("ho.too_long", limit=NOTE_LIMIT, length=len(text))
            return
        kind = "note"
    else:
        kind = ev.attachment.kind
        if len(text) > 1000:
            turn.say("ho.caption_too_long", limit=1000)
            return
    name = profile.name or full_name(turn) or person.first_name or ""
    turn.uow.followups.add_item(HandoverItem(
        company_id=company_id, pair_id=turn.state.data.get("pair_id"), from_person_id=person.id, from_name=name,
        kind=kind, text=text or None, file_id=ev.attachment.file_id if ev.attachment else None,
        filename=ev.attachment.filename if ev.attachment else None,
        mime_type=ev.attachment.mime_type if ev.attachment else None, created_at=turn.services.now()))
    turn.say("ho.saved", count=len(pending) + 1)


async def _deliver(turn: Turn, person: Person, company_id: int, pair_id: int | None) -> None:
    items = await turn.uow.followups.undelivered_items(person.id, company_id)
    if not items:
        turn.toast("ho.nothing_yet", alert=True)
        return
    company = await turn.uow.intros.person(company_id)
    cp = await turn.uow.intros.profile(company_id)
    if company is None or cp is None:
        turn.goto(Flow.IDLE, None)
        turn.toast("ho.stale")
        return
    lang = turn.locale_of(company)
    lines = [await _delivery_head(turn, person, items[0].from_name, lang)]
    notes = [i for i in items if i.kind == "note"]
    files = [i for i in items if i.kind != "note"]
    for n, item in enumerate(notes, 1):
        lines.append(f"\n{n}. {item.text}")
    if files:
        lines.append("\n" + t(lang, "ho.delivery_files", count=len(files)))
        for item in files:
            label = item.filename or t(lang, "ho.photo")
            lines.append(f"• {label}" + (f": {item.text}" if item.text else ""))
    media = [Attachment(kind="photo" if i.kind == "photo" else "document", file_id=i.file_id or "",
                        filename=i.filename, mime_type=i.mime_type, caption=i.text) for i in files if i.file_id]
    turn.send("\n".join(lines), to=company, media=media)
    now = turn.services.now()
    for item in items:
        item.delivered_at = now
    turn.goto(Flow.IDLE, None)
    turn.edit(turn.ev.message_id, turn.tr("ho.sent", company=cp.name or "", count=len(items)))


def full_name(turn: Turn) -> str:
    user = turn.ev.user
    return " ".join(part for part in (user.first_name, user.last_name) if part).strip()[:200]


async def _delivery_head(turn: Turn, person: Person, collected_by: str, lang: str) -> str:
    """Who collected the results: their full name and organisation (an
    organiser without a profile: the organisers' team)."""
    profile = await turn.uow.intros.profile(person.id)
    name = (profile.name if profile is not None else None) or collected_by or full_name(turn) or person.first_name
    organisation = profile.organisation if profile is not None and profile.completed_at is not None else None
    if not organisation and turn.is_admin:
        organisation = t(lang, "ho.organisers")
    if organisation:
        return t(lang, "ho.delivery_head_from", name=name, organisation=organisation)
    return t(lang, "ho.delivery_head", name=name)


async def cancel(turn: Turn, *, edit: bool = False) -> None:
    person = turn.person
    assert person is not None and turn.state is not None
    company_id = int(turn.state.data.get("company_id", 0)) if turn.flow == Flow.HANDOVER else 0
    waiting = await turn.uow.followups.undelivered_items(person.id, company_id) if company_id else []
    if turn.flow == Flow.HANDOVER:
        turn.goto(Flow.IDLE, None)
    text = turn.tr("ho.kept", count=len(waiting)) if waiting else turn.tr("cancel.done")
    if edit:
        turn.edit(turn.ev.message_id, text)
    else:
        turn.send(text)


class HandoverFlow(FlowHandler):
    """Collecting notes, photos and files for a company (step collect)."""

    flow = Flow.HANDOVER

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        await on_content(turn, profile)
        return True

    async def on_attachment(self, turn: Turn, profile: Profile) -> bool:
        if turn.ev.attachment is None:
            return False
        await on_content(turn, profile)
        return True

    def unsupported_hint(self, turn: Turn) -> None:
        turn.say("ho.unsupported")

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        await cancel(turn)
