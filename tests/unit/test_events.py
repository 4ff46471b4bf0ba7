"""Issue 13 without a database: what an organiser types at /newevent (dates,
places, formats, capacities), the QR code of an invitation link, the rules of
admission, and the new button payloads."""
from __future__ import annotations

import struct
import zlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from domain.admission import Admission, NotPending, decide, free_places, frees_a_place, moved_up, on_completion
from handlers.callbacks import ApplicationButton, CallbackSigner, EventButton, LeaveButton, unpack
from handlers.events import read_capacity, read_format, read_name, read_place, read_when, read_yes_no
from handlers.qr import qr_png, qr_size

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=timezone.utc)  # a Sunday


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ).astimezone(timezone.utc)


# --- dates ---------------------------------------------------------------------------------------

def test_a_start_alone() -> None:
    when = read_when("12.03.2027 18:00", "de", NOW, TZ)
    assert (when.starts, when.ends, when.error) == (utc(2027, 3, 12, 18, 0), None, None)
    assert read_when("Fri 12 Mar 2027 6pm", "en", NOW, TZ).starts == utc(2027, 3, 12, 18, 0)


@pytest.mark.parametrize("text", ["12.03.2027 18:00 bis 21:00", "12.03.2027 18:00 – 21 Uhr", "12.03.2027 18:00 - 21:00",
                                  "12.03.2027 18:00 to 9pm"])
def test_an_end_on_the_same_day(text: str) -> None:
    when = read_when(text, "de", NOW, TZ)
    assert (when.starts, when.ends) == (utc(2027, 3, 12, 18, 0), utc(2027, 3, 12, 21, 0)), when


def test_a_programme_over_several_days() -> None:
    when = read_when("12.03.2027 10:00 bis 14.03.2027 17:00", "de", NOW, TZ)
    assert (when.starts, when.ends) == (utc(2027, 3, 12, 10, 0), utc(2027, 3, 14, 17, 0))
    when = read_when("12.03.2027 10:00 bis 14.03. 17:00", "de", NOW, TZ)  # the end's year: near the start
    assert when.ends == utc(2027, 3, 14, 17, 0)
    assert read_when("2027-03-12 10:00", "de", NOW, TZ).starts == utc(2027, 3, 12, 10, 0)  # ISO hyphens stay a date


def test_bad_dates_say_why() -> None:
    assert read_when("01.01.2020 10:00", "de", NOW, TZ).error == "event.past_when"
    assert read_when("irgendwann bald", "de", NOW, TZ).error == "event.bad_when"
    assert read_when("12.03.2027", "de", NOW, TZ).error == "event.bad_when"  # a day without a time
    assert read_when("12.03.2027 18:00 bis 17:00", "de", NOW, TZ).error == "event.end_before_start"
    assert read_when("12.03.2027 18:00 bis später", "de", NOW, TZ).error == "event.bad_end"
    vague = read_when("Freitag vormittags", "de", NOW, TZ)  # a guessed time: asked to write it out
    assert vague.error == "event.which_when" and "10:00" in vague.fields["options"]


# --- the other answers -----------------------------------------------------------------------------

def test_names() -> None:
    assert read_name("  Creative   Production Lab ") == "Creative Production Lab"
    assert read_name("ab") is None and read_name("x" * 201) is None


def test_places_and_links() -> None:
    assert read_place("Werkstraße 5, 04109 Leipzig") == "Werkstraße 5, 04109 Leipzig"
    assert read_place("https://meet.example.org/crosslab") == "https://meet.example.org/crosslab"
    assert read_place("https://nohost") is None and read_place("x") is None and read_place("x" * 301) is None


@pytest.mark.parametrize("text, fmt", [("offenes Networking", "open"), ("Open networking", "open"),
                                       ("Breakout-Runden", "breakout"), ("breakout", "breakout"),
                                       ("Speed-Meetup", "speed"), ("speed meetup", "speed"),
                                       ("Bankett", None), ("breakout oder speed", None), ("", None)])
def test_formats(text: str, fmt: str | None) -> None:
    assert read_format(text) == fmt


@pytest.mark.parametrize("text, places", [("12", (12, 12)), ("5 10", (5, 10)), ("5/10", (5, 10)), ("5 + 10", (5, 10)),
                                          ("5 und 10", (5, 10)), ("unbegrenzt", (None, None)),
                                          ("Unlimited", (None, None)), ("0", None), ("viele", None), ("-3", None),
                                          ("12 Plätze", None), ("10001", None), ("1 2 3", None)])
def test_capacities(text: str, places: tuple[int | None, int | None] | None) -> None:
    assert read_capacity(text) == places


def test_yes_and_no() -> None:
    assert read_yes_no("Ja") is True and read_yes_no("no.") is False and read_yes_no("vielleicht") is None


# --- the QR code -------------------------------------------------------------------------------------

def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    return chunks


def test_the_qr_code_is_a_png_of_segnos_symbol_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import segno

    link = "https://t.me/crosslab_bot?start=evAbC123xy"
    given: list[str] = []
    make = segno.make
    monkeypatch.setattr(segno, "make", lambda content, **kw: given.append(content) or make(content, **kw))
    png = qr_png(link)
    assert given == [link]  # segno encoded exactly the link
    chunks = _png_chunks(png)
    width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
    assert (width, height) == qr_size(link) == make(link, error="m", micro=False).symbol_size(scale=16, border=4)
    assert width >= 400 and b"IEND" in chunks  # big enough for a poster, and complete
    assert len(zlib.decompress(chunks[b"IDAT"])) > 0
    assert qr_png("https://t.me/crosslab_bot?start=other") != png


# --- admission -----------------------------------------------------------------------------------------

def test_admission_rules() -> None:
    assert on_completion(approval=False, taken=0, capacity=None) == Admission.APPROVED
    assert on_completion(approval=True, taken=11, capacity=12) == Admission.PENDING
    assert on_completion(approval=True, taken=12, capacity=12) == Admission.WAITING
    assert on_completion(approval=False, taken=3, capacity=3) == Admission.WAITING
    assert free_places(3, 5) == 2 and free_places(7, 5) == 0 and free_places(7, None) is None
    assert moved_up(True) == Admission.PENDING and moved_up(False) == Admission.APPROVED
    assert decide("pending", True) == Admission.APPROVED and decide("pending", False) == Admission.DECLINED
    with pytest.raises(NotPending):
        decide("approved", False)
    assert frees_a_place("pending") and frees_a_place("approved")
    assert not frees_a_place("waiting") and not frees_a_place("declined") and not frees_a_place("registered")


# --- buttons ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload", [EventButton("fmt", 0, "breakout", 7), EventButton("rmco", 12, "1234567890123", 0),
                                     ApplicationButton(4, 99, "q"), LeaveButton(3, "y")])
def test_new_payloads_round_trip_within_64_bytes(payload) -> None:
    signer = CallbackSigner(b"secret")
    data = signer.sign(2_000_000_000_000, payload.action, payload.pack(), 0)
    assert len(data.encode()) <= 64
    assert unpack(signer.verify(2_000_000_000_000, data)) == payload


@pytest.mark.parametrize("action, value", [("ev", "fmt:0:x:1:2"), ("ev", "zap:0::0"), ("ev", "show:a::0"),
                                           ("ev", "fmt:0:a-b:0"), ("ap", "1:2:z"), ("ap", "1:x:a"), ("lv", "1:q")])
def test_malformed_payloads_are_refused(action: str, value: str) -> None:
    from handlers.callbacks import Signed

    assert unpack(Signed(action, value, 0)) is None
