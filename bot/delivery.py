"""Delivering a `Reply` through a transport, the same way for every framework.

Each transport implements `Channel` (both through `bot.transport_common.BotApiChannel`)
and maps its framework's errors to `RetryLater` (429), `Unreachable` (403 blocked,
400 chat not found), `Transient` (5xx, timeouts, dropped connections: worth
another try) and `Rejected` (any other 400, e.g. BUTTON_USER_PRIVACY_RESTRICTED:
the same request will fail again); its `send_media` maps a 400 to
`MediaRejected` (e.g. "wrong file identifier").

A message is a list of Bot API calls (`operations`): the text in parts of at
most 4,096 characters (buttons under the last), a document, the photos and
files as albums. An uploaded picture (`Document.as_photo`) goes as a photo,
or as a file if Telegram refuses it as a photo. The outbox (bot/outbox.py)
remembers how many of them were made, so a retry continues with the next one.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
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


class Transient(Exception):
    """A server error (5xx), a timeout or a dropped connection: try again later."""


class Rejected(Exception):
    """Telegram refused the request for good (a 400 other than the ones above)."""


class MediaRejected(Rejected):
    """Telegram refused a photo/file (unknown or forged file_id, wrong type, ...)."""


class Channel(Protocol):
    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int: ...
    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None: ...
    async def send_document(self, chat_id: int, document: Document, caption: str) -> int: ...
    async def send_photo(self, chat_id: int, document: Document, caption: str) -> int: ...  # an upload, as a picture
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


Operation = tuple[str, Callable[[], Awaitable[object]]]  # (Bot API method, the call)


def operations(channel: Channel, msg: OutMessage) -> list[Operation]:
    """The Bot API calls that make up `msg`, in order (see the module doc)."""
    ops: list[Operation] = []
    if msg.document is not None and msg.document.as_photo:
        ops.append(("sendPhoto", lambda: _photo(channel, msg.chat_id, msg.document, msg.text[:CAPTION_LIMIT])))
    elif msg.document is not None:
        ops.append(("sendDocument", lambda: channel.send_document(msg.chat_id, msg.document, msg.text[:1024])))
    elif msg.edit_message_id is not None:
        ops.append(("editMessageText", lambda: _edit(channel, msg)))
    elif not (msg.media and not msg.text.strip()):  # not media only
        parts = split_text(msg.text)
        for i, part in enumerate(parts):
            buttons = msg.buttons if i == len(parts) - 1 else []
            ops.append(("sendMessage", lambda p=part, b=buttons: channel.send_text(msg.chat_id, p, b)))
    for group in media_groups(msg.media):
        method = "sendMediaGroup" if len(group) > 1 else ("sendPhoto" if group[0].kind == "photo" else "sendDocument")
        ops.append((method, lambda g=group: _send_group(channel, msg.chat_id, g)))
    return ops


async def _photo(channel: Channel, chat_id: int, document: Document, caption: str) -> int:
    """An uploaded picture; if Telegram refuses it as a photo (too large, odd
    dimensions), the same bytes as a file."""
    try:
        return await channel.send_photo(chat_id, document, caption)
    except Rejected as exc:
        log.warning("photo %s for chat %s refused (%s); sent as a file", document.filename, chat_id, exc)
        return await channel.send_document(chat_id, document, caption)


async def _edit(channel: Channel, msg: OutMessage) -> None:
    try:
        await channel.edit_text(msg.chat_id, msg.edit_message_id, msg.text[:4096], msg.buttons)  # type: ignore[arg-type]
    except NotModified:
        pass


async def _send_group(channel: Channel, chat_id: int, group: list[Attachment]) -> None:
    """One album (or a single photo/file); if Telegram refuses it (one bad
    file_id rejects a whole album), the items one by one, skipping refused ones."""
    try:
        await channel.send_media(chat_id, group)
        return
    except MediaRejected as exc:
        log.warning("media for chat %s rejected (%s): %s", chat_id, exc, ", ".join(a.file_id for a in group))
    if len(group) > 1:
        for item in group:
            await _send_group(channel, chat_id, [item])


def without_url_buttons(msg: OutMessage) -> OutMessage | None:
    """The message without its link buttons (a `tg://user?id=` button is refused
    with BUTTON_USER_PRIVACY_RESTRICTED when the person hides their account);
    None if it has none."""
    if not any(b.url for row in msg.buttons for b in row):
        return None
    rows = [[b for b in row if not b.url] for row in msg.buttons]
    return dataclasses.replace(msg, buttons=[row for row in rows if row])


RETRY_DELAYS = (0.5, 1.0, 2.0)  # in-place retries of a transient failure of a direct send
MAX_WAIT = 10.0  # the longest 429 pause a direct send waits for in place


async def _with_retry(what: str, call: Callable[[], Awaitable[object]]) -> object:
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return await call()
        except RetryLater as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning("%s: rate limited, retrying in %.1fs", what, exc.seconds)
            await asyncio.sleep(min(exc.seconds, 60))
        except Transient as exc:
            if attempt == MAX_ATTEMPTS:
                raise
            log.warning("%s failed (%s), retrying", what, exc)
            await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])
    return None  # pragma: no cover


async def deliver_message(channel: Channel, msg: OutMessage) -> None:
    """Send one message that is not in the outbox (e.g. an error reply), with
    in-place retries; a refused part is logged and the next part still sent."""
    try:
        for method, call in operations(channel, msg):
            try:
                await _with_retry(method, call)
            except Rejected as exc:
                plain = without_url_buttons(msg)
                if plain is not None and method == "sendMessage":
                    log.warning("%s to chat %s refused (%s); sending it without link buttons", method, msg.chat_id, exc)
                    await deliver_message(channel, plain)
                    return
                log.warning("%s to chat %s refused: %s", method, msg.chat_id, exc)
    except Unreachable as exc:
        log.info("chat %s unreachable: %s", msg.chat_id, exc)


async def deliver(channel: Channel, reply: Reply, callback_id: str | None = None) -> None:
    """Deliver a reply directly (no outbox): the tests' and tools' path."""
    if callback_id is not None:
        await answer_callback(channel, callback_id, reply)
    for msg in reply.messages:
        await deliver_message(channel, msg)


async def answer_callback(channel: Channel, callback_id: str, reply: Reply) -> None:
    try:
        await channel.answer_callback(callback_id, reply.callback_text, reply.callback_alert)
    except Exception as exc:  # an expired callback query must not block the reply
        log.debug("answerCallbackQuery failed: %s", exc)
