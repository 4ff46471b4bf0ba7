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
from dataclasses import dataclass, field
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
    try:
        instant = local.astimezone(UTC)
        if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
            return None
    except OverflowError:  # 01.01.0001 00:30 in Berlin is before the first datetime in UTC
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

# Parts of the day: the hour they stand for when no time is given (a guess,
# confirmed by the person), and whether a bare hour with them is after noon
# ("nachmittags 3" = 15:00, "morgens 9" = 09:00).
NOON = "noon"
DAY_PART_START: dict[str, time] = {**WINDOW_START, NOON: time(12, 0)}
DAY_PARTS: dict[str, str] = {}
for _part, _names in (
    ("morning", ("morgens", "vormittag", "vormittags", "früh", "frueh", "morning")),
    (NOON, ("mittag", "mittags", "noon", "midday")),
    ("afternoon", ("nachmittag", "nachmittags", "afternoon")),
    ("evening", ("abend", "abends", "evening", "tonight")),
):
    for _n in _names:
        DAY_PARTS[_n] = _part
AFTER_NOON = frozenset({NOON, "afternoon", "evening"})

# Words that carry no information in a proposal ("am Montag um 14 Uhr", "next Tuesday at 2pm").
FILLER = frozenset({
    "am", "um", "ab", "gegen", "ca", "den", "dem", "der", "nächsten", "nächste", "nächster", "naechsten",
    "naechste", "naechster", "kommenden", "kommende", "kommender", "diesen", "diese", "dieser", "uhr",
    "at", "on", "the", "next", "this", "coming", "around", "of", "in",
})

# A bare hour from 1 to 7 ("Thursday at 2", "Do um 3") is read as afternoon —
# nobody meets at 3 in the night — and confirmed.
PM_GUESS_HOURS = range(1, 8)
# Two readings of a date ("12/3"): the soon one is taken when it lies within
# SOON and the other no earlier than FAR; otherwise the person chooses.
SOON = timedelta(days=14)
FAR = timedelta(days=60)
# Further from now than this, a reading is taken for a misreading (dateparser)
# and not offered as the future reading of a date just gone.
HORIZON = timedelta(days=366)
# A typed time with a year further ahead than this is no meeting or event time
# (a typo such as 2062, or "31.12.9999", whose meeting end, reminders and
# follow-ups would lie past the last datetime Python has): not read as one.
LIMIT = timedelta(days=10 * 366)

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
    # "16.30" with no closing dot is a time: a German date ends with a dot or a year.
    ("dot", re.compile(r"(\d{1,2})\.(\d{2})" + _END)),
    ("slash", re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?" + _END)),
    ("dmon", re.compile(r"(\d{1,2})(?:\.|" + _ORD + r")? ?(?:of )?(" + _MONTH_RE + r")\.?(?: (\d{4})" + _END + r")?(?!\w)")),
    ("mond", re.compile(r"(" + _MONTH_RE + r")\.? (\d{1,2})" + _ORD + r"?(?: (\d{4})" + _END + r")?(?![\w:])")),
    ("hour", re.compile(r"(\d{1,2})" + _END)),  # "Do 14", "Thursday at 2"
    ("word", re.compile(r"[^\W\d_]+\.?")),
]


_COMPOUND = re.compile(r"\b(montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|heute|morgen)"
                       r"(morgen|vormittag|mittag|nachmittag|abend)s?\b")


class _Unknown(Exception):
    """The text has a word or sign the grammar does not know (as opposed to a
    known form that is invalid, like 31.04. or two times)."""


@dataclass
class _Parsed:
    dates: list[date] = field(default_factory=list)  # one, or the readings of "12/3"
    year_given: bool = True
    relative: int | None = None
    weekday: int | None = None
    time: time | None = None
    bare_hour: bool = False  # "14", "2": no minutes, no "Uhr", no am/pm
    meridiem: bool = False  # am/pm given
    dotted: bool = False  # "16.30": no "Uhr"; "3.12" may be a date without its dot
    day_part: str | None = None


@dataclass(frozen=True)
class Reading:
    """What a typed time means.

    `when`: the time meant, sure enough to offer as it is. Otherwise `choices`
    to confirm, a button each: one guess (a part of the day without a time,
    "Thursday at 2"), the readings of an ambiguous date ("12/3" on 1 December),
    or, when the time lies in the past (`past`), its future reading if it has
    one ("01.12. 18:00" typed on 01.12. at 23:05: 01.12. next year) — never
    taken without asking.
    """

    when: datetime | None = None
    choices: tuple[datetime, ...] = ()
    past: datetime | None = None


def _normalise(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower()
    s = s.replace("day after tomorrow", "übermorgen")
    s = _COMPOUND.sub(lambda m: f"{m[1]} {'morgens' if m[2] == 'morgen' else m[2]}", s)  # "Donnerstagabend"
    s = re.sub(r"[,;!?()]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _set_date(p: _Parsed, options: list[tuple[int, int]], year: int | None) -> bool:
    """The date as (day, month) readings; the impossible ones are dropped."""
    if p.dates or p.relative is not None:
        return False  # two dates
    for day, month in options:
        try:
            p.dates.append(date(year or 2000, month, day))  # 2000 is a leap year: 29.02. stays valid
        except ValueError:
            continue
    p.year_given = year is not None
    return bool(p.dates)


def _set_time(p: _Parsed, hour: int, minute: int) -> bool:
    if p.time is not None or not (0 <= hour <= 23 and 0 <= minute <= 59):
        return False
    p.time = time(hour, minute)
    return True


def _scan(s: str) -> _Parsed | None:
    """The parts of a proposal; None if a known form is invalid; raises
    `_Unknown` at a word the grammar does not know."""
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
            raise _Unknown(s[pos:])
        g = m.groups()
        ok = True
        if kind == "iso":
            ok = _set_date(p, [(int(g[2]), int(g[1]))], int(g[0]))
            if ok and g[3] is not None:
                ok = _set_time(p, int(g[3]), int(g[4]))
        elif kind == "ampm":
            hour, minute = int(g[0]), int(g[1] or 0)
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if g[2] == "p" else 0)
            ok = _set_time(p, hour, minute)
            p.meridiem = True
        elif kind in ("hm", "dot", "hour"):
            ok = _set_time(p, int(g[0]), int(g[1] or 0) if len(g) > 1 else 0)
            p.bare_hour, p.dotted = kind == "hour", kind == "dot"
        elif kind == "dmy":
            ok = _set_date(p, [(int(g[0]), int(g[1]))], _year(g[2]))
        elif kind == "slash":
            first, second = int(g[0]), int(g[1])
            # Day/month as written in Germany, month/day as in the US: both readings.
            ok = _set_date(p, list(dict.fromkeys([(first, second), (second, first)])), _year(g[2]))
        elif kind == "dmon":
            ok = _set_date(p, [(int(g[0]), MONTH_NAMES[g[1]])], _year(g[2]))
        elif kind == "mond":
            ok = _set_date(p, [(int(g[1]), MONTH_NAMES[g[0]])], _year(g[2]))
        else:  # a word
            word = m.group(0).rstrip(".")
            if word in WEEKDAY_NAMES:
                ok = p.weekday is None
                p.weekday = WEEKDAY_NAMES[word]
            elif word in RELATIVE_DAYS:
                ok = not p.dates and p.relative is None
                p.relative = RELATIVE_DAYS[word]
            elif word in DAY_PARTS:
                ok = p.day_part is None
                p.day_part = DAY_PARTS[word]
                if word == "tonight":
                    ok = ok and not p.dates and p.relative is None
                    p.relative = 0
            elif word not in FILLER:
                raise _Unknown(word)
        if not ok:
            return None
        pos = m.end()
    return p


def _clock(p: _Parsed) -> tuple[time, bool] | None:
    """The time of day meant, and whether it is a guess to confirm."""
    if p.time is None:
        if p.day_part is None:
            return None  # a time is required
        return DAY_PART_START[p.day_part], True
    hour = p.time.hour
    if p.meridiem:
        return p.time, False
    if p.day_part in AFTER_NOON and 1 <= hour <= (5 if p.day_part == NOON else 11):
        return p.time.replace(hour=hour + 12), False  # "nachmittags 3", "abends 7:30"
    if p.day_part is None and p.bare_hour and hour in PM_GUESS_HOURS:
        return p.time.replace(hour=hour + 12), True
    return p.time, p.dotted and hour < 7  # "Fr 3.12" is more likely a date


def _occurrences(day: date, around: date) -> list[date]:
    """A day and month in the years around `around`, nearest first (29.02.
    only in leap years)."""
    found = []
    for year in range(around.year - 8, around.year + 9):
        try:
            found.append(day.replace(year=year))
        except ValueError:
            continue
    return sorted(found, key=lambda d: (abs((d - around).days), d < around))


def _clock_times(s: str) -> list[time | None]:
    """The clock times ("10:00", "10am", "14 Uhr") a normalised text names,
    token by token as `_scan` reads them; None for an invalid one."""
    found: list[time | None] = []
    pos = 0
    while pos < len(s):
        match = next(((kind, m) for kind, pattern in _TOKENS if (m := pattern.match(s, pos))), None)
        if match is None:
            pos += 1
            continue
        kind, m = match
        if kind in ("ampm", "hm", "dot"):
            try:
                one = _scan(m.group(0))
            except _Unknown:
                one = None
            found.append(one.time if one is not None else None)
        pos = max(m.end(), pos + 1)
    return found


def _read_with_dateparser(text: str, lang: str, now: datetime, tz: ZoneInfo) -> Reading | None:
    """Phrases our grammar does not know ("in 3 Tagen 10:00", "in einer Woche um
    10:00", "in 3 days at 10am"), read by dateparser. Taken only when it kept
    the one clock time the text names (it drops "10 Uhr" and misreads much
    German otherwise) and lands within a year of now."""
    from dateparser.date import DateDataParser

    clocks = _clock_times(_normalise(text))
    if len(clocks) != 1 or clocks[0] is None:
        return None
    local_now = now.astimezone(tz).replace(tzinfo=None)
    languages = list(dict.fromkeys([lang[:2], "de", "en"]))
    parser = DateDataParser(languages=languages, settings={
        "RELATIVE_BASE": local_now, "PREFER_DATES_FROM": "current_period", "DATE_ORDER": "DMY",
        "RETURN_TIME_AS_PERIOD": True})
    try:
        found = parser.get_date_data(text).date_obj
    except (ValueError, OverflowError):
        return None
    if found is None or found.tzinfo is not None or found.time().replace(second=0, microsecond=0) != clocks[0]:
        return None
    instant = _local_to_utc(found.date(), clocks[0], tz)
    if instant is None or abs(instant - now) > HORIZON:
        return None
    return Reading(when=instant) if instant > now else Reading(past=instant)


def read_time(text: str, lang: str, now: datetime, tz: ZoneInfo) -> Reading | None:
    """What a typed meeting time means (see `Reading`); None if it cannot be
    read as one.

    Understood in either language (people mix them): dates "03.12.2026", "3.12.",
    "3.12.26", "2026-12-03", "3 Dec", "3. Dezember 2026", "December 3rd", "12/03"
    (day/month or month/day: both readings); relative days "heute/today",
    "morgen/tomorrow", "übermorgen/day after tomorrow"; weekdays "Montag", "Mo",
    "Monday", "tue" (the next such day whose time is still ahead — "next Monday"
    means the same); times "14:00", "14.30 Uhr", "16.30", "14 Uhr", "14h",
    "2pm", "2:30 pm", "10am", and a bare hour after a day ("Do 14"); parts of
    the day "vormittags", "nachmittag", "abends", "morning", "afternoon",
    "tonight", alone (a guess: 10:00, 12:00, 14:00, 18:00) or with an hour
    ("nachmittags 3" = 15:00). A day and a time are required. A date without a
    year is its nearest occurrence, so one just gone is in the past, not next
    year. Phrases outside this grammar ("in 3 Tagen 10:00") go to dateparser.
    A weekday that contradicts the date, a wall time skipped by a DST change,
    two dates or two times, or a word neither knows give None.
    """
    _require_aware("now", now)
    try:
        parsed = _scan(_normalise(text))
    except _Unknown:
        return _read_with_dateparser(text, lang, now, tz)
    clock = _clock(parsed) if parsed is not None else None
    if parsed is None or clock is None:
        return None
    at, guessed = clock
    today = now.astimezone(tz).date()

    def instant(day: date) -> datetime | None:
        if parsed.weekday is not None and day.weekday() != parsed.weekday:
            return None
        when = _local_to_utc(day, at, tz)
        return when if when is not None and when - now <= LIMIT else None

    def ahead(day: date) -> bool:
        return (i := instant(day)) is not None and i > now

    if parsed.relative is not None:
        days = [today + timedelta(days=parsed.relative)]
    elif parsed.dates and parsed.year_given:
        days = parsed.dates
    elif len(parsed.dates) == 1:
        days = [_occurrences(parsed.dates[0], today)[0]]
    elif parsed.dates:  # "5/7": the next 5 July and the next 7 May
        days = [next((o for o in sorted(_occurrences(d, today)) if ahead(o)), today) for d in parsed.dates]
    elif parsed.weekday is not None:
        first = today + timedelta(days=(parsed.weekday - today.weekday()) % 7)
        days = [first if ahead(first) else first + timedelta(days=7)]
    else:
        return None  # a time alone is not a proposal
    readings = sorted({i for d in days if (i := instant(d)) is not None})
    future = [r for r in readings if r > now]
    if not readings:
        return None
    if not future:
        later: list[datetime] = []
        if parsed.dates and not parsed.year_given:  # the same day and month in a later year
            later = sorted(i for d in parsed.dates for o in _occurrences(d, today)
                           if o > today and ahead(o) and (i := instant(o)) is not None and i - now <= HORIZON)
        return Reading(choices=tuple(later[:1]), past=readings[-1])
    if len(future) > 1 and future[0] - now <= SOON and future[1] - now >= FAR:
        future = future[:1]  # "12/3" on 1 December: the 3rd, not next March
    if len(future) == 1 and not guessed:
        return Reading(when=future[0])
    return Reading(choices=tuple(future))


def parse_proposal(text: str, lang: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A typed meeting time as a UTC datetime when its meaning is clear and in
    the future (`read_time(...).when`); None otherwise — unreadable, in the
    past, ambiguous, or a guess to confirm."""
    reading = read_time(text, lang, now, tz)
    return reading.when if reading is not None else None


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
