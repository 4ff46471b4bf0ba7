"""Durations and time-of-day ranges written in settings: the one parser that
both the settings validation and the rules use. A leaf module: standard
library only."""
from __future__ import annotations

import re
from datetime import time, timedelta
from decimal import Decimal

Offsets = tuple[tuple[str, timedelta], ...]  # ("24h", 24 hours), ... as parse_offsets returns them

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_OFFSET_RE = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])", re.IGNORECASE)
KIND_MAX_LEN = 16  # ReminderSent.kind is String(16)
MAX_OFFSET = timedelta(days=365)


def parse_offsets(spec: str) -> list[tuple[str, timedelta]]:
    """"24h,1h" -> [("24h", 24 h), ("1h", 1 h)], largest first.

    Items are separated by commas: a positive number ("1.5h" is allowed) and a
    unit s, m, h or d. The label ("kind") is the item normalised: lower case, no
    spaces, no leading zeros ("01H" -> "1h"). An empty spec means no reminders. Raises ValueError naming the
    offending item on anything else, and on two items of the same length of time.
    """
    if not spec.strip():
        return []
    items = [x.strip() for x in spec.split(",")]
    if any(not x for x in items):
        raise ValueError(f"reminder offsets {spec!r} contain an empty item; write e.g. '24h,1h'")
    result: list[tuple[str, timedelta]] = []
    for item in items:
        m = _OFFSET_RE.fullmatch(item)
        if not m:
            raise ValueError(
                f"reminder offset {item!r} is not understood: use a number and a unit "
                "s, m, h or d, separated by commas, e.g. '24h,1h' or '2d,30m'")
        amount, unit = Decimal(m.group(1)), m.group(2).lower()
        if amount <= 0:
            raise ValueError(f"reminder offset {item!r} must be longer than zero")
        number = str(int(amount)) if amount == amount.to_integral_value() else format(amount.normalize(), "f")
        kind = f"{number}{unit}"
        try:
            delta = timedelta(**{_UNITS[unit]: float(amount)})
        except OverflowError:
            delta = MAX_OFFSET + MAX_OFFSET
        if delta > MAX_OFFSET or len(kind) > KIND_MAX_LEN:
            raise ValueError(f"reminder offset {item!r} is too long: at most 365 days")
        result.append((kind, delta))
    seen: dict[timedelta, str] = {}
    for kind, delta in result:
        if delta in seen:
            raise ValueError(f"reminder offsets {seen[delta]!r} and {kind!r} are the same length of time")
        seen[delta] = kind
    return sorted(result, key=lambda kv: kv[1], reverse=True)


def parse_quiet_hours(spec: str) -> tuple[time, time] | None:
    """'21:00-08:00' -> (21:00, 08:00); '' -> None. Raises ValueError."""
    spec = spec.strip()
    if not spec:
        return None
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?", spec)
    if not m:
        raise ValueError(spec)
    h1, m1, h2, m2 = int(m.group(1)), int(m.group(2) or 0), int(m.group(3)), int(m.group(4) or 0)
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
        raise ValueError(spec)
    return time(h1, m1), time(h2, m2)
