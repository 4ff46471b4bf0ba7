"""Every flow, command, button type and event handler in one place, built
once at start (`build_registry`, `build_bus`); nothing registers itself on
import. A new feature adds its lines here."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.events import (MeetingCancelled, MeetingMoved, MeetingPlaceSet, MeetingScheduled, MeetingSelfArranged,
                           PairIntroduced, TimeOffered)
from handlers import (admin, admission, broadcast, browse, cards, commands, events, figures, followups, handover,
                      introductions, plans, export)
from handlers.account import DeleteFlow
from handlers.bus import MessageBus
from handlers.callbacks import (ApplicationButton, BroadcastButton, BrowseButton, CardButton, EventButton, FeedbackButton,
                                HandoverButton, LeaveButton, MeetingButton, OptOutButton, OutcomeButton, PlanButton,
                                ReleaseButton, SettingsButton)
from handlers.flows import Flow, FlowHandler, IdleFlow
from handlers.onboarding import OnboardingFlow, ProfileFlow

if TYPE_CHECKING:
    from db.models import Profile
    from handlers.turn import Turn

CommandHandler = Callable[["Turn", "Profile", str], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    handler: CommandHandler
    admin: bool = False  # organisers only (ADMIN_IDS); they need no participant profile
    # Organisers of an event: ADMIN_IDS and the event's co-organisers (the handler
    # checks the event with handlers.organisers.may_organise); no profile needed.
    event_scoped: bool = False
    menu: bool = False  # shown in Telegram's command menu (catalog key cmd.<name>)
    organisers_too: bool = False  # organisers may use it without a profile (the handler gets profile None)

    @property
    def without_profile(self) -> bool:
        """An organiser without a participant profile may use it."""
        return self.admin or self.event_scoped or self.organisers_too


@dataclass(frozen=True)
class Registry:
    flows: Mapping[str, FlowHandler]
    commands: Mapping[str, Command]
    # Buttons checked against their row in the database, not the conversation version.
    row_buttons: Mapping[type, Callable[[Turn, Any], Awaitable[None]]]
    # Row buttons an organiser may press without being a participant (no consent, no profile).
    organiser_buttons: frozenset[type] = frozenset()

    @property
    def menu(self) -> tuple[str, ...]:
        return tuple(name for name, c in self.commands.items() if c.menu)


def build_registry() -> Registry:
    flows: list[FlowHandler] = [IdleFlow(), OnboardingFlow(), ProfileFlow(), DeleteFlow(),
                                introductions.MeetingFlow(), followups.FeedbackFlow(), handover.HandoverFlow(),
                                broadcast.BroadcastFlow(), events.EventFlow(), admission.ApplicationFlow(),
                                plans.PlanFlow()]
    by_flow: dict[str, FlowHandler] = {f.flow: f for f in flows}
    by_flow[Flow.NONE] = by_flow[Flow.IDLE]
    menu = lambda handler: Command(handler, menu=True)  # noqa: E731
    organisers = lambda handler: Command(handler, admin=True)  # noqa: E731
    of_event = lambda handler: Command(handler, event_scoped=True)  # noqa: E731
    return Registry(
        flows=by_flow,
        commands={
            # In the order of Telegram's command menu.
            "start": menu(commands.cmd_start),
            "matches": menu(commands.cmd_matches),
            "browse": menu(browse.cmd_browse),
            "meetings": menu(introductions.cmd_meetings),
            "results": Command(handover.cmd_results, menu=True, organisers_too=True),
            "profile": menu(commands.cmd_profile),
            "pause": menu(commands.cmd_pause),
            "resume": menu(commands.cmd_resume),
            "mydata": menu(commands.cmd_mydata),
            "delete": menu(commands.cmd_delete),
            "settings": menu(broadcast.cmd_settings),
            "language": menu(commands.cmd_language),
            "help": Command(commands.cmd_help, menu=True, organisers_too=True),
            "cancel": menu(commands.cmd_cancel),
            "leave": Command(admission.cmd_leave),
            "newevent": organisers(events.cmd_newevent),
            "events": of_event(events.cmd_events),
            "event": of_event(events.cmd_event),
            "release": of_event(admin.cmd_release),
            "plan": organisers(plans.cmd_plan),
            "round": organisers(plans.cmd_round),
            "stats": of_event(figures.cmd_stats),
            "export": of_event(export.cmd_export),
            "broadcast": organisers(broadcast.cmd_broadcast),
            "broadcasts": organisers(broadcast.cmd_broadcasts),
        },
        row_buttons={
            CardButton: cards.on_card_button,
            BrowseButton: browse.on_browse_button,
            MeetingButton: introductions.on_meeting_button,
            FeedbackButton: followups.on_feedback_button,
            OutcomeButton: followups.on_outcome_button,
            HandoverButton: handover.on_handover_button,
            ReleaseButton: admin.on_release_button,
            BroadcastButton: broadcast.on_broadcast_button,
            OptOutButton: broadcast.on_opt_out,
            SettingsButton: broadcast.on_settings_button,
            EventButton: events.on_event_button,
            ApplicationButton: events.on_application_button,
            LeaveButton: admission.on_leave_button,
            PlanButton: plans.on_plan_button,
        },
        organiser_buttons=frozenset({HandoverButton, ReleaseButton, BroadcastButton, OptOutButton, EventButton,
                                     ApplicationButton, PlanButton}),
    )


def build_bus() -> MessageBus:
    """Events -> the messages they mean (in the transaction) and the reminder
    jobs they plan or cancel (after the commit)."""
    return MessageBus(
        handlers={
            PairIntroduced: [introductions.on_pair_introduced],
            TimeOffered: [introductions.on_time_offered],
            MeetingScheduled: [introductions.on_meeting_scheduled],
            MeetingSelfArranged: [introductions.on_self_arranged],
            MeetingCancelled: [introductions.on_meeting_cancelled],
            MeetingPlaceSet: [introductions.on_place_set],
        },
        after_commit={
            MeetingScheduled: [introductions.plan_reminders],
            MeetingMoved: [introductions.cancel_reminders],
            MeetingSelfArranged: [introductions.cancel_reminders],
            MeetingCancelled: [introductions.cancel_reminders],
        },
    )
