"""Onboarding updates per second through the Bot API emulator, and the bot's memory.

The bot runs as its own process (`crosslab run`, aiogram by default, SQLite) against
the emulator in this process; simulated participants (the demo's) onboard
concurrently. Prints updates/s and the bot process's peak RSS (VmHWM) — onboarding
does not need the embedding model, but since issue 10.8 the bot loads it in the
background at start, so the peak RSS includes it; the measurement starts once
that load is over (the bot's CPU quiet for a second), so the rate is a
sustained one.

With ``--webhook`` each run measures both modes, one after the other with a
fresh bot and database: long polling (the bot fetches updates with getUpdates)
and webhook mode (the emulator posts each update to the bot's webhook server,
up to 40 at once, never two of one chat at once, like Telegram; the bot answers
after handling it). ``--profile DIR`` runs the bot under cProfile and prints
where its time goes (the profile of the last run of each mode stays in DIR).

    python bench/bench_updates.py [--users 200] [--framework aiogram|ptb] [--webhook] [--profile DIR]

`--code` is the checkout whose bot runs (default: this one), for a before/after
comparison of the same bench, e.g. a `git worktree` or `git archive` of an
older commit.

    python bench/bench_updates.py [...] [--code PATH]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import socket
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


async def quiet(pid: int, below: float = 0.05, timeout: float = 120.0) -> None:
    """Wait until the bot process uses less than `below` of a core over a second
    (the model loaded in the background at start, see bot/app.py `warm_up`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < below:
            return
    print(f"the bot never went quiet within {timeout:.0f} s; measuring anyway", file=sys.stderr)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def stop_process(proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """SIGTERM (a clean stop: a profile is written then) and wait, without
    blocking this loop: the emulator in it answers the stopping bot."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.to_thread(proc.wait, timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        await asyncio.to_thread(proc.wait)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main(users: int, framework: str, mode: str = "polling", profile: Path | None = None,
               code: Path = ROOT) -> dict[str, float]:
    cohort = load_cohort(None)
    with tempfile.TemporaryDirectory(prefix="crosslab-bench-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
            env.update({"TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
                        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", "BOT_FRAMEWORK": framework,
                        "LOG_LEVEL": "WARNING", "ADMIN_IDS": str(ORGANISER), "PYTHONPATH": str(code),
                        # simulated people answer at machine speed: measured, not flood-controlled
                        "FLOOD_BURST": "0"})
            if mode == "webhook":
                port = free_port()
                env.update({"WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram", "WEBHOOK_SECRET": "bench-" + "s" * 32,
                            "WEBHOOK_LISTEN": f"127.0.0.1:{port}"})
            command = [sys.executable, "-m", "bot.cli", "run"]
            prof_file = profile / f"bot-{framework}-{mode}.prof" if profile is not None else None
            if prof_file is not None:  # profiled only while measuring (SIGUSR1 below)
                command = [sys.executable, str(ROOT / "bench" / "profiled_run.py"), str(prof_file)]
            proc = subprocess.Popen(command, cwd=tmp, env=env)
            try:
                started = "setWebhook" if mode == "webhook" else "getUpdates"
                await emu.wait_until(lambda: any(m == started for m, _ in emu.requests), 60, f"the bot's {started}")
                # Participants join an event by its invitation link, as in a programme:
                # their matches wait for the organiser, so onboarding never loads the model.
                emu.add_user(ORGANISER, "Orga", language_code="de")
                slug = await create_event(emu, ORGANISER, "Bench")
                await quiet(proc.pid)  # the embedding model's warm-up done: a sustained rate, not a start-up one
                idle_rss = peak_rss_mb(proc.pid)
                watcher = ChatWatcher(emu)
                people = [SimulatedParticipant(emu, watcher, 10_000 + i, cohort[i % len(cohort)], slug)
                          for i in range(users)]
                if prof_file is not None:
                    proc.send_signal(signal.SIGUSR1)
                start = time.perf_counter()
                cpu_start = cpu_seconds(proc.pid)
                driver_cpu_start = time.process_time()
                results = await asyncio.gather(*(p.run() for p in people), return_exceptions=True)
                elapsed = time.perf_counter() - start
                bot_cpu = cpu_seconds(proc.pid) - cpu_start
                driver_cpu = time.process_time() - driver_cpu_start
                failures = [r for r in results if isinstance(r, BaseException)]
                updates = len(emu.updates())
                figures = {
                    "mode": mode,
                    "users": users,
                    "completed": sum(p.done for p in people),
                    "updates": updates,
                    "seconds": round(elapsed, 2),
                    "updates_per_s": round(updates / elapsed, 1),
                    "bot_cpu_ms_per_update": round(bot_cpu * 1000 / updates, 2),
                    # the emulator and the simulated people share the machine's 2 cores with the bot
                    "driver_cpu_ms_per_update": round(driver_cpu * 1000 / updates, 2),
                    "bot_peak_rss_mb": round(peak_rss_mb(proc.pid), 1),
                    "bot_rss_after_start_mb": round(idle_rss, 1),
                }
                if failures:
                    figures["first_failure"] = repr(failures[0])[:200]
                return figures
            finally:
                await stop_process(proc)


def by_package(stats: pstats.Stats) -> list[tuple[str, float]]:
    """The profile's own time (tottime) grouped by where the code lives."""
    groups: dict[str, float] = {}
    for (file, _line, func), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if file == "~":  # C functions
            if "poll" in func:
                key = "idle (epoll wait)"
            elif "put_nowait" in func:
                key = "aiosqlite thread hand-off (GIL)"
            elif "socket" in func:
                key = "socket send/recv"
            else:
                key = "builtins"
        elif "site-packages/" in file:
            key = file.split("site-packages/")[1].split("/")[0]
        elif file.startswith(str(ROOT)):
            key = "crosslab:" + Path(file).relative_to(ROOT).parts[0]
        else:
            key = "stdlib:" + file.split("/lib/python", 1)[1].split("/")[1] if "/lib/python" in file else file
        groups[key] = groups.get(key, 0.0) + own
    return sorted(groups.items(), key=lambda kv: -kv[1])


def print_profile(path: Path, top: int = 18) -> None:
    stats = pstats.Stats(str(path))
    groups = by_package(stats)
    total = sum(v for _, v in groups)
    print(f"--- where the bot's time went while measuring ({path.name}): own time by package, total {total:.1f} s ---")
    for key, value in groups[:top]:
        print(f"  {key:40s} {value:7.2f} s {100 * value / total:5.1f} %")
    print(f"--- own time, top {top} functions ---")
    stats.sort_stats("tottime").print_stats(top)


def summarise(framework: str, users: int, results: list[dict[str, float]]) -> dict[str, object]:
    rates = [r["updates_per_s"] for r in results]
    return {
        "framework": framework, "mode": results[0]["mode"], "users": users, "runs": len(results),
        "updates_per_s_median": statistics.median(rates), "updates_per_s_min": min(rates),
        "updates_per_s_max": max(rates),
        "bot_cpu_ms_per_update_median": statistics.median(r["bot_cpu_ms_per_update"] for r in results),
        "driver_cpu_ms_per_update_median": statistics.median(r["driver_cpu_ms_per_update"] for r in results),
        "bot_peak_rss_mb_max": max(r["bot_peak_rss_mb"] for r in results),
        "all_completed": all(r["completed"] == r["users"] for r in results),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--framework", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--runs", type=int, default=3, help="repeat with a fresh bot and database; report the median")
    parser.add_argument("--webhook", action="store_true",
                        help="measure webhook mode too, next to polling, in the same run")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="run the bot under cProfile; keep the profiles in DIR and print the top functions")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose bot runs")
    args = parser.parse_args()
    print(f"bot code: {args.code.resolve()}")
    modes = ["polling", "webhook"] if args.webhook else ["polling"]
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for _ in range(args.runs):
        for mode in modes:  # alternating, so both see the same machine load over time
            result = asyncio.run(main(args.users, args.framework, mode, args.profile, args.code.resolve()))
            results[mode].append(result)
            print(f"framework={args.framework} mode={mode} users={result['users']} completed={result['completed']} "
                  f"updates={result['updates']} in {result['seconds']} s -> {result['updates_per_s']} updates/s "
                  f"({result['bot_cpu_ms_per_update']} ms bot CPU, {result['driver_cpu_ms_per_update']} ms "
                  f"emulator+driver CPU per update); bot peak RSS {result['bot_peak_rss_mb']} MB "
                  f"(after start {result['bot_rss_after_start_mb']} MB)"
                  + (f"; first failure: {result['first_failure']}" if "first_failure" in result else ""), flush=True)
    for mode in modes:
        summary = summarise(args.framework, args.users, results[mode])
        print(f"{mode}: median {summary['updates_per_s_median']} updates/s (min {summary['updates_per_s_min']}, "
              f"max {summary['updates_per_s_max']}); bot CPU {summary['bot_cpu_ms_per_update_median']} ms/update; "
              f"emulator+driver CPU {summary['driver_cpu_ms_per_update_median']} ms/update; "
              f"bot peak RSS {summary['bot_peak_rss_mb_max']} MB")
        print(json.dumps(summary))
    if args.profile is not None:
        for mode in modes:
            print_profile(args.profile / f"bot-{args.framework}-{mode}.prof")
