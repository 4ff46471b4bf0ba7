"""Flood control per person (handlers/flood.py), on every harness: one person
sends 200 messages at machine speed while another keeps talking to the bot.

The gate's clock is frozen (no token comes back during the flood, whatever
the machine's speed) and moved by hand: no timing in the assertions."""
from __future__ import annotations

from db.models import ProcessedUpdate
from i18n import t

BURST = 20  # the settings these scenarios run with (test_scenarios.py)


class FrozenClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _count(chat, text: str) -> int:
    return sum(1 for m in chat.messages if m.text == text)


async def one_person_floods_others_are_answered(h) -> None:
    clock = FrozenClock()
    h.core.flood.clock = clock
    notice = t("de", "flood.slow_down")
    anna, bea = h.chat(8801, "Anna", "de"), h.chat(8802, "Bea", "en")
    await anna.say("/start")
    await anna.press("Einverstanden")
    await anna.say("Anna Flut")
    assert "Aus welchem Bereich" in anna.last.text  # 3 of Anna's 20 tokens used
    await bea.say("/start")
    await bea.press("I agree")
    handled = await h.count(ProcessedUpdate)

    bea_asked = 0
    for i in range(200):
        await anna.say(f"Nachricht {i} 🌊")
        if i % 25 == 0:  # Bea, meanwhile: answered every time, never told to slow down
            before = len(bea.messages)
            new = await bea.say("/help")
            bea_asked += 1
            assert new and len(bea.messages) > before
            assert all(m.text != t("en", "flood.slow_down") for m in new)
        if i == 150:  # a button pressed in the flood is answered (a toast), and nothing happens
            await anna.press("Produktion")
            assert anna.last_toast == t("de", "flood.toast")

    # Anna: 17 more messages handled, the rest dropped with one notice, her step unchanged.
    assert _count(anna, notice) == 1
    assert await h.count(ProcessedUpdate) == handled + (BURST - 3) + bea_asked
    assert (await h.state(8801)).step == "side"
    assert _count(bea, t("en", "flood.slow_down")) == 0

    # A second later her next message is handled as usual: the button works.
    clock.now += 1.0
    await anna.press("Produktion")
    assert anna.last_toast != t("de", "flood.toast")
    assert (await h.state(8801)).step != "side"
    assert _count(anna, notice) == 1

    # Quiet until the bucket is full again: the episode is over; a new flood is told again.
    clock.now += BURST + 1.0
    for i in range(BURST + 5):
        await anna.say(f"Noch einmal {i}")
    assert _count(anna, notice) == 2


ALL = [one_person_floods_others_are_answered]
