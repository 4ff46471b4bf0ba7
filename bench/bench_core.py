"""CPU per handled update in the core alone (no transport, no HTTP): the
database work and the rules of one update, on SQLite or PostgreSQL.

    python bench/bench_core.py [--updates 2000] [--concurrency 20] [--database URL] [--profile FILE]

`--updates` new users each send one plain text (the privacy notice is the
answer), `--concurrency` at a time; the replies are recorded as sent every
0.25 s, as the transport does. Prints process CPU (all threads: aiosqlite's included) per
update. Used to see what the hot path of bench_echo.py costs without aiogram.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.bootstrap import build_core  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import utcnow  # noqa: E402
from db.outbox import OutboxStore, Result  # noqa: E402
from handlers.types import Incoming, UserRef  # noqa: E402

TEXT = "Hallo, ich möchte mitmachen"


async def run(url: str, updates: int, concurrency: int, profile: Path | None) -> dict[str, float]:
    settings = load_settings(_env_file=None, telegram_bot_token="123456789:bench-token-for-the-core-benchmark", database_url=url,
                             flood_burst=0, webhook_url="")
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    core = build_core(settings, sessions, bot_username="crosslab_bench_bot")
    outbox = OutboxStore(sessions)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            uid = 10_000_000 + i
            ev = Incoming(update_id=i + 100, user=UserRef(uid, f"U{uid}", language_code="de"), chat_id=uid,
                          kind="text", text=TEXT)
            reply = await core.handle(ev)
            assert reply.messages and not reply.error, reply
            sent.extend(Result(m.outbox_id, m.chat_id, "sent", 1) for m in reply.messages if m.outbox_id is not None)

    sent: list[Result] = []

    async def record(stop: asyncio.Event) -> None:
        """The replies recorded as sent every 0.25 s, as the transport does (bot/outbox.py)."""
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
            done, sent[:] = sent[:], []
            await outbox.finish(done, utcnow())
            if stop.is_set():
                return

    async def traffic(ids: range) -> None:
        stop = asyncio.Event()
        recorder = asyncio.create_task(record(stop))
        await asyncio.gather(*(one(i) for i in ids))
        stop.set()
        await recorder

    await traffic(range(-50, 0))  # warm-up: caches, statements
    prof = cProfile.Profile() if profile else None
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if prof:
        prof.enable()
    await traffic(range(updates))
    if prof:
        prof.disable()
        prof.dump_stats(str(profile))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await engine.dispose()
    return {"updates": updates, "cpu_ms_per_update": round(cpu / updates * 1000, 3),
            "updates_per_s": round(updates / wall, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--database", default=None, help="default: a new SQLite file")
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crosslab-core-") as tmp:
        url = args.database or f"sqlite+aiosqlite:///{tmp}/core.sqlite3"
        result = asyncio.run(run(url, args.updates, args.concurrency, args.profile))
    print(json.dumps({"database": url.split(":")[0], **result}))


if __name__ == "__main__":
    main()
