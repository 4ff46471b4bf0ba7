"""How long sending a broadcast takes on the organiser's side: expanding the
audience and writing one outbox row per recipient (one transaction, inside the
organiser's press of "Senden" or the sweep that starts a scheduled one). The
sending itself is the outbox's (SEND_RATE).

Creates N people with finished profiles (every 50th opted out), then times
`handlers.broadcast.write_messages` for "everyone" with a personal text and a
link button, and the peak Python memory while it runs.

    python bench/bench_broadcast_audience.py --people 10000 [--database-url postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot.bootstrap import build_core  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Broadcast, Person, Profile, utcnow  # noqa: E402
from handlers import broadcast  # noqa: E402
from handlers.turn import Turn  # noqa: E402


async def run(people: int, url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = create_session_factory(engine)
    now = utcnow()
    async with sessions() as s:
        first = 10_000_000
        await s.execute(insert(Person), [dict(telegram_id=first + i, first_name=f"P{i}", language="de", consent_at=now,
                                              paused=False, ignored_in_row=0, announcements_opt_out=i % 50 == 0,
                                              created_at=now, updated_at=now) for i in range(people)])
        ids = (await s.execute(Person.__table__.select().with_only_columns(Person.id)
                               .where(Person.telegram_id >= first))).scalars().all()
        await s.execute(insert(Profile), [dict(person_id=pid, name="Vorname Nachname", side="production",
                                               completed_at=now, updated_at=now) for pid in ids])
        b = Broadcast(created_by=1, locale="de", audience={"kind": "all", "event_id": None}, status="sending",
                      text="Hallo {vorname}, " + "die Anmeldung für das nächste Treffen ist offen. " * 6,
                      button={"label": "Zur Anmeldung", "url": "https://example.org/anmeldung"}, created_at=now)
        s.add(b)
        await s.commit()
        broadcast_id = b.id
    settings = load_settings(_env_file=None, database_url=url, telegram_bot_token="424242:crosslab-bench-token-abcdefghijklmnop")
    core = build_core(settings, sessions)
    tracemalloc.start()
    started = time.perf_counter()
    async with core.uow() as uow:
        turn = Turn.system(core.services, uow)
        row = await uow.broadcasts.get(broadcast_id)
        assert row is not None
        written = await broadcast.write_messages(turn, row)
        await uow.commit()
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(f"{engine.dialect.name}: {written:,} recipients of {people:,} people ({people // 50:,} opted out): "
          f"audience and outbox rows in {took:.2f} s ({written / took:,.0f} rows/s), peak Python memory {peak:.0f} MiB")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(args.people, args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"))


if __name__ == "__main__":
    main()
