"""CPU per handled update: Crosslab against a bare aiogram echo bot, on the
same emulator, in one run.

Both bots run as their own process (long polling, aiogram; Crosslab on SQLite;
both in webhook mode with ``--webhook``) against the Bot API emulator in this
process. The same traffic goes to each: ``--updates`` new users each send one
plain text ("Hallo, ich möchte mitmachen"), ``--concurrency`` at a time, and
each waits for its answer (the echo; Crosslab's privacy notice). The figure is
the bot process's CPU time (user + system, from /proc) over the traffic,
divided by the updates, and the ratio Crosslab / echo. Runs alternate (echo,
Crosslab, echo, Crosslab …) so both see the same machine; medians are printed.

    python bench/bench_echo.py [--updates 2000] [--concurrency 20] [--runs 3] [--webhook] [--postgres URL]

The bot's CPU is the bot process's alone: on PostgreSQL the database server's
work is in its own processes (not counted), on SQLite it is in the bot's.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_updates import cpu_seconds, free_port, quiet, stop_process  # noqa: E402
from bot.demo import DEMO_TOKEN  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402

TEXT = "Hallo, ich möchte mitmachen"
PROFILE: Path | None = None  # --profile: Crosslab under cProfile while measuring


async def traffic(emu: BotAPIEmulator, first_id: int, n: int, concurrency: int) -> float:
    """n new users, one text each, `concurrency` waiting for their answer at once; seconds taken."""
    gate = asyncio.Semaphore(concurrency)

    async def one(user_id: int) -> None:
        async with gate:
            emu.add_user(user_id, f"U{user_id}", language_code="de")
            emu.send_text(user_id, TEXT)
            await emu.wait_until(lambda: len(emu.sent(user_id)) >= 1, 60, f"an answer to {user_id}")

    start = time.perf_counter()
    await asyncio.gather(*(one(first_id + i) for i in range(n)))
    return time.perf_counter() - start


async def run_bot(kind: str, updates: int, concurrency: int, webhook: bool, first_id: int,
                  database_url: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="crosslab-echo-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
            env.update({"TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
                        "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3",
                        "BOT_FRAMEWORK": "aiogram",
                        "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT), "FLOOD_BURST": "0"})
            mode = "polling"
            if kind == "echo":
                command = [sys.executable, str(ROOT / "bench" / "echo_bot.py")]
            else:
                command = [sys.executable, "-m", "bot.cli", "run"]
                if PROFILE is not None:
                    command = [sys.executable, str(ROOT / "bench" / "profiled_run.py"), str(PROFILE)]
            if webhook:  # both bots: the echo bot through aiogram's own webhook server
                mode = "webhook"
                port = free_port()
                env.update({"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
                            "WEBHOOK_SECRET": "bench-" + "s" * 32, "WEBHOOK_LISTEN": f"127.0.0.1:{port}"})
            proc = subprocess.Popen(command, cwd=tmp, env=env)
            try:
                started = "setWebhook" if mode == "webhook" else "getUpdates"
                await emu.wait_until(lambda: any(m == started for m, _ in emu.requests), 60, f"the bot's {started}")
                await traffic(emu, first_id, 20, 5)  # warm: first imports and connections
                await quiet(proc.pid)
                if PROFILE is not None and kind == "crosslab":
                    proc.send_signal(signal.SIGUSR1)
                cpu_start = cpu_seconds(proc.pid)
                seconds = await traffic(emu, first_id + 100, updates, concurrency)
                cpu = cpu_seconds(proc.pid) - cpu_start
                return {"bot": kind, "mode": mode, "updates": updates, "seconds": round(seconds, 2),
                        "updates_per_s": round(updates / seconds, 1), "cpu_ms_per_update": round(cpu * 1000 / updates, 3)}
            finally:
                await stop_process(proc)


def fresh_postgres(url: str) -> str:
    """Drop and create the database named in `url` (an empty one per run)."""
    import sqlalchemy as sa

    sync = url.replace("+asyncpg", "+psycopg")
    name = sa.engine.make_url(sync).database
    admin = sa.create_engine(sa.engine.make_url(sync).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


async def main(updates: int, concurrency: int, runs: int, webhook: bool,
               database_url: str | None = None) -> dict[str, object]:
    echo, ours = [], []
    for r in range(runs):
        for kind, into in (("echo", echo), ("crosslab", ours)):
            url = fresh_postgres(database_url) if database_url and kind == "crosslab" else None
            figures = await run_bot(kind, updates, concurrency, webhook, 1_000_000 * (r + 1), url)
            print(json.dumps(figures), flush=True)
            into.append(figures)
    e = statistics.median(f["cpu_ms_per_update"] for f in echo)
    c = statistics.median(f["cpu_ms_per_update"] for f in ours)
    summary = {"updates": updates, "concurrency": concurrency, "runs": runs, "crosslab_mode": ours[0]["mode"],
               "database": "postgresql" if database_url else "sqlite",
               "echo_cpu_ms_per_update": e, "crosslab_cpu_ms_per_update": c, "ratio": round(c / e, 2),
               "echo_updates_per_s": statistics.median(f["updates_per_s"] for f in echo),
               "crosslab_updates_per_s": statistics.median(f["updates_per_s"] for f in ours)}
    print(f"echo bot {e:.2f} ms CPU per update, Crosslab ({summary['crosslab_mode']}, {summary['database']}) "
          f"{c:.2f} ms -> "
          f"{summary['ratio']:.2f}x (target <= 2x); {summary['echo_updates_per_s']} vs "
          f"{summary['crosslab_updates_per_s']} updates/s")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--webhook", action="store_true", help="both bots in webhook mode")
    parser.add_argument("--postgres", metavar="URL", default=None,
                        help="Crosslab on this PostgreSQL database (dropped and created anew per run), "
                             "e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/crosslab_bench")
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE",
                        help="profile Crosslab while measuring (cProfile, the last run's stays in FILE)")
    args = parser.parse_args()
    PROFILE = args.profile
    asyncio.run(main(args.updates, args.concurrency, args.runs, args.webhook, args.postgres))
