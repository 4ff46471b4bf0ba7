"""aiogram 3 transport (the default): Telegram updates -> Incoming -> core -> Reply.

What it shares with the PTB transport lives in `bot.transport_common`."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from bot.aiogram_models import build, import_aiogram

# before the first `import aiogram`: its ~900 Bot API models then build on
# first use instead of at import (~110 MB less RSS, bot/aiogram_models.py)
import_aiogram()

from aiogram import Bot, Dispatcher, Router  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.client.telegram import TelegramAPIServer  # noqa: E402
from aiogram.exceptions import (TelegramBadRequest, TelegramForbiddenError, TelegramNetworkError,  # noqa: E402
                                TelegramRetryAfter, TelegramServerError)
from aiogram.methods import (  # noqa: E402
    AnswerCallbackQuery,
    DeleteWebhook,
    EditMessageText,
    GetMe,
    GetUpdates,
    SendDocument,
    SendChatAction,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetMyCommands,
    SetWebhook,
)
from aiogram.methods.base import Response  # noqa: E402
from aiogram.types import BotCommand, BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup  # noqa: E402
from aiogram.types import InputMediaDocument, InputMediaPhoto, Message, Update  # noqa: E402

from bot.polling import Poller  # noqa: E402
from bot.transport_common import ALLOWED_UPDATES, BotApiChannel, Framework, incoming_from_callback, incoming_from_message  # noqa: E402
from handlers.types import Document  # noqa: E402

if TYPE_CHECKING:
    from bot.webhook import WebhookConfig

log = logging.getLogger(__name__)

# aiogram parses each API response as `Response[<return type>]`, a pydantic
# generic model. pydantic 2 caches those classes only weakly, so under load they
# are garbage-collected and rebuilt (~6 ms each; 288 rebuilds in a 1,700-update
# bench). Holding them here keeps them alive for the life of the process.
_METHODS = (GetMe, GetUpdates, DeleteWebhook, SendMessage, EditMessageText, SendDocument,
            SendPhoto, SendMediaGroup, AnswerCallbackQuery, SetMyCommands, SendChatAction, SetWebhook)
_RESPONSE_TYPES = [Response[method.__returning__] for method in _METHODS]  # type: ignore[misc]
# what the transport reads and sends, built now (the rest of aiogram's models
# only if an update ever needs them)
build([Update, *_METHODS, *_RESPONSE_TYPES])


AIOGRAM = Framework(keyboard=InlineKeyboardMarkup, button=InlineKeyboardButton, command=BotCommand,
                    input_photo=InputMediaPhoto, input_document=InputMediaDocument,
                    retry_after=TelegramRetryAfter, forbidden=TelegramForbiddenError, bad_request=TelegramBadRequest,
                    transient=(TelegramServerError, TelegramNetworkError))


def message_kind(message: Message) -> str:
    if message.text is not None:
        return "text"
    return str(message.content_type).split(".")[-1].lower()


class AiogramTransport(BotApiChannel):
    name = "aiogram"
    framework = AIOGRAM

    def __init__(self, token: str, api_url: str) -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_url, is_local=False))
        self.bot = Bot(token=token, session=session)
        self.dp = Dispatcher()
        self.dp.include_router(self._router())
        self._polling: asyncio.Task[None] | None = None

    # -- Channel (the rest is BotApiChannel's) ----------------------------------
    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        file = BufferedInputFile(document.content, filename=document.filename)
        msg = await self._call(self.bot.send_document(chat_id, file, caption=caption or None))
        return msg.message_id

    async def send_photo(self, chat_id: int, document: Document, caption: str) -> int:
        file = BufferedInputFile(document.content, filename=document.filename)
        msg = await self._call(self.bot.send_photo(chat_id, file, caption=caption or None))
        return msg.message_id

    # -- updates -------------------------------------------------------------
    def _router(self) -> Router:
        router = Router(name="crosslab")
        router.message.register(self._on_message)
        router.edited_message.register(self._on_edited)
        router.callback_query.register(self._on_callback)
        return router

    async def _on_message(self, message: Message, event_update: Update) -> None:
        ev = incoming_from_message(event_update.update_id, message, message_kind)
        if ev is not None:
            await self.serve(ev)

    async def _on_edited(self, message: Message, event_update: Update) -> None:
        ev = incoming_from_message(event_update.update_id, message, message_kind, edited=True)
        if ev is not None:
            await self.serve(ev)

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        await self.serve(incoming_from_callback(event_update.update_id, query))

    # -- webhook mode (bot/webhook.py) ---------------------------------------------
    def parse_update(self, data: dict[str, Any]) -> Update:
        return Update.model_validate(data, context={"bot": self.bot})

    async def process_update(self, update: object) -> None:
        """Through the dispatcher, in this request; a handler's exception propagates."""
        await self.dp.feed_update(self.bot, update)  # type: ignore[arg-type]

    # -- lifecycle -------------------------------------------------------------
    async def get_username(self) -> str:
        me = await self.bot.get_me()
        return me.username or "crosslab_bot"

    async def start(self, *, polling_timeout: int = 10, webhook: WebhookConfig | None = None) -> None:
        """Long polling (the webhook deleted first: a set webhook makes
        getUpdates fail), or with `webhook` only setWebhook: Telegram posts.
        Polling confirms an update only once it was handled (bot/polling.py)."""
        if webhook is not None:
            await self.bot.set_webhook(url=webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES,
                                       drop_pending_updates=False, max_connections=webhook.max_connections)
            return
        await self.bot.delete_webhook(drop_pending_updates=False)
        self._polling = asyncio.create_task(Poller(self._fetch, self.process_update, timeout=polling_timeout).run(),
                                            name="polling")

    async def _fetch(self, offset: int | None, limit: int, timeout: float) -> list[tuple[int, Update]]:
        wait = int(timeout)
        # the request may take the long poll's time plus the session's own timeout
        updates = await self._call(self.bot.get_updates(offset=offset, limit=limit, timeout=wait,
                                                        allowed_updates=ALLOWED_UPDATES,
                                                        request_timeout=int(self.bot.session.timeout) + wait))
        return [(u.update_id, u) for u in updates]

    async def run_forever(self) -> None:
        """Poll until cancelled (SIGTERM); the bot's session stays open for the outbox's last records."""
        await self.start()
        try:
            assert self._polling is not None
            await asyncio.shield(self._polling)
        finally:
            await self._stop_polling()

    async def _stop_polling(self) -> None:
        if self._polling is not None:
            self._polling.cancel()  # the updates being handled finish first (bot/polling.py)
            await asyncio.gather(self._polling, return_exceptions=True)
            self._polling = None

    async def stop(self) -> None:
        await self._stop_polling()
        await self.bot.session.close()
