"""Results hand-over (`/results`): notes, photos and files from a session are
collected for a company and handed to it in one message.

A participant picks one of their introductions, or one of their breakout
groups of a released plan (`handlers/plans.py`); the group's moderator picks
one of the groups they moderate; an organiser picks any group or company.
Every item is stored as it arrives (nothing is lost on a restart); "send"
delivers the collection: one text message with every note and caption, the
photos and files attached as albums (by Telegram file_id, never
downloaded). An organiser can also send a group's company everything its
members and moderator collected and did not send themselves, as one bundled
message. Delivered items are part of the company's `/mydata`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from db.models import Event, HandoverItem, Person, Plan, Profile
from domain.model import PairStatus
from domain.plans import BREAKOUT
from handlers.account import organiser_record
from handlers.callbacks import HandoverButton
from handlers.flows import Flow, FlowHandler
from handlers.text import short
from handlers.types import Attachment, Button
from i18n import t

if TYPE_CHECKING:
    from handlers.turn import Turn

NOTE_LIMIT = 3500
FILENAME_MAX, MIME_MAX = 300, 100  # the columns of handover_items
MAX_ITEMS = 50
CHOICES = 12  # companies / introductions offered as buttons


def _ho_button(turn: Turn, label: str, op: str, target: int | None = None, plan_id: int | None = None) -> Button:
    assert turn.person is not None
    return turn.button_for(turn.person, label, HandoverButton(op, target, plan_id))


def moderates(plan: Plan, telegram_id: int) -> bool:
    """The plan's moderator: the person named, else the organiser who released it."""
    return (plan.moderator_tid or plan.released_by) == telegram_id


async def my_groups(turn: Turn, person: Person) -> list[tuple[Plan, Event, int, int]]:
    """(plan, event, company, group number) of the released breakout groups
    this person may collect results for: those they are a member of, those
    they moderate; an organiser any."""
    found: dict[tuple[int, int], tuple[Plan, Event, int, int]] = {}
    for plan, event, entry in await turn.uow.plans.groups_of(person.id):
        found[(plan.id, entry.company_id)] = (plan, event, entry.company_id, entry.table_no)
    mine = [(plan, event) for plan, event in await turn.uow.plans.released(BREAKOUT)
            if turn.is_admin or moderates(plan, person.telegram_id)]
    by_id = {plan.id: (plan, event) for plan, event in mine}
    for plan_id, company_id, number in await turn.uow.plans.group_companies(list(by_id)):
        plan, event = by_id[plan_id]
        found.setdefault((plan_id, company_id), (plan, event, company_id, number))
    return sorted(found.values(), key=lambda g: (-(g[0].released_at.timestamp() if g[0].released_at else 0), g[3]))


async def _group_rows(turn: Turn, person: Person) -> list[list[Button]]:
    rows = []
    for plan, event, company_id, number in (await my_groups(turn, person))[:CHOICES]:
        cp = await turn.uow.intros.profile(company_id)
        label = turn.tr("ho.group_button", event=short(event.name, 24), number=number,
                        company=short((cp.name if cp else None) or "?", 24))
        rows.append([_ho_button(turn, label, "g", company_id, plan.id)])
    return rows


async def cmd_results(turn: Turn, profile: Profile | None, args: str) -> None:
    person = turn.person
    if person is None or person.consent_at is None:
        if not turn.is_admin:
            turn.say("ho.start_first")
            return
        person = await organiser_record(turn)  # organisers need no profile, but a record of what they collect
    rows: list[list[Button]] = await _group_rows(turn, person)
    groups = bool(rows)
    if turn.is_admin:
        counts = await turn.uow.followups.undelivered_group_counts()
        for (plan_id, company_id), (items, senders) in list(counts.items())[:CHOICES]:
            cp = await turn.uow.intros.profile(company_id)
            label = turn.tr("ho.bundle_button", company=short((cp.name if cp else None) or "?", 24), count=items)
            rows.append([_ho_button(turn, label, "b", company_id, plan_id)])
        for company, cp in (await turn.uow.people.companies())[:CHOICES]:
            rows.append([_ho_button(turn, short(f"{cp.name} – {cp.organisation or ''}".rstrip(" –"), 60),
                                    "c", company.id)])
    elif profile is not None and profile.side == "production" and not groups:
        # Companies receive results (from creatives they were introduced to,
        # or from the organisers); they do not hand any over.
        turn.say("ho.for_companies")
        return
    elif profile is not None and profile.completed_at is not None and profile.side != "production":
        for pair in (await turn.uow.intros.introduced_pairs_of(person.id))[:CHOICES]:
            other = await turn.uow.intros.profile(pair.creative_id if pair.company_id == person.id else pair.company_id)
            if other is not None:
                rows.append([_ho_button(turn, short(other.name or "?", 60), "p", pair.id)])
    if not rows:
        turn.say("ho.nothing_to_choose")
        return
    turn.send(turn.tr("ho.choose"), rows)


async def _target(turn: Turn, payload: HandoverButton) -> tuple[Person, Profile, int | None, int | None] | None:
    """(company, its profile, pair id, plan id) a button refers to, if the presser may use it."""
    person = turn.person
    assert person is not None and payload.target is not None
    plan_id = None
    if payload.op == "g":
        groups = {(plan.id, company_id) for plan, _event, company_id, _n in await my_groups(turn, person)}
        if (payload.plan_id, payload.target) not in groups:
            return None  # not their group (any more), or the plan is not released
        company_id, pair_id, plan_id = payload.target, None, payload.plan_id
    elif payload.op == "p":
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
    return company, cp, pair_id, plan_id


def _collect_buttons(turn: Turn, company_id: int) -> list[list[Button]]:
    return [[_ho_button(turn, turn.tr("ho.btn_send"), "s", company_id),
             _ho_button(turn, turn.tr("ho.btn_later"), "x")]]


async def on_handover_button(turn: Turn, payload: HandoverButton) -> None:
    if payload.op == "b":
        await _bundle(turn, payload)
        return
    person = turn.person
    if person is None:  # an organiser's button from before their record existed
        turn.toast("ho.stale")
        return
    assert turn.state is not None
    if payload.op == "x":
        await cancel(turn, edit=True)
        return
    if payload.op == "s":
        data = turn.state.data if turn.flow == Flow.HANDOVER else {}
        if str(payload.target) != str(data.get("company_id")):
            turn.toast("ho.stale")
            return
        await _deliver(turn, person, int(data["company_id"]), data.get("pair_id"), data.get("plan_id"))
        return
    if payload.op == "c" and not turn.is_admin:  # any company: the organisers' choice
        turn.toast("admin.only", alert=True)
        return
    target = await _target(turn, payload)
    if target is None:
        turn.toast("button.invalid", alert=True)
        return
    company, cp, pair_id, plan_id = target
    turn.goto(Flow.HANDOVER, "collect", company_id=company.id, pair_id=pair_id, plan_id=plan_id)
    waiting = await turn.uow.followups.undelivered_items(person.id, company.id)
    turn.edit(turn.ev.message_id, "✓ " + (cp.name or ""))
    key = "ho.collecting_group" if plan_id is not None else "ho.collecting"
    turn.send(turn.tr(key, company=cp.name or "", count=len(waiting)), _collect_buttons(turn, company.id))


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
        company_id=company_id, pair_id=turn.state.data.get("pair_id"), plan_id=turn.state.data.get("plan_id"),
        from_person_id=person.id, from_name=name,
        kind=kind, text=text or None, file_id=ev.attachment.file_id if ev.attachment else None,
        filename=_fit(ev.attachment.filename, FILENAME_MAX) if ev.attachment else None,
        mime_type=_fit(ev.attachment.mime_type, MIME_MAX) if ev.attachment else None, created_at=turn.services.now()))
    turn.say("ho.saved", count=len(pending) + 1)


def _fit(value: str | None, limit: int) -> str | None:
    """A file's name or type as Telegram gave it, cut to its column (PostgreSQL
    refuses a longer one); a name keeps its extension."""
    if value is None or len(value) <= limit:
        return value
    stem, dot, ext = value.rpartition(".")
    if dot and 0 < len(ext) <= 16:
        return stem[:limit - len(ext) - 1] + "." + ext
    return value[:limit]


def _item_lines(lang: str, items: list[HandoverItem]) -> list[str]:
    """Notes numbered, then the photos and files with their captions."""
    lines = []
    notes = [i for i in items if i.kind == "note"]
    files = [i for i in items if i.kind != "note"]
    for n, item in enumerate(notes, 1):
        lines.append(f"\n{n}. {item.text}")
    if files:
        lines.append("\n" + t(lang, "ho.delivery_files", count=len(files)))
        for item in files:
            label = item.filename or t(lang, "ho.photo")
            lines.append(f"• {label}" + (f": {item.text}" if item.text else ""))
    return lines


def _media(items: list[HandoverItem]) -> list[Attachment]:
    return [Attachment(kind="photo" if i.kind == "photo" else "document", file_id=i.file_id or "",
                       filename=i.filename, mime_type=i.mime_type, caption=i.text)
            for i in items if i.kind != "note" and i.file_id]


async def _deliver(turn: Turn, person: Person, company_id: int, pair_id: int | None,
                   plan_id: int | None = None) -> None:
    items = list(await turn.uow.followups.undelivered_items(person.id, company_id))
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
    head = await _delivery_head(turn, person, items[0].from_name, lang)
    plan = await turn.uow.plans.get(plan_id) if plan_id is not None else None
    event = await turn.uow.events.get(plan.event_id) if plan is not None else None
    if event is not None:
        head = t(lang, "ho.delivery_group", event=event.name) + "\n" + head
    turn.send("\n".join([head, *_item_lines(lang, items)]), to=company, media=_media(items))
    now = turn.services.now()
    for item in items:
        item.delivered_at = now
    turn.goto(Flow.IDLE, None)
    turn.edit(turn.ev.message_id, turn.tr("ho.sent", company=cp.name or "", count=len(items)))


async def _bundle(turn: Turn, payload: HandoverButton) -> None:
    """An organiser sends a breakout group's company everything collected for
    it and not sent yet, from every member and the moderator, as one message."""
    if not turn.is_admin:
        turn.toast("admin.only", alert=True)
        return
    assert payload.plan_id is not None and payload.target is not None
    plan = await turn.uow.plans.get(payload.plan_id)
    items = list(await turn.uow.followups.undelivered_for_group(payload.plan_id, payload.target))
    company = await turn.uow.intros.person(payload.target)
    cp = await turn.uow.intros.profile(payload.target)
    if plan is None or company is None or cp is None:
        turn.toast("ho.stale")
        return
    if not items:
        turn.toast("ho.nothing_yet", alert=True)
        return
    event = await turn.uow.events.get(plan.event_id)
    lang = turn.locale_of(company)
    senders: dict[int | None, list[HandoverItem]] = {}
    for item in items:
        senders.setdefault(item.from_person_id, []).append(item)
    lines = [t(lang, "ho.bundle_head", event=event.name if event else "", people=len(senders), count=len(items))]
    for group in senders.values():
        lines.append("\n" + t(lang, "ho.bundle_from", name=group[0].from_name or t(lang, "ho.organisers")))
        lines += _item_lines(lang, group)
    turn.send("\n".join(lines), to=company, media=_media(items))
    now = turn.services.now()
    for item in items:
        item.delivered_at = now
    turn.edit(turn.ev.message_id, turn.tr("ho.bundle_sent", company=cp.name or "", count=len(items),
                                          people=len(senders)))


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
