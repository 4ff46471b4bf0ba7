"""Local Telegram Bot API emulator for tests, the demo and manual runs.

>>> async with BotAPIEmulator() as emu:          # doctest: +SKIP
...     # point aiogram / PTB at emu.base_url, start polling, then:
...     emu.add_user(1001, "Anna")
...     replies = await emu.say(1001, "/start")
...     await emu.tap(1001, replies[-1], "Ja")

See docs/emulator.md.
"""
from .core import BotAPIEmulator, FloodLimits
from .formatting import EntityParseError, parse_text
from .records import ApiError, SentFile, SentMessage
from .standalone import serve_forever

__all__ = ["BotAPIEmulator", "FloodLimits", "SentMessage", "SentFile", "ApiError", "EntityParseError", "parse_text",
           "serve_forever"]
