"""Releasing an event's suggestions (`/release`). Organisers are the admins
(ADMIN_IDS) and each event's co-organisers (`handlers.organisers`); the
command registry (`handlers.registry`) lets them in with or without a
participant profile, and every button is checked on press for the event it
is about. Creating and showing events: `handlers.events`."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from domain.admission import Admission
from handlers.callbacks import ReleaseButton
from handlers.cards import offer_suggestions, preview_suggestions
from handlers.organisers import may_organise, organised_events, refuse
from handlers.text import short

if TYPE_CHECKING:
    from db.models import Event, Person, Profile
    from handlers.turn import Turn
    from handlers.types import Button

CHOICES = 12  # events offered as buttons


def deep_link(turn: Turn, slug: str) -> str:
    return f"https://t.me/{turn.services.bot_username}?start={slug}"


def find_events(events: Sequence[Event], args: str) -> list[Event]:
    """The events `args` names: a code (or the whole invitation link), else a
    name, case-insensitive, spaces normalised."""
    text = " ".join(args.split())
    slug = text.rsplit("=", 1)[-1]
    by_slug = [e for e in events if e.slug == slug]
    if by_slug:
        return by_slug
    return [e for e in events if " ".join(e.name.split()).casefold() == text.casefold()]


async def cmd_release(turn: Turn, profile: Profile | None, args: str) -> None:
    """Release an event's suggestions: choose the event (buttons, or a code or
    name), see what would be sent, confirm. Nothing is sent before that."""
    events = list(await organised_events(turn))
    if not events:
        turn.say("admin.no_events")
        return
    choices = events
    if args.strip():
        found = find_events(await turn.uow.events.all(), args)
        if len(found) == 1:
            if not await may_organise(turn, found[0]):
                turn.say("event.not_yours", event=found[0].name)
                return
            text, buttons = await _confirmation(turn, found[0])
            turn.send(text, buttons)
            return
        if not found:
            turn.say("admin.release_unknown", given=short(args, 80))
        choices = [e for e in events if e in found] or choices
    rows = []
    for event in list(reversed(choices))[:CHOICES]:  # newest first
        count = await turn.uow.events.participant_count(event)
        label = turn.tr("admin.release_event_button", event=short(event.name, 40), count=count)
        rows.append([turn.button(label, ReleaseButton("e", event.id))])
    turn.send(turn.tr("admin.release_choose"), rows)


async def _completed(turn: Turn, event: Event) -> list[tuple[Person, Profile]]:
    """The participants to match: admitted (approved), with a finished profile."""
    return [(p, pr) for p, pr in await turn.uow.events.people(event, statuses=(Admission.APPROVED,))
            if pr is not None and pr.completed_at is not None]


async def _stamp(turn: Turn, event: Event, members: list[tuple[Person, Profile]]) -> str:
    """What a confirmation was computed from: the event's release, its
    participants and their suggestions. Any change makes the buttons stale."""
    ids = sorted(p.id for p, _ in members)
    count = await turn.uow.intros.suggestion_count(ids)
    basis = f"{event.id}|{event.released_at.isoformat() if event.released_at else ''}|{ids}|{count}"
    return hashlib.sha256(basis.encode()).hexdigest()[:10]


async def _confirmation(turn: Turn, event: Event) -> tuple[str, list[list[Button]]]:
    """How many cards would go to whom, with Release / Cancel (or only the
    news that nothing is new)."""
    members = await _completed(turn, event)
    people = [p for p, _ in members]
    planned = await preview_suggestions(turn, people, pool=[p.id for p in people], release=event.id)
    sides = {p.id: pr.side for p, pr in members}
    fields = dict(event=event.name, total=len(members),
                  cards=turn.tr("admin.n_cards", count=sum(planned.values())),
                  people=turn.tr("admin.n_people", count=len(planned)),
                  companies=turn.tr("admin.n_companies", count=sum(sides[i] == "production" for i in planned)),
                  creatives=turn.tr("admin.n_creatives", count=sum(sides[i] != "production" for i in planned)))
    if event.released_at is not None and not planned:
        return turn.tr("admin.release_nothing_new", **fields), []
    key = "admin.release_confirm_again" if event.released_at is not None else "admin.release_confirm"
    stamp = await _stamp(turn, event, members)
    buttons = [[turn.button(turn.tr("admin.btn_release"), ReleaseButton("c", event.id, stamp)),
                turn.button(turn.tr("admin.btn_release_cancel"), ReleaseButton("x", event.id))]]
    return turn.tr(key, **fields), buttons


async def on_release_button(turn: Turn, payload: ReleaseButton) -> None:
    """The chooser's and the confirmation's buttons, checked on press: the
    event's organisers only."""
    event = await turn.uow.events.get(payload.event_id)
    if not await may_organise(turn, event or payload.event_id):
        refuse(turn)
        return
    if event is None:
        turn.toast("admin.release_stale", alert=True)
        return
    if payload.op == "x":
        turn.edit(turn.ev.message_id, turn.tr("admin.release_cancelled", event=event.name))
        return
    if payload.op == "e":
        text, buttons = await _confirmation(turn, event)
        turn.edit(turn.ev.message_id, text, buttons)
        return
    members = await _completed(turn, event)
    if payload.stamp != await _stamp(turn, event, members):
        turn.toast("admin.release_stale", alert=True)  # pressed twice, or participants changed since
        return
    await release(turn, event, [p for p, _ in members])


async def release(turn: Turn, event: Event, completed: list[Person]) -> None:
    """Compute suggestions among an event's participants and send each their
    first card. Released before: only what is new is sent (late joiners, new
    cards), never an open card twice."""
    again = event.released_at is not None
    if not again:
        event.released_at = turn.services.now()
    mark = len(turn.reply.messages)
    offered = await offer_suggestions(turn, completed, pool=[p.id for p in completed], only_new=True)
    reached = {m.chat_id for m in turn.reply.messages[mark:]}
    if not again:
        text = turn.tr("admin.released", event=event.name, count=offered.served, total=len(completed))
    else:
        text = turn.tr("admin.released_again", event=event.name, count=len(reached), total=len(completed))
    turn.edit(turn.ev.message_id, text)
