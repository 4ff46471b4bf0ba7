"""Delivering a `Reply` through a transport, the same way for every framework.

Each transport implements `Channel` (both through `bot.transport_common.BotApiChannel`)
and maps its framework's errors to `RetryLater` (429) and `Unreachable` (403 blocked,
400 chat not found); its `send_media` maps any other 400 (e.g. "wrong file
identifier") to `MediaRejected`.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Protocol

from handlers.types import Attachment, Button, Document, OutMessage, Reply, split_text

log = logging.getLogger(__name__)


class RetryLater(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds}s")
        self.seconds = seconds


class Unreachable(Exception):
    """The chat cannot receive messages (blocked the bot, chat not found)."""


class NotModified(Exception):
    """An edit that would not change the message."""


class MediaRejected(Exception):
    """Telegram refused a photo/file (unknown or forged file_id, wrong type, ...)."""


class Channel(Protocol):
    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int: ...
    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None: ...
    async def send_document(self, chat_id: int, document: Document, caption: str) -> int: ...
    # One Telegram message: a single photo/document (sendPhoto/sendDocument), or an album of
    # 2-10 items of one kind (sendMediaGroup). `deliver_message` groups via `media_groups`.
    async def send_media(self, chat_id: int, items: list[Attachment]) -> None: ...
    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None: ...
    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None: ...


MAX_ATTEMPTS = 4
ALBUM_LIMIT = 10  # items per sendMediaGroup
CAPTION_LIMIT = 1024
MEDIA_KINDS = ("photo", "document")


def _caption(text: str | None) -> str | None:
    if not text:
        return None
    return text if len(text) <= CAPTION_LIMIT else text[:CAPTION_LIMIT - 1] + "…"


def media_groups(items: list[Attachment]) -> list[list[Attachment]]:
    """Split attachments into Telegram messages: photos and documents never share an
    album (kinds in order of first appearance), at most 10 per album; a group of one
    is sent on its own. Captions are cut to Telegram's 1,024 characters."""
    by_kind: dict[str, list[Attachment]] = {}
    for item in items:
        if item.kind not in MEDIA_KINDS:
            log.warning("attachment of unsupported kind %r not sent", item.kind)
            continue
        by_kind.setdefault(item.kind, []).append(dataclasses.replace(item, caption=_caption(item.caption)))
    return [group[i:i + ALBUM_LIMIT] for group in by_kind.values() for i in range(0, len(group), ALBUM_LIMIT)]


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


async def _send_text_part(channel: Channel, msg: OutMessage) -> None:
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
    if msg.media and not msg.text.strip():
        return  # media only
    parts = split_text(msg.text)
    for i, part in enumerate(parts):
        buttons = msg.buttons if i == len(parts) - 1 else []
        await _with_retry("sendMessage", lambda p=part, b=buttons: channel.send_text(msg.chat_id, p, b))


async def _send_group(channel: Channel, chat_id: int, group: list[Attachment]) -> None:
    method = "sendMediaGroup" if len(group) > 1 else ("sendPhoto" if group[0].kind == "photo" else "sendDocument")
    try:
        await _with_retry(method, lambda: channel.send_media(chat_id, group))
        return
    except MediaRejected as exc:
        log.warning("%s to chat %s rejected (%s): %s", method, chat_id, exc,
                    ", ".join(a.file_id for a in group))
    if len(group) > 1:  # one bad file_id rejects the whole album: send the others one by one
        for item in group:
            await _send_group(channel, chat_id, [item])


async def deliver_message(channel: Channel, msg: OutMessage) -> None:
    try:
        await _send_text_part(channel, msg)
        for group in media_groups(msg.media):
            await _send_group(channel, msg.chat_id, group)
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

