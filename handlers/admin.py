"""Organiser (admin) commands. Admins are the Telegram ids in ADMIN_IDS; the
command registry (`handlers.registry`) lets only them in, with or without a
participant profile."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from db.models import Event
from handlers.cards import offer_suggestions

if TYPE_CHECKING:
    from db.models import Profile
    from handlers.turn import Turn


def deep_link(turn: Turn, slug: str) -> str:
    return f"https://t.me/{turn.services.bot_username}?start={slug}"


async def cmd_newevent(turn: Turn, profile: Profile | None, args: str) -> None:
    name = " ".join(args.split())
    if len(name) < 3 or len(name) > 200:
        turn.say("admin.newevent_usage")
        return
    slug = "ev" + secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    event = await turn.uow.events.add(Event(name=name, slug=slug, created_by=turn.ev.user.id))
    turn.say("admin.event_created", event=event.name, link=deep_link(turn, event.slug))


async def cmd_events(turn: Turn, profile: Profile | None, args: str) -> None:
    events = await turn.uow.events.all()
    if not events:
        turn.say("admin.no_events")
        return
    lines = []
    for event in events:
        count = await turn.uow.events.participant_count(event)
        lines.append(turn.tr("admin.event_line", event=event.name, count=count, link=deep_link(turn, event.slug)))
    turn.send("\n".join(lines))


async def cmd_release(turn: Turn, profile: Profile | None, args: str) -> None:
    """Compute suggestions among an event's participants and send each their first card."""
    slug = args.strip().rsplit("=", 1)[-1]
    events = await turn.uow.events.all()
    event = next((e for e in events if e.slug == slug), None) if slug else (events[-1] if events else None)
    if event is None:
        turn.say("admin.release_usage")
        return
    members = [p for p in await turn.uow.events.people(event)]
    completed = [p for p, pr in members if pr is not None and pr.completed_at is not None]
    # Released before if anyone has suggestions already: then only what is new
    # is sent (late joiners, new cards), never an open card twice.
    mark = len(turn.reply.messages)
    offered = await offer_suggestions(turn, completed, pool=[p.id for p in completed], only_new=True)
    if not offered.had_suggestions:
        turn.say("admin.released", event=event.name, count=offered.served, total=len(completed))
        return
    reached = {m.chat_id for m in turn.reply.messages[mark:]}
    turn.say("admin.released_again", event=event.name, count=len(reached), total=len(completed))
