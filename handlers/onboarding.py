"""The onboarding conversation and profile editing.

A profile is filled one step at a time; the next step is always the first one
whose field is still empty, so editing a field (or switching sides) only asks
what is missing and then returns to the summary.  See docs/conversations.md.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from typing import TYPE_CHECKING

from db.models import Profile, utcnow
from handlers.callbacks import Choice
from handlers.cards import offer_suggestions
from handlers.flows import Flow, FlowHandler
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
CHOICE_STEPS = ("side", "disciplines", "languages", "availability")
# Multi-select steps whose answer is a list of codes stored in the profile field of the same name.
CODE_LISTS: dict[str, tuple[str, ...]] = {"disciplines": tuple(DISCIPLINES), "languages": WORK_LANGUAGES}


def steps_for(side: str | None) -> list[str]:
    middle = {"production": ["sector", "challenge"], "creative": ["disciplines", "skills", "collaboration"]}.get(side or "", [])
    return ["name", "side", "organisation", "role", *middle, "languages", "availability"]


def is_filled(profile: Profile, step: str) -> bool:
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


def clean_text(text: str) -> str:
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.strip().splitlines()]
    return "\n".join(line for line in lines if line)


# --- rendering --------------------------------------------------------------

def _progress(turn: Turn, profile: Profile, step: str) -> str:
    # Until the side is known, count the longer (creative) path.
    steps = steps_for(profile.side or "creative")
    if profile.completed_at is not None or step not in steps:
        return ""
    return f"({steps.index(step) + 1}/{len(steps)}) "


def prompt_text(turn: Turn, profile: Profile, step: str) -> str:
    key = f"ask.{step}"
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
    if step == "languages":
        return list(profile.languages or [turn.lang])
    if step == "availability":
        av = profile.availability or {}
        return [f"d{d}" for d in av.get("days", [])] + [f"w{w}" for w in av.get("windows", [])]
    return []


def ask(turn: Turn, profile: Profile, step: str, *, flow: str | None = None) -> None:
    """Move to `step` and send its question."""
    assert turn.state is not None
    flow = flow or turn.state.flow
    turn.goto(flow, step, sel=_initial_selection(turn, profile, step))
    turn.bump()
    turn.send(prompt_text(turn, profile, step), prompt_buttons(turn, profile, step))


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
                  f"{turn.tr('field.challenge')}: {profile.seeks or none}"]
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
    """After an answer: ask the next missing field, or show summary/profile."""
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
        ask(turn, profile, step)  # type: ignore[arg-type]
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
    rule = TEXT_STEPS[step]
    text = clean_text(raw)
    if len(text) < rule.min_len:
        key = "input.too_short_example" if rule.example_key else "input.too_short"
        example = turn.tr(rule.example_key) if rule.example_key else ""
        turn.say(key, min=rule.min_len, example=example)
        return
    if len(text) > rule.max_len:
        turn.say("input.too_long", max=rule.max_len, length=len(text))
        return
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
    continue_flow(turn, profile)


def _touch(profile: Profile) -> None:
    profile.updated_at = utcnow()


def set_side(turn: Turn, profile: Profile, side: str) -> None:
    if side not in SIDES:
        return
    if profile.side and profile.side != side:
        # Side-specific answers would mean something else on the other side.
        profile.sector = None
        profile.disciplines = None
        profile.offers = None
        profile.seeks = None
    profile.side = side
    _touch(profile)


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
    if step in CODE_LISTS:
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
    if step == "availability":
        return {f"d{d}" for d in DAYS} | {f"w{w}" for w in WINDOWS}
    return set()


def confirm(turn: Turn, profile: Profile) -> None:
    profile.completed_at = utcnow()
    _touch(profile)
    turn.goto(Flow.IDLE, None)
    turn.say("onboarding.done")


async def after_onboarding(turn: Turn, profile: Profile) -> None:
    """Event participants wait for the organisers to release matches; everyone
    else gets suggestions right away."""
    assert turn.person is not None
    if await turn.uow.events.of_person(turn.person):
        turn.say("onboarding.wait_release")
    else:
        await offer_suggestions(turn, [turn.person])


class OnboardingFlow(FlowHandler):
    """Onboarding (and, as `ProfileFlow`, editing the profile): one step per
    field, the summary, the edit menu. See docs/conversations.md."""

    flow = Flow.ONBOARDING
    prompting = True

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        if turn.step not in TEXT_STEPS:
            return False
        answer_text(turn, profile, turn.step, turn.ev.text)  # type: ignore[arg-type]
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
        if kind == "name" and step == "name":
            answer_text(turn, profile, "name", turn.ev.user.first_name)
        elif kind == "side" and step == "side":
            set_side(turn, profile, value)
            turn.edit(message_id, turn.tr("chosen", label=turn.tr(f"side.{profile.side}")))
            continue_flow(turn, profile)
        elif kind == "org" and step == "organisation":
            answer_text(turn, profile, "organisation", turn.tr("org.freelance"))
        elif kind in ("dis", "lng", "av") and step in CHOICE_STEPS:
            if value != "ok":
                toggle(turn, profile, step, value, allowed_codes(step), message_id)
            elif finish_selection(turn, profile, step):
                turn.edit(message_id, turn.tr("chosen.saved"))
                continue_flow(turn, profile)
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
                ask(turn, profile, value)
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
