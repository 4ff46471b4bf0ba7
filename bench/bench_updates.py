"""Onboarding updates per second through the Bot API emulator, and the bot's memory.

The bot runs as its own process (`crosslab run`, aiogram by default, SQLite) against
the emulator in this process; simulated participants (the demo's) onboard
concurrently. Prints updates/s and the bot process's peak RSS (VmHWM) — onboarding
does not need the embedding model, but since issue 10.8 the bot loads it in the
background at start, so the peak RSS includes it and the first seconds share the
CPU with that load. (Where the memory goes: docs/architecture.md, "Memory".)

    python bench/bench_updates.py [--users 200] [--framework aiogram|ptb] [--code PATH]

`--code` is the checkout whose bot runs (default: this one), for a before/after
comparison of the same bench, e.g. a `git worktree` or `git archive` of an
older commit.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DEMO_TOKEN, ChatWatcher, SimulatedParticipant, create_event, load_cohort  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402


ORGANISER = 99


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def main(users: int, framework: str, code: Path = ROOT) -> dict[str, float]:
    cohort = load_cohort(None)
    with tempfile.TemporaryDirectory(prefix="crosslab-bench-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            env = {**os.environ, "TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
                   "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", "BOT_FRAMEWORK": framework,
                   "LOG_LEVEL": "WARNING", "ADMIN_IDS": str(ORGANISER), "PYTHONPATH": str(code)}
            proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp, env=env)
            try:
                await emu.wait_until(lambda: any(m == "getUpdates" for m, _ in emu.requests), 60, "the bot to poll")
                # Participants join an event by its invitation link, as in a programme:
                # their matches wait for the organiser, so onboarding never loads the model.
                emu.add_user(ORGANISER, "Orga", language_code="de")
                slug = await create_event(emu, ORGANISER, "Bench")
                idle_rss = peak_rss_mb(proc.pid)
                watcher = ChatWatcher(emu)
                people = [SimulatedParticipant(emu, watcher, 10_000 + i, cohort[i % len(cohort)], slug)
                          for i in range(users)]
                start = time.perf_counter()
                cpu_start = cpu_seconds(proc.pid)
                results = await asyncio.gather(*(p.run() for p in people), return_exceptions=True)
                elapsed = time.perf_counter() - start
                bot_cpu = cpu_seconds(proc.pid) - cpu_start
                failures = [r for r in results if isinstance(r, BaseException)]
                updates = len(emu.updates())
                figures = {
                    "users": users,
                    "completed": sum(p.done for p in people),
                    "updates": updates,
                    "seconds": round(elapsed, 2),
                    "updates_per_s": round(updates / elapsed, 1),
                    "bot_cpu_ms_per_update": round(bot_cpu * 1000 / updates, 2),
                    "bot_peak_rss_mb": round(peak_rss_mb(proc.pid), 1),
                    "bot_rss_after_start_mb": round(idle_rss, 1),
                }
                if failures:
                    figures["first_failure"] = repr(failures[0])[:200]
                return figures
            finally:
                proc.terminate()
                proc.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--framework", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--runs", type=int, default=3, help="repeat with a fresh bot and database; report the median")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose bot runs")
    args = parser.parse_args()
    print(f"bot code: {args.code.resolve()}")
    results = []
    for _ in range(args.runs):
        result = asyncio.run(main(args.users, args.framework, args.code.resolve()))
        results.append(result)
        print(f"framework={args.framework} users={result['users']} completed={result['completed']} "
              f"updates={result['updates']} in {result['seconds']} s -> {result['updates_per_s']} updates/s "
              f"({result['bot_cpu_ms_per_update']} ms bot CPU per update); "
              f"bot peak RSS {result['bot_peak_rss_mb']} MB (after start {result['bot_rss_after_start_mb']} MB)")
    rates = [r["updates_per_s"] for r in results]
    summary = {
        "framework": args.framework, "users": args.users, "runs": args.runs,
        "updates_per_s_median": statistics.median(rates), "updates_per_s_min": min(rates),
        "updates_per_s_max": max(rates),
        "bot_cpu_ms_per_update_median": statistics.median(r["bot_cpu_ms_per_update"] for r in results),
        "bot_peak_rss_mb_max": max(r["bot_peak_rss_mb"] for r in results),
        "all_completed": all(r["completed"] == r["users"] for r in results),
    }
    print(f"median {summary['updates_per_s_median']} updates/s (min {summary['updates_per_s_min']}, "
          f"max {summary['updates_per_s_max']}); bot CPU {summary['bot_cpu_ms_per_update_median']} ms/update; "
          f"bot peak RSS {summary['bot_peak_rss_mb_max']} MB")
    print(json.dumps(summary))
