"""Typed answers to questions that come with buttons: "ok", "passt", "ja" for
the button that says yes, "4" or "4 Sterne" for the fourth star. Pure
functions; the flows decide what an answer means at their step (see
docs/conversations.md)."""
from __future__ import annotations

import re
import unicodedata

YES, NO, MAYBE, MOVED = "yes", "no", "maybe", "moved"

_WORDS: dict[str, frozenset[str]] = {
    YES: frozenset({
        "ja", "jap", "jep", "jo", "japp", "klar", "gern", "gerne", "ok", "okay", "oki", "okey", "passt", "einverstanden",
        "geht", "geht klar", "ja gerne", "ja passt", "passt gut", "passt so", "passt mir", "ja klar", "sehr gern",
        "sehr gerne", "prima", "super", "gut", "alles klar", "ja bitte", "ok passt", "jawohl", "genau", "stimmt",
        "ja haben wir", "ja wir haben uns getroffen", "haben wir", "yes", "yeah", "yep", "yup", "sure", "fine", "works",
        "that works", "sounds good", "great", "perfect", "yes please", "of course", "we did", "yes we did",
        "yes we met", "👍", "✅", "y", "j",
    }),
    NO: frozenset({
        "nein", "nee", "ne", "nö", "noe", "nein danke", "passt nicht", "geht nicht", "leider nicht", "leider nein",
        "nicht", "eher nicht", "lieber nicht", "nein leider", "passt leider nicht", "geht leider nicht",
        "nein es ist ausgefallen", "ausgefallen", "no", "nope", "nah", "no thanks", "doesn't work", "does not work",
        "doesnt work", "not really", "no it fell through", "fell through", "we didn't", "we did not", "👎", "❌",
        "n",
    }),
    MAYBE: frozenset({
        "vielleicht", "evtl", "eventuell", "mal sehen", "mal schauen", "kann sein", "weiß nicht", "weiss nicht",
        "möglicherweise", "maybe", "perhaps", "possibly", "not sure", "🤷",
    }),
    MOVED: frozenset({
        "verschoben", "wir haben es verschoben", "haben verschoben", "verlegt", "moved", "we moved it", "postponed",
        "rescheduled",
    }),
}

_NUMBER_WORDS = {"eins": 1, "einen": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "fuenf": 5,
                 "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(
    r"(?P<n>[1-5]|" + "|".join(_NUMBER_WORDS) + r")"
    r"(?: ?(?:/ ?5|von 5|of 5|out of 5))?"
    r"(?: ?(?:sterne?|stars?|punkte?|points?|⭐+|\*))?"
)


def _clean(text: str) -> str:
    s = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    s = re.sub(r"[.,;:!?()\"„“”]+", " ", s)
    return " ".join(s.split())


def choice(text: str, allowed: tuple[str, ...] = (YES, NO)) -> str | None:
    """Which of `allowed` (yes, no, maybe, moved) a typed text says; None if
    none or unclear."""
    s = _clean(text)
    found = [kind for kind in allowed if s in _WORDS[kind]]
    return found[0] if len(found) == 1 else None


def rating(text: str) -> int | None:
    """A rating from 1 to 5: "4", "4 Sterne", "4 stars", "4/5", "vier", "⭐⭐⭐⭐"."""
    s = _clean(text)
    if s and set(s) == {"⭐"}:
        return len(s) if len(s) <= 5 else None
    m = _RATING.fullmatch(s)
    if m is None:
        return None
    n = m.group("n")
    return int(n) if n.isdigit() else _NUMBER_WORDS[n]
