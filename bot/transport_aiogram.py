"""aiogram 3 transport (the default): Telegram updates -> Incoming -> core -> Reply."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetMyCommands,
)
from aiogram.methods.base import Response
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    Update,
)

from bot.delivery import message_attachment, MediaRejected, NotModified, RetryLater, Unreachable, deliver
from handlers.core import CrosslabCore
from handlers.types import Attachment, Button, Document, Incoming, UserRef

log = logging.getLogger(__name__)

# aiogram parses each API response as `Response[<return type>]`, a pydantic
# generic model. pydantic 2 caches those classes only weakly, so under load they
# are garbage-collected and rebuilt (~6 ms each; 288 rebuilds in a 1,700-update
# bench). Holding them here keeps them alive for the life of the process.
_RESPONSE_TYPES = [
    Response[method.__returning__]  # type: ignore[misc]
    for method in (GetMe, GetUpdates, DeleteWebhook, SendMessage, EditMessageText, SendDocument,
                   SendPhoto, SendMediaGroup, AnswerCallbackQuery, SetMyCommands)
]


def _markup(buttons: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.text, url=b.url) if b.url else InlineKeyboardButton(text=b.text, callback_data=b.data)
         for b in row] for row in buttons
    ])


def _map_errors(exc: Exception) -> Exception:
    if isinstance(exc, TelegramRetryAfter):
        return RetryLater(float(exc.retry_after))
    if isinstance(exc, TelegramForbiddenError):
        return Unreachable(str(exc))
    if isinstance(exc, TelegramBadRequest):
        text = str(exc).lower()
        if "not modified" in text:
            return NotModified(str(exc))
        if "chat not found" in text:
            return Unreachable(str(exc))
    return exc


def _user(u: Any) -> UserRef:
    return UserRef(id=u.id, first_name=u.first_name or "", last_name=u.last_name, username=u.username,
                   language_code=u.language_code)


def message_kind(message: Message) -> str:
    if message.text is not None:
        return "text"
    return str(message.content_type).split(".")[-1].lower()


class AiogramTransport:
    name = "aiogram"

    def __init__(self, core: CrosslabCore, token: str, api_url: str) -> None:
        self.core = core
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url, is_local=False))
        self.bot = Bot(token=token, session=session)
        self.dp = Dispatcher()
        self.dp.include_router(self._router())
        self._polling: asyncio.Task[None] | None = None

    # -- Channel -----------------------------------------------------------
    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (TelegramRetryAfter, TelegramForbiddenError, TelegramBadRequest) as exc:
            raise _map_errors(exc) from exc

    async def send_text(self, chat_id: int, text: str, buttons: list[list[Button]]) -> int:
        msg = await self._call(self.bot.send_message(chat_id, text, reply_markup=_markup(buttons)))
        return msg.message_id

    async def edit_text(self, chat_id: int, message_id: int, text: str, buttons: list[list[Button]]) -> None:
        await self._call(self.bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                                    reply_markup=_markup(buttons)))

    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        file = BufferedInputFile(document.content, filename=document.filename)
        msg = await self._call(self.bot.send_document(chat_id, file, caption=caption or None))
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
            media = [InputMediaPhoto(media=a.file_id, caption=a.caption) if a.kind == "photo"
                     else InputMediaDocument(media=a.file_id, caption=a.caption) for a in items]
            await self._call(self.bot.send_media_group(chat_id, media))
        except TelegramBadRequest as exc:
            raise MediaRejected(str(exc)) from exc

    async def answer_callback(self, callback_id: str, text: str | None, alert: bool) -> None:
        await self._call(self.bot.answer_callback_query(callback_id, text=text, show_alert=alert))

    async def set_commands(self, commands: list[tuple[str, str]], language: str | None) -> None:
        await self._call(self.bot.set_my_commands([BotCommand(command=c, description=d) for c, d in commands],
                                                  language_code=language))

    # -- updates -------------------------------------------------------------
    def _router(self) -> Router:
        router = Router(name="crosslab")
        router.message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        return router

    async def _on_message(self, message: Message, event_update: Update) -> None:
        if message.from_user is None or message.from_user.is_bot:
            return
        kind = message_kind(message)
        attachment = message_attachment(message, kind)
        ev = Incoming(
            update_id=event_update.update_id,
            user=_user(message.from_user),
            chat_id=message.chat.id,
            chat_type=str(message.chat.type).split(".")[-1].lower(),
            kind=kind,
            text=message.text or ((message.caption or "") if attachment is not None else ""),
            attachment=attachment,
        )
        await deliver(self, await self.core.handle(ev))

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        ev = Incoming(
            update_id=event_update.update_id,
            user=_user(query.from_user),
            chat_id=chat_id,
            kind="button",
            callback_data=query.data,
            callback_id=query.id,
            message_id=query.message.message_id if query.message is not None else None,
        )
        await deliver(self, await self.core.handle(ev), callback_id=query.id)

    # -- lifecycle -------------------------------------------------------------
    async def get_username(self) -> str:
        me = await self.bot.get_me()
        return me.username or "crosslab_bot"

    async def start(self, *, polling_timeout: int = 10) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(self.dp.start_polling(
            self.bot, handle_signals=False, close_bot_session=False, polling_timeout=polling_timeout,
            allowed_updates=["message", "callback_query"],
        ))

    async def run_forever(self) -> None:
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.dp.start_polling(self.bot, allowed_updates=["message", "callback_query"], close_bot_session=False)

    async def stop(self) -> None:
        if self._polling is not None:
            try:
                await self.dp.stop_polling()
            except RuntimeError:  # polling had not started yet
                self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
        await self.bot.session.close()
