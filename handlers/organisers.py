"""Who may organise what: the one permission check for organiser commands and
buttons.

Admins (the Telegram ids in ADMIN_IDS) may do everything. A co-organiser (a
Telegram id an admin added to one event, `event_organisers`) may use the
organiser commands and buttons for that event only: `/event`, `/events`,
`/release`, `/stats CODE`, the decisions on applications. Everything global
(creating events, co-organisers, `/broadcast`, `/broadcasts`, `/stats` over
all events) stays with the admins. Every event-scoped command and button asks
`may_organise(turn, event)` when it runs (a button when it is pressed, not only
when it was shown).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.models import Event
    from handlers.turn import Turn


async def co_organised(turn: Turn) -> frozenset[int]:
    """The ids of the events this turn's user co-organises (asked once per turn)."""
    if turn.co_organised is None:
        turn.co_organised = frozenset(e.id for e in await turn.uow.events.co_organised(turn.ev.user.id))
    return turn.co_organised


async def may_organise(turn: Turn, event: Event | int | None) -> bool:
    """May this turn's user organise `event`? None asks for something global
    (not tied to one event): admins only."""
    if turn.is_admin:
        return True
    if event is None:
        return False
    event_id = event if isinstance(event, int) else event.id
    return event_id in await co_organised(turn)


async def is_organiser(turn: Turn) -> bool:
    """An admin, or a co-organiser of at least one event."""
    return turn.is_admin or bool(await co_organised(turn))


async def organised_events(turn: Turn) -> Sequence[Event]:
    """The events this user may organise: all for admins, theirs for co-organisers."""
    events = await turn.uow.events.all()
    if turn.is_admin:
        return events
    mine = await co_organised(turn)
    return [e for e in events if e.id in mine]


def refuse(turn: Turn) -> None:
    """The answer to someone who may not do this: an alert on a button, a
    message on a command or text. Nothing else happens."""
    if turn.ev.kind == "button":
        turn.toast("admin.only", alert=True)
    else:
        turn.say("admin.only")
