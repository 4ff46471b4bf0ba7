"""python-telegram-bot 22 transport (BOT_FRAMEWORK=ptb): same core, same replies.

What it shares with the aiogram transport lives in `bot.transport_common`."""
from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaDocument, InputMediaPhoto
from telegram import Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.polling import Poller
from bot.transport_common import ALLOWED_UPDATES, BotApiChannel, Framework, incoming_from_callback, incoming_from_message
from handlers.types import Document

if TYPE_CHECKING:
    from bot.webhook import WebhookConfig

log = logging.getLogger(__name__)

# An update from a webhook request: PTB hands a handler's exception to the error
# handler instead of raising it, which collects it here for `process_update`.
_failures: ContextVar[list[BaseException] | None] = ContextVar("crosslab_ptb_failures", default=None)

PTB = Framework(keyboard=InlineKeyboardMarkup, button=InlineKeyboardButton, command=BotCommand,
                input_photo=InputMediaPhoto, input_document=InputMediaDocument,
                retry_after=RetryAfter, forbidden=Forbidden, bad_request=BadRequest,
                transient=(NetworkError,))

# Message attributes that carry content we do not read, checked in this order.
_CONTENT_KINDS = ("sticker", "photo", "voice", "video", "video_note", "animation", "audio", "document",
                  "location", "venue", "contact", "poll", "dice", "game")


def message_kind(message: Message) -> str:
    if message.text is not None:
        return "text"
    return next((k for k in _CONTENT_KINDS if getattr(message, k, None)), "other")


class PTBTransport(BotApiChannel):
    name = "ptb"
    framework = PTB

    def __init__(self, token: str, api_url: str) -> None:
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
        self._polling: asyncio.Task[None] | None = None

    # -- Channel (the rest is BotApiChannel's) ----------------------------------
    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        msg = await self._call(self.bot.send_document(chat_id, document.content, filename=document.filename,
                                                      caption=caption or None))
        return msg.message_id

    async def send_photo(self, chat_id: int, document: Document, caption: str) -> int:
        msg = await self._call(self.bot.send_photo(chat_id, document.content, filename=document.filename,
                                                   caption=caption or None))
        return msg.message_id

    # -- updates -------------------------------------------------------------
    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is not None:
            await self.serve(incoming_from_callback(update.update_id, query))
            return
        if update.edited_message is not None:
            ev = incoming_from_message(update.update_id, update.edited_message, message_kind, edited=True)
        else:
            ev = incoming_from_message(update.update_id, update.message, message_kind)
        if ev is not None:
            await self.serve(ev)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        failures = _failures.get()
        if failures is not None and context.error is not None:
            failures.append(context.error)  # the webhook answers 500 and logs it
            return
        log.error("error while handling an update", exc_info=context.error)

    # -- webhook mode (bot/webhook.py) ---------------------------------------------
    def parse_update(self, data: dict[str, Any]) -> Update:
        update = Update.de_json(data, self.bot)
        if update is None:
            raise ValueError("not an update")
        return update

    async def process_update(self, update: object) -> None:
        """Through the application, in this request (handler and error handler
        run in it); a handler's exception is raised here."""
        failures: list[BaseException] = []
        token = _failures.set(failures)
        try:
            await self.app.process_update(update)
        finally:
            _failures.reset(token)
        if failures:
            raise failures[0]

    # -- lifecycle -------------------------------------------------------------
    async def get_username(self) -> str:
        await self.app.initialize()  # idempotent; calls getMe
        return self.bot.username or "crosslab_bot"

    async def start(self, *, polling_timeout: int = 10, webhook: WebhookConfig | None = None) -> None:
        """Long polling (the webhook deleted first), or with `webhook` only
        setWebhook: Telegram posts. Polling confirms an update only once it
        was handled (bot/polling.py), not PTB's `Updater`, which confirms a
        batch as soon as it queued it."""
        await self.app.initialize()
        await self.app.start()
        if webhook is not None:
            await self.bot.set_webhook(url=webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES,
                                       drop_pending_updates=False, max_connections=webhook.max_connections)
            return
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(Poller(self._fetch, self.process_update, timeout=polling_timeout).run(),
                                            name="polling")

    async def _fetch(self, offset: int | None, limit: int, timeout: float) -> list[tuple[int, Update]]:
        # PTB adds the long poll's time to the request's read timeout itself
        updates = await self._call(self.bot.get_updates(offset=offset, limit=limit, timeout=int(timeout),
                                                        allowed_updates=ALLOWED_UPDATES))
        return [(u.update_id, u) for u in updates]

    async def run_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()  # the updates being handled finish first (bot/polling.py)
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
