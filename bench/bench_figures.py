"""How long an organiser waits for `/stats CODE` (funnel, figures, chart) and
`/export CODE` (the ZIP of CSV files), and what the chart costs in memory.

Seeds one event with N companies and N creatives (completed profiles), five
shown suggestion cards each, N introduced pairs with a held meeting, feedback
from both sides (a comment from every third), and two follow-up stages per
pair and side; then runs both commands through the core as an organiser
(the same path as in the bot, without Telegram), `--runs` times each, and
prints the median wall time, the size of what is sent, and the process's
resident memory before the first chart (matplotlib not imported yet) and
after it.

    python bench/bench_figures.py --pairs 100 1000 [--runs 3] [--database-url postgresql+asyncpg://...]
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.bootstrap import build_core  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from db.engine import create_engine, create_session_factory  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import (Event, EventParticipant, Feedback, Meeting, Outcome, Pair, Person, Profile,  # noqa: E402
                       Suggestion, utcnow)
from handlers.services import SimulatedClock  # noqa: E402
from handlers.types import Incoming, UserRef  # noqa: E402

ADMIN = 999_000_001
CARDS = 5


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _seed(sessions, n: int, now) -> str:
    async with sessions() as s:
        event = Event(slug="evbench", name="Bench-Runde", created_by=ADMIN)
        s.add(event)
        people = [Person(telegram_id=20_000 + i, first_name=f"P{i}", language="de", consent_at=now)
                  for i in range(2 * n)]
        s.add_all(people)
        await s.flush()
        for i, p in enumerate(people):
            company = i < n
            s.add(Profile(person_id=p.id, name=f"Person {i}", side="production" if company else "creative",
                          organisation=f"Organisation {i}", sector="Tischlerei" if company else None,
                          disciplines=None if company else ["photo_film"], completed_at=now,
                          seeks="Wir suchen Hilfe.", offers="Design."))
            s.add(EventParticipant(event_id=event.id, person_id=p.id, joined_at=now))
        for i in range(2 * n):
            other = range(n, 2 * n) if i < n else range(n)
            for k in range(CARDS):
                s.add(Suggestion(person_id=people[i].id, counterpart_id=people[other[(i + k) % n]].id,
                                 score=0.5 + k / 100, status="interested" if k == 0 else "shown", shown_at=now))
        pairs = [Pair(company_id=people[i].id, creative_id=people[n + i].id, status="introduced",
                      company_answer="interested", creative_answer="interested", introduced_at=now)
                 for i in range(n)]
        s.add_all(pairs)
        await s.flush()
        meetings = [Meeting(pair_id=p.id, status="held", starts_at=now - timedelta(days=20), duration_min=45,
                            place_kind="onsite") for p in pairs]
        s.add_all(meetings)
        await s.flush()
        for i, (m, p) in enumerate(zip(meetings, pairs)):
            for who in (p.company_id, p.creative_id):
                s.add(Feedback(meeting_id=m.id, person_id=who, starts_at=m.starts_at, step="done", met="yes",
                               rating=1 + i % 5, wants_to_continue=("yes", "maybe", "no")[i % 3],
                               text="Gut; weiter so" if i % 3 == 0 else None, asked_at=now, answered_at=now))
                for stage, days in (("14d", 14), ("90d", 90)):
                    s.add(Outcome(pair_id=p.id, person_id=who, stage=stage, due_at=m.starts_at + timedelta(days=days),
                                  status="answered" if days == 14 else "due", answer="idea" if days == 14 else None))
        await s.commit()
        return event.slug


async def run(pairs: int, runs: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        settings = load_settings(_env_file=None, database_url=url, admin_ids=str(ADMIN))
        engine = create_engine(url)
        if database_url:
            from db.migrate import downgrade

            await downgrade(engine, "base")
        await upgrade(engine)
        sessions = create_session_factory(engine)
        now = utcnow()
        t0 = time.perf_counter()
        slug = await _seed(sessions, pairs, now)
        print(f"\n{pairs} companies + {pairs} creatives, {2 * pairs * CARDS} cards, {pairs} meetings held "
              f"({engine.dialect.name}); seeded in {time.perf_counter() - t0:.1f} s")
        clock = SimulatedClock()
        clock.set(now)
        core = build_core(settings, sessions, clock=clock)
        user = UserRef(ADMIN, "Orga", language_code="de")
        update = iter(range(1, 10_000))
        for command in ("stats", "export"):
            times, sent = [], 0
            for _ in range(runs):
                before = rss_mb()
                t0 = time.perf_counter()
                reply = await core.handle(Incoming(next(update), user, ADMIN, "text", text=f"/{command} {slug}"))
                times.append(time.perf_counter() - t0)
                after = rss_mb()
                docs = [m.document for m in reply.messages if m.document is not None]
                sent = sum(len(d.content) for d in docs)
                assert docs, reply.messages[-1].text
                if len(times) == 1:
                    print(f"/{command}: first run {times[0] * 1000:.0f} ms, RSS {before:.0f} → {after:.0f} MB")
            print(f"/{command}: median of {runs} {statistics.median(times) * 1000:.0f} ms "
                  f"(min {min(times) * 1000:.0f} ms), {sent / 1024:.0f} KB sent as "
                  f"{', '.join(d.filename.rsplit('.', 1)[-1] for d in docs)}")
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    print(f"RSS at start (bot's imports, no matplotlib): {rss_mb():.0f} MB; "
          f"matplotlib imported: {'matplotlib' in sys.modules}")
    for n in args.pairs:
        asyncio.run(run(n, args.runs, args.database_url))


if __name__ == "__main__":
    main()
