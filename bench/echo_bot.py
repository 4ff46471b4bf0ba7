"""A bare aiogram echo bot: the baseline of bench/bench_echo.py. Against
TELEGRAM_API_URL with TELEGRAM_BOT_TOKEN; every text is answered with itself,
nothing else happens (no database, no state).

Long polling, or with WEBHOOK_URL set, aiogram's own webhook server
(SimpleRequestHandler: the secret WEBHOOK_SECRET checked, the update handled
in the request as Crosslab does) listening on WEBHOOK_LISTEN."""
from __future__ import annotations

import asyncio
import os
import signal
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web


async def serve_webhook(bot: Bot, dp: Dispatcher, url: str, secret: str, listen: str) -> None:
    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=secret,
                         handle_in_background=False).register(app, path=urlsplit(url).path)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, _, port = listen.rpartition(":")
    await web.TCPSite(runner, host, int(port)).start()
    await bot.set_webhook(url, secret_token=secret)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()
    await bot.session.close()


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"], is_local=False))
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    if os.environ.get("WEBHOOK_URL"):
        await serve_webhook(bot, dp, os.environ["WEBHOOK_URL"], os.environ["WEBHOOK_SECRET"],
                            os.environ["WEBHOOK_LISTEN"])
    else:
        await dp.start_polling(bot, handle_signals=True, polling_timeout=1)


if __name__ == "__main__":
    asyncio.run(main())
