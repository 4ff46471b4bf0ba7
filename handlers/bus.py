"""A small message bus: domain events -> handlers.

`publish` runs the event's handlers right away, inside the turn's
transaction: they render the messages for each person involved (and may read
the database for names and times), so messages keep the order in which things
happened. The event is also kept on the turn; after the commit succeeded,
`after_commit` runs the handlers that act outside the database (reminder jobs),
so nothing is planned for a change that was rolled back. Both tables are
built once, in `handlers.registry`.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.events import Event
    from handlers.services import Services
    from handlers.turn import Turn

log = logging.getLogger(__name__)

Handler = Callable[["Turn", Any], Awaitable[None]]
AfterCommit = Callable[["Services", Any], None]


class MessageBus:
    def __init__(self, handlers: Mapping[type, Sequence[Handler]],
                 after_commit: Mapping[type, Sequence[AfterCommit]]) -> None:
        self.handlers = {k: tuple(v) for k, v in handlers.items()}
        self.after_commit_handlers = {k: tuple(v) for k, v in after_commit.items()}

    async def publish(self, turn: Turn, event: Event) -> None:
        turn.events.append(event)
        for handler in self.handlers.get(type(event), ()):
            await handler(turn, event)

    def after_commit(self, services: Services, events: list[Event]) -> None:
        """Effects outside the database, after a successful commit. A failure
        here must not swallow the reply: reminders are planned again from the
        database at the next start."""
        for event in events:
            for handler in self.after_commit_handlers.get(type(event), ()):
                try:
                    handler(services, event)
                except Exception:
                    log.exception("could not act on %s after the commit", type(event).__name__)
