"""Conversations as explicit flows.

Where a person stands is a row (`ConversationState`: flow, step, data), so a
restart or a second process continues the dialogue. Each `Flow` has one
handler object (registered in `handlers.registry`) that answers text,
attachments and buttons, re-sends its prompt after an interruption, and
cancels. `handlers.core` only looks the flow up; a new flow is one class in
one file plus a line in the registry.
"""
from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from db.models import Person, Profile
    from handlers.callbacks import Payload
    from handlers.turn import Turn


class Flow(StrEnum):
    NONE = "none"  # no person yet (before consent)
    IDLE = "idle"
    ONBOARDING = "onboarding"
    PROFILE = "profile"
    DELETE = "delete"
    MEETING = "meeting"  # typing a time of one's own; answering a time the other side offered
    FEEDBACK = "feedback"  # the questions after a meeting and the optional comment
    HANDOVER = "handover"  # collecting results for a company
    BROADCAST = "broadcast"  # an organiser writing an announcement (handlers/broadcast.py)
    EVENT = "event"  # an organiser's /newevent, a field of /event, a question to an applicant, a co-organiser
    APPLICATION = "application"  # an applicant answering the organisers' question (handlers/admission.py)
    PLAN = "plan"  # an organiser typing a plan's time, place or moderator (handlers/plans.py)


class FlowHandler:
    """Defaults for a flow; subclasses override what their flow does."""

    flow: Flow = Flow.IDLE
    # The person owes an answer to a prompt (with buttons) that is sent again
    # after an interruption (a command, a sticker, a stale button).
    prompting: bool = False

    def awaits_answer(self, turn: Turn) -> bool:
        return self.prompting and turn.step is not None

    async def on_text(self, turn: Turn, profile: Profile) -> bool:
        """Handle a typed text; False if this flow does not take one now."""
        return False

    async def on_attachment(self, turn: Turn, profile: Profile) -> bool:
        """Handle a photo/document; False if this flow does not take one."""
        return False

    def unsupported_hint(self, turn: Turn) -> None:
        """What to add when the person sent something this flow cannot use."""

    async def on_button(self, turn: Turn, profile: Profile, payload: Payload) -> bool:
        """Handle a (current, versioned) button; False if it does not belong here."""
        return False

    def resume(self, turn: Turn, profile: Profile) -> None:
        """Send again whatever the person is expected to answer now."""

    def after_aside(self, turn: Turn, profile: Profile) -> None:
        """After a command on the side (/pause, /mydata, a language switch)."""

    async def cancel(self, turn: Turn, profile: Profile) -> None:
        turn.say("cancel.nothing")


class IdleFlow(FlowHandler):
    flow = Flow.IDLE


# Questions the bot puts to someone with buttons that stay answerable
# wherever the person is (feedback after a meeting, a time the other side
# offered). While the person is at one, what they type goes to its flow: the
# obvious answers are taken, anything else gets the buttons again.
QUESTIONS: frozenset[tuple[str, str]] = frozenset({
    (Flow.FEEDBACK, "met"), (Flow.FEEDBACK, "rating"), (Flow.FEEDBACK, "continue"), (Flow.FEEDBACK, "text"),
    (Flow.MEETING, "offer"), (Flow.MEETING, "slots"), (Flow.MEETING, "where"),
    (Flow.APPLICATION, "answer"),
})


async def put_at_question(turn: Turn, person: Person, flow: Flow, step: str, **data: object) -> None:
    """`person` was just sent the question (flow, step): from now on a typed
    answer goes there. Only someone idle or at an earlier such question is
    moved (the newest question is the one on the screen); someone in the middle
    of something else stays there and answers with the buttons. The person is
    this turn's or anyone else (the other side of a pair, or a sweep's)."""
    assert (flow, step) in QUESTIONS
    if turn.person is not None and turn.person.id == person.id:
        if turn.flow == Flow.IDLE or (turn.flow, turn.step) in QUESTIONS:
            turn.goto(flow, step, **data)
    else:  # not this turn's person: one conditional update, whatever their row holds now
        await turn.uow.conversations.put_at_question(person.id, flow, step, dict(data), QUESTIONS)


def leave_question(turn: Turn, flow: Flow, **match: object) -> None:
    """A button answered the question: leave it, if it is the one the person is at."""
    if turn.flow == flow and (turn.flow, turn.step) in QUESTIONS and turn.state is not None and all(
            turn.state.data.get(k) == v for k, v in match.items()):
        turn.goto(Flow.IDLE, None)


def current(turn: Turn) -> FlowHandler:
    """The handler of the flow the person is in now (look it up again after
    a step that may move them to another flow)."""
    flows = turn.services.flows
    return flows.get(turn.flow) or flows[Flow.IDLE]
