"""Organiser (admin) commands. Admins are the Telegram ids in ADMIN_IDS."""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Awaitable, Callable

from db.models import Event

if TYPE_CHECKING:
    from db.models import Profile
    from handlers.turn import Turn


def admin_only(func: Callable[[Turn, Profile | None, str], Awaitable[None]]) -> Callable[[Turn, Profile | None, str], Awaitable[None]]:
    async def wrapper(turn: Turn, profile: Profile | None, args: str) -> None:
        if not turn.is_admin:
            turn.say("admin.only")
            return
        await func(turn, profile, args)

    return wrapper


def deep_link(turn: Turn, slug: str) -> str:
    return f"https://t.me/{turn.core.bot_username}?start={slug}"


@admin_only
async def cmd_newevent(turn: Turn, profile: Profile | None, args: str) -> None:
    name = " ".join(args.split())
    if len(name) < 3 or len(name) > 200:
        turn.say("admin.newevent_usage")
        return
    slug = "ev" + secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
    event = await turn.uow.events.add(Event(name=name, slug=slug, created_by=turn.ev.user.id))
    turn.say("admin.event_created", event=event.name, link=deep_link(turn, event.slug))


@admin_only
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


COMMANDS = {"newevent": cmd_newevent, "events": cmd_events}


@admin_only
async def cmd_release(turn: Turn, profile: Profile | None, args: str) -> None:
    """Compute suggestions among an event's participants and send each their first card."""
    from handlers.introductions import offer_suggestions

    slug = args.strip().rsplit("=", 1)[-1]
    events = await turn.uow.events.all()
    event = next((e for e in events if e.slug == slug), None) if slug else (events[-1] if events else None)
    if event is None:
        turn.say("admin.release_usage")
        return
    members = [p for p in await turn.uow.events.people(event)]
    completed = [p for p, pr in members if pr is not None and pr.completed_at is not None]
    served = await offer_suggestions(turn, completed, pool=[p.id for p in completed])
    turn.say("admin.released", event=event.name, count=served, total=len(completed))


COMMANDS["release"] = cmd_release
