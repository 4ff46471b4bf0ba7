"""python-telegram-bot 22 transport (BOT_FRAMEWORK=ptb): same core, same replies."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.delivery import message_attachment, MediaRejected, NotModified, RetryLater, Unreachable, deliver
from handlers.core import CrosslabCore
from handlers.types import Attachment, Button, Document, Incoming, UserRef

log = logging.getLogger(__name__)

# Message attributes that carry content we do not read, checked in this order.
_CONTENT_KINDS = ("sticker", "photo", "voice", "video", "video_note", "animation", "audio", "document",
                  "location", "venue", "contact", "poll", "dice", "game")


def _markup(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(b.text, url=b.url) if b.url else InlineKeyboardButton(b.text, callback_data=b.data)
         for b in row] for row in buttons
    ])


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _user(u: Any) -> UserRef:
    return UserRef(id=u.id, first_name=u.first_name or "", last_name=u.last_name, username=u.username,
                   language_code=u.language_code)


class PTBTransport:
    name = "ptb"

    def __init__(self, core: CrosslabCore, token: str, api_url: str) -> None:
        self.core = core
        self.app: Application = (
            ApplicationBuilder()
            .token(token)
            .base_url(f"{api_url}/bot")
            .base_file_url(f"{api_url}/file/bot")
            .concurrent_updates(True)  # the core serialises per user
            .build()
        )
        self.app.add_handler(TypeHandler(Update, self._on_update))
        self.app.add_error_handler(self._on_error)
        self.bot = self.app.bot

    # -- Channel -----------------------------------------------------------
    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after)) from exc
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc
        except BadRequest as exc:
            text = str(exc).lower()
            if "not modified" in text:
                raise NotModified(str(exc)) from exc
            if "chat not found" in text:
                raise Unreachable(str(exc)) from exc
            raise

    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int:
        msg = await self._call(self.bot.send_message(chat_id, text, reply_markup=_markup(buttons)))
        return msg.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None:
        await self._call(self.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                                    reply_markup=_markup(buttons)))

    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        msg = await self._call(self.bot.send_document(chat_id, document.content, filename=document.filename,
                                                      caption=caption or None))
        return msg.message_id

    async def send_media(self, chat_id: int, items: list[Attachment]) -> None:
        try:
            if len(items) == 1:
                item = items[0]
                if item.kind == "photo":
                    await self._call(self.bot.send_photo(chat_id, item.file_id, caption=item.caption))
                else:
                    await self._call(self.bot.send_document(chat_id, item.file_id, caption=item.caption))
                return
            media = [InputMediaPhoto(a.file_id, caption=a.caption) if a.kind == "photo"
                     else InputMediaDocument(a.file_id, caption=a.caption) for a in items]
            await self._call(self.bot.send_media_group(chat_id, media))
        except BadRequest as exc:
            raise MediaRejected(str(exc)) from exc

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        await self._call(self.bot.answer_callback_query(callback_id, text=text, show_alert=alert))

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        await self._call(self.bot.set_my_commands([BotCommand(c, d) for c, d in commands], language_code=language))

    # -- updates -------------------------------------------------------------
    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.callback_query is not None:
            q = update.callback_query
            chat_id = q.message.chat.id if q.message is not None else q.from_user.id
            ev = Incoming(update_id=update.update_id, user=_user(q.from_user), chat_id=chat_id, kind="button",
                          callback_data=q.data, callback_id=q.id,
                          message_id=q.message.message_id if q.message is not None else None)
            await deliver(self, await self.core.handle(ev), callback_id=q.id)
            return
        message = update.message
        if message is None or message.from_user is None or message.from_user.is_bot:
            return
        if message.text is not None:
            kind = "text"
        else:
            kind = next((k for k in _CONTENT_KINDS if getattr(message, k, None)), "other")
        attachment = message_attachment(message, kind)
        ev = Incoming(update_id=update.update_id, user=_user(message.from_user), chat_id=message.chat.id,
                      chat_type=str(message.chat.type).split(".")[-1].lower(), kind=kind,
                      text=message.text or ((message.caption or "") if attachment is not None else ""),
                      attachment=attachment)
        await deliver(self, await self.core.handle(ev))

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)

    # -- lifecycle -------------------------------------------------------------
    async def get_username(self) -> str:
        await self.app.initialize()  # idempotent; calls getMe
        return self.bot.username or "crosslab_bot"

    async def start(self, *, polling_timeout: int = 10) -> None:
        await self.app.initialize()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0, timeout=polling_timeout,
                                             allowed_updates=["message", "callback_query"])

    async def run_forever(self) -> None:
        import asyncio

        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
