"""The message bus and the typed button payloads, without chat or database."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest

from domain.events import MeetingCancelled, MeetingScheduled, PairIntroduced
from handlers.bus import MessageBus
from handlers.callbacks import (PAYLOADS, CallbackSigner, CardButton, Choice, Consent, FeedbackButton, HandoverButton,
                                MeetingButton, OutcomeButton, Signed, WelcomeLanguage, unpack)

T0 = datetime(2027, 3, 4, 9, 0, tzinfo=timezone.utc)


@dataclass
class FakeTurn:
    events: list[Any] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


async def test_events_are_rendered_in_order_and_acted_on_after_the_commit() -> None:
    seen: list[str] = []

    async def render(turn: FakeTurn, event: Any) -> None:
        turn.said.append(f"render {type(event).__name__}")

    def plan(services: Any, event: MeetingScheduled) -> None:
        seen.append(f"plan {event.meeting_id}")

    def broken(services: Any, event: Any) -> None:
        raise RuntimeError("scheduler down")

    bus = MessageBus({PairIntroduced: [render], MeetingScheduled: [render]},
                     {MeetingScheduled: [broken, plan], MeetingCancelled: [plan]})
    turn = FakeTurn()
    await bus.publish(turn, PairIntroduced(1))  # type: ignore[arg-type]
    await bus.publish(turn, MeetingScheduled(5, T0))  # type: ignore[arg-type]
    assert turn.said == ["render PairIntroduced", "render MeetingScheduled"] and seen == []
    bus.after_commit(None, turn.events)  # type: ignore[arg-type]
    assert seen == ["plan 5"]  # a failing effect does not stop the others


@pytest.mark.parametrize("payload", [
    Choice("dis", "ux"), Choice("edit", "done"), Consent("y", "de", "12"), Consent("n", "en", ""),
    WelcomeLanguage("en", "3"), CardButton(41, "later"), MeetingButton(9, "p", "28512345"), MeetingButton(9, "cx"),
    FeedbackButton(4, "skip"), FeedbackButton(4, "r", "5"), OutcomeButton(8, "funding"), HandoverButton("p", 17),
    HandoverButton("x"),
])
def test_payloads_survive_signing(payload: Any) -> None:
    signer = CallbackSigner(b"k" * 32)
    data = signer.sign(77, payload.action, payload.pack(), 3)
    signed = signer.verify(77, data)
    assert signed is not None and signed.version == 3
    assert unpack(signed) == payload
    assert signer.verify(78, data) is None  # someone else's button


def test_values_that_do_not_fit_their_type_unpack_to_none() -> None:
    signer = CallbackSigner(b"k" * 32)
    for action, value in (("sg", "x:y"), ("mt", "9"), ("fb", "a:b:c"), ("fb", "1:2:3:4"), ("oc", ":idea"),
                          ("ho", "q1"), ("ho", "p"), ("zz", "1")):
        signed = signer.verify(5, signer.sign(5, action, value, 0))
        assert signed is not None and unpack(signed) is None, (action, value)
    assert {"sg", "mt", "fb", "oc", "ho", "consent", "plang", "lang", "del"} <= set(PAYLOADS)
    assert not CardButton.versioned and Choice.versioned


def test_hostile_callback_data_is_rejected_not_raised() -> None:
    """Issue 14.4: a modified client sends any text as callback data."""
    signer = CallbackSigner(b"k" * 32)
    genuine = signer.sign(5, "del", "yes", 2)
    sig = genuine.rsplit("|", 1)[1]
    for data in ("ä|ö|ü|ß", "del|yes|2|ßßßßßßßß", f"del|yés|2|{sig}", f"del|yes|２|{sig}", "\ud800|x|1|y",
                 f"del|yes|2|{sig}\ud800", "|||", "a" * 5000, f"del|yes|-2|{sig}"):
        assert signer.verify(5, data) is None, data
    assert signer.verify(5, genuine) == Signed("del", "yes", 2)


def test_pseudonym_is_stable_per_person_and_secret_and_hides_the_id() -> None:
    signer = CallbackSigner(b"secret")
    key = signer.pseudonym(8201)
    assert key == signer.pseudonym(8201) and len(key) <= 64
    assert key != signer.pseudonym(8202) and key != CallbackSigner(b"other").pseudonym(8201)
    assert "8201" not in key


def test_plea_to_go_back_is_told_from_an_answer() -> None:
    from handlers.text import looks_like_plea

    for plea in ("zurück", "Ich habe mich verklickt, bitte zurück!", "abbrechen", "go back please", "oops, wrong button, back"):
        assert looks_like_plea(plea), plea
    for answer in ("Back to Basics GmbH", "Back-Office-Leiterin", "Stop-Motion-Studio Halle",
                   "Wir wollen Kunden zurückgewinnen", "", "Tischlerei"):
        assert not looks_like_plea(answer), answer


def test_number_takes_only_plain_digits_that_fit_a_bigint() -> None:
    """Found by the fuzzer (tests/fuzz): `str.isdigit` lets "²" through to `int()`
    (ValueError), and ids beyond 63 bits made the database driver raise
    OverflowError instead of finding no row."""
    from handlers.callbacks import number

    assert number("0") == 0 and number("42") == 42 and number("9" * 18) == 10**18 - 1
    for text in ("", "²", "³²", "١٢", "𝟏", "Ⅻ", "-1", "+1", " 1", "1.5", "1e3", "9" * 19, str(2**64)):
        assert number(text) is None, text
    assert number("1234", digits=3) is None and number("123", digits=3) == 123


@pytest.mark.parametrize("action", sorted(PAYLOADS))
def test_no_payload_value_makes_unpack_raise_or_carry_a_number_beyond_63_bits(action: str) -> None:
    """Every payload type, with values a signed-but-forged button could carry
    (non-ASCII digits, numbers beyond 63 bits, empty and odd parts): unpack
    returns a payload with small numbers, or None — it never raises."""
    import dataclasses
    import itertools

    parts = ["", "1", "²", "١٢", "9" * 25, str(2**63), "x", "c", "p", "e", "g", "b", "ev", "pg", "rm", "a", "on"]
    values = {sep.join(combo) for n in range(1, 4) for combo in itertools.product(parts, repeat=n) for sep in ":."}
    values |= {f"{op}{n}" for op in "pcsgbecx" for n in ("²", "9" * 25, "1.²", "²:1", "1:²")}
    for value in values:
        payload = unpack(Signed(action, value, 0))
        if payload is None or not dataclasses.is_dataclass(payload):
            continue
        for f in dataclasses.fields(payload):
            v = getattr(payload, f.name)
            assert not isinstance(v, int) or 0 <= v < 2**63, (action, value, payload)


def test_a_signed_version_beyond_63_bits_or_in_other_digits_is_refused() -> None:
    signer = CallbackSigner(b"k" * 32)
    for version in ("9" * 19, "²", "١"):
        body = f"del|yes|{version}"
        assert signer.verify(5, f"{body}|{signer._sig(5, body)}") is None, version


def test_the_privacy_notices_buttons_carry_only_an_event_id() -> None:
    """Found by the fuzzer (tests/fuzz): the language switch of the privacy
    notice offers its event id again on the new buttons; a signed button with
    a long garbage "event id" made signing those raise (callback data too long)."""
    assert unpack(Signed("plang", "en-12", 0)) == WelcomeLanguage("en", "12")
    assert unpack(Signed("consent", "y-de-", 0)) == Consent("y", "de", "")
    for value in ("en-" + "9" * 40, "en-x", "en-²"):
        assert unpack(Signed("plang", value, 0)) is None, value
        assert unpack(Signed("consent", "y-" + value, 0)) is None, value
