"""Mutable state rows of the emulator: chats, users, the update queue, the waiting poll."""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import SentMessage

__all__ = ["DEFAULT_UPDATE_TYPES", "ChatState", "UserState", "QueueEntry", "Poll"]

DEFAULT_UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "purchased_paid_media", "poll", "poll_answer", "my_chat_member", "chat_join_request",
    "chat_boost", "removed_chat_boost",
})  # Telegram's default: everything except chat_member, message_reaction(_count)


@dataclass
class ChatState:
    id: int
    type: str
    info: dict
    user_id: int | None = None  # private chats: the user
    next_message_id: int = 1
    messages: dict[int, dict] = field(default_factory=dict)  # every live message, by id
    bot_messages: dict[int, SentMessage] = field(default_factory=dict)
    sent: list[SentMessage] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    reply_keyboard: dict | None = None
    menu_button: dict | None = None

    def new_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


@dataclass
class UserState:
    user: dict
    started: bool = True
    blocked: bool = False


@dataclass
class QueueEntry:
    update: dict
    delivered: bool = False
    redelivery: bool = False

    @property
    def update_id(self) -> int:
        return self.update["update_id"]

    @property
    def type(self) -> str:
        return next(k for k in self.update if k != "update_id")


class Poll:
    """One waiting getUpdates request."""

    def __init__(self) -> None:
        self.terminated = False
