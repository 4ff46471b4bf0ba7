"""The broadcast text: placeholders, the worst-case length, the link button."""
from __future__ import annotations

import pytest

from handlers.broadcast import NAME_LIMIT, TemplateError, bar, check_text, longest, parse, read_link, render


def test_placeholders_are_filled_in_and_braces_kept() -> None:
    text = "Hallo {vorname}, {event} beginnt. {{vorname}} bleibt stehen, }} auch."
    assert render(text, "Klara", "Werkstatttag") == "Hallo Klara, Werkstatttag beginnt. {vorname} bleibt stehen, } auch."
    assert render("{vorname}", "x" * 100, "") == "x" * (NAME_LIMIT - 1) + "…"
    assert render("Treffen: {event}.", "K", "") == "Treffen: ."


@pytest.mark.parametrize("text, key, given", [
    ("Hallo {name}", "bc.bad_placeholder", "{name}"),
    ("Hallo {}", "bc.bad_placeholder", "{}"),
    ("Hallo {0}", "bc.bad_placeholder", "{0}"),
    ("Hallo {vorname!r}", "bc.bad_placeholder", "{vorname!r}"),
    ("Hallo {vorname:>20}", "bc.bad_placeholder", "{vorname:>20}"),
    ("Hallo {vorname.__class__}", "bc.bad_placeholder", "{vorname.__class__}"),
    ("Hallo {vorname", "bc.bad_braces", None),
    ("Preis } 5", "bc.bad_braces", None),
    ("{", "bc.bad_braces", None),
])
def test_unknown_placeholders_and_lone_braces_are_refused(text: str, key: str, given: str | None) -> None:
    with pytest.raises(TemplateError) as info:
        parse(text)
    assert info.value.key == key
    if given is not None:
        assert info.value.fields["given"] == given


def test_the_length_counts_the_longest_name_and_the_event() -> None:
    assert longest("Hi {vorname}, {event}", "Werkstatttag") == len("Hi , ") + NAME_LIMIT + len("Werkstatttag")
    assert check_text("x" * 4096, "") is None
    problem = check_text("x" * 4090 + "{vorname}", "")
    assert problem is not None and problem.key == "bc.too_long" and problem.fields["worst"] == 4090 + NAME_LIMIT
    assert check_text("  \n ", "").key == "bc.empty_text"  # type: ignore[union-attr]


@pytest.mark.parametrize("text, expected", [
    ("Zur Anmeldung https://example.org/a?b=1", {"label": "Zur Anmeldung", "url": "https://example.org/a?b=1"}),
    ("  Programm   http://cp-lab.de/programm ", {"label": "Programm", "url": "http://cp-lab.de/programm"}),
    ("https://example.org", None),  # no label
    ("Los javascript:alert(1)", None),
    ("Los ftp://example.org/x", None),
    ("Los https://localhost/x", None),
    ("Los https://exa<mple.org", None),
    ("x" * 41 + " https://example.org", None),  # label too long
])
def test_link_buttons(text: str, expected: dict[str, str] | None) -> None:
    assert read_link(text) == expected


def test_progress_bar() -> None:
    assert bar(0, 10) == "░" * 10 and bar(5, 10) == "▓" * 5 + "░" * 5 and bar(3, 0) == "▓" * 10
