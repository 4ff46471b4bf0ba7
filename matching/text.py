"""Text normalisation shared by the lexical and taxonomy signals.

German and English profile texts are folded to a common form: lower case,
umlauts spelled out (ä → ae, ß → ss), accents removed, so that "Übersetzung",
"Uebersetzung" and "ubersetzung" meet.  Words are split on everything that is
not a letter or digit, so a hyphenated compound ("Recruiting-Videos") yields
its parts; closed compounds ("Verkaufsräume") are handled by the callers
(character n-grams, substring stems).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "œ": "oe"})

# A surface word keeps its hyphens ("Recruiting-Videos") so explanations can
# quote it whole; it is split into parts for matching.
SURFACE_WORD = re.compile(r"[^\W_]+(?:[-‐‑'’][^\W_]+)*")
_PART = re.compile(r"[^\W_]+")

STOPWORDS = frozenset(
    """
    a ab aber alle allem allen aller alles als also am an and andere anderen any are as at auch auf aus
    bei beim bin bis bisher bist but by da dabei damit dann das dass dazu dein deine dem den denen der
    deren des dessen dich die dies diese diesem diesen dieser dieses dir do doch dort du durch ein eine
    einem einen einer eines er es etwa euch euer eure for from fuer gar gegen gibt hat hatte haben habe
    he her hier him his ich ihm ihn ihr ihre ihrem ihren ihrer im in ins into is ist it its ja je jede
    jedem jeden jeder jedes jetzt kann kein keine keinen koennen man mehr mein meine mich mir mit muss
    nach nicht noch nun nur ob oder of ohne on or our ours per sehr sein seine sich sie sind so sollen
    soll sowie that the their them there these they this to ueber um und uns unser unsere unseren
    unserer unseres us vom von vor war waren was we weil welche wenn wer werden wie wieder will wir
    wird with wo wollen would you your zu zum zur zwar
    """.split()
)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """Lower-case, spell out umlauts and strip remaining accents."""
    word = word.lower().translate(_FOLD)
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def surface_words(text: str) -> list[str]:
    """Words as written, hyphenated compounds kept whole."""
    return SURFACE_WORD.findall(text or "")


@lru_cache(maxsize=200_000)
def _parts(surface: str) -> tuple[str, ...]:
    return tuple(fold(p) for p in _PART.findall(surface))


def parts(surface: str) -> list[str]:
    """Folded parts of one surface word ("Recruiting-Videos" → recruiting, videos)."""
    return list(_parts(surface))


@lru_cache(maxsize=200_000)
def tokenize(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(folded word parts, the surface word each part belongs to), memoised."""
    tokens: list[str] = []
    owners: list[str] = []
    for surface in SURFACE_WORD.findall(text or ""):
        for part in _parts(surface):
            tokens.append(part)
            owners.append(surface)
    return tuple(tokens), tuple(owners)


def words(text: str) -> list[str]:
    """All folded word parts of a text, in order."""
    return list(tokenize(text or "")[0])


def content_words(text: str) -> list[str]:
    """Folded word parts without stop words and one-letter tokens."""
    return [w for w in tokenize(text or "")[0] if len(w) > 1 and w not in STOPWORDS]
