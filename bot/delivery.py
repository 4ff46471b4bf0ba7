"""Delivering a `Reply` through a transport, the same way for every framework.

Each transport implements `Channel` and maps its framework's errors to
`RetryLater` (429) and `Unreachable` (403 blocked, 400 chat not found).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from handlers.types import Button, Document, OutMessage, Reply, split_text

log = logging.getLogger(__name__)


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(Exception):
    """The chat cannot receive messages (blocked the bot, chat not found)."""


class NotModified(Exception):
    """An edit that would not change the message."""


class Channel(Protocol):
    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int: ...
    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None: ...
    async def send_document(self, chat_id: int, document: Document, caption: str) -> int: ...
    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None: ...
    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None: ...


MAX_ATTEMPTS = 4


async def _with_retry(what: str, call: object) -> object:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()  # type: ignore[operator]
        except RetryLater as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning("%s: rate limited, retrying in %.1fs", what, exc.seconds)
            await asyncio.sleep(min(exc.seconds, 60))
    return None  # pragma: no cover


async def deliver_message(channel: Channel, msg: OutMessage) -> None:
    try:
        if msg.document is not None:
            await _with_retry("sendDocument", lambda: channel.send_document(msg.chat_id, msg.document, msg.text[:1024]))
            return
        if msg.edit_message_id is not None:
            try:
                await _with_retry("editMessageText", lambda: channel.edit_text(
                    msg.chat_id, msg.edit_message_id, msg.text[:4096], msg.buttons))
            except NotModified:
                pass
            return
        parts = split_text(msg.text)
        for i, part in enumerate(parts):
            buttons = msg.buttons if i == len(parts) - 1 else []
            await _with_retry("sendMessage", lambda p=part, b=buttons: channel.send_text(msg.chat_id, p, b))
    except Unreachable as exc:
        log.info("chat %s unreachable: %s", msg.chat_id, exc)


async def deliver(channel: Channel, reply: Reply, callback_id: str | None = None) -> None:
    if callback_id is not None:
        try:
            await channel.answer_callback(callback_id, reply.callback_text, reply.callback_alert)
        except Exception as exc:  # an expired callback query must not block the reply
            log.debug("answerCallbackQuery failed: %s", exc)
    for msg in reply.messages:
        await deliver_message(channel, msg)
