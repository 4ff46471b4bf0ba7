"""Creating an event the way an organiser does (`/newevent`, question by
question), for scenarios that need one."""
from __future__ import annotations

import re

WHEN = "12.03.2031 18:00"


async def new_event(admin, name: str, *, when: str = WHEN, place: str | None = "Werkstraße 5, 04109 Leipzig",
                    fmt: str = "Offenes Networking", capacity: str | None = None, approval: bool = False) -> str:
    """Walk an (admin, German) chat through /newevent; the event's code.
    `capacity` None presses "Unbegrenzt", else it is typed ("12", "1 2")."""
    await admin.say(f"/newevent {name}")
    await admin.say(when)
    if place is None:
        await admin.press("Noch offen")
    else:
        await admin.say(place)
    await admin.press(fmt)
    if capacity is None:
        await admin.press("Unbegrenzt")
    else:
        await admin.say(capacity)
    await admin.press("Ja, mit Prüfung" if approval else "Nein, ohne Prüfung")
    await admin.press("Anlegen")
    return slug_in(admin)


def slug_in(chat) -> str:
    """The code of the newest invitation link the chat was sent."""
    for msg in reversed(chat.messages):
        found = re.search(r"\?start=(\w+)", msg.text)
        if found:
            return found.group(1)
    raise AssertionError(f"no invitation link; last: {chat.last.text!r}")
