"""What the aiogram and PTB transports share, written once.

Both frameworks name Telegram's objects, their fields, the Bot's methods and
their parameters as the Bot API does. So reading an update (`user_ref`,
`incoming_from_message`, `incoming_from_callback`, `message_attachment`) needs
no framework import, and `BotApiChannel` implements `bot.delivery.Channel` over
either framework's `Bot`, given a `Framework`: its classes (keyboards, input media,
commands) and its three API errors. This module imports neither framework.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Awaitable, Callable, ClassVar, Literal

from bot import metrics
from bot.delivery import MediaRejected, NotModified, Rejected, RetryLater, Transient, Unreachable, deliver
from handlers.types import Attachment, Button, Document, Incoming, Reply, UserRef

if TYPE_CHECKING:
    from bot.outbox import Outbox
    from handlers.core import CrosslabCore

log = logging.getLogger(__name__)

__all__ = ["ALLOWED_UPDATES", "BotApiChannel", "Framework", "Typing", "classify_bad_request", "forward_origin", "incoming_from_callback", "incoming_from_message",
           "markup", "message_attachment", "retry_seconds", "user_ref"]


# -- reading updates -------------------------------------------------------------
def user_ref(u: Any) -> UserRef:
    return UserRef(id=u.id, first_name=u.first_name or "", last_name=u.last_name, username=u.username,
                   language_code=u.language_code)


def message_attachment(message: Any, kind: str) -> Attachment | None:
    """The file of an incoming photo (largest size) or document, else None."""
    if kind == "photo" and message.photo:
        largest = max(message.photo, key=lambda s: s.width * s.height)
        return Attachment(kind="photo", file_id=largest.file_id, mime_type="image/jpeg")
    if kind == "document" and message.document is not None:
        doc = message.document
        return Attachment(kind="document", file_id=doc.file_id, filename=doc.file_name, mime_type=doc.mime_type)
    return None


# The updates the transports ask Telegram for (getUpdates / setWebhook).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def forward_origin(message: Any) -> tuple[UserRef | None, str | None]:
    """Who a forwarded message came from: (their user, None) when they allow
    it, (None, the shown name) when they hide their account, else (None, None)."""
    origin = getattr(message, "forward_origin", None)
    if origin is None:
        return None, None
    kind = str(getattr(origin, "type", "")).split(".")[-1].lower()
    if kind == "user" and getattr(origin, "sender_user", None) is not None:
        return user_ref(origin.sender_user), None
    if kind == "hidden_user":
        return None, getattr(origin, "sender_user_name", None) or ""
    return None, None


def incoming_from_message(update_id: int, message: Any, kind_of: Callable[[Any], str], *,
                          edited: bool = False) -> Incoming | None:
    """The `Incoming` for a message from a person (`edited`: a message they
    changed afterwards); None without a message or when the sender is unknown
    or a bot. `kind_of(message)` is the framework's content kind."""
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    kind = kind_of(message)
    attachment = message_attachment(message, kind)
    forward_from, forward_hidden = forward_origin(message)
    return Incoming(
        update_id=update_id,
        user=user_ref(message.from_user),
        chat_id=message.chat.id,
        chat_type=str(message.chat.type).split(".")[-1].lower(),
        kind=kind,
        text=message.text or ((message.caption or "") if attachment is not None else ""),
        attachment=attachment,
        edited=edited,
        forward_from=forward_from,
        forward_hidden=forward_hidden,
    )


def incoming_from_callback(update_id: int, query: Any) -> Incoming:
    """The `Incoming` for a pressed inline button (kind "button")."""
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    return Incoming(
        update_id=update_id,
        user=user_ref(query.from_user),
        chat_id=chat_id,
        kind="button",
        callback_data=query.data,
        callback_id=query.id,
        message_id=query.message.message_id if query.message is not None else None,
    )


# -- sending ---------------------------------------------------------------------
def markup(buttons: list[list[Button]], keyboard_cls: Callable[..., Any], button_cls: Callable[..., Any]) -> Any:
    """An inline keyboard (the framework's InlineKeyboardMarkup/-Button), None without buttons."""
    if not buttons:
        return None
    return keyboard_cls(inline_keyboard=[
        [button_cls(text=b.text, url=b.url) if b.url else button_cls(text=b.text, callback_data=b.data)
         for b in row] for row in buttons
    ])


def retry_seconds(value: int | timedelta) -> float:
    """A 429's retry_after (seconds, or a timedelta in PTB) as seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify_bad_request(text: str) -> Literal["not_modified", "unreachable", "other"]:
    """What a 400 Bad Request means for delivery: an edit that changes nothing, a chat
    that cannot be reached, or anything else."""
    text = text.lower()
    if "not modified" in text:
        return "not_modified"
    if "chat not found" in text:
        return "unreachable"
    return "other"


class Typing:
    """Telegram's "typing …" in a chat while an update takes long: the first
    sendChatAction after `after` seconds, then every `every` seconds (Telegram
    shows it for about 5 s) until `stop`. Nothing is sent for a quick update
    (only a timer is scheduled); a failed chat action is only logged."""

    def __init__(self, channel: BotApiChannel, chat_id: int, after: float, every: float) -> None:
        self.channel, self.chat_id, self.every = channel, chat_id, every
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(after, self._begin)

    def _begin(self) -> None:
        self._task = asyncio.ensure_future(self._keep_typing())

    async def _keep_typing(self) -> None:
        while True:
            try:
                await self.channel.send_chat_action(self.chat_id, "typing")
            except Exception as exc:  # a sign of life is not worth an error
                log.debug("sendChatAction failed: %s", exc)
            await asyncio.sleep(self.every)

    def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()


@dataclass(frozen=True)
class Framework:
    """A framework's classes for what `BotApiChannel` sends, and its Bot API errors."""

    keyboard: Callable[..., Any]  # InlineKeyboardMarkup
    button: Callable[..., Any]  # InlineKeyboardButton
    command: Callable[..., Any]  # BotCommand
    input_photo: Callable[..., Any]  # InputMediaPhoto
    input_document: Callable[..., Any]  # InputMediaDocument
    retry_after: type[Exception]  # 429, has .retry_after
    forbidden: type[Exception]  # 403
    bad_request: type[Exception]  # 400
    # 5xx, timeouts, dropped connections: worth another try (checked after the three above)
    transient: tuple[type[Exception], ...] = ()


class BotApiChannel:
    """`bot.delivery.Channel` over a framework's `Bot` (``self.bot``).

    A transport subclasses this, names its `framework` and implements
    `send_document` and `send_photo` (uploads differ). Framework errors become `RetryLater` (429),
    `Unreachable` (403, "chat not found") and `NotModified`; in `send_media` any
    other 400 becomes `MediaRejected`.
    """

    framework: ClassVar[Framework]
    bot: Any
    core: CrosslabCore | None = None
    on_delivered: Callable[[Incoming, Reply], None] | None = None
    outbox: Outbox | None = None  # delivers replies and wakes the sender (bot/outbox.py)
    # A sign of life while an update takes long (e.g. the first matching):
    # "typing …" after this many seconds, repeated while still working.
    typing_after: ClassVar[float] = 1.0
    typing_every: ClassVar[float] = 4.0

    def bind(self, core: CrosslabCore, on_delivered: Callable[[Incoming, Reply], None] | None = None,
             outbox: Outbox | None = None) -> None:
        """Updates go to this core from now on (the app builds the core after
        asking the transport for the bot's username). `on_delivered` hears of
        every handled update once its reply went out (tests wait on it).
        Replies go out through `outbox` (without one: directly, nothing stored
        is marked sent)."""
        self.core, self.on_delivered, self.outbox = core, on_delivered, outbox

    async def serve(self, ev: Incoming) -> None:
        """One update: the core's reply, delivered (with the button's toast).
        If the core takes longer than `typing_after`, the chat shows "typing …"
        until the reply is ready."""
        if self.core is None:
            raise RuntimeError("the transport is not bound to a core")
        started = time.perf_counter()
        reply: Reply | None = None
        delivered = False
        typing = Typing(self, ev.chat_id, self.typing_after, self.typing_every)
        try:
            try:
                reply = await self.core.handle(ev)
            finally:
                typing.stop()
            try:
                if self.outbox is not None:
                    await self.outbox.deliver_reply(reply, ev.chat_id, callback_id=ev.callback_id)
                else:
                    await deliver(self, reply, callback_id=ev.callback_id)
                delivered = True
            finally:
                if self.on_delivered is not None:
                    self.on_delivered(ev, reply)
        finally:  # the metrics (bot/metrics.py): an exception anywhere counts as an error
            metrics.observe_update(ev, reply if delivered else None, time.perf_counter() - started)

    async def _call(self, coro: Awaitable[Any]) -> Any:
        errors = self.framework
        try:
            return await coro
        except errors.retry_after as exc:
            raise RetryLater(retry_seconds(exc.retry_after)) from exc  # type: ignore[attr-defined]
        except errors.forbidden as exc:
            raise Unreachable(str(exc)) from exc
        except errors.bad_request as exc:
            meaning = classify_bad_request(str(exc))
            if meaning == "not_modified":
                raise NotModified(str(exc)) from exc
            if meaning == "unreachable":
                raise Unreachable(str(exc)) from exc
            raise Rejected(str(exc)) from exc
        except (*errors.transient, asyncio.TimeoutError, ConnectionError, OSError) as exc:
            raise Transient(f"{exc.__class__.__name__}: {exc}") from exc

    def _markup(self, buttons: list[list[Button]]) -> Any:
        return markup(buttons, self.framework.keyboard, self.framework.button)

    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int:
        msg = await self._call(self.bot.send_message(chat_id, text, reply_markup=self._markup(buttons)))
        return msg.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None:
        await self._call(self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                                    reply_markup=self._markup(buttons)))

    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        raise NotImplementedError  # the transport's: uploads differ

    async def send_photo(self, chat_id: int, document: Document, caption: str) -> int:
        raise NotImplementedError  # the transport's: uploads differ

    async def send_media(self, chat_id: int, items: list[Attachment]) -> None:
        """One message: a single photo or document, or an album (sendMediaGroup)."""
        fw = self.framework
        try:
            if len(items) == 1:
                item = items[0]
                send = self.bot.send_photo if item.kind == "photo" else self.bot.send_document
                await self._call(send(chat_id, item.file_id, caption=item.caption))
                return
            media = [(fw.input_photo if a.kind == "photo" else fw.input_document)(media=a.file_id, caption=a.caption)
                     for a in items]
            await self._call(self.bot.send_media_group(chat_id, media))
        except Rejected as exc:
            raise MediaRejected(str(exc)) from exc

    async def send_chat_action(self, chat_id: int, action: str) -> None:
        await self._call(self.bot.send_chat_action(chat_id, action))

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        await self._call(self.bot.answer_callback_query(callback_id, text=text, show_alert=alert))

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        await self._call(self.bot.set_my_commands([self.framework.command(command=c, description=d)
                                                   for c, d in commands], language_code=language))
