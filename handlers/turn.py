"""One handled update (or one sweep of the bot's own messages): the unit of
work, the person, their conversation state, the reply being built and the
domain events that happened."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from i18n import locale_for, t
from handlers.callbacks import Payload, Signed
from handlers.types import Attachment, Button, Document, Incoming, OutMessage, Reply, UserRef

if TYPE_CHECKING:
    from db.models import ConversationState, Person
    from db.uow import SqlAlchemyUnitOfWork
    from domain.events import Event
    from handlers.services import Services


@dataclass
class Turn:
    services: Services
    uow: SqlAlchemyUnitOfWork
    ev: Incoming
    lang: str
    person: Person | None = None
    state: ConversationState | None = None
    reply: Reply = field(default_factory=Reply)
    events: list[Event] = field(default_factory=list)  # published; acted on again after the commit
    # The events this user co-organises, once asked (handlers.organisers.co_organised).
    co_organised: frozenset[int] | None = None
    # A declined invitation is kept for this person (False: none, no need to look).
    invited: bool | None = None

    @classmethod
    def system(cls, services: Services, uow: SqlAlchemyUnitOfWork) -> Turn:
        """A turn without an incoming update: the bot speaks first (sweeps, reminders)."""
        ev = Incoming(update_id=0, user=UserRef(id=0), chat_id=0, kind="tick")
        return cls(services, uow, ev, services.settings.default_language)

    # -- texts -------------------------------------------------------------
    @property
    def locale(self) -> str:
        """The catalog for this person: their language and, in German, Sie or du."""
        form = self.person.german_form if self.person is not None else None
        return locale_for(self.lang, form or self.services.settings.german_form)

    def locale_of(self, person: Person) -> str:
        """The catalog for someone else this turn writes to."""
        return locale_for(person.language, person.german_form or self.services.settings.german_form)

    def tr(self, key: str, **fields: object) -> str:
        return t(self.locale, key, **fields)

    def tr_for(self, person: Person, key: str, **fields: object) -> str:
        """A text in another person's language and form of address."""
        return t(self.locale_of(person), key, **fields)

    def say(self, key: str, buttons: list[list[Button]] | None = None, **fields: object) -> None:
        self.send(self.tr(key, **fields), buttons)

    def send(self, text: str, buttons: list[list[Button]] | None = None, document: Document | None = None, *,
             to: Person | None = None, media: list[Attachment] | None = None) -> None:
        """The one way to emit a message: to this chat, or `to` someone else."""
        chat_id = to.telegram_id if to is not None else self.ev.chat_id
        self.reply.messages.append(OutMessage(chat_id, text, buttons or [], document, media=media or []))

    def edit(self, message_id: int | None, text: str, buttons: list[list[Button]] | None = None) -> None:
        """Edit the message that carried the pressed button (or send anew). A
        question answered by typing (the same handler as its button) has no
        such message — the bot cannot edit the person's own — so the text is
        sent: a short confirmation of the answer."""
        if self.ev.kind != "button":
            message_id = None
        self.reply.messages.append(OutMessage(self.ev.chat_id, text, buttons or [], edit_message_id=message_id))

    def toast(self, key: str, alert: bool = False, **fields: object) -> None:
        self.reply.callback_text = self.tr(key, **fields)
        self.reply.callback_alert = alert

    # -- events ------------------------------------------------------------
    async def publish(self, event: Event) -> None:
        """Record what happened; the bus renders its messages now and acts on
        it outside the database after the commit."""
        await self.services.bus.publish(self, event)

    # -- buttons -----------------------------------------------------------
    @property
    def version(self) -> int:
        return self.state.version if self.state is not None else 0

    def bump(self) -> None:
        """A new prompt with buttons: every older button becomes stale."""
        if self.state is not None:
            self.state.version += 1

    def pressed(self) -> Signed | None:
        """The pressed button if it is genuine for this user; otherwise the user
        is told the button is not valid and None is returned."""
        signed = self.services.signer.verify(self.ev.user.id, self.ev.callback_data)
        if signed is None:
            self.toast("button.invalid", alert=True)
        return signed

    def button(self, label: str, payload: Payload) -> Button:
        """A button of the current prompt (stale after the next one)."""
        return Button(label, self.services.signer.sign(self.ev.user.id, payload.action, payload.pack(), self.version))

    def button_for(self, person: Person, label: str, payload: Payload) -> Button:
        """A button for `person`, checked against the database when pressed
        (not tied to a conversation version)."""
        return Button(label, self.services.signer.sign(person.telegram_id, payload.action, payload.pack(), 0))

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
        return self.services.is_admin(self.ev.user.id)
