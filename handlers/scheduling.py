"""Meeting times: slot proposals, typed-in proposals, display, reminder offsets
and iCalendar invitations.

Pure functions (no I/O, no clock: "now" is always a parameter). Every instant
that leaves this module is a timezone-aware UTC datetime; local wall-clock
times are interpreted in the zone passed in (the TIMEZONE setting,
Europe/Berlin by default) with `zoneinfo`, so daylight saving time is right:
10:00 in Berlin is 09:00 UTC in winter and 08:00 UTC in summer.

See docs/reminders.md for the accepted input forms and the reasoning behind
the choices (day/month order, weekday semantics, ...).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc

WINDOW_START: dict[str, time] = {"morning": time(10, 0), "afternoon": time(14, 0), "evening": time(18, 0)}
WINDOWS: tuple[str, ...] = tuple(WINDOW_START)
ALL_DAYS: frozenset[int] = frozenset(range(7))


# --- helpers ---------------------------------------------------------------------------------

def _require_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")


def _to_utc(value: datetime) -> datetime:
    """Aware -> UTC; naive is taken to be UTC already (ISO strings from the database)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a wall-clock time in `tz`, or None if that wall time does
    not exist (skipped by a spring-forward transition). Ambiguous wall times (the
    repeated hour in autumn) resolve to the first occurrence (fold=0)."""
    local = datetime.combine(day, at, tzinfo=tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return instant


# --- slot proposals --------------------------------------------------------------------------

def _constraint(avail: dict | None) -> tuple[frozenset[int], tuple[str, ...]]:
    """(days, windows) allowed by one person's availability.

    A missing availability, or a missing/empty/all-invalid list inside it, puts no
    constraint on that dimension; invalid entries are ignored."""
    avail = avail or {}
    days: set[int] = set()
    for d in avail.get("days") or ():
        try:
            day = int(d)
        except (TypeError, ValueError):
            continue
        if 0 <= day <= 6:
            days.add(day)
    windows = {w for w in avail.get("windows") or () if isinstance(w, str) and w in WINDOW_START}
    return (frozenset(days) or ALL_DAYS), tuple(w for w in WINDOWS if w in windows) or WINDOWS


def propose_slots(
    avail_a: dict | None,
    avail_b: dict | None,
    now: datetime,
    tz: ZoneInfo,
    *,
    count: int = 3,
    exclude: Collection[datetime] = (),
    min_lead: timedelta = timedelta(hours=12),
    horizon_days: int = 21,
) -> list[datetime]:
    """Up to `count` meeting times both people are available for, as ascending UTC datetimes.

    Availabilities look like ``{"days": [0..6] (Mon=0), "windows": ["morning",
    "afternoon", "evening"]}``; a window starts at `WINDOW_START` local time. Slots
    lie at least `min_lead` after `now` and on local dates up to `horizon_days`
    after today. They are spread over different days first (one per day, the
    preferred window rotating so the choices cover different times of day), and
    only then filled with further slots of the same days. A slot in `exclude`
    (compared as instants) is never proposed. `[]` when nothing fits.
    """
    _require_aware("now", now)
    if count <= 0:
        return []
    days_a, windows_a = _constraint(avail_a)
    days_b, windows_b = _constraint(avail_b)
    days = days_a & days_b
    windows = [w for w in WINDOWS if w in windows_a and w in windows_b]
    if not days or not windows:
        return []
    excluded = {_to_utc(x) for x in exclude}
    earliest = _to_utc(now) + min_lead
    today = now.astimezone(tz).date()

    per_day: list[list[datetime]] = []
    for offset in range(horizon_days + 1):
        day = today + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        slots = []
        for window in windows:
            slot = _local_to_utc(day, WINDOW_START[window], tz)
            if slot is not None and slot >= earliest and slot not in excluded:
                slots.append(slot)
        if slots:
            per_day.append(slots)

    chosen: list[datetime] = []
    for i, slots in enumerate(per_day[:count]):
        chosen.append(slots[i % len(slots)])  # rotate: morning, afternoon, evening, ...
    if len(chosen) < count:
        rest = sorted(s for slots in per_day for s in slots if s not in chosen)
        chosen.extend(rest[: count - len(chosen)])
    return sorted(chosen)


# --- parsing a typed-in time -----------------------------------------------------------------

WEEKDAY_NAMES: dict[str, int] = {}
for _i, _names in enumerate((
    ("montag", "mo", "monday", "mon"),
    ("dienstag", "di", "tuesday", "tue", "tues"),
    ("mittwoch", "mi", "wednesday", "wed"),
    ("donnerstag", "do", "thursday", "thu", "thur", "thurs"),
    ("freitag", "fr", "friday", "fri"),
    ("samstag", "sa", "sonnabend", "saturday", "sat"),
    ("sonntag", "so", "sunday", "sun"),
)):
    for _n in _names:
        WEEKDAY_NAMES[_n] = _i

MONTH_NAMES: dict[str, int] = {}
for _i, _names in enumerate((
    ("januar", "jan", "january", "jänner", "jaenner"),
    ("februar", "feb", "february"),
    ("märz", "maerz", "mär", "mrz", "march", "mar"),
    ("april", "apr"),
    ("mai", "may"),
    ("juni", "jun", "june"),
    ("juli", "jul", "july"),
    ("august", "aug"),
    ("september", "sep", "sept"),
    ("oktober", "okt", "october", "oct"),
    ("november", "nov"),
    ("dezember", "dez", "december", "dec"),
), start=1):
    for _n in _names:
        MONTH_NAMES[_n] = _i

RELATIVE_DAYS = {"heute": 0, "today": 0, "morgen": 1, "tomorrow": 1, "übermorgen": 2, "uebermorgen": 2}

# Words that carry no information in a proposal ("am Montag um 14 Uhr", "next Tuesday at 2pm").
FILLER = frozenset({
    "am", "um", "ab", "gegen", "ca", "den", "dem", "der", "nächsten", "nächste", "nächster", "naechsten",
    "naechste", "naechster", "kommenden", "kommende", "kommender", "diesen", "diese", "dieser", "uhr",
    "at", "on", "the", "next", "this", "coming", "around", "of",
})

_MONTH_RE = "|".join(sorted(MONTH_NAMES, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)"
_END = r"(?![\w:./])"  # a token must not run into digits, letters or separators

# (kind, pattern) tried in this order at each position of the normalised text.
_TOKENS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[t ](\d{1,2}):(\d{2}))?" + _END)),
    ("ampm", re.compile(r"(\d{1,2})(?:[:.](\d{2}))? ?([ap])\.?m\.?(?!\w)")),
    ("hm", re.compile(r"(\d{1,2}):(\d{2})(?: ?(?:uhr|h))?(?!\w)")),
    ("hm", re.compile(r"(\d{1,2})\.(\d{2}) ?(?:uhr|h)(?!\w)")),
    ("hm", re.compile(r"(\d{1,2})h(\d{2})" + _END)),
    ("hm", re.compile(r"(\d{1,2}) ?(?:uhr|h)(?: (\d{2})" + _END + r")?(?!\w)")),
    ("dmy", re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?![\w:/])")),
    ("slash", re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?" + _END)),
    ("dmon", re.compile(r"(\d{1,2})(?:\.|" + _ORD + r")? ?(?:of )?(" + _MONTH_RE + r")\.?(?: (\d{4})" + _END + r")?(?!\w)")),
    ("mond", re.compile(r"(" + _MONTH_RE + r")\.? (\d{1,2})" + _ORD + r"?(?: (\d{4})" + _END + r")?(?![\w:])")),
    ("word", re.compile(r"[^\W\d_]+\.?")),
]


@dataclass
class _Parsed:
    date: date | None = None
    year_given: bool = True
    relative: int | None = None
    weekday: int | None = None
    time: time | None = None


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower()
    s = s.replace("day after tomorrow", "übermorgen")
    s = re.sub(r"[,;!?()]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _set_date(p: _Parsed, day: int, month: int, year: int | None) -> bool:
    if p.date is not None or p.relative is not None:
        return False  # two dates
    try:
        p.date = date(year or 2000, month, day)  # 2000 is a leap year: 29.02. stays valid
    except ValueError:
        return False
    p.year_given = year is not None
    return True


def _set_time(p: _Parsed, hour: int, minute: int) -> bool:
    if p.time is not None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return False
    p.time = time(hour, minute)
    return True


def _scan(s: str) -> _Parsed | None:
    p = _Parsed()
    pos = 0
    while pos < len(s):
        if s[pos] == " ":
            pos += 1
            continue
        for kind, pattern in _TOKENS:
            m = pattern.match(s, pos)
            if m:
                break
        else:
            return None
        g = m.groups()
        ok = True
        if kind == "iso":
            ok = _set_date(p, int(g[2]), int(g[1]), int(g[0]))
            if ok and g[3] is not None:
                ok = _set_time(p, int(g[3]), int(g[4]))
        elif kind == "ampm":
            hour, minute = int(g[0]), int(g[1] or 0)
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if g[2] == "p" else 0)
            ok = _set_time(p, hour, minute)
        elif kind == "hm":
            ok = _set_time(p, int(g[0]), int(g[1] or 0))
        elif kind == "dmy":
            ok = _set_date(p, int(g[0]), int(g[1]), _year(g[2]))
        elif kind == "slash":
            first, second = int(g[0]), int(g[1])
            # Day/month as written in Germany; month/day only when nothing else fits (12/23).
            day, month = (second, first) if first <= 12 < second else (first, second)
            ok = _set_date(p, day, month, _year(g[2]))
        elif kind == "dmon":
            ok = _set_date(p, int(g[0]), MONTH_NAMES[g[1]], _year(g[2]))
        elif kind == "mond":
            ok = _set_date(p, int(g[1]), MONTH_NAMES[g[0]], _year(g[2]))
        else:  # a word
            word = m.group(0).rstrip(".")
            if word in WEEKDAY_NAMES:
                ok = p.weekday is None
                p.weekday = WEEKDAY_NAMES[word]
            elif word in RELATIVE_DAYS:
                ok = p.date is None and p.relative is None
                p.relative = RELATIVE_DAYS[word]
            elif word not in FILLER:
                return None
        if not ok:
            return None
        pos = m.end()
    return p


def parse_proposal(text: str, lang: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A meeting time someone typed, as a UTC datetime; None if unparseable or not in the future.

    Understood in either language (people mix them): dates "03.12.2026", "3.12.",
    "3.12.26", "2026-12-03", "3 Dec", "3. Dezember 2026", "December 3rd", "12/03"
    (day/month; month/day only when the first number cannot be a month's day,
    e.g. "12/23"); relative days "heute/today", "morgen/tomorrow",
    "übermorgen/day after tomorrow"; weekdays "Montag", "Mo", "Monday", "tue"
    (the next such day whose time is still ahead — "next Monday" means the same);
    times "14:00", "14.30 Uhr", "14 Uhr", "14h", "2pm", "2:30 pm", "10am".
    A time is required. A date without a year is its next occurrence in the
    future. A weekday that contradicts the date, a wall time skipped by a DST
    change, two dates or two times, or any unknown word gives None. `lang` is
    accepted for symmetry with the other functions; the grammar is the same.
    """
    _require_aware("now", now)
    parsed = _scan(_normalise(text))
    if parsed is None or parsed.time is None:
        return None
    local_now = now.astimezone(tz)
    today = local_now.date()
    at = parsed.time

    def future(day: date) -> datetime | None:
        instant = _local_to_utc(day, at, tz)
        return instant if instant is not None and instant > now else None

    if parsed.relative is not None:
        day = today + timedelta(days=parsed.relative)
        if parsed.weekday is not None and day.weekday() != parsed.weekday:
            return None
        return future(day)
    if parsed.date is not None:
        if parsed.year_given:
            day = parsed.date
        else:
            day = None
            for year in range(today.year, today.year + 9):  # 29.02. may be years away
                try:
                    candidate = parsed.date.replace(year=year)
                except ValueError:
                    continue
                if candidate >= today and future(candidate) is not None:
                    day = candidate
                    break
            if day is None:
                return None
        if parsed.weekday is not None and day.weekday() != parsed.weekday:
            return None
        return future(day)
    if parsed.weekday is not None:
        for ahead in range(8):
            day = today + timedelta(days=ahead)
            if day.weekday() == parsed.weekday and future(day) is not None:
                return future(day)
        return None
    return None  # a time alone is not a proposal


# --- display ---------------------------------------------------------------------------------

_WEEKDAY_SHORT = {"de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
_MONTH_SHORT_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_slot(dt_utc: datetime, lang: str, tz: ZoneInfo) -> str:
    """"Do, 03.12.2026, 14:00 Uhr" (de) / "Thu 3 Dec 2026, 14:00" (en; any other
    language gets English), in local time of `tz`. `parse_proposal` reads both back."""
    _require_aware("dt_utc", dt_utc)
    local = dt_utc.astimezone(tz)
    if lang.startswith("de"):  # "de" and "de-du"
        return f"{_WEEKDAY_SHORT['de'][local.weekday()]}, {local:%d.%m.%Y}, {local:%H:%M} Uhr"
    return f"{_WEEKDAY_SHORT['en'][local.weekday()]} {local.day} {_MONTH_SHORT_EN[local.month - 1]} {local.year}, {local:%H:%M}"


# --- iCalendar -------------------------------------------------------------------------------

def meeting_ics(
    *,
    uid: str,
    starts_at: datetime,
    duration: timedelta,
    summary: str,
    description: str,
    tz: ZoneInfo,
    sequence: int = 0,
    cancelled: bool = False,
    location: str | None = None,
    url: str | None = None,
    stamp: datetime | None = None,
) -> bytes:
    """A calendar entry to import (METHOD:PUBLISH) or its removal
    (METHOD:CANCEL, STATUS:CANCELLED) for one meeting.

    PUBLISH, with no ORGANIZER and no ATTENDEE: the file is an entry for one's
    own calendar, not an invitation to reply to (nobody would receive the reply).
    DTSTART/DTEND carry TZID=<tz> (wall time in the programme's zone) and the file
    contains the matching VTIMEZONE, so calendars show the right time on both sides
    of a DST change. Keep `uid` stable per meeting and raise `sequence` with every
    change (a new time, a place, a cancellation), so a calendar updates (or
    removes) the entry instead of adding one. `location` is an address or a link;
    `url` a link to join. `stamp` (DTSTAMP) defaults to the current time.
    """
    from icalendar import Calendar, Event

    _require_aware("starts_at", starts_at)
    if duration <= timedelta(0):
        raise ValueError("duration must be positive")
    start = starts_at.astimezone(tz)
    end = (starts_at + duration).astimezone(tz)
    stamp = _to_utc(stamp) if stamp is not None else datetime.now(UTC)

    cal = Calendar()
    cal.add("prodid", "-//Crosslab//Crosslab meetings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")

    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp.replace(microsecond=0))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    # Observances only around the meeting: a VTIMEZONE for 1970-2038 would be ~140 lines.
    cal.add_missing_timezones(first_date=date(start.year - 1, 1, 1), last_date=date(end.year + 2, 1, 1))
    return cal.to_ical()
