"""Pure scheduling functions: slot proposals, typed-in times, display, offsets, iCalendar."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from icalendar import Calendar
from zoneinfo import ZoneInfo

from domain.durations import parse_offsets
from handlers.scheduling import (
    WINDOW_START,
    format_slot,
    meeting_ics,
    Reading,
    parse_proposal,
    propose_slots,
    read_time,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
# Monday 30 November 2026, 10:00 in Berlin (winter time, UTC+1).
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def berlin(*args: int) -> datetime:
    """A Berlin wall time as a UTC instant."""
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


# --- propose_slots -----------------------------------------------------------------------------

def test_window_starts() -> None:
    assert WINDOW_START == {"morning": time(10), "afternoon": time(14), "evening": time(18)}


def test_slots_are_utc_ascending_after_lead_on_different_days() -> None:
    slots = propose_slots(None, None, NOW, BERLIN)
    assert len(slots) == 3
    assert all(s.tzinfo == UTC for s in slots)
    assert slots == sorted(slots)
    assert all(s >= NOW + timedelta(hours=12) for s in slots)
    assert len({s.astimezone(BERLIN).date() for s in slots}) == 3
    # Tue morning, Wed afternoon, Thu evening: one per day, times of day rotate.
    assert slots == [berlin(2026, 12, 1, 10), berlin(2026, 12, 2, 14), berlin(2026, 12, 3, 18)]


def test_slots_lie_in_the_intersection() -> None:
    a = {"days": [0, 2, 4], "windows": ["morning", "evening"]}
    b = {"days": [2, 3, 4], "windows": ["evening", "afternoon"]}
    slots = propose_slots(a, b, NOW, BERLIN, count=5)
    assert len(slots) == 5
    for s in slots:
        local = s.astimezone(BERLIN)
        assert local.weekday() in (2, 4)
        assert local.time() == time(18)


def test_missing_or_empty_availability_is_no_constraint() -> None:
    only_b = {"days": [3], "windows": ["afternoon"]}
    for a in (None, {}, {"days": [], "windows": []}):
        slots = propose_slots(a, only_b, NOW, BERLIN)
        assert slots and all(s.astimezone(BERLIN).weekday() == 3 and s.astimezone(BERLIN).hour == 14 for s in slots)
    # Empty windows only: days still constrain.
    slots = propose_slots({"days": [5], "windows": []}, None, NOW, BERLIN, count=2)
    assert [s.astimezone(BERLIN).weekday() for s in slots] == [5, 5]


def test_empty_intersection_gives_no_slots() -> None:
    assert propose_slots({"days": [0, 1]}, {"days": [5, 6]}, NOW, BERLIN) == []
    assert propose_slots({"windows": ["morning"]}, {"windows": ["evening"]}, NOW, BERLIN) == []
    assert propose_slots(None, None, NOW, BERLIN, count=0) == []


def test_invalid_entries_are_ignored() -> None:
    slots = propose_slots({"days": [9, "x", 2], "windows": ["night", "morning"]}, None, NOW, BERLIN, count=1)
    assert slots == [berlin(2026, 12, 2, 10)]


def test_fill_with_same_day_slots_when_few_days() -> None:
    # Only Wednesdays within a 7-day horizon: one day, so the rest come from that day.
    slots = propose_slots({"days": [2]}, None, NOW, BERLIN, horizon_days=6)
    assert slots == [berlin(2026, 12, 2, 10), berlin(2026, 12, 2, 14), berlin(2026, 12, 2, 18)]


def test_exclude_is_never_proposed() -> None:
    first = propose_slots(None, None, NOW, BERLIN)
    again = propose_slots(None, None, NOW, BERLIN, exclude=first)
    assert not set(first) & set(again)
    assert len(again) == 3
    # An excluded instant given in another zone or naive-as-UTC is the same instant.
    again = propose_slots(None, None, NOW, BERLIN, exclude=[first[0].astimezone(BERLIN), first[1].replace(tzinfo=None)])
    assert first[0] not in again and first[1] not in again


def test_min_lead_and_horizon() -> None:
    # "At least min_lead after now": a slot exactly at now + min_lead counts.
    assert propose_slots(None, None, NOW, BERLIN, min_lead=timedelta(0), count=1) == [berlin(2026, 11, 30, 10)]
    assert propose_slots(None, None, NOW + timedelta(seconds=1), BERLIN, min_lead=timedelta(0), count=1) == [
        berlin(2026, 11, 30, 14)]
    assert propose_slots(None, None, NOW, BERLIN, min_lead=timedelta(hours=4), count=1) == [berlin(2026, 11, 30, 14)]
    assert propose_slots(None, None, NOW, BERLIN, min_lead=timedelta(days=30), horizon_days=21) == []
    late = propose_slots({"days": [6]}, None, NOW, BERLIN, horizon_days=21, count=10)
    assert max(s.astimezone(BERLIN).date() for s in late) <= date(2026, 12, 21)


def test_slots_across_dst_change() -> None:
    # Friday 27 March 2026; clocks go forward on Sunday 29 March.
    now = berlin(2026, 3, 27, 8)
    slots = propose_slots({"windows": ["morning"]}, None, now, BERLIN, count=4, min_lead=timedelta(0))
    assert [s.astimezone(BERLIN).time() for s in slots] == [time(10)] * 4
    utc_hours = {s.astimezone(BERLIN).date(): s.hour for s in slots}
    assert utc_hours[date(2026, 3, 28)] == 9  # winter: UTC+1
    assert utc_hours[date(2026, 3, 29)] == 8  # summer: UTC+2
    assert utc_hours[date(2026, 3, 30)] == 8


def test_slots_across_year_boundary() -> None:
    now = berlin(2026, 12, 30, 20)
    slots = propose_slots({"days": [3, 4]}, None, now, BERLIN)  # Thu, Fri
    assert [s.astimezone(BERLIN).date() for s in slots] == [date(2026, 12, 31), date(2027, 1, 1), date(2027, 1, 7)]


def test_slots_need_aware_now() -> None:
    with pytest.raises(ValueError):
        propose_slots(None, None, datetime(2026, 1, 1), BERLIN)


# --- parse_proposal ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("03.12.2026 14:00", berlin(2026, 12, 3, 14)),
        ("3.12. 14:30", berlin(2026, 12, 3, 14, 30)),
        ("03.12. um 14 Uhr", berlin(2026, 12, 3, 14)),
        ("am 3.12.26 um 14.30 Uhr", berlin(2026, 12, 3, 14, 30)),
        ("2026-12-03 14:00", berlin(2026, 12, 3, 14)),
        ("2026-12-03T14:00", berlin(2026, 12, 3, 14)),
        ("3. Dezember 15 Uhr", berlin(2026, 12, 3, 15)),
        ("3. Dez. 2026, 15:00", berlin(2026, 12, 3, 15)),
        ("Montag 14 Uhr", berlin(2026, 11, 30, 14)),  # today, still ahead
        ("Mo 14:00", berlin(2026, 11, 30, 14)),
        ("Mo. 9:00", berlin(2026, 12, 7, 9)),  # today's 9:00 has passed: next Monday
        ("Di 9 Uhr", berlin(2026, 12, 1, 9)),
        ("am nächsten Dienstag um 14.30 Uhr", berlin(2026, 12, 1, 14, 30)),
        ("Donnerstag, 16h30", berlin(2026, 12, 3, 16, 30)),
        ("Sonntag 18h", berlin(2026, 12, 6, 18)),
        ("morgen 10 Uhr", berlin(2026, 12, 1, 10)),
        ("übermorgen 9:30", berlin(2026, 12, 2, 9, 30)),
        ("Uebermorgen um 9:30", berlin(2026, 12, 2, 9, 30)),
        ("heute 17:00", berlin(2026, 11, 30, 17)),
        ("14 Uhr 30 morgen", berlin(2026, 12, 1, 14, 30)),
        ("Do, 03.12.2026, 14:00 Uhr", berlin(2026, 12, 3, 14)),  # format_slot("de") itself
    ],
)
def test_parse_german(text: str, expected: datetime) -> None:
    assert parse_proposal(text, "de", NOW, BERLIN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday 2:30pm", berlin(2026, 11, 30, 14, 30)),
        ("tue 9:00", berlin(2026, 12, 1, 9)),
        ("next Wednesday at 11am", berlin(2026, 12, 2, 11)),
        ("Fri 12pm", berlin(2026, 12, 4, 12)),
        ("Sat 12am", berlin(2026, 12, 5, 0)),  # 12am is midnight at the start of Saturday
        ("tomorrow 10am", berlin(2026, 12, 1, 10)),
        ("tomorrow at 10 a.m.", berlin(2026, 12, 1, 10)),
        ("day after tomorrow 9am", berlin(2026, 12, 2, 9)),
        ("today 5 pm", berlin(2026, 11, 30, 17)),
        ("3 Dec 2026, 14:00", berlin(2026, 12, 3, 14)),
        ("Dec 3 2pm", berlin(2026, 12, 3, 14)),
        ("December 3rd at 3 pm", berlin(2026, 12, 3, 15)),
        ("the 3rd of December 15:00", berlin(2026, 12, 3, 15)),
        ("12/03 2pm", berlin(2026, 12, 3, 14)),  # 3 December is soon, 12 March far: the soon one
        ("12/23 10:00", berlin(2026, 12, 23, 10)),  # 23 cannot be a month: month/day
        ("03/12/2026 14:00", berlin(2026, 12, 3, 14)),
        ("Thu 3 Dec 2026, 14:00", berlin(2026, 12, 3, 14)),  # format_slot("en") itself
    ],
)
def test_parse_english(text: str, expected: datetime) -> None:
    assert parse_proposal(text, "en", NOW, BERLIN) == expected


def test_language_does_not_restrict_the_grammar() -> None:
    assert parse_proposal("Montag 14 Uhr", "en", NOW, BERLIN) == parse_proposal("Monday 2pm", "de", NOW, BERLIN)


@pytest.mark.parametrize(
    "text",
    [
        "", "   ", "foo", "vielleicht nächste Woche", "14:00", "morgen", "Montag", "03.12.2026",
        "heute 8:00",  # past
        "01.01.2020 10:00",  # past, year given
        "31.04. 10:00", "32.12. 10:00", "3.13. 10:00",  # no such date
        "25:00 morgen", "morgen 14:61", "morgen 13pm", "morgen 0am",
        "Di 03.12.2026 14:00",  # 3 Dec 2026 is a Thursday
        "morgen Freitag 10 Uhr",  # tomorrow is Tuesday
        "morgen 10 Uhr bis 11 Uhr", "morgen 10:00-11:00", "morgen 10 oder 11 Uhr",
        "3.12. 4.12. 10:00", "morgen 10:00 11:00", "Mo Di 10:00",
        "morgen 10 Uhr bitte", "drop table; 10:00",
    ],
)
def test_parse_rejects(text: str) -> None:
    assert parse_proposal(text, "de", NOW, BERLIN) is None


def test_date_without_year_is_the_nearest_one() -> None:
    assert parse_proposal("30.11. 8:00", "de", NOW, BERLIN) is None  # today's has passed: a question, no jump
    assert read_time("30.11. 8:00", "de", NOW, BERLIN) == Reading(
        choices=(berlin(2027, 11, 30, 8),), past=berlin(2026, 11, 30, 8))
    assert parse_proposal("30.11. 18:00", "de", NOW, BERLIN) == berlin(2026, 11, 30, 18)
    assert parse_proposal("5.1. 10:00", "de", NOW, BERLIN) == berlin(2027, 1, 5, 10)  # across the new year
    assert parse_proposal("29.02. 10:00", "de", NOW, BERLIN) == berlin(2028, 2, 29, 10)


def test_year_boundary_relative_and_weekday() -> None:
    new_years_eve = berlin(2026, 12, 31, 20)
    assert parse_proposal("morgen 10 Uhr", "de", new_years_eve, BERLIN) == berlin(2027, 1, 1, 10)
    assert parse_proposal("Mo 10 Uhr", "de", new_years_eve, BERLIN) == berlin(2027, 1, 4, 10)
    assert parse_proposal("2.1. 10:00", "de", new_years_eve, BERLIN) == berlin(2027, 1, 2, 10)


def test_parse_is_dst_correct() -> None:
    winter = parse_proposal("10.03.2027 10:00", "de", NOW, BERLIN)
    summer = parse_proposal("10.04.2027 10:00", "de", NOW, BERLIN)
    assert winter == datetime(2027, 3, 10, 9, tzinfo=UTC)
    assert summer == datetime(2027, 4, 10, 8, tzinfo=UTC)
    # 02:30 on 28 March 2027 does not exist in Berlin (clocks jump 02:00 -> 03:00).
    assert parse_proposal("28.03.2027 2:30", "de", NOW, BERLIN) is None
    # 02:30 on 31 October 2027 happens twice: the first (summer time) is taken.
    assert parse_proposal("31.10.2027 2:30", "de", NOW, BERLIN) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)


def test_parse_in_another_zone() -> None:
    ny = ZoneInfo("America/New_York")
    assert parse_proposal("tomorrow 10am", "en", NOW, ny) == datetime(2026, 12, 1, 15, tzinfo=UTC)


def test_parse_returns_utc_and_needs_aware_now() -> None:
    result = parse_proposal("morgen 10 Uhr", "de", NOW.astimezone(BERLIN), BERLIN)
    assert result is not None and result.tzinfo == UTC
    with pytest.raises(ValueError):
        parse_proposal("morgen 10 Uhr", "de", datetime(2026, 11, 30, 9), BERLIN)


# --- read_time: issue 10.7 ------------------------------------------------------------------------

# Tuesday 1 December 2026, 23:05 in Berlin: late in the evening, when "01.12. 18:00" has just passed.
LATE = berlin(2026, 12, 1, 23, 5)


def read(text: str, lang: str = "de", now: datetime = LATE) -> Reading | None:
    return read_time(text, lang, now, BERLIN)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_date_just_gone_is_a_question_not_next_year(lang: str) -> None:
    reading = read("01.12. 18:00", lang)
    assert reading is not None and reading.when is None
    assert reading.past == berlin(2026, 12, 1, 18)
    assert reading.choices == (berlin(2027, 12, 1, 18),)  # offered as a button, never taken silently
    assert parse_proposal("01.12. 18:00", lang, LATE, BERLIN) is None
    # The English way of writing it: "12/1" is 1 December (today, gone) or 12 January.
    assert read("12/1 6pm", lang).choices == (berlin(2027, 1, 12, 18), berlin(2027, 12, 1, 18))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fr 16.30", berlin(2026, 12, 4, 16, 30)),
        ("Do 14", berlin(2026, 12, 3, 14)),
        ("Do. 14", berlin(2026, 12, 3, 14)),
        ("Donnerstag um 14", berlin(2026, 12, 3, 14)),
        ("do 14 uhr", berlin(2026, 12, 3, 14)),
        ("Do nachmittags 3", berlin(2026, 12, 3, 15)),  # with a part of the day the hour is clear
        ("morgen abend 7", berlin(2026, 12, 2, 19)),
        ("morgen früh um 8", berlin(2026, 12, 2, 8)),
        ("Mo mittags 1", berlin(2026, 12, 7, 13)),
        ("16.30 morgen", berlin(2026, 12, 2, 16, 30)),
        ("12/3 14 Uhr", berlin(2026, 12, 3, 14)),  # on 1 December: the 3rd, not next March
        ("in 3 Tagen 10:00", berlin(2026, 12, 4, 10)),  # dateparser
        ("in einer Woche um 10:00", berlin(2026, 12, 8, 10)),  # dateparser
    ],
)
def test_german_forms_issue_10_7(text: str, expected: datetime) -> None:
    assert read(text) == Reading(when=expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/3 2pm", berlin(2026, 12, 3, 14)),  # on 1 December: the 3rd, not next March
        ("4/12 10:00", berlin(2026, 12, 4, 10)),  # as a German would write it, also soon
        ("Thursday 2pm", berlin(2026, 12, 3, 14)),
        ("Thursday at 2 pm", berlin(2026, 12, 3, 14)),
        ("Thursday afternoon at 3", berlin(2026, 12, 3, 15)),
        ("Thu 14", berlin(2026, 12, 3, 14)),
        ("Friday 16.30", berlin(2026, 12, 4, 16, 30)),
        ("in 3 days at 10am", berlin(2026, 12, 4, 10)),  # dateparser
    ],
)
def test_english_forms_issue_10_7(text: str, expected: datetime) -> None:
    assert read(text, "en") == Reading(when=expected)


@pytest.mark.parametrize(
    ("text", "lang", "choice"),  # one reading, offered with a button to confirm
    [
        ("Do nachmittag", "de", berlin(2026, 12, 3, 14)),  # a part of the day: its usual start, confirmed
        ("Donnerstagnachmittag", "de", berlin(2026, 12, 3, 14)),
        ("Freitagmorgen", "de", berlin(2026, 12, 4, 10)),
        ("morgen Nachmittag", "de", berlin(2026, 12, 2, 14)),
        ("morgen vormittag", "de", berlin(2026, 12, 2, 10)),
        ("Fr abends", "de", berlin(2026, 12, 4, 18)),
        ("Do um 2", "de", berlin(2026, 12, 3, 14)),  # nobody meets at 2 in the night
        ("Thursday at 2", "en", berlin(2026, 12, 3, 14)),
        ("Thursday afternoon", "en", berlin(2026, 12, 3, 14)),
        ("tomorrow morning", "en", berlin(2026, 12, 2, 10)),
        ("Fr 3.12", "de", berlin(2026, 12, 4, 3, 12)),  # 03:12, or 3 December without its dot?
    ],
)
def test_guesses_are_confirmed(text: str, lang: str, choice: datetime) -> None:
    assert read(text, lang) == Reading(choices=(choice,))
    assert parse_proposal(text, lang, LATE, BERLIN) is None


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("2/1 10:00", (berlin(2027, 1, 2, 10), berlin(2027, 2, 1, 10))),  # neither is soon: ask
        ("5/7 10:00", (berlin(2027, 5, 7, 10), berlin(2027, 7, 5, 10))),
    ],
)
@pytest.mark.parametrize("lang", ["de", "en"])
def test_ambiguous_dates_offer_both_readings(text: str, choices: tuple[datetime, ...], lang: str) -> None:
    assert read(text, lang) == Reading(choices=choices)


@pytest.mark.parametrize(
    ("text", "past", "choices"),
    [
        ("heute 18:00", berlin(2026, 12, 1, 18), ()),  # today is today: ask again
        ("today 6pm", berlin(2026, 12, 1, 18), ()),
        ("heute abend", berlin(2026, 12, 1, 18), ()),
        ("tonight 8", berlin(2026, 12, 1, 20), ()),
        ("01.12.2026 18:00", berlin(2026, 12, 1, 18), ()),  # the year was given
        ("Di 01.12. 18:00", berlin(2026, 12, 1, 18), ()),  # next year's 1 December is no Tuesday
        ("30.11. 10:00", berlin(2026, 11, 30, 10), (berlin(2027, 11, 30, 10),)),
        ("1st December 6pm", berlin(2026, 12, 1, 18), (berlin(2027, 12, 1, 18),)),
        ("15.06. 10:00", berlin(2026, 6, 15, 10), (berlin(2027, 6, 15, 10),)),  # nearer gone than ahead
    ],
)
def test_past_times_are_a_question(text: str, past: datetime, choices: tuple[datetime, ...]) -> None:
    assert read(text) == Reading(choices=choices, past=past)


@pytest.mark.parametrize(
    "text",
    ["Do", "nachmittag", "14", "Do 24", "Do 14 15", "Do nachmittag abends", "Do 14.", "in 3 Tagen",
     "in 3 Tagen 10 oder 11 Uhr", "in two weeks", "Thursday at 2 or 3", "ok", "4", "passt", "nein"],
)
def test_still_rejected(text: str) -> None:
    assert read(text) is None


# Robustness: every weekday, name and hour of a working day, in several spellings.
_DAY_NAMES = [("Mo", "Montag", "Monday"), ("Di", "Dienstag", "Tue"), ("Mi", "Mittwoch", "Wednesday"),
              ("Do", "Donnerstag", "Thursday"), ("Fr", "Freitag", "Fri"), ("Sa", "Samstag", "Saturday"),
              ("So", "Sonntag", "Sun")]


@pytest.mark.parametrize("weekday", range(7))
@pytest.mark.parametrize("hour", range(8, 21))
@pytest.mark.parametrize("form", ["{day} {hour}", "{day}, {hour} Uhr", "am {day} um {hour}:00", "{day} {hour}.15",
                                  "{DAY} {hour}h", "{Day} at {hour}:30", "  {DAY}   {hour}  "])
def test_every_weekday_and_hour(weekday: int, hour: int, form: str) -> None:
    short, german, english = _DAY_NAMES[weekday]
    text = form.format(day=short, DAY=german.upper(), Day=english, hour=hour)
    reading = read(text, "en" if "at" in form else "de")
    assert reading is not None and reading.when is not None, text
    local = reading.when.astimezone(BERLIN)
    minute = 15 if ".15" in form else 30 if ":30" in form else 0
    assert (local.weekday(), local.hour, local.minute) == (weekday, hour, minute), text
    assert LATE < reading.when <= LATE + timedelta(days=7)


@pytest.mark.parametrize("ahead", range(0, 120, 3))
@pytest.mark.parametrize("form", ["{d}.{m}. {h}:00", "{d:02}.{m:02}. um {h} Uhr", "{d}. {month} {h}:00",
                                  "{month} {d} {h12}pm"])
def test_every_date_in_the_next_months(ahead: int, form: str) -> None:
    day = date(2026, 12, 2) + timedelta(days=ahead)
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    text = form.format(d=day.day, m=day.month, month=months[day.month - 1], h=15, h12=3)
    assert read(text) == Reading(when=berlin(day.year, day.month, day.day, 15)), text


@pytest.mark.parametrize("back", range(1, 150, 7))
def test_every_date_just_gone_asks(back: int) -> None:
    day = date(2026, 12, 1) - timedelta(days=back)
    reading = read(f"{day.day}.{day.month}. 15:00")
    assert reading is not None and reading.when is None and reading.past == berlin(day.year, day.month, day.day, 15)
    assert reading.choices == (berlin(day.year + 1, day.month, day.day, 15),)


# --- format_slot -------------------------------------------------------------------------------

def test_format_slot() -> None:
    winter = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    assert format_slot(winter, "de", BERLIN) == "Do, 03.12.2026, 14:00 Uhr"
    assert format_slot(winter, "en", BERLIN) == "Thu 3 Dec 2026, 14:00"
    summer = datetime(2027, 7, 6, 7, 5, tzinfo=UTC)
    assert format_slot(summer, "de", BERLIN) == "Di, 06.07.2027, 09:05 Uhr"
    assert format_slot(summer, "en", BERLIN) == "Tue 6 Jul 2027, 09:05"
    assert format_slot(summer, "fr", BERLIN) == "Tue 6 Jul 2027, 09:05"  # other languages: English


@pytest.mark.parametrize("lang", ["de", "en"])
def test_format_then_parse_round_trips(lang: str) -> None:
    slots = propose_slots(None, None, NOW, BERLIN, count=10, horizon_days=200)
    for slot in slots + [berlin(2027, 6, 15, 9, 45)]:
        assert parse_proposal(format_slot(slot, lang, BERLIN), lang, NOW, BERLIN) == slot


# --- parse_offsets -----------------------------------------------------------------------------

def test_parse_offsets() -> None:
    assert parse_offsets("24h,1h") == [("24h", timedelta(hours=24)), ("1h", timedelta(hours=1))]
    assert parse_offsets(" 30m , 2d,90s,1H ") == [
        ("2d", timedelta(days=2)), ("1h", timedelta(hours=1)), ("30m", timedelta(minutes=30)), ("90s", timedelta(seconds=90))]
    assert parse_offsets("1.5h, 0.5d,01H") == [
        ("0.5d", timedelta(hours=12)), ("1.5h", timedelta(minutes=90)), ("1h", timedelta(hours=1))]
    assert parse_offsets("2.0h") == [("2h", timedelta(hours=2))]
    assert parse_offsets("") == []
    assert parse_offsets("  ") == []


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("24", "'24'"), ("1w", "'1w'"), ("h", "'h'"), ("-1h", "'-1h'"), ("1,5h", "'1'"), (".5h", "'.5h'"),
        ("0m", "longer than zero"), ("0.0h", "longer than zero"),
        ("24h,,1h", "empty item"), ("24h,", "empty item"), ("24h 1h", "'24h 1h'"), ("1h,60m", "same length"),
        ("90m,1.5h", "same length"),
        ("99999999999999h", "too long"), ("366d", "too long"),
    ],
)
def test_parse_offsets_rejects_junk(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_offsets(spec)
    assert fragment in str(info.value)


# --- meeting_ics -------------------------------------------------------------------------------

def _event(ics: bytes):
    cal = Calendar.from_ical(ics)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    return cal, events[0]


def test_ics_publish_round_trip_winter() -> None:
    """Issue 10.20: an entry to import (PUBLISH), not an invitation to reply to:
    no organiser, no attendees; the place and how to reach the other person."""
    starts = datetime(2026, 12, 3, 13, 0, tzinfo=UTC)
    ics = meeting_ics(uid="crosslab-meeting-7@crosslab", starts_at=starts, duration=timedelta(minutes=45),
                      summary="Crosslab: Müller GmbH × Studio Ost",
                      description="Treffen mit Anna Müller.\nKontakt: Telegram @anna – https://t.me/anna",
                      tz=BERLIN, sequence=2, location="Werkstraße 5, 04109 Leipzig, Halle 2",
                      stamp=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    assert isinstance(ics, bytes)
    assert b"DTSTART;TZID=Europe/Berlin:20261203T140000" in ics
    assert b"DTEND;TZID=Europe/Berlin:20261203T144500" in ics
    cal, ev = _event(ics)
    assert str(cal["METHOD"]) == "PUBLISH"
    assert b"REQUEST" not in ics and "ORGANIZER" not in ev and "ATTENDEE" not in ev
    assert b"noreply" not in ics and b"invalid" not in ics
    tzids = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
    assert tzids == ["Europe/Berlin"]
    assert ics.index(b"BEGIN:VTIMEZONE") < ics.index(b"BEGIN:VEVENT")  # defined before it is used
    start = ev.decoded("DTSTART")
    assert start == starts and start.utcoffset() == timedelta(hours=1)
    assert ev["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert ev.decoded("DTEND") - start == timedelta(minutes=45)
    assert str(ev["UID"]) == "crosslab-meeting-7@crosslab"
    assert int(ev["SEQUENCE"]) == 2
    assert str(ev["STATUS"]) == "CONFIRMED"
    assert str(ev["SUMMARY"]) == "Crosslab: Müller GmbH × Studio Ost"
    assert str(ev["DESCRIPTION"]) == "Treffen mit Anna Müller.\nKontakt: Telegram @anna – https://t.me/anna"
    assert str(ev["LOCATION"]) == "Werkstraße 5, 04109 Leipzig, Halle 2"
    assert "URL" not in ev
    assert ev.decoded("DTSTAMP") == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_ics_online_meeting_has_the_link_as_location_and_url() -> None:
    link = "https://meet.example.org/crosslab-7?pwd=a,b;c"
    _cal, ev = _event(meeting_ics(uid="m@x", starts_at=datetime(2026, 12, 3, 13, tzinfo=UTC),
                                  duration=timedelta(minutes=45), summary="s", description="d", tz=BERLIN,
                                  location=link, url=link))
    assert str(ev["LOCATION"]) == link and str(ev["URL"]) == link


def test_ics_without_a_place_has_no_location() -> None:
    _cal, ev = _event(meeting_ics(uid="m@x", starts_at=datetime(2026, 12, 3, 13, tzinfo=UTC),
                                  duration=timedelta(minutes=45), summary="s", description="d", tz=BERLIN))
    assert "LOCATION" not in ev and "URL" not in ev and "ORGANIZER" not in ev


def test_ics_vtimezone_gives_the_instant_in_summer() -> None:
    starts = datetime(2027, 7, 6, 7, 0, tzinfo=UTC)  # 09:00 CEST
    ics = meeting_ics(uid="m@x", starts_at=starts, duration=timedelta(hours=1), summary="s", description="d", tz=BERLIN)
    assert b"DTSTART;TZID=Europe/Berlin:20270706T090000" in ics
    cal, ev = _event(ics)
    assert ev.decoded("DTSTART") == starts
    # The VTIMEZONE itself (not just the name) says +02:00 in summer and covers the date.
    vtz = cal.walk("VTIMEZONE")[0]
    offsets = {str(sub.name): sub.decoded("TZOFFSETTO") for sub in vtz.subcomponents}
    assert offsets == {"STANDARD": timedelta(hours=1), "DAYLIGHT": timedelta(hours=2)}
    local = vtz.to_tz()
    assert starts.astimezone(local).hour == 9


def test_ics_cancel_keeps_uid_and_raises_sequence() -> None:
    kwargs = dict(uid="crosslab-meeting-7@crosslab", starts_at=datetime(2026, 12, 3, 13, tzinfo=UTC),
                  duration=timedelta(minutes=45), summary="s", description="d", tz=BERLIN)
    request = _event(meeting_ics(**kwargs, sequence=1))[1]
    cal, cancel = _event(meeting_ics(**kwargs, sequence=2, cancelled=True))
    assert str(cal["METHOD"]) == "CANCEL" and "ORGANIZER" not in cancel
    assert str(cancel["STATUS"]) == "CANCELLED"
    assert cancel["UID"] == request["UID"]
    assert int(cancel["SEQUENCE"]) > int(request["SEQUENCE"])


def test_ics_needs_aware_start_and_positive_duration() -> None:
    with pytest.raises(ValueError):
        meeting_ics(uid="u", starts_at=datetime(2026, 12, 3, 13), duration=timedelta(minutes=45),
                    summary="s", description="d", tz=BERLIN)
    with pytest.raises(ValueError):
        meeting_ics(uid="u", starts_at=NOW, duration=timedelta(0), summary="s", description="d", tz=BERLIN)


@pytest.mark.parametrize("text", ["31.12.9999 23:59", "9999-12-31 10:00", "01.01.0001 00:30", "1.1.1 0:30",
                                  f"12.03.{NOW.year + 11} 18:00"])
def test_times_out_of_range_or_too_far_ahead_are_not_read(text: str) -> None:
    """Issue 14 (hostile input): year 1 raised OverflowError (Berlin to UTC), year
    9999 became a meeting whose end and follow-ups no datetime holds."""
    assert read(text) is None


def test_a_time_ten_years_ahead_is_still_read_and_old_ones_are_past() -> None:
    assert read(f"12.03.{NOW.year + 9} 18:00") == Reading(when=berlin(NOW.year + 9, 3, 12, 18))
    assert read("01.01.1970 10:00") == Reading(past=berlin(1970, 1, 1, 10))
