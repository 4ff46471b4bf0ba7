"""`/browse`: participants look through the other side's profiles themselves
(issue 11, "Participants choose too").

One message, edited in place: a card like a suggestion card (name,
organisation, disciplines or sector, challenge or skills — never contact
details), ◀ ▶ and "n / N", a discipline filter (companies browsing
creatives) and a "möchte ich treffen" toggle.

Who is shown follows `handlers.suggestions.Scopes`: an event's participants
browse after the release, only among the people of their released events;
someone in no event browses the open pool of people in no event. Never the
person themself, paused people, people waiting for a release, a pair
declined by either side, or someone gone (deleted data has no profile row).

The order is the matcher's: `MatchingService.relevance` scores everyone in
the browsing person's scope as the suggestions do (best first); by name for
equal scores and after them those without a score (a pair rated badly after
a meeting, or no matching at all because it failed). The list costs a
constant number of queries, however many people it holds.

A mark is the existing card machinery: marking = answering one's card about
that person "interested" (the card is created if absent), so a mutual mark is
an introduction through the double opt-in, and the other side is invited by a
card as today. A one-sided mark puts that card first at the next /release or
/matches (`handlers.cards.marked_first`).

Buttons are row buttons (`BrowseButton`), checked on press against the list
as it is now: a person no longer in it, or a forged payload, changes nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from db.models import Person, Profile, Suggestion
from db.uow import DuplicateUpdate
from domain import model
from domain.model import CardStatus, PairStatus
from handlers.callbacks import BrowseButton
from handlers.cards import _invite_other_side, _pair_for, show_next_card
from handlers.suggestions import scopes
from handlers.text import describe, short
from i18n import language_of, t
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from handlers.turn import Turn
    from handlers.types import Button

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    person: Person
    profile: Profile
    marked: bool  # this person (the browser) marked them
    introduced: bool
    score: float | None = None  # the matcher's relevance for the browsing person


async def candidates(turn: Turn, person: Person, profile: Profile,
                     scores: Mapping[int, float] | None = None) -> list[Entry] | None:
    """The other side's profiles this person may browse, best first by the
    matcher's relevance (`relevance`; `scores` when already known), by name
    and id on equal scores, those without a score last by name; None while
    they wait for their event's release. A fixed number of queries, whatever
    the number of people."""
    scoped = await scopes(turn)
    if scoped.waiting(person.id):
        return None
    if scores is None:
        scores = await relevance(turn, person)
    scope = scoped.scope(person.id)
    other_side = "creative" if profile.side == "production" else "production"
    intros = turn.uow.intros
    mine = {s.counterpart_id: s for s in await intros.suggestions_of(person.id)}
    theirs = {s.person_id: s for s in await intros.suggestions_about(person.id)}
    pairs = {}
    for pair in await intros.pairs_of(person.id):
        pairs[model.other_id(pair, person.id)] = pair
    out: list[Entry] = []
    for other, other_profile in await turn.uow.people.completed_profiles():
        if other.id == person.id or other.paused or (other_profile.side or "creative") != other_side:
            continue
        if scoped.waiting(other.id) or not scoped.fits(scope, other.id):
            continue
        card = mine.get(other.id)
        pair = pairs.get(other.id)
        if card is not None and card.status == CardStatus.DECLINED:
            continue
        if pair is not None and pair.status == PairStatus.DECLINED:
            continue
        back = theirs.get(other.id)
        if back is not None and back.status == CardStatus.DECLINED:
            continue  # they said "not a fit"
        out.append(Entry(other, other_profile, card is not None and card.status == CardStatus.INTERESTED,
                         pair is not None and pair.status == PairStatus.INTRODUCED, scores.get(other.id)))
    out.sort(key=order_key)
    return out


def order_key(entry: Entry) -> tuple[bool, float, str, int]:
    """Best score first; equal scores, and everyone without one (after them), by name."""
    unscored = entry.score is None
    return unscored, 0.0 if unscored else -entry.score, (entry.profile.name or "").casefold(), entry.person.id


async def relevance(turn: Turn, person: Person) -> dict[int, float]:
    """The matcher's scores for this person's counterparts; {} (the list is
    then by name) when matching fails."""
    try:
        return await turn.services.matching.relevance(turn, person.id)
    except DuplicateUpdate:
        raise  # this update was handled before: nothing to send
    except Exception:
        log.exception("no relevance order for /browse; by name")
        return {}


def _filtered(entries: list[Entry], code: str) -> list[Entry]:
    return [e for e in entries if code in (e.profile.disciplines or [])] if code else entries


def _render(turn: Turn, person: Person, profile: Profile, entries: list[Entry], index: int,
            code: str) -> tuple[str, list[list[Button]]]:
    lang = turn.locale_of(person)
    shown = _filtered(entries, code)
    btn = lambda label, payload: turn.button_for(person, label, payload)  # noqa: E731
    filter_row: list[list[Button]] = []
    if profile.side == "production":
        label = DISCIPLINES[code][language_of(lang)] if code else t(lang, "browse.filter_all")
        filter_row = [[btn(t(lang, "browse.btn_filter", filter=label), BrowseButton("f", 0, code))]]
    if not shown:
        return t(lang, "browse.empty_filter" if code else "browse.empty"), filter_row
    index %= len(shown)
    entry = shown[index]
    other = entry.profile
    about_key = "card.challenge" if other.side == "production" else "card.skills"
    about = short(other.seeks if other.side == "production" else other.offers)
    head = t(lang, "browse.head", n=index + 1, total=len(shown))
    if code:
        head += " · " + DISCIPLINES[code][language_of(lang)]
    text = (f"{head}\n\n{describe(lang, other)}\n{t(lang, 'side.' + (other.side or 'creative'))}\n\n"
            f"{t(lang, about_key)}: {about}")
    rows: list[list[Button]] = []
    if len(shown) > 1:
        rows.append([btn("◀", BrowseButton("p", (index - 1) % len(shown), code)),
                     btn("▶", BrowseButton("p", (index + 1) % len(shown), code))])
    if entry.introduced:
        text += "\n\n" + t(lang, "browse.introduced", name=other.name or "")
    else:
        if entry.marked:
            text += "\n\n" + t(lang, "browse.marked", name=other.name or "")
        key = "browse.btn_unmark" if entry.marked else "browse.btn_mark"
        rows.append([btn(t(lang, key), BrowseButton("m", index, code, entry.person.id))])
    return text, rows + filter_row


def _filter_menu(turn: Turn, person: Person, entries: list[Entry], code: str) -> tuple[str, list[list[Button]]]:
    lang = turn.locale_of(person)
    present = [c for c in DISCIPLINES if any(c in (e.profile.disciplines or []) for e in entries)]
    buttons = [turn.button_for(person, ("✓ " if c == code else "") + DISCIPLINES[c][language_of(lang)],
                               BrowseButton("d", 0, c)) for c in present]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([turn.button_for(person, t(lang, "browse.filter_all"), BrowseButton("d", 0, ""))])
    return t(lang, "browse.filter_choose"), rows


async def cmd_browse(turn: Turn, profile: Profile, args: str) -> None:
    person = turn.person
    assert person is not None
    if profile.completed_at is None:
        turn.say("browse.incomplete")
        return
    if person.paused:
        turn.say("browse.paused")
        return
    entries = await candidates(turn, person, profile)
    if entries is None:
        turn.say("browse.wait_release")
        return
    text, buttons = _render(turn, person, profile, entries, 0, "")
    turn.send(text, buttons)


async def on_browse_button(turn: Turn, payload: BrowseButton) -> None:
    person = turn.person
    assert person is not None
    profile = await turn.uow.people.profile(person)
    if profile.completed_at is None or person.paused:
        turn.toast("browse.unavailable", alert=True)
        return
    entries = await candidates(turn, person, profile)
    if entries is None:
        turn.toast("browse.unavailable", alert=True)
        return
    if payload.op == "f":
        turn.edit(turn.ev.message_id, *_filter_menu(turn, person, entries, payload.filter))
        return
    if payload.op == "m":
        shown = _filtered(entries, payload.filter)
        entry = next((e for e in shown if e.person.id == payload.target), None)
        if entry is None or entry.introduced:
            turn.toast("browse.stale", alert=True)  # gone, paused, declined, or out of scope since
            turn.edit(turn.ev.message_id, *_render(turn, person, profile, entries, payload.index, payload.filter))
            return
        index = shown.index(entry)
        marked = await toggle_mark(turn, person, profile, entry)
        if marked is None:
            return  # introduced: the introduction is the answer
        scores = {e.person.id: e.score for e in entries if e.score is not None}
        entries = await candidates(turn, person, profile, scores) or []
        turn.toast("browse.toast_marked" if marked else "browse.toast_unmarked", name=entry.profile.name or "")
        turn.edit(turn.ev.message_id, *_render(turn, person, profile, entries, index, payload.filter))
        return
    index = payload.index if payload.op == "p" else 0
    turn.edit(turn.ev.message_id, *_render(turn, person, profile, entries, index, payload.filter))


async def toggle_mark(turn: Turn, person: Person, profile: Profile, entry: Entry) -> bool | None:
    """Mark (True), take back (False), or — when the other side had marked
    too — introduce the pair (None: `PairIntroduced` is published)."""
    intros = turn.uow.intros
    other = entry.person
    now = turn.services.now()
    card = await intros.suggestion_between(person.id, other.id)
    if card is not None and card.status == CardStatus.INTERESTED:
        company_id, creative_id = ((person.id, other.id) if profile.side == "production" else (other.id, person.id))
        model.unmark_card(card, await intros.pair(company_id, creative_id), person.id, now)
        return False
    was_open = card is not None and card.status == CardStatus.SHOWN
    if card is None:
        back = await intros.suggestion_between(other.id, person.id)
        reason_de = back.reason_de if back is not None and back.reason_de else t("de", "browse.reason")
        reason_en = back.reason_en if back is not None and back.reason_en else t("en", "browse.reason")
        card = await intros.add_suggestion(Suggestion(
            person_id=person.id, counterpart_id=other.id, score=back.score if back is not None else 0.0,
            reason_de=reason_de, reason_en=reason_en, status=CardStatus.PENDING))
    model.mark_card(card, now)
    person.ignored_in_row = 0
    pair = await _pair_for(turn, person, card, other)
    introduced = model.record_pair_answer(pair, person.id, True, now)
    if introduced is not None:
        turn.edit(turn.ev.message_id, turn.tr_for(person, "card.answered_mutual", name=entry.profile.name or ""))
        await turn.publish(introduced)
        return None
    if model.answer_of(pair, model.side_of(pair, other.id)) is None:
        await _invite_other_side(turn, person, other, card)
    if was_open:
        await show_next_card(turn, person)  # the open card is answered: the next one
    return True
