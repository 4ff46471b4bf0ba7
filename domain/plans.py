"""The rules of an organiser's plan (issue 13): which edits a draft allows,
who is left without a place, how the review is paged, and what a release
still has to send. Pure: plain values in, plain values out (the chat flow
is `handlers/plans.py`, the solvers `matching/formation.py`).

A plan is a list of `Slot`s. Breakout groups: every slot is a creative in a
company's group (`round` 0, `table` = the group's number). Speed rounds: a
slot is one meeting in round `round` (1 …) at the company's `table`. No pair
twice in a plan, in either format.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

BREAKOUT, SPEED = "breakout", "speed"
FORMATS = (BREAKOUT, SPEED)


@dataclass(frozen=True)
class Slot:
    id: int
    company: int
    creative: int
    round: int  # 0 in a breakout plan
    table: int  # the group's number, or the company's table
    score: float = 0.0
    locked: bool = False

    @property
    def pair(self) -> tuple[int, int]:
        return self.company, self.creative


class EditProblem(StrEnum):
    """Why an edit is refused (the organiser is told in these words)."""

    SAME_GROUP = "same_group"  # swapping within one group (or one person with themself)
    ALREADY_IN_GROUP = "already_in_group"  # the creative is in that group already
    OTHER_ROUND = "other_round"  # speed: swaps stay within one round
    MET_IN_OTHER_ROUND = "met_in_other_round"  # speed: the new pair meets in another round
    NOT_FREE = "not_free"  # the creative has no free place (in as many groups as allowed / not on a break)
    FORBIDDEN = "forbidden"  # declined, met, no common language, or taken out by the organiser


# --- groups and rounds ------------------------------------------------------------------------

def groups(slots: Iterable[Slot]) -> list[tuple[int, int, list[Slot]]]:
    """(group number, company, its creatives best first) of a breakout plan, by number."""
    by_company: dict[int, list[Slot]] = {}
    for s in slots:
        by_company.setdefault(s.company, []).append(s)
    out = [(min(s.table for s in members), company,
            sorted(members, key=lambda s: (-s.score, s.creative))) for company, members in by_company.items()]
    return sorted(out, key=lambda g: (g[0], g[1]))


def round_slots(slots: Iterable[Slot], number: int) -> list[Slot]:
    """The meetings of speed round `number`, by table."""
    return sorted((s for s in slots if s.round == number), key=lambda s: (s.table, s.company))


def on_break(people: Sequence[int], slots: Iterable[Slot], number: int) -> list[int]:
    """Who of `people` has no meeting in round `number` (in the order of `people`)."""
    busy = {p for s in slots if s.round == number for p in s.pair}
    return [p for p in people if p not in busy]


def agenda(person: int, slots: Iterable[Slot], rounds: int) -> list[Slot | None]:
    """One entry per round: the person's meeting, or None for a break."""
    mine = {s.round: s for s in slots if person in s.pair}
    return [mine.get(r) for r in range(1, rounds + 1)]


def unplaced(people: Sequence[int], slots: Iterable[Slot], reasons: Mapping[int, str],
             edited: str = "edited") -> list[tuple[int, str]]:
    """Who of `people` has no place at all, with the solver's reason, or
    `edited` for someone whose place the organiser took away since."""
    placed = {p for s in slots for p in s.pair}
    return [(p, reasons.get(p, edited)) for p in people if p not in placed]


# --- edits ---------------------------------------------------------------------------------

def swap_problem(fmt: str, slots: Sequence[Slot], a: Slot, b: Slot,
                 forbidden: Iterable[tuple[int, int]] = ()) -> EditProblem | None:
    """May the creatives of `a` and `b` change places (two groups, or two
    tables of one round)? None if so."""
    if fmt == SPEED and a.round != b.round:
        return EditProblem.OTHER_ROUND
    if a.id == b.id or a.company == b.company or a.creative == b.creative:
        return EditProblem.SAME_GROUP
    new = [(a.company, b.creative), (b.company, a.creative)]
    return _new_pairs_problem(fmt, slots, new, {a.id, b.id}, forbidden)


def replace_problem(fmt: str, slots: Sequence[Slot], a: Slot, creative: int, max_groups: int = 1,
                    forbidden: Iterable[tuple[int, int]] = ()) -> EditProblem | None:
    """May `creative` (not in `a`'s group / on a break in `a`'s round) take
    `a`'s place? None if so."""
    if creative == a.creative:
        return EditProblem.SAME_GROUP
    if fmt == SPEED:
        if any(creative == s.creative for s in slots if s.round == a.round):
            return EditProblem.NOT_FREE
    elif sum(1 for s in slots if s.creative == creative) >= max_groups:
        if any(s.company == a.company and s.creative == creative for s in slots):
            return EditProblem.ALREADY_IN_GROUP
        return EditProblem.NOT_FREE
    return _new_pairs_problem(fmt, slots, [(a.company, creative)], {a.id}, forbidden)


def _new_pairs_problem(fmt: str, slots: Sequence[Slot], new: list[tuple[int, int]], leaving: set[int],
                       forbidden: Iterable[tuple[int, int]]) -> EditProblem | None:
    banned = set(forbidden)
    if any(pair in banned for pair in new):
        return EditProblem.FORBIDDEN
    staying = {s.pair for s in slots if s.id not in leaving}
    for pair in new:
        if pair in staying:
            return EditProblem.ALREADY_IN_GROUP if fmt == BREAKOUT else EditProblem.MET_IN_OTHER_ROUND
    return None


def swap_targets(fmt: str, slots: Sequence[Slot], a: Slot,
                 forbidden: Iterable[tuple[int, int]] = ()) -> list[Slot]:
    """The slots `a` may swap with: other groups' creatives, or the other
    tables of its round."""
    banned = set(forbidden)
    return [b for b in slots if swap_problem(fmt, slots, a, b, banned) is None]


def free_creatives(fmt: str, slots: Sequence[Slot], a: Slot, creatives: Sequence[int], max_groups: int = 1,
                   forbidden: Iterable[tuple[int, int]] = ()) -> list[int]:
    """Creatives who could take `a`'s place from outside: breakout — with a
    place left (fewer groups than allowed) and not in `a`'s group; speed —
    on a break in `a`'s round, never having met `a`'s company."""
    banned = set(forbidden)
    return [k for k in creatives if replace_problem(fmt, slots, a, k, max_groups, banned) is None]


# --- pages ----------------------------------------------------------------------------------

def paginate(sizes: Sequence[int], max_items: int, limit: int) -> list[range]:
    """Consecutive blocks (their text lengths in `sizes`) in pages of at most
    `max_items` blocks and `limit` characters; a block longer than `limit`
    gets a page of its own. Always at least one (empty) page."""
    if max_items < 1:
        raise ValueError("a page holds at least one block")
    pages: list[range] = []
    start, used = 0, 0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= max_items or used + size > limit):
            pages.append(range(start, i))
            start, used = i, 0
        used += size
    pages.append(range(start, len(sizes)))
    return pages


def page_of(pages: Sequence[range], index: int) -> int:
    """The page holding block `index` (the first page if none does)."""
    return next((n for n, page in enumerate(pages) if index in page), 0)


# --- releases ---------------------------------------------------------------------------------

def digest(text: str) -> str:
    """What a message said, as a short hash (sent once per text and chat)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Diff:
    """What a release sends: to chats that never had this kind of message
    (`new`), to those whose text changed (`changed`); `unchanged` get nothing."""

    new: list = field(default_factory=list)
    changed: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    @property
    def to_send(self) -> list:
        return self.new + self.changed


def release_diff(sent: Mapping[object, str], now: Mapping[object, str]) -> Diff:
    """Compare the digests each recipient was sent (`sent`) with those of
    the texts they would get now (`now`), in the order of `now`. Someone no
    longer in `now` (left the event) is not written to."""
    out = Diff()
    for key, value in now.items():
        before = sent.get(key)
        if before is None:
            out.new.append(key)
        elif before != value:
            out.changed.append(key)
        else:
            out.unchanged.append(key)
    return out
