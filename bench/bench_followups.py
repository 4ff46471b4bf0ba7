"""How long one follow-up sweep takes (the bot runs one every SWEEP_SECONDS).

Creates N companies and N creatives with introduced pairs, one meeting each
(ended yesterday) and one shown suggestion card each, then times the sweeps
(each handles at most a batch of rows of each kind, so one sweep stays short):
  1. asking everyone for feedback (2N questions),
  2. an hour later, with nothing due (the common case),
  3. two days later, nudging everyone (2N feedback questions + N cards),
  4. idle again.

    python bench/bench_followups.py --pairs 2000 [--database-url postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.settings import load_settings  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Meeting, Pair, Person, Profile, Suggestion, utcnow  # noqa: E402
from bot.bootstrap import build_core  # noqa: E402
from handlers.services import SimulatedClock  # noqa: E402


async def _seed(sessions, n: int, now) -> None:
    async with sessions() as s:
        people = []
        for i in range(2 * n):
            people.append(Person(telegram_id=10_000 + i, first_name=f"P{i}", language="de" if i % 2 else "en",
                                 consent_at=now))
        s.add_all(people)
        await s.flush()
        for i, p in enumerate(people):
            side = "production" if i < n else "creative"
            s.add(Profile(person_id=p.id, name=f"Person {i}", side=side, organisation=f"Org {i}",
                          completed_at=now, seeks="Wir suchen Hilfe.", offers="Design.", disciplines=["design"]))
        pairs = [Pair(company_id=people[i].id, creative_id=people[n + i].id, status="introduced",
                      company_answer="interested", creative_answer="interested") for i in range(n)]
        s.add_all(pairs)
        await s.flush()
        start = now - timedelta(days=1)
        s.add_all([Meeting(pair_id=p.id, status="scheduled", starts_at=start, duration_min=45) for p in pairs])
        s.add_all([Suggestion(person_id=people[i].id, counterpart_id=people[n + (i + 1) % n].id, score=0.5,
                              status="shown", shown_at=now) for i in range(n)])
        await s.commit()


async def run(pairs: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        settings = load_settings(_env_file=None, database_url=url, quiet_hours="")
        engine = create_engine(url)
        if database_url:
            from db.migrate import downgrade

            await downgrade(engine, "base")
        await upgrade(engine)
        sessions = create_session_factory(engine)
        now = utcnow()
        t0 = time.perf_counter()
        await _seed(sessions, pairs, now)
        print(f"seeded {pairs} pairs, {pairs} meetings, {pairs} shown cards in {time.perf_counter() - t0:.1f} s "
              f"({engine.dialect.name})")
        clock = SimulatedClock()
        core = build_core(settings, sessions, clock=clock)
        for label, when in (("ask everyone", now), ("idle (nothing due)", now + timedelta(hours=1)),
                            ("nudge everyone", now + timedelta(days=2, hours=1)),
                            ("idle again", now + timedelta(days=2, hours=2))):
            clock.set(when)
            times, messages = [], 0
            while True:  # a sweep handles a batch; the bot's next sweep (a minute later) takes the rest
                t0 = time.perf_counter()
                reply, counts = await core.tick()
                times.append(time.perf_counter() - t0)
                messages += len(reply.messages)
                if not reply.messages:
                    break
            per = f"{sum(times) / messages * 1000:.2f} ms per message" if messages else ""
            print(f"  {label:<20} {len(times):>3} sweeps, {messages:>6} messages, longest sweep "
                  f"{max(times) * 1000:6.0f} ms, last (empty) sweep {times[-1] * 1000:5.0f} ms  {per}")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file (PostgreSQL: reset!)")
    args = parser.parse_args()
    asyncio.run(run(args.pairs, args.database_url))


if __name__ == "__main__":
    main()
