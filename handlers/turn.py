"""One handled update: the unit of work, the person, their conversation state,
and the reply being built."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.i18n import t
from handlers.types import Button, Document, Incoming, OutMessage, Reply

if TYPE_CHECKING:
    from db.models import ConversationState, Person
    from handlers.callbacks import CallbackPayload
    from db.uow import SqlAlchemyUnitOfWork
    from handlers.core import CrosslabCore


@dataclass
class Turn:
    core: CrosslabCore
    uow: SqlAlchemyUnitOfWork
    ev: Incoming
    lang: str
    person: Person | None = None
    state: ConversationState | None = None
    reply: Reply = field(default_factory=Reply)

    # -- texts -------------------------------------------------------------
    def tr(self, key: str, **fields: object) -> str:
        return t(self.lang, key, **fields)

    def say(self, key: str, buttons: list[list[Button]] | None = None, **fields: object) -> None:
        self.send(self.tr(key, **fields), buttons)

    def send(self, text: str, buttons: list[list[Button]] | None = None, document: Document | None = None) -> None:
        self.reply.messages.append(OutMessage(self.ev.chat_id, text, buttons or [], document))

    def edit(self, message_id: int | None, text: str, buttons: list[list[Button]] | None = None) -> None:
        """Edit the message that carried the pressed button (or send anew)."""
        self.reply.messages.append(OutMessage(self.ev.chat_id, text, buttons or [], edit_message_id=message_id))

    def toast(self, key: str, alert: bool = False, **fields: object) -> None:
        self.reply.callback_text = self.tr(key, **fields)
        self.reply.callback_alert = alert

    def plan_reminders(self, meeting_id: int, starts_at: object) -> None:
        self.reply.effects.append(("plan_reminders", meeting_id, starts_at))

    def cancel_reminders(self, meeting_id: int) -> None:
        self.reply.effects.append(("cancel_reminders", meeting_id))

    # -- buttons -----------------------------------------------------------
    @property
    def version(self) -> int:
        return self.state.version if self.state is not None else 0

    def bump(self) -> None:
        """A new prompt with buttons: every older button becomes stale."""
        if self.state is not None:
            self.state.version += 1

    def pressed(self) -> CallbackPayload | None:
        """The pressed button's payload if it is genuine for this user; otherwise
        the user is told the button is not valid and None is returned."""
        payload = self.core.signer.verify(self.ev.user.id, self.ev.callback_data)
        if payload is None:
            self.toast("button.invalid", alert=True)
        return payload

    def button(self, label: str, action: str, value: str = "") -> Button:
        return Button(label, self.core.signer.sign(self.ev.user.id, action, value, self.version))

    # -- state -------------------------------------------------------------
    def goto(self, flow: str, step: str | None, **data: object) -> None:
        assert self.state is not None
        self.state.flow = flow
        self.state.step = step
        self.state.data = dict(data)

    @property
    def flow(self) -> str:
        return self.state.flow if self.state is not None else "none"

    @property
    def step(self) -> str | None:
        return self.state.step if self.state is not None else None

    @property
    def is_admin(self) -> bool:
        return self.ev.user.id in self.core.settings.admin_ids
