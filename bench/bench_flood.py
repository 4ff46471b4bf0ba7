"""Flood control (handlers/flood.py): does one person flooding slow anybody else?

The real bot (aiogram or PTB, SQLite, in this process) against the Bot API
emulator with Telegram-like flood limits (429 with retry_after: ~30 messages a
second in all, about one a second per chat with short bursts). Bea sends a
message every half second and the time until each reply arrives is measured:
first alone, then while Anna sends FLOOD messages at once — with flood control
on (FLOOD_BURST 20, FLOOD_RATE 1/s) and off. Prints Bea's median and worst
reply time, how many of Anna's updates got any reply, and how long until the
bot went quiet after the flood.

    python bench/bench_flood.py [--flood 200] [--messages 10] [--framework aiogram|ptb]
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DEMO_TOKEN  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402

ANNA, BEA = 1001, 1002


async def run(framework: str, flood: int, messages: int, burst: int) -> dict[str, float]:
    from bot.app import create_app

    with tempfile.TemporaryDirectory(prefix="crosslab-bench-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot", flood_limits=True) as emu:
            settings = load_settings(_env_file=None, telegram_bot_token=DEMO_TOKEN, telegram_api_url=emu.base_url,
                                     database_url=f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", webhook_url="",
                                     flood_burst=burst, log_level="ERROR")
            app = await create_app(settings, framework=framework)
            await app.start(polling_timeout=1)
            try:
                emu.add_user(ANNA, "Anna", language_code="de")
                emu.add_user(BEA, "Bea", language_code="de")
                for uid in (ANNA, BEA):
                    before = len(emu.sent(uid))
                    emu.send_text(uid, "/start")
                    await emu.wait_until(lambda uid=uid, before=before: len(emu.sent(uid)) > before, 60, "welcome")
                await emu.wait_idle(30, quiet=0.5)
                anna_before = len(emu.sent(ANNA))
                started = time.perf_counter()
                for i in range(flood):
                    emu.send_text(ANNA, f"Flut {i}")
                latencies: list[float] = []
                for _ in range(messages):
                    before = len(emu.sent(BEA))
                    sent = time.perf_counter()
                    emu.send_text(BEA, "/help")
                    await emu.wait_until(lambda: len(emu.sent(BEA)) > before, 300, "Bea's answer")
                    latencies.append(time.perf_counter() - sent)
                    await asyncio.sleep(0.5)
                await emu.wait_idle(600, quiet=2.0)
                quiet_after = time.perf_counter() - started - 2.0
                anna_replies = len(emu.sent(ANNA)) - anna_before
            finally:
                await app.stop()
    return {"median": statistics.median(latencies), "worst": max(latencies), "anna": anna_replies,
            "quiet": quiet_after}


async def main(framework: str, flood: int, messages: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    print(f"{framework}, emulator with Telegram-like flood limits; Bea sends {messages} messages, one every 0.5 s")
    for label, n, burst in (("alone", 0, 20), (f"{flood} from Anna, flood control on", flood, 20),
                            (f"{flood} from Anna, flood control off", flood, 0)):
        r = await run(framework, n, messages, burst)
        print(f"{label:38s} Bea's reply: median {r['median']:6.2f} s, worst {r['worst']:6.2f} s"
              + (f"; Anna got {r['anna']} messages; quiet {r['quiet']:.0f} s after the flood" if n else ""))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--framework", choices=("aiogram", "ptb"), default="aiogram")
    args = parser.parse_args()
    asyncio.run(main(args.framework, args.flood, args.messages))
