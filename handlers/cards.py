"""Suggestions as cards (`/matches`): one card at a time, answered with
Interested / Not now / Not a fit. Two "Interested" make an introduction
(`PairIntroduced`, rendered by `handlers.introductions`).

Card buttons are not tied to the conversation version (a card stays
answerable while someone edits their profile); their validity is checked
against the database: the card must belong to the presser and still be shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from db.models import Pair, Person, Profile, Suggestion
from domain import model
from domain.model import CardAnswer, CardStatus
from handlers.callbacks import CardButton
from handlers.suggestions import scopes
from handlers.text import describe, short
from i18n import t

if TYPE_CHECKING:
    from handlers.turn import Turn

NOT_NOW_DAYS = 14
# Someone chose this person while browsing (/browse) or answered their card
# "interested": that card goes first (this much above the person's best other card).
MARK_BONUS = 1.0


@dataclass(frozen=True)
class Offered:
    served: int  # people who have a card open now
    had_suggestions: int  # of `people`, those who had suggestions before


async def _suggest(turn: Turn, people: list[Person], pool: list[int] | None,
                   release: int | None = None) -> tuple[dict[int, list], set[int]]:
    """Suggestions for `people` (never a closed pair, a card answered no or
    interested, or one put off recently), and who had suggestions before."""
    intros = turn.uow.intros
    closed = set()
    for a, b in await intros.closed_pairs():
        closed.add((str(a), str(b)))
    blocked: dict[int, set[int]] = {}
    had: set[int] = set()
    now = turn.services.now()
    for person in people:
        for s in await intros.suggestions_of(person.id):
            had.add(person.id)
            recent_not_now = (s.status == CardStatus.NOT_NOW and s.answered_at
                              and now - s.answered_at < timedelta(days=NOT_NOW_DAYS))
            if s.status in (CardStatus.DECLINED, CardStatus.INTERESTED) or recent_not_now:
                blocked.setdefault(person.id, set()).add(s.counterpart_id)
    exclude = closed | {(str(p), str(c)) for p, cs in blocked.items() for c in cs}
    ids = [p.id for p in people if not p.paused]
    return await turn.services.matching.suggest_many(turn, ids, pool=pool, exclude=exclude, release=release), had


def _is_new(row: Suggestion | None, only_new: bool) -> bool:
    """Does this suggestion become a card to show (a new row, or one offered again)?"""
    return row is None or (row.status in model.CARD_REOFFERABLE and not (only_new and row.status == CardStatus.SHOWN))


async def _marked_by(turn: Turn, person: Person, scoped, now) -> list[Suggestion]:
    """Others' "interested" cards about `person` that may become (or move up)
    a card of theirs: within the scope, the marker not paused, and `person`
    has not answered that one already (nor put it off recently)."""
    out = []
    scope = scoped.scope(person.id)
    for mark in await turn.uow.intros.marked_by_others(person.id):
        if scoped.waiting(mark.person_id) or not scoped.fits(scope, mark.person_id):
            continue
        marker = await turn.uow.intros.person(mark.person_id)
        if marker is None or marker.paused:
            continue
        row = await turn.uow.intros.suggestion_between(person.id, mark.person_id)
        if row is not None and (row.status not in (CardStatus.PENDING, CardStatus.NOT_NOW, CardStatus.IGNORED)
                                or (row.status == CardStatus.NOT_NOW and row.answered_at
                                    and now - row.answered_at < timedelta(days=NOT_NOW_DAYS))):
            continue
        out.append(mark)
    return out


async def preview_suggestions(turn: Turn, people: list[Person], pool: list[int] | None = None, *,
                              release: int | None = None) -> dict[int, int]:
    """What `offer_suggestions(..., only_new=True)` would queue, without
    storing or sending anything (`release`: as if that event were released):
    person id -> number of new cards."""
    results, _ = await _suggest(turn, people, pool, release)
    scoped = await scopes(turn, release)
    out: dict[int, int] = {}
    for person in people:
        if person.paused:
            continue
        existing = {s.counterpart_id: s for s in await turn.uow.intros.suggestions_of(person.id)}
        suggested = {int(s.counterpart_id) for _profile, s in results.get(person.id, [])}
        n = sum(_is_new(existing.get(i), True) for i in suggested)
        if not scoped.waiting(person.id):
            n += sum(m.person_id not in suggested and _is_new(existing.get(m.person_id), True)
                     for m in await _marked_by(turn, person, scoped, turn.services.now()))
        if n:
            out[person.id] = n
    return out


async def offer_suggestions(turn: Turn, people: list[Person], pool: list[int] | None = None, *,
                            only_new: bool = False) -> Offered:
    """Compute suggestions for `people` (from `pool`, default everyone), store
    new ones, and show each person their next card.

    A card someone has open is sent again (they asked for their matches),
    unless `only_new` (an organiser's repeated release): then an open card
    stays as it is, and people who had suggestions before are not told that
    nothing is new. Someone waiting for their event's release
    (`handlers.suggestions.Scopes`) is told so instead of getting cards."""
    intros = turn.uow.intros
    results, had = await _suggest(turn, people, pool)
    scoped = await scopes(turn)
    served = 0
    for person in people:
        if person.paused:
            continue
        if scoped.waiting(person.id):
            if not only_new:
                turn.send(turn.tr_for(person, "matches.wait_release"), to=person)
            continue
        existing = {s.counterpart_id: s for s in await intros.suggestions_of(person.id)}
        for _profile, suggestion in results.get(person.id, []):
            other = int(suggestion.counterpart_id)
            row = existing.get(other)
            if row is None:
                await intros.add_suggestion(Suggestion(
                    person_id=person.id, counterpart_id=other, score=float(suggestion.score),
                    reason_de=suggestion.reason("de"), reason_en=suggestion.reason("en"), status=CardStatus.PENDING))
            elif _is_new(row, only_new):
                model.reoffer_card(row, float(suggestion.score))  # ignored: offered again when asked for
        await _marked_first(turn, person, scoped, {int(s.counterpart_id): float(s.score)
                                                   for _p, s in results.get(person.id, [])})
        if await show_next_card(turn, person, announce_empty=not (only_new and person.id in had)):
            served += 1
    return Offered(served, len(had))


async def _marked_first(turn: Turn, person: Person, scoped, scores: dict[int, float]) -> None:
    """People who chose `person` get a card (or it moves up): a one-sided
    mark is a strong signal, so those cards come first."""
    intros = turn.uow.intros
    marks = await _marked_by(turn, person, scoped, turn.services.now())
    marked = {m.person_id for m in marks}
    # Matcher scores are normalised per person (they may be negative or above 1): ahead of every other card.
    top = max([r.score for r in await intros.suggestions_of(person.id) if r.counterpart_id not in marked]
              + [v for k, v in scores.items() if k not in marked], default=0.0)
    for mark in marks:
        score = max(scores.get(mark.person_id, mark.score), top) + MARK_BONUS
        row = await intros.suggestion_between(person.id, mark.person_id)
        if row is None:
            await intros.add_suggestion(Suggestion(
                person_id=person.id, counterpart_id=mark.person_id, score=score, reason_de=mark.reason_de,
                reason_en=mark.reason_en, status=CardStatus.PENDING))
        elif row.status == CardStatus.PENDING:
            row.score = max(row.score, score)
        else:
            model.reoffer_card(row, max(row.score, score))


async def show_next_card(turn: Turn, person: Person, *, announce_empty: bool = False) -> bool:
    intros = turn.uow.intros
    rows = await intros.suggestions_of(person.id)
    if any(s.status == CardStatus.SHOWN for s in rows):
        return True  # one card at a time: the open one is still waiting
    pending = sorted((s for s in rows if s.status == CardStatus.PENDING), key=lambda s: -s.score)
    if not pending:
        if announce_empty:
            turn.send(turn.tr_for(person, "cards.none" if not rows else "cards.done"), to=person)
        return False
    card = pending[0]
    other = await intros.profile(card.counterpart_id)
    if other is None:  # deleted since
        model.withdraw_card(card)
        return await show_next_card(turn, person, announce_empty=announce_empty)
    model.show_card(card, turn.services.now())
    send_card(turn, person, card, other, await counterpart_interested(turn, person.id, card.counterpart_id))
    return True


async def resend_open_card(turn: Turn, person: Person) -> bool:
    """The card waiting for this person's answer, sent again (typed text
    where its buttons are expected); False if none is open."""
    for card in await turn.uow.intros.suggestions_of(person.id):
        if card.status == CardStatus.SHOWN:
            other = await turn.uow.intros.profile(card.counterpart_id)
            if other is not None:
                send_card(turn, person, card, other, await counterpart_interested(turn, person.id, card.counterpart_id))
                return True
    return False


def send_card(turn: Turn, person: Person, card: Suggestion, other: Profile, interested: bool, prefix: str = "") -> None:
    lang = turn.locale_of(person)
    buttons = [[turn.button_for(person, t(lang, "btn.interested"), CardButton(card.id, CardAnswer.YES))],
               [turn.button_for(person, t(lang, "btn.not_now"), CardButton(card.id, CardAnswer.LATER)),
                turn.button_for(person, t(lang, "btn.not_fit"), CardButton(card.id, CardAnswer.NO))]]
    turn.send(prefix + render_card(lang, card, other, interested), buttons, to=person)


async def counterpart_interested(turn: Turn, person_id: int, other_id: int) -> bool:
    back = await turn.uow.intros.suggestion_between(other_id, person_id)
    return back is not None and back.status == CardStatus.INTERESTED


def render_card(lang: str, card: Suggestion, other: Profile, interested: bool) -> str:
    reason = card.reason_en if lang == "en" else card.reason_de
    about_key = "card.challenge" if other.side == "production" else "card.skills"
    about = short(other.seeks if other.side == "production" else other.offers)
    head = t(lang, "card.head_interested" if interested else "card.head")
    who = describe(lang, other)
    return (f"{head}\n\n{who}\n{t(lang, 'side.' + (other.side or 'creative'))}\n\n"
            f"{t(lang, about_key)}: {about}\n\n💡 {t(lang, 'card.why')}: {reason}")


async def on_card_button(turn: Turn, payload: CardButton) -> None:
    person = turn.person
    assert person is not None
    card = await turn.uow.intros.suggestion(payload.card_id)
    if card is None:
        # The button is genuine (signed for this person), so its card was
        # erased: the other person deleted their data.
        turn.edit(turn.ev.message_id, turn.tr("card.gone"))
        turn.toast("card.gone")
        await show_next_card(turn, person, announce_empty=True)
        return
    if card.person_id != person.id or payload.answer not in tuple(CardAnswer):
        turn.toast("button.invalid", alert=True)
        return
    if card.status != CardStatus.SHOWN:
        turn.toast("card.already")
        return
    other_profile = await turn.uow.intros.profile(card.counterpart_id)
    other = await turn.uow.intros.person(card.counterpart_id)
    if other is None or other_profile is None:
        model.withdraw_card(card)
        turn.toast("card.gone")
        await show_next_card(turn, person, announce_empty=True)
        return
    answer = CardAnswer(payload.answer)
    model.answer_card(card, answer, turn.services.now())
    person.ignored_in_row = 0  # an answer ends a run of ignored cards
    pair = await _pair_for(turn, person, card, other) if answer is not CardAnswer.LATER else None
    introduced = (model.record_pair_answer(pair, person.id, answer is CardAnswer.YES, turn.services.now())
                  if pair is not None else None)
    key = ("card.answered_mutual" if introduced is not None else
           {CardAnswer.YES: "card.answered_yes", CardAnswer.LATER: "card.answered_later",
            CardAnswer.NO: "card.answered_no"}[answer])
    turn.edit(turn.ev.message_id, turn.tr_for(person, key, name=other_profile.name or ""))
    if pair is None:
        await show_next_card(turn, person, announce_empty=True)
        return
    if answer is CardAnswer.NO:
        await show_next_card(turn, person, announce_empty=True)
        return
    if introduced is not None:
        await turn.publish(introduced)
        return
    if model.answer_of(pair, model.side_of(pair, other.id)) is None:
        await _invite_other_side(turn, person, other, card)
    await show_next_card(turn, person, announce_empty=False)


async def _pair_for(turn: Turn, person: Person, card: Suggestion, other: Person) -> Pair:
    profile = await turn.uow.intros.profile(person.id)
    company_id, creative_id = (person.id, other.id) if profile and profile.side == "production" else (other.id, person.id)
    pair = await turn.uow.intros.pair(company_id, creative_id)
    if pair is None:
        pair = await turn.uow.intros.add_pair(Pair(company_id=company_id, creative_id=creative_id,
                                                   status=model.PairStatus.OPEN,
                                                   reason_de=card.reason_de, reason_en=card.reason_en))
    return pair


async def _invite_other_side(turn: Turn, person: Person, other: Person, card: Suggestion) -> None:
    """The other side has not answered yet: make sure they get a card about
    this person (it says someone is interested, but no contact)."""
    if other.paused:
        return
    back = await turn.uow.intros.suggestion_between(other.id, person.id)
    if back is None:
        back = await turn.uow.intros.add_suggestion(Suggestion(
            person_id=other.id, counterpart_id=person.id, score=card.score + 1.0,
            reason_de=card.reason_de, reason_en=card.reason_en, status=CardStatus.PENDING))
    elif not model.invite_back(back, card.score):
        return
    await show_next_card(turn, other)

