"""Short human reasons for a suggestion, in German and English.

A reason names what connects the two — the discipline the company confirmed
in onboarding when the creative is in it, else the shared challenge type with the
words from both texts that triggered it, else the discipline the challenge
calls for (the exemplar bridge's, then the stems'), else the words both texts share, else a snippet of the
counterpart's text — plus, when the creative described a wish, what of it
fits, and a note when no common working language is known.  Never a score.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from matching import taxonomy
from matching.concepts import type_words
from matching.scoring import CohortFeatures
from matching.text import fold, surface_words

# One or two plain sentences in the reader's language, no symbols. A reason is
# shared by both sides of a pair (and shown to organisers), so it names nobody
# and addresses nobody (no Sie/du): nobody reads about themselves.
_TEMPLATES = {
    "de": {
        "challenge": "Die Herausforderung „{label}“ ({left}) passt zur Erfahrung mit {right}.",
        "challenge_one": "Beide Profile drehen sich um „{label}“ ({words}).",
        "wanted": "Gewünscht ist {label} – genau das ist das Fach auf der kreativen Seite.",
        "discipline": "Die Aufgabe braucht {label} – genau das ist das Fach auf der kreativen Seite.",
        "discipline_words": "Die Aufgabe braucht {label} – genau das ist das Fach auf der kreativen Seite ({words}).",
        "shared": "Beide Profile sprechen von {words}.",
        "similar": "Aus dem Profil: „{snippet}“",
        "nothing": "Noch gibt es keine Beschreibung zum Vergleichen.",
        "wish_type": "Dazu passt auch die gesuchte Zusammenarbeit ({words}).",
        "wish_sector": "Dazu passt auch der Wunsch, mit Betrieben aus dem Bereich {label} zu arbeiten ({words}).",
        "wish_words": "Dazu passt auch die gesuchte Zusammenarbeit: {words}.",
        "language": "Hinweis: Eine gemeinsame Arbeitssprache ist nicht bekannt ({left} / {right}).",
        "quote": "„{}“",
        "and": " und ",
    },
    "en": {
        "challenge": "The challenge “{label}” ({left}) fits the experience with {right}.",
        "challenge_one": "Both profiles are about “{label}” ({words}).",
        "wanted": "{label} is what is wanted – exactly the field on the creative side.",
        "discipline": "The task calls for {label} – exactly the field on the creative side.",
        "discipline_words": "The task calls for {label} – exactly the field on the creative side ({words}).",
        "shared": "Both profiles speak of {words}.",
        "similar": "From the profile: “{snippet}”",
        "nothing": "There is no description to compare yet.",
        "wish_type": "It also fits the collaboration being looked for ({words}).",
        "wish_sector": "It also fits the wish to work with businesses in {label} ({words}).",
        "wish_words": "It also fits the collaboration being looked for: {words}.",
        "language": "Note: no common working language is known ({left} / {right}).",
        "quote": "“{}”",
        "and": " and ",
    },
}
LANGUAGES = tuple(_TEMPLATES)
# a bridge discipline is named when need(c, d) · membership(k, d) reaches this:
# ≈ 3 × the uniform share of the need (1/14) on a discipline the creative is in
BRIDGE_REASON_MIN = 0.2
# a confirmed discipline is named when the creative is in it: declared in
# onboarding, or within ln 2 of its best-fitting discipline (membership ≥ ½)
WANTED_REASON_MIN = 0.5


def _quote(lang: str, words: Sequence[str], limit: int = 2) -> str:
    q = _TEMPLATES[lang]["quote"]
    return _TEMPLATES[lang]["and"].join(q.format(w) for w in list(words)[:limit])



def _snippet(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.-–") + " …"


def _stem_pairs(left: str, right: str, min_len: int = 5, limit: int = 2) -> list[tuple[str, str]]:
    """Word pairs of two texts sharing a substring of ≥ min_len letters
    (so "Polsterei" meets "Polsterbezüge"), longest overlap first."""
    from matching.text import STOPWORDS

    def cands(text: str) -> list[tuple[str, str]]:
        out = []
        for surface in dict.fromkeys(surface_words(text)):
            folded = fold(surface).replace("-", "")
            if len(folded) >= min_len and folded not in STOPWORDS:
                out.append((surface, folded))
        return out

    found: list[tuple[int, str, str]] = []
    right_words = cands(right)
    for ls, lf in cands(left):
        grams = {lf[i:i + min_len] for i in range(len(lf) - min_len + 1)}
        for rs, rf in right_words:
            if any(rf[i:i + min_len] in grams for i in range(len(rf) - min_len + 1)):
                # longest common substring length as the ordering key
                best = max(
                    (n for n in range(min_len, min(len(lf), len(rf)) + 1)
                     if any(rf[i:i + n] in lf for i in range(len(rf) - n + 1))),
                    default=min_len,
                )
                found.append((best, ls, rs))
    found.sort(key=lambda t: -t[0])
    pairs, used_left, used_right = [], set(), set()
    for _, ls, rs in found:
        if ls in used_left or rs in used_right:
            continue
        pairs.append((ls, rs))
        used_left.add(ls)
        used_right.add(rs)
        if len(pairs) == limit:
            break
    return pairs


def explain_pair(features: CohortFeatures, i: int, j: int, viewer_side: str) -> dict[str, str]:
    """Reasons (de, en) for company i and creative j, as seen by `viewer_side`."""
    c, k = features.companies[i], features.creatives[j]
    hits = features.hits
    type_codes = list(taxonomy.CHALLENGE_TYPES)
    disc_codes = list(taxonomy.DISCIPLINES)
    sector_codes = list(taxonomy.SECTORS)
    reasons: dict[str, list[str]] = {lang: [] for lang in LANGUAGES}

    # 0. the discipline the company confirmed, when the creative is in it
    primary_done = False
    code = _wanted_discipline(features, i, j)
    if code is not None:
        label = taxonomy.DISCIPLINES[code]
        for lang in LANGUAGES:
            reasons[lang].append(_TEMPLATES[lang]["wanted"].format(label=label[lang]))
        primary_done = True

    # 1. the challenge type both texts point to
    contrib = features.tax_c[i] * features.tax_k[j]
    best = int(np.argmax(contrib)) if contrib.size else 0
    if not primary_done and contrib.size and contrib[best] > 0:
        code = type_codes[best]
        label = taxonomy.CHALLENGE_TYPES[code]["label"]
        left = type_words(hits["c_seeks"][c.id], best)
        right = type_words(hits["k_offers"][k.id], best)
        for lang in LANGUAGES:
            t = _TEMPLATES[lang]
            if left and right:
                reasons[lang].append(t["challenge"].format(label=label[lang], left=_quote(lang, left),
                                                           right=_quote(lang, right)))
            else:
                reasons[lang].append(t["challenge_one"].format(label=label[lang], words=_quote(lang, left or right)))
        primary_done = True

    # 2a. the discipline the exemplar bridge sees (fused ranking): a good part
    # of the problem's need falls on a discipline the creative is in
    bridge = getattr(features, "bridge", None)
    if not primary_done and bridge is not None:
        contrib = bridge.need[i] * bridge.member[j]
        best = int(np.argmax(contrib))
        if contrib[best] >= BRIDGE_REASON_MIN:
            label = taxonomy.DISCIPLINES[disc_codes[best]]
            for lang in LANGUAGES:
                reasons[lang].append(_TEMPLATES[lang]["discipline"].format(label=label[lang]))
            primary_done = True

    # 2b. the discipline the challenge calls for (stems)
    if not primary_done and features.disc_c.size:
        contrib = features.disc_c[i] * features.disc_k[j]
        best = int(np.argmax(contrib))
        if contrib[best] > 0.15:
            label = taxonomy.DISCIPLINES[disc_codes[best]]
            words = hits["d_k_offers"][k.id].words.get(best, ())
            for lang in LANGUAGES:
                t = _TEMPLATES[lang]
                if words:
                    reasons[lang].append(t["discipline_words"].format(label=label[lang], words=_quote(lang, words)))
                else:
                    reasons[lang].append(t["discipline"].format(label=label[lang]))
            primary_done = True

    # 3. words both texts share (compound-aware), 4. a snippet
    if not primary_done:
        query = " ".join(x for x in (c.seeks, c.trade) if x)
        pairs = _stem_pairs(query, k.offers)
        if pairs:
            for lang in LANGUAGES:
                q = _TEMPLATES[lang]["quote"]
                words = ", ".join(f"{q.format(a)}/{q.format(b)}" if a != b else q.format(a) for a, b in pairs)
                reasons[lang].append(_TEMPLATES[lang]["shared"].format(words=words))
        else:
            other = k.offers if viewer_side == "production" else (c.seeks or c.trade)
            for lang in LANGUAGES:
                t = _TEMPLATES[lang]
                reasons[lang].append(t["similar"].format(snippet=_snippet(other)) if other.strip()
                                     else t["nothing"])

    # the creative's wish, when it fits this company
    if k.seeks.strip() and c.trade.strip():
        wish = _wish_reason(features, i, j, type_codes, sector_codes)
        if wish:
            for lang in LANGUAGES:
                reasons[lang].append(wish[lang])

    # working languages: only worth a note when somebody stated theirs (a
    # chat language alone says little; many German speakers work in English)
    if (c.languages_stated or k.languages_stated) and not (c.working_languages & k.working_languages):
        left = "/".join(sorted(c.working_languages))
        right = "/".join(sorted(k.working_languages))
        for lang in LANGUAGES:
            reasons[lang].append(_TEMPLATES[lang]["language"].format(left=left, right=right))

    return {lang: " ".join(p[:1].upper() + p[1:] for p in parts) for lang, parts in reasons.items()}


def _wanted_discipline(features: CohortFeatures, i: int, j: int) -> str | None:
    """The confirmed discipline of company i the creative j is most in
    (membership of the exemplar bridge, or declared without one), if any."""
    c, k = features.companies[i], features.creatives[j]
    if not c.wanted:
        return None
    codes = list(taxonomy.DISCIPLINES)
    bridge = getattr(features, "bridge", None)
    best, best_value = None, 0.0
    for code in c.wanted:
        if code not in taxonomy.DISCIPLINES:
            continue
        if bridge is not None:
            value = float(bridge.member[j][codes.index(code)])
        else:
            value = 1.0 if code in k.disciplines else 0.0
        if value > best_value:
            best, best_value = code, value
    return best if best_value >= WANTED_REASON_MIN else None


def _wish_reason(features: CohortFeatures, i: int, j: int, type_codes, sector_codes) -> dict[str, str] | None:
    c, k = features.companies[i], features.creatives[j]
    hits = features.hits
    s_contrib = features.b_sector_c[i] * features.b_sector_k[j]
    t_contrib = features.b_tax_c[i] * features.b_tax_k[j]
    if s_contrib.size and s_contrib.max() > 0 and s_contrib.max() >= (t_contrib.max() if t_contrib.size else 0):
        best = int(np.argmax(s_contrib))
        label = taxonomy.SECTORS[sector_codes[best]]["label"]
        words = hits["s_k_seeks"][k.id].words.get(best, ())
        return {lang: _TEMPLATES[lang]["wish_sector"].format(words=_quote(lang, words, 1), label=label[lang]) for lang in LANGUAGES}
    if t_contrib.size and t_contrib.max() > 0:
        best = int(np.argmax(t_contrib))
        label = taxonomy.CHALLENGE_TYPES[type_codes[best]]["label"]
        words = type_words(hits["k_seeks"][k.id], best)
        return {lang: _TEMPLATES[lang]["wish_type"].format(words=_quote(lang, words, 1), label=label[lang]) for lang in LANGUAGES}
    pairs = _stem_pairs(k.seeks, c.trade, limit=1)
    if pairs:
        a, b = pairs[0]
        out = {}
        for lang in LANGUAGES:
            q = _TEMPLATES[lang]["quote"]
            out[lang] = _TEMPLATES[lang]["wish_words"].format(
                words=f"{q.format(a)}/{q.format(b)}" if a != b else q.format(a))
        return out
    return None
