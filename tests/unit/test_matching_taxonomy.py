"""Taxonomy and keyword matching: compounds, blockers, anchors, phrases."""
from __future__ import annotations

import pytest

from matching import taxonomy
from matching.concepts import Lexicon, challenge_lexicon, discipline_lexicon, sector_lexicon
from matching.text import content_words, fold, tokenize


def types_in(text: str) -> set[str]:
    lex = challenge_lexicon()
    return {lex.codes[c].split(":", 1)[1] for c in lex.extract(text).weights}


def test_discipline_codes_are_stable():
    assert list(taxonomy.DISCIPLINES) == [
        "product_design", "communication_design", "brand_strategy", "marketing", "photo_film", "architecture",
        "digital", "ux", "text", "art", "music_sound", "events_performance", "fashion_textile", "innovation_business",
    ]


def test_every_challenge_type_is_bilingual_and_maps_to_known_disciplines():
    assert len(taxonomy.CHALLENGE_TYPES) >= 17
    for code, spec in taxonomy.CHALLENGE_TYPES.items():
        assert set(spec["label"]) == {"de", "en"}, code
        assert spec["disciplines"] and set(spec["disciplines"]) <= set(taxonomy.DISCIPLINES), code
        assert spec["need"] and spec["skill"], code
    for code in taxonomy.DISCIPLINE_KEYWORDS:
        assert code in taxonomy.DISCIPLINES
    for spec in taxonomy.SECTORS.values():
        assert set(spec["label"]) == {"de", "en"}


def test_fold_spells_out_umlauts():
    assert fold("Übersetzung") == "uebersetzung"
    assert fold("Straße") == "strasse"
    assert fold("Café") == "cafe"


def test_tokenize_splits_hyphenated_compounds_and_keeps_surface():
    tokens, owners = tokenize("Recruiting-Videos für Betriebe")
    assert tokens == ("recruiting", "videos", "fuer", "betriebe")
    assert owners[:2] == ("Recruiting-Videos", "Recruiting-Videos")
    assert "fuer" not in content_words("Recruiting-Videos für Betriebe")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Wir brauchen neue Kaffeeverpackungen", "packaging"),  # stem inside a compound
        ("Uns fehlen Auszubildende", "recruiting"),
        ("Our operators find the interface confusing", "ux_digital_products"),
        ("Wir wollen Kunden in Frankreich gewinnen", "export"),
        ("Die Betriebsübergabe an die nächste Generation", "succession_strategy"),
        ("We need a circular product strategy", "sustainability"),
        ("Ein Kaffee-Abo anbieten", "pricing_business_model"),
        ("Tag der offenen Werkstatt organisieren", "events"),
    ],
)
def test_challenge_types_are_found_in_german_and_english(text, expected):
    assert expected in types_in(text)


def test_longest_match_wins_inside_a_word():
    assert "ecommerce" not in types_in("Zukunftsworkshops")  # workshop is no shop
    assert "imagery" not in types_in("Ausbildung")  # ausbildung is no picture
    assert "brand" not in types_in("Growth marketer")  # marketer is no brand


def test_anchored_stems_do_not_match_inside_words():
    lex = Lexicon({"ux": ["=ux"], "abo": ["^abo"]})
    assert not lex.extract("Luxus im Labor").weights
    assert lex.extract("UX und Abonnements").weights.keys() == {0, 1}


def test_phrases_match_consecutive_words_with_open_end():
    lex = Lexicon({"open": ["tag der offenen"]})
    assert lex.extract("Ein Tag der offenen Werkstatt").weights == {0: 1.0}
    assert not lex.extract("Der Tag war offen").weights


def test_weights_and_surface_words_are_reported():
    lex = Lexicon({"a": ["foto:0.5", "fotograf"]})
    hits = lex.extract("Fotografin, Fotos")
    assert hits.weights[0] == pytest.approx(1.5)
    assert hits.words[0] == ("Fotografin", "Fotos")


def test_empty_text_has_no_concepts():
    for lex in (challenge_lexicon(), discipline_lexicon(), sector_lexicon()):
        assert not lex.extract("")
        assert not lex.extract("   ")


def test_disciplines_and_sectors_are_recognised():
    d = discipline_lexicon()
    s = sector_lexicon()
    assert {d.codes[c] for c in d.extract("Fotografin und Texterin").weights} == {"photo_film", "text"}
    assert "crafts" in {s.codes[c] for c in s.extract("Dachdeckerei mit 12 Mitarbeitenden").weights}
    assert "food" in {s.codes[c] for c in s.extract("Kaffeerösterei").weights}
