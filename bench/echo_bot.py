"""A bare aiogram echo bot: the baseline of bench/bench_echo.py. Long polling
against TELEGRAM_API_URL with TELEGRAM_BOT_TOKEN; every text is answered with
itself, nothing else happens (no database, no state)."""
from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"], is_local=False))
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    await dp.start_polling(bot, handle_signals=True, polling_timeout=1)


if __name__ == "__main__":
    asyncio.run(main())
