"""/browse order (issue 11): the matcher's relevance first, names only for
equal scores and for people without a score."""
from __future__ import annotations

from types import SimpleNamespace

from handlers.browse import Entry, order_key


def entry(pid: int, name: str, score: float | None) -> Entry:
    return Entry(SimpleNamespace(id=pid), SimpleNamespace(name=name), False, False, score)  # type: ignore[arg-type]


def test_best_score_first_names_break_ties_unscored_last() -> None:
    entries = [
        entry(1, "Anna", 0.10),
        entry(2, "zora", 1.50),
        entry(3, "Bert", None),  # e.g. rated badly after a meeting: no score
        entry(4, "Ute", 0.75),
        entry(5, "Carla", 0.75),
        entry(6, "Abel", None),
        entry(7, "anna", 0.10),  # same name and score: by id
    ]
    ordered = sorted(entries, key=order_key)
    assert [(e.profile.name, e.person.id) for e in ordered] == [
        ("zora", 2), ("Carla", 5), ("Ute", 4), ("Anna", 1), ("anna", 7), ("Abel", 6), ("Bert", 3)]


def test_without_any_score_the_order_is_by_name() -> None:
    entries = [entry(1, "Zoe", None), entry(2, "Ben", None), entry(3, "ada", None)]
    assert [e.profile.name for e in sorted(entries, key=order_key)] == ["ada", "Ben", "Zoe"]
