"""The onboarding conversation and profile editing.

A profile is filled one step at a time; the next step is always the first one
whose field is still empty, so editing a field only asks what is missing and
then returns to the summary.  See docs/conversations.md.

State data of a step: `sel` (the ticks of a multi-select), `edit` (the step
was opened from the profile or the summary: it has a "back" button and a
plea to go back is not taken as an answer), `to` (the side asked to switch
to), `draft` (a side switch in progress: the new side's answers, applied
to the profile only when the last one is given), and at the step `wanted`
`hint` (the disciplines the bridge sees in the challenge, computed before
the step is asked), `more` (all 14 disciplines are shown) and `prev` (the
step proposes the help anew because the challenge was changed in an edit:
the company's earlier choice, shown next to the new proposal).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

from db.models import Profile, utcnow
from domain.admission import Admission
from handlers import admission
from handlers.callbacks import Choice
from handlers.cards import offer_suggestions
from handlers.flows import Flow, FlowHandler
from handlers.text import looks_like_plea, strip_invisible, visible_length
from handlers.types import Button
from i18n import LOCALES, t
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from handlers.callbacks import Payload
    from handlers.turn import Turn

SIDES = ("production", "creative")
WORK_LANGUAGES = ("de", "en", "pl", "tr", "fr", "es", "it", "nl", "uk", "ar", "ru")
DAYS = (0, 1, 2, 3, 4, 5, 6)
WINDOWS = ("morning", "afternoon", "evening")


@dataclass(frozen=True)
class TextRule:
    min_len: int
    max_len: int
    example_key: str | None = None


TEXT_STEPS: dict[str, TextRule] = {
    "name": TextRule(2, 100),
    "organisation": TextRule(2, 200),
    "role": TextRule(2, 200),
    "sector": TextRule(3, 300, "example.sector"),
    "challenge": TextRule(40, 1500, "example.challenge"),
    "skills": TextRule(40, 1500, "example.skills"),
    "collaboration": TextRule(15, 800, "example.collaboration"),
}
CHOICE_STEPS = ("side", "disciplines", "wanted", "languages", "availability")
MULTI_STEPS = ("disciplines", "wanted", "languages", "availability")
# The button kind of each multi-select step.
MULTI_KINDS = {"disciplines": "dis", "wanted": "wnt", "languages": "lng", "availability": "av"}
# The fields whose answers mean something only on one side.
SIDE_FIELDS = ("sector", "disciplines", "offers", "seeks", "wanted_disciplines")
# Multi-select steps whose answer is a list of codes stored in the profile field of the same name.
CODE_LISTS: dict[str, tuple[str, ...]] = {"disciplines": tuple(DISCIPLINES), "languages": WORK_LANGUAGES}


# The steps that ask only one side.
SIDE_STEPS: dict[str, tuple[str, ...]] = {"production": ("sector", "challenge", "wanted"),
                                         "creative": ("disciplines", "skills", "collaboration")}


def steps_for(side: str | None) -> list[str]:
    return ["name", "side", "organisation", "role", *SIDE_STEPS.get(side or "", ()), "languages", "availability"]


def is_filled(profile: Profile, step: str) -> bool:
    if step == "wanted":  # no tick at all is an answer too ("keine Angabe")
        return profile.wanted_disciplines is not None
    value = {
        "name": profile.name,
        "side": profile.side,
        "organisation": profile.organisation,
        "role": profile.role,
        "sector": profile.sector,
        "challenge": profile.seeks,
        "disciplines": profile.disciplines,
        "skills": profile.offers,
        "collaboration": profile.seeks,
        "languages": profile.languages,
        "availability": (profile.availability or {}).get("days") and (profile.availability or {}).get("windows"),
    }[step]
    return bool(value)


def first_missing(profile: Profile) -> str | None:
    for step in steps_for(profile.side):
        if not is_filled(profile, step):
            return step
    return None


class ProfileDraft:
    """A side switch in progress: reads like the profile, but the side and its
    answers live in the conversation state until the last one is given, so
    the profile stays as it was if the person goes back or walks away."""

    FIELDS = ("side", *SIDE_FIELDS)

    def __init__(self, profile: Profile, data: dict[str, object]) -> None:
        object.__setattr__(self, "profile", profile)
        for name in self.FIELDS:
            object.__setattr__(self, name, data.get(name))

    def __getattr__(self, name: str) -> object:
        if name == "profile":
            raise AttributeError(name)
        return getattr(self.profile, name)

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.FIELDS:
            object.__setattr__(self, name, value)
        else:  # an answer that is the same on both sides goes to the profile
            setattr(self.profile, name, value)

    def data(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.FIELDS}

    def apply(self) -> Profile:
        for name in self.FIELDS:
            setattr(self.profile, name, getattr(self, name))
        _touch(self.profile)
        return self.profile


def working(turn: Turn, profile: Profile) -> Profile:
    """What the current step fills in: the profile, or the side switch's draft."""
    draft = turn.state.data.get("draft") if turn.state is not None else None
    return ProfileDraft(profile, draft) if draft else profile  # type: ignore[return-value]


def editing(turn: Turn) -> bool:
    """The step was opened from the profile or the summary to change one field."""
    return bool(turn.state is not None and turn.state.data.get("edit"))


def has_side_answers(profile: Profile) -> bool:
    return any(getattr(profile, name) for name in SIDE_FIELDS)


def clean_text(text: str) -> str:
    """A typed answer without control characters, runs of spaces, empty lines
    and invisible characters (zero-width spaces, direction marks, …) at the
    edges of its lines."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    lines = [strip_invisible(re.sub(r"[ \t]+", " ", line)) for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


# --- rendering --------------------------------------------------------------

def _progress(turn: Turn, profile: Profile, step: str) -> str:
    # Until the side is known, count the longer (creative) path.
    steps = steps_for(profile.side or "creative")
    if profile.completed_at is not None or step not in steps:
        return ""
    return f"({steps.index(step) + 1}/{len(steps)}) "


def _hint(turn: Turn) -> list[str]:
    hint = turn.state.data.get("hint") if turn.state is not None else None
    return [code for code in hint or [] if code in DISCIPLINES]


def _previous(turn: Turn) -> list[str] | None:
    """The earlier choice while the help is proposed anew after a changed
    challenge; None otherwise."""
    if turn.state is None or "prev" not in turn.state.data:
        return None
    return [code for code in turn.state.data["prev"] or [] if code in DISCIPLINES]


def _labels(turn: Turn, codes: list[str], sep: str = ", ") -> str:
    return sep.join(DISCIPLINES[code][turn.lang] for code in codes if code in DISCIPLINES)


def prompt_text(turn: Turn, profile: Profile, step: str) -> str:
    key = f"ask.{step}"
    if step == "wanted":
        hint = _hint(turn)
        previous = _previous(turn)
        if previous is not None:  # the challenge was changed: the proposal anew, the earlier choice beside it
            before = _labels(turn, previous) or turn.tr("wanted.none")
            if not hint:
                return turn.tr("ask.wanted_again_open", previous=before)
            return turn.tr("ask.wanted_again", labels=_labels(turn, hint, " · "), previous=before)
        if not hint:
            return _progress(turn, profile, step) + turn.tr("ask.wanted_open")
        return _progress(turn, profile, step) + turn.tr("ask.wanted", labels=_labels(turn, hint, " · "))
    if step == "role" and profile.organisation in {t(loc, "org.freelance") for loc in LOCALES}:
        key = "ask.role_freelance"  # no organisation: "your role there" makes no sense
    text = _progress(turn, profile, step) + turn.tr(key)
    rule = TEXT_STEPS.get(step)
    if rule and rule.example_key:
        text += "\n\n" + turn.tr(rule.example_key)
    return text


def _toggle_rows(turn: Turn, action: str, options: list[tuple[str, str]], selected: set[str], per_row: int) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for i in range(0, len(options), per_row):
        rows.append([
            turn.button(("✅ " if code in selected else "") + label, Choice(action, code))
            for code, label in options[i : i + per_row]
        ])
    return rows


def prompt_buttons(turn: Turn, profile: Profile, step: str) -> list[list[Button]]:
    rows = _answer_buttons(turn, profile, step)
    if editing(turn):
        # after a changed challenge, "back" keeps the earlier choice (the challenge is saved already)
        back = "btn.wanted_keep" if step == "wanted" and _previous(turn) is not None else "btn.edit_back"
        rows.append([turn.button(turn.tr(back), Choice("back", "x"))])
    return rows


def _answer_buttons(turn: Turn, profile: Profile, step: str) -> list[list[Button]]:
    sel = set(turn.state.data.get("sel", [])) if turn.state is not None else set()
    if step == "name" and turn.ev.user.first_name:
        return [[turn.button(turn.tr("btn.use_name", name=turn.ev.user.first_name[:40]), Choice("name", "tg"))]]
    if step == "side":
        return [[turn.button(turn.tr("side.production"), Choice("side", "production"))],
                [turn.button(turn.tr("side.creative"), Choice("side", "creative"))]]
    if step == "organisation" and profile.side == "creative":
        return [[turn.button(turn.tr("btn.freelance"), Choice("org", "free"))]]
    done = turn.tr("btn.done")
    if step == "disciplines":
        options = [(code, labels[turn.lang]) for code, labels in DISCIPLINES.items()]
        return _toggle_rows(turn, "dis", options, sel, 1) + [[turn.button(done, Choice("dis", "ok"))]]
    if step == "wanted":
        # the suggested ones first, then the earlier choice (after a changed
        # challenge); the others behind "more" (all when nothing is suggested)
        hint = _hint(turn)
        previous = _previous(turn) or []
        more = not hint or bool(turn.state is not None and turn.state.data.get("more"))
        order = hint + [code for code in DISCIPLINES if code not in hint]
        shown = order if more else [code for code in order if code in hint or code in sel or code in previous]
        rows = _toggle_rows(turn, "wnt", [(code, DISCIPLINES[code][turn.lang]) for code in shown], sel, 1)
        if not more:
            rows.append([turn.button(turn.tr("btn.wanted_more"), Choice("wnt", "more"))])
        return rows + [[turn.button(done, Choice("wnt", "ok"))]]
    if step == "languages":
        options = [(code, turn.tr(f"lang.{code}")) for code in WORK_LANGUAGES]
        return _toggle_rows(turn, "lng", options, sel, 3) + [[turn.button(done, Choice("lng", "ok"))]]
    if step == "availability":
        days = [(f"d{d}", turn.tr(f"day.{d}")) for d in DAYS]
        windows = [(f"w{w}", turn.tr(f"window.{w}")) for w in WINDOWS]
        return (_toggle_rows(turn, "av", days, sel, 4) + _toggle_rows(turn, "av", windows, sel, 3)
                + [[turn.button(done, Choice("av", "ok"))]])
    return []


def _initial_selection(turn: Turn, profile: Profile, step: str) -> list[str]:
    if step == "disciplines":
        return list(profile.disciplines or [])
    if step == "wanted":
        previous = _previous(turn)
        if previous is not None:  # proposed anew after a changed challenge: what fits now, else the earlier choice
            return _hint(turn) or previous
        # the stored choice, else the bridge's suggestion
        return list(profile.wanted_disciplines if profile.wanted_disciplines is not None else _hint(turn))
    if step == "languages":
        return list(profile.languages or [turn.lang])
    if step == "availability":
        av = profile.availability or {}
        return [f"d{d}" for d in av.get("days", [])] + [f"w{w}" for w in av.get("windows", [])]
    return []


def ask(turn: Turn, profile: Profile, step: str, *, edit: bool | None = None, again: bool = False) -> None:
    """Move to `step` and send its question. An edit (and a side switch in
    progress) carries on to the next step; `again` sends the same step anew
    and keeps the ticks of a multi-select."""
    assert turn.state is not None
    data = turn.state.data
    carry = {key: data[key] for key in ("edit", "draft") if data.get(key)}
    if step == "wanted":  # the hint was computed for this step; "more" stays when asked again
        carry.update({key: data[key] for key in ("hint", "prev") if key in data})
        if again and turn.state.step == step and data.get("more"):
            carry["more"] = True
    if edit is not None:
        carry.pop("draft", None)
        if edit:
            carry["edit"] = True
        else:
            carry.pop("edit", None)
    if again and turn.state.step == step and "sel" in data:
        sel = list(data["sel"])
    else:
        sel = _initial_selection(turn, profile, step)
    turn.goto(turn.state.flow, step, sel=sel, **carry)
    turn.bump()
    turn.send(prompt_text(turn, profile, step), prompt_buttons(turn, profile, step))


def ask_side_switch(turn: Turn, profile: Profile, side: str) -> None:
    """Switching sides replaces the answers of the old side: ask first."""
    assert turn.state is not None and profile.side is not None
    turn.goto(turn.state.flow, "side_confirm", edit=True, to=side)
    turn.bump()
    fields = ", ".join(turn.tr(f"field.{step}") for step in SIDE_STEPS[profile.side])
    turn.say("side.switch_confirm", [[turn.button(turn.tr("btn.switch_side"), Choice("side", side))],
                                     [turn.button(turn.tr("btn.edit_back"), Choice("back", "x"))]],
             old=turn.tr(f"side.{profile.side}"), new=turn.tr(f"side.{side}"), fields=fields)


def back_to_overview(turn: Turn, profile: Profile, message_id: int | None) -> None:
    """Leave an edit without changing anything (a side switch in progress is
    dropped; after a changed challenge the earlier choice of help stays)."""
    previous = _previous(turn) if turn.step == "wanted" else None
    if previous is not None:
        text = turn.tr("wanted.kept", labels=_labels(turn, previous) or turn.tr("wanted.none"))
    else:
        text = turn.tr("edit.unchanged")
    if message_id is not None:
        turn.edit(message_id, text)
    else:
        turn.send(text)
    if turn.flow == Flow.PROFILE and profile.completed_at is not None:
        show_profile(turn, profile)
    else:
        turn.goto(Flow.ONBOARDING, None)
        continue_flow(turn, profile)


def render_profile(turn: Turn, profile: Profile, *, with_status: bool) -> str:
    none = turn.tr("profile.empty")
    lines = [
        f"{turn.tr('field.name')}: {profile.name or none}",
        f"{turn.tr('field.side')}: {turn.tr('side.' + profile.side) if profile.side else none}",
        f"{turn.tr('field.organisation')}: {profile.organisation or none}",
        f"{turn.tr('field.role')}: {profile.role or none}",
    ]
    if profile.side == "production":
        lines += [f"{turn.tr('field.sector')}: {profile.sector or none}",
                  f"{turn.tr('field.challenge')}: {profile.seeks or none}",
                  f"{turn.tr('field.wanted')}: {render_wanted(turn, profile)}"]
    elif profile.side == "creative":
        disc = ", ".join(DISCIPLINES[c][turn.lang] for c in profile.disciplines or [] if c in DISCIPLINES)
        lines += [f"{turn.tr('field.disciplines')}: {disc or none}",
                  f"{turn.tr('field.skills')}: {profile.offers or none}",
                  f"{turn.tr('field.collaboration')}: {profile.seeks or none}"]
    langs = ", ".join(turn.tr(f"lang.{c}") for c in profile.languages or [] if c in WORK_LANGUAGES)
    lines.append(f"{turn.tr('field.languages')}: {langs or none}")
    av = profile.availability or {}
    if av.get("days"):
        days = ", ".join(turn.tr(f"day.{d}") for d in av["days"])
        windows = ", ".join(turn.tr(f"window.{w}") for w in av.get("windows", []))
        lines.append(f"{turn.tr('field.availability')}: {days} · {windows}")
    else:
        lines.append(f"{turn.tr('field.availability')}: {none}")
    if with_status and turn.person is not None:
        lines.append(f"{turn.tr('field.status')}: {turn.tr('status.paused' if turn.person.paused else 'status.active')}")
    return "\n".join(lines)


def render_wanted(turn: Turn, profile: Profile) -> str:
    if profile.wanted_disciplines is None:
        return turn.tr("profile.empty")
    labels = ", ".join(DISCIPLINES[c][turn.lang] for c in profile.wanted_disciplines if c in DISCIPLINES)
    return labels or turn.tr("wanted.none")


def show_summary(turn: Turn, profile: Profile) -> None:
    turn.goto(Flow.ONBOARDING, "summary")
    turn.bump()
    text = turn.tr("summary.head") + "\n\n" + render_profile(turn, profile, with_status=False)
    turn.send(text, [[turn.button(turn.tr("btn.confirm"), Choice("sum", "ok")),
                      turn.button(turn.tr("btn.edit"), Choice("sum", "edit"))]])


def show_profile(turn: Turn, profile: Profile, head_key: str = "profile.head") -> None:
    turn.goto(Flow.PROFILE, "menu")
    turn.bump()
    text = turn.tr(head_key) + "\n\n" + render_profile(turn, profile, with_status=True) + "\n\n" + turn.tr("profile.hint")
    turn.send(text, _edit_buttons(turn, profile, done_key="btn.close"))


def show_edit_menu(turn: Turn, profile: Profile) -> None:
    turn.goto(turn.state.flow if turn.state else Flow.ONBOARDING, "edit_menu")
    turn.bump()
    turn.send(turn.tr("edit.which"), _edit_buttons(turn, profile, done_key="btn.back"))


def _edit_buttons(turn: Turn, profile: Profile, done_key: str) -> list[list[Button]]:
    steps = steps_for(profile.side)
    rows = [[turn.button(turn.tr(f"field.{s}"), Choice("edit", s)) for s in steps[i : i + 2]]
            for i in range(0, len(steps), 2)]
    rows.append([turn.button(turn.tr(done_key), Choice("edit", "done"))])
    return rows


def continue_flow(turn: Turn, profile: Profile) -> None:
    """After an answer: ask the next missing field, or show summary/profile.
    A side switch's draft is kept in the state until its last answer, then
    written to the profile at once."""
    assert turn.state is not None
    if isinstance(profile, ProfileDraft):
        if first_missing(profile) is not None:  # type: ignore[arg-type]
            turn.state.data = {**turn.state.data, "draft": profile.data()}
        else:
            profile = profile.apply()
            turn.state.data = {k: v for k, v in turn.state.data.items() if k != "draft"}
    step = first_missing(profile)
    if step is not None:
        ask(turn, profile, step)
    elif profile.completed_at is None:
        show_summary(turn, profile)
    else:
        show_profile(turn, profile, head_key="profile.saved")


def resume(turn: Turn, profile: Profile) -> None:
    """Send again whatever the person is expected to answer now."""
    assert turn.state is not None
    step = turn.state.step
    if turn.state.flow in (Flow.ONBOARDING, Flow.PROFILE) and step in TEXT_STEPS or step in CHOICE_STEPS:
        ask(turn, working(turn, profile), step, again=True)  # type: ignore[arg-type]
    elif step == "side_confirm" and turn.state.data.get("to") in SIDES and profile.side:
        ask_side_switch(turn, profile, turn.state.data["to"])
    elif turn.state.flow == Flow.ONBOARDING and step == "summary":
        show_summary(turn, profile)
    elif step == "edit_menu":
        show_edit_menu(turn, profile)
    elif turn.state.flow == Flow.PROFILE and step == "menu":
        show_profile(turn, profile)
    elif profile.completed_at is None:
        turn.goto(Flow.ONBOARDING, None)
        continue_flow(turn, profile)


# --- answers ------------------------------------------------------------------

def answer_text(turn: Turn, profile: Profile, step: str, raw: str) -> None:
    if store_text(turn, profile, step, raw):
        continue_flow(turn, profile)


def store_text(turn: Turn, profile: Profile, step: str, raw: str) -> bool:
    """Check and store a typed answer; False (with the reason said) if it is too short or too long."""
    rule = TEXT_STEPS[step]
    text = clean_text(raw)
    if visible_length(text) < rule.min_len:  # "\u200b\u200b" is as empty as "  "
        key = "input.too_short_example" if rule.example_key else "input.too_short"
        example = turn.tr(rule.example_key) if rule.example_key else ""
        turn.say(key, min=rule.min_len, example=example)
        return False
    if len(text) > rule.max_len:
        turn.say("input.too_long", max=rule.max_len, length=len(text))
        return False
    if step == "name":
        profile.name = text
    elif step == "organisation":
        profile.organisation = text
    elif step == "role":
        profile.role = text
    elif step == "sector":
        profile.sector = text
        profile.offers = text  # a company's trade and capacities
    elif step in ("challenge", "collaboration"):
        profile.seeks = text
    elif step == "skills":
        profile.offers = text
    _touch(profile)
    return True


def _touch(profile: Profile) -> None:
    if not isinstance(profile, ProfileDraft):
        profile.updated_at = utcnow()


def choose_side(turn: Turn, profile: Profile, side: str, message_id: int | None) -> None:
    """The side button. Answers of the other side are never dropped silently:
    switching asks first (`ask_side_switch`), and the new side's answers are
    collected in a draft before they replace the old ones."""
    assert turn.state is not None
    if side not in SIDES:
        turn.toast("button.invalid", alert=True)
        return
    turn.edit(message_id, turn.tr("chosen", label=turn.tr(f"side.{side}")))
    if profile.side and profile.side != side and has_side_answers(profile):
        ask_side_switch(turn, profile, side)
        return
    profile.side = side
    _touch(profile)
    continue_flow(turn, profile)


def start_side_switch(turn: Turn, profile: Profile, side: str, message_id: int | None) -> None:
    assert turn.state is not None
    turn.edit(message_id, turn.tr("chosen", label=turn.tr(f"side.{side}")))
    draft = ProfileDraft(profile, {"side": side})
    turn.state.data = {"edit": True, "draft": draft.data()}
    continue_flow(turn, draft)  # type: ignore[arg-type]


def toggle(turn: Turn, profile: Profile, step: str, code: str, allowed: set[str], message_id: int | None) -> None:
    assert turn.state is not None
    if code not in allowed:
        turn.toast("button.invalid")
        return
    sel = list(turn.state.data.get("sel", []))
    sel = [c for c in sel if c != code] if code in sel else sel + [code]
    turn.state.data = {**turn.state.data, "sel": sel}
    turn.bump()
    turn.edit(message_id, prompt_text(turn, profile, step), prompt_buttons(turn, profile, step))


def finish_selection(turn: Turn, profile: Profile, step: str) -> bool:
    """Store a multi-select answer; False (with an alert) if it is incomplete."""
    assert turn.state is not None
    sel = list(turn.state.data.get("sel", []))
    if step == "wanted":  # none at all is allowed: "keine Angabe"
        profile.wanted_disciplines = [c for c in DISCIPLINES if c in sel]
    elif step in CODE_LISTS:
        codes = [c for c in CODE_LISTS[step] if c in sel]  # in the list's order
        if not codes:
            turn.toast("select.at_least_one", alert=True)
            return False
        setattr(profile, step, codes)
    elif step == "availability":
        days = [d for d in DAYS if f"d{d}" in sel]
        windows = [w for w in WINDOWS if f"w{w}" in sel]
        if not days or not windows:
            turn.toast("select.day_and_window", alert=True)
            return False
        profile.availability = {"days": days, "windows": windows}
    _touch(profile)
    return True


def allowed_codes(step: str) -> set[str]:
    if step in CODE_LISTS:
        return set(CODE_LISTS[step])
    if step == "wanted":
        return set(DISCIPLINES)
    if step == "availability":
        return {f"d{d}" for d in DAYS} | {f"w{w}" for w in WINDOWS}
    return set()


def confirm(turn: Turn, profile: Profile) -> None:
    profile.completed_at = utcnow()
    _touch(profile)
    turn.goto(Flow.IDLE, None)
    turn.say("onboarding.done")


def show_more(turn: Turn, profile: Profile, message_id: int | None) -> None:
    """"More" at the question about the help wanted: every discipline."""
    assert turn.state is not None
    turn.state.data = {**turn.state.data, "more": True}
    turn.bump()
    turn.edit(message_id, prompt_text(turn, profile, "wanted"), prompt_buttons(turn, profile, "wanted"))


async def prepare_hint(turn: Turn, challenge: str) -> None:
    """Before the question about the help wanted: what the bridge sees in the
    challenge (model work, off the event loop), kept in the state for `ask`."""
    assert turn.state is not None
    hint = await turn.services.matching.discipline_hint(challenge)
    turn.state.data = {**turn.state.data, "hint": list(hint or [])}


async def propose_help_again(turn: Turn, profile: Profile, challenge: str, raw: str) -> None:
    """A company changed its challenge in an edit: the new text is saved, and
    the help wanted is proposed anew for it — what the bridge sees now
    pre-ticked, the earlier choice named and shown beside it (`prev`)."""
    assert turn.state is not None and profile.wanted_disciplines is not None
    previous = list(profile.wanted_disciplines)
    await prepare_hint(turn, challenge)
    if store_text(turn, profile, "challenge", raw):
        turn.state.data = {**turn.state.data, "prev": previous}
        ask(turn, profile, "wanted", edit=True)


async def after_onboarding(turn: Turn, profile: Profile) -> None:
    """Event participants are admitted to their events (a place, an
    application to the organisers, or the waiting list: `handlers.admission`)
    and wait for the organisers to release matches; everyone else gets
    suggestions right away."""
    assert turn.person is not None
    if await turn.uow.events.of_person(turn.person):
        if Admission.APPROVED in await admission.admit_completed(turn, turn.person, profile):
            turn.say("onboarding.wait_release")
    else:
        await offer_suggestions(turn, [turn.person])


class OnboardingFlow(FlowHandler):
    """Onboarding (and, as `ProfileFlow`, editing the profile): one step per
    field, the summary, the edit menu. See docs/conversations.md."""

    flow = Flow.ONBOARDING
    prompting = True

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        step, text = turn.step, turn.ev.text or ""
        answerable = step in TEXT_STEPS or step in CHOICE_STEPS or step == "side_confirm"
        if answerable and looks_like_plea(text):
            # "bitte zurück", "abbrechen", "I misclicked": never an answer.
            if editing(turn):
                back_to_overview(turn, profile, None)
            else:
                turn.say("input.plea_not_saved")
                resume(turn, profile)
            return True
        if step in MULTI_STEPS:
            # The ticks so far stay; a fresh keyboard shows them.
            turn.say("select.typed")
            resume(turn, profile)
            return True
        if step not in TEXT_STEPS:
            return False
        target = working(turn, profile)
        rule = TEXT_STEPS[step]
        challenge = clean_text(text) if step == "challenge" else ""
        if step == "challenge" and rule.min_len <= visible_length(challenge) and len(challenge) <= rule.max_len:
            if target.wanted_disciplines is None:
                await prepare_hint(turn, challenge)  # the next question: which help fits
            elif editing(turn) and challenge != (target.seeks or ""):
                await propose_help_again(turn, target, challenge, text)
                return True
        answer_text(turn, target, step, text)  # type: ignore[arg-type]
        return True

    def resume(self, turn: Turn, profile: Profile) -> None:
        resume(turn, profile)

    def after_aside(self, turn: Turn, profile: Profile) -> None:
        if turn.step is not None:
            resume(turn, profile)

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        turn.goto(Flow.IDLE, None)
        turn.say("cancel.onboarding")

    async def on_button(self, turn: Turn, profile: Profile, payload: Payload) -> bool:
        if not isinstance(payload, Choice):
            return False
        kind, value, step, message_id = payload.kind, payload.value, turn.step, turn.ev.message_id
        target = working(turn, profile)
        if kind == "back" and editing(turn):
            back_to_overview(turn, profile, message_id)
        elif kind == "name" and step == "name":
            answer_text(turn, target, "name", turn.ev.user.first_name)
        elif kind == "side" and step == "side":
            choose_side(turn, profile, value, message_id)
        elif kind == "side" and step == "side_confirm" and turn.state is not None and value == turn.state.data.get("to"):
            start_side_switch(turn, profile, value, message_id)
        elif kind == "org" and step == "organisation":
            answer_text(turn, target, "organisation", turn.tr("org.freelance"))
        elif step in MULTI_STEPS and kind == MULTI_KINDS[step]:
            if kind == "wnt" and value == "more":
                show_more(turn, target, message_id)
            elif value != "ok":
                toggle(turn, target, step, value, allowed_codes(step), message_id)
            elif finish_selection(turn, target, step):
                turn.edit(message_id, turn.tr("chosen.noted" if isinstance(target, ProfileDraft) else "chosen.saved"))
                continue_flow(turn, target)
        elif kind == "sum" and step == "summary":
            turn.edit(message_id, turn.tr("summary.head") + "\n\n" + render_profile(turn, profile, with_status=False))
            if value == "ok":
                confirm(turn, profile)
                await after_onboarding(turn, profile)
            else:
                show_edit_menu(turn, profile)
        elif kind == "edit" and step in ("edit_menu", "menu"):
            if value == "done":
                turn.edit(message_id, turn.tr("chosen.closed"))
                if profile.completed_at is None:
                    show_summary(turn, profile)
                else:
                    turn.goto(Flow.IDLE, None)
            elif value in steps_for(profile.side):
                if value == "wanted":
                    await prepare_hint(turn, profile.seeks or "")
                ask(turn, profile, value, edit=True)
            else:
                turn.toast("button.invalid", alert=True)
        else:
            return False
        return True


class ProfileFlow(OnboardingFlow):
    """/profile: the profile with a button per field (step menu), then one
    field at a time. The menu is something to look at, not a question: other
    commands do not send it again (its buttons stay usable)."""

    flow = Flow.PROFILE

    def awaits_answer(self, turn: Turn) -> bool:
        return turn.step not in (None, "menu")

    def after_aside(self, turn: Turn, profile: Profile) -> None:
        if self.awaits_answer(turn):
            resume(turn, profile)

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        turn.goto(Flow.IDLE, None)
        turn.say("cancel.done")
