"""Webhook throughput and handling latency: one process on SQLite, one on
PostgreSQL, two on one PostgreSQL behind a round-robin proxy (issue 14).

In one run, one after the other, each with a fresh database:

  (a) ``sqlite``: one webhook worker on SQLite;
  (b) ``pg``:     one webhook worker on PostgreSQL;
  (c) ``pg2``:    two webhook workers on one PostgreSQL.

Every configuration runs behind the same small round-robin HTTP proxy
(aiohttp, its own process, started here; one upstream in (a) and (b)): the
Bot API emulator in this process posts each update to the proxy's URL (the
bots' ``WEBHOOK_URL``; up to ``max_connections`` at once, never two of one
chat at once, like Telegram), the proxy forwards the POST with its headers to
worker 1 or 2 in turn and returns the worker's answer. The workers are
configured as in deploy/docker-compose.yml: the same settings for both
(``WEBHOOK_URL``, ``WEBHOOK_SECRET``, ``DATABASE_URL``, ``SCHEDULER=auto``,
``LOG_FORMAT=json``), each its own ``WEBHOOK_LISTEN`` and ``METRICS_LISTEN``;
they are started together on the empty database (the migrations' advisory
lock), and one of them leads (scheduler, sweeps, outbox sender; bot/leader.py).

**Handling latency** is measured in the proxy: from the moment the emulator's
POST reaches it to the worker's HTTP response (a worker answers 200 after the
update was handled, committed and its reply sent; bot/webhook.py). **Updates/s**
is the traffic's updates over its duration, and "steady" the rate over the
middle 80 % of the answers (without the start and the tail, when fewer people
are still busy). CPU per update is given for each process (/proc): each worker,
the proxy, this process (emulator + simulated people) and the PostgreSQL
backends serving the benchmark's database.

Traffic (``--traffic``):

* ``onboarding`` (the main figure): ``--users`` simulated participants
  (bot/demo.py, as bench_updates.py) join an event by its link and onboard
  concurrently: consent, texts, buttons, multi-select toggles, confirmation —
  each waits for the bot's next question before answering;
* ``texts``: ``--texts`` new users send one text each (bench_echo.py),
  ``--concurrency`` waiting for their answer at once.

With ``--rate R`` the texts come open-loop, a new user every 1/R s whatever
the answers: the latency at that load rather than at saturation. In a closed
loop the proxy always holds about ``max_connections`` (40) updates, so the
latency there is mostly queueing: about 40 / (updates/s), by Little's law.

Checks that nothing was lost or done twice: every participant completed; no
update still pending at the emulator; every update answered 2xx exactly once
by the proxy (no retries, so none redelivered); as many ``processed_updates``
rows as updates; the workers' own counters (``crosslab_updates_total``, from
their metrics endpoints) agree with the proxy; every Bot API send the emulator
saw is one recorded outbox send (sum of ``parts_done``: no message sent twice);
the outbox holds no pending or failed rows; the workers' logs (level
``--log-level``) hold no warnings or errors. The slowest 1 % are listed by
kind (a command, a text, a button by its callback data's first field) and
when they were answered.

    python bench/bench_scale.py [--traffic onboarding] [--users 200] [--configs sqlite,pg,pg2] [--runs 1]
                                [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/crosslab_scale]
    python bench/bench_scale.py --traffic texts [--texts 2000] [--concurrency 40 | --rate 50]

The PostgreSQL database is dropped and created anew for each configuration.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/crosslab_scale"
CONFIGS = ("sqlite", "pg", "pg2")
ORGANISER = 99
SECRET = "bench-" + "s" * 32
WEBHOOK_PATH = "/telegram"
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade",
              "proxy-connection", "te", "trailer"}
SEND_METHODS = {"sendMessage", "editMessageText", "sendPhoto", "sendDocument", "sendMediaGroup"}
UPDATE_ID = re.compile(rb'"update_id"\s*:\s*(\d+)')


# ---------------------------------------------------------------------- the proxy (its own process)
def proxy_app(upstreams: list[str]) -> web.Application:
    """Round-robin: each POST goes to the next upstream with its headers and
    body; the upstream's status, body and content type come back. Records per
    upstream the latency of each request, its status and the update id."""
    turn = itertools.count()
    stats: dict[str, Any] = {}

    def reset() -> None:
        stats.clear()
        stats.update(requests=[], started=time.perf_counter())

    reset()
    app = web.Application()

    async def session_ctx(app: web.Application) -> Any:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                               timeout=aiohttp.ClientTimeout(total=120), auto_decompress=False)
        yield
        await app["session"].close()

    async def forward(request: web.Request) -> web.Response:
        start = time.perf_counter()
        i = next(turn) % len(upstreams)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        ctype = None
        try:
            async with request.app["session"].post(upstreams[i] + request.path_qs, data=body,
                                                   headers=headers) as resp:
                payload = await resp.read()
                status, ctype = resp.status, resp.headers.get("Content-Type")
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            status, payload = 502, f"upstream {i + 1}: {exc.__class__.__name__}".encode()
        done = time.perf_counter()
        found = UPDATE_ID.search(body)
        # [upstream, status, update id, answered at (s since the reset), latency (ms)]
        stats["requests"].append([i, status, int(found.group(1)) if found else -1,
                                  round(done - stats["started"], 4), round((done - start) * 1000, 2)])
        return web.Response(status=status, body=payload, headers={"Content-Type": ctype} if ctype else None)

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def post_reset(request: web.Request) -> web.Response:
        reset()
        return web.json_response({"ok": True})

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/_stats", get_stats)
    app.router.add_post("/_reset", post_reset)
    app.router.add_post("/{tail:.*}", forward)
    return app


def run_proxy(port: int, upstreams: list[str]) -> None:
    web.run_app(proxy_app(upstreams), host="127.0.0.1", port=port, access_log=None, print=None,
                handle_signals=True, shutdown_timeout=5)


# ---------------------------------------------------------------------- measuring
def update_kind(update: dict[str, Any]) -> str:
    """A command (its name), a text, a button (its callback data's first field) or another kind."""
    if "message" in update:
        text = update["message"].get("text") or ""
        return text.split()[0] if text.startswith("/") else "text"
    if "callback_query" in update:
        return "button:" + re.split(r"[:|]", update["callback_query"].get("data") or "")[0]
    return next((k for k in update if k != "update_id"), "?")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def latency_figures(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(ms, 0.5), 1), "p95_ms": round(percentile(ms, 0.95), 1),
            "p99_ms": round(percentile(ms, 0.99), 1), "max_ms": round(max(ms), 1) if ms else float("nan")}


def steady_rate(done: list[float]) -> float:
    """Answers per second between the 10th and the 90th percentile of the answers' times."""
    if len(done) < 20:
        return float("nan")
    ordered = sorted(done)
    lo, hi = int(len(ordered) * 0.1), int(len(ordered) * 0.9)
    span = ordered[hi] - ordered[lo]
    return (hi - lo) / span if span > 0 else float("nan")


def postgres_backends_cpu(url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend connected to `url`'s database
    (the server runs on this machine; its processes' /proc is readable)."""
    import sqlalchemy as sa

    from bench.bench_updates import cpu_seconds

    sync = sa.engine.make_url(url.replace("+asyncpg", "+psycopg"))
    engine = sa.create_engine(sync.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :d"),
                                {"d": sync.database}).scalars().all()
    finally:
        engine.dispose()
    cpu = {}
    for pid in pids:
        try:
            cpu[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return cpu


def sched_wait(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a CPU
    (/proc/<pid>/task/*/schedstat, second field; threads gone meanwhile are not counted)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


def cpu_pressure() -> float:
    """Seconds during which some task on the machine waited for a CPU (/proc/pressure/cpu), NaN without PSI."""
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return float("nan")
    return int(some.rsplit("total=", 1)[1]) / 1e6


def database_checks(url: str) -> dict[str, Any]:
    """processed_updates rows and the outbox's rows by status, read after the workers stopped."""
    import sqlalchemy as sa

    sync = url.replace("+asyncpg", "+psycopg").replace("+aiosqlite", "")
    engine = sa.create_engine(sync)
    try:
        with engine.connect() as conn:
            processed = conn.execute(sa.text("SELECT count(*) FROM processed_updates")).scalar_one()
            outbox = dict(conn.execute(sa.text("SELECT status, count(*) FROM outbox GROUP BY status")).all())
            calls = conn.execute(sa.text("SELECT coalesce(sum(parts_done), 0) FROM outbox")).scalar_one()
    finally:
        engine.dispose()
    return {"processed_updates": int(processed), "outbox": {k: int(v) for k, v in outbox.items()},
            "outbox_calls": int(calls)}


METRIC_LINE = re.compile(r'^(crosslab_updates_total|crosslab_leader)(?:\{([^}]*)\})? ([0-9.eE+-]+)$')


async def scrape(session: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """The worker's update counters by result (ok, error, duplicate) and whether it leads."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
        body = await resp.text()
    out: Counter[str] = Counter()
    for line in body.splitlines():
        m = METRIC_LINE.match(line)
        if not m:
            continue
        if m.group(1) == "crosslab_leader":
            out["leader"] = float(m.group(3))
        else:
            result = re.search(r'result="([^"]*)"', m.group(2) or "")
            out[result.group(1) if result else "?"] += float(m.group(3))
    return dict(out)


def log_summary(path: Path) -> dict[str, Any]:
    """Levels of a worker's log lines (JSON lines; anything else counts as 'other')."""
    levels: Counter[str] = Counter()
    bad: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
            level = str(record.get("level") or record.get("levelname") or "?").upper()
            message = str(record.get("message") or record.get("msg") or line)
        except ValueError:
            level, message = "OTHER", line
        levels[level] += 1
        if level in ("WARNING", "ERROR", "CRITICAL", "OTHER") and len(bad) < 5:
            bad.append(message[:200])
    return {"levels": dict(levels), "first_warnings": bad}


# ---------------------------------------------------------------------- one configuration
async def wait_ready(session: aiohttp.ClientSession, port: int, procs: list[subprocess.Popen], what: str,
                     path: str = "/readyz", timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: a process exited with {proc.returncode} while starting")
        try:
            async with session.get(f"http://127.0.0.1:{port}{path}") as resp:
                if resp.status == 200:
                    return
        except (aiohttp.ClientError, OSError):
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{what} not ready within {timeout:.0f} s")


async def stop(proc: subprocess.Popen, timeout: float = 60.0) -> None:
    from bench.bench_updates import stop_process

    await stop_process(proc, timeout)


async def onboarding(emu: Any, slug: str, users: int, first_id: int) -> tuple[int, int, str | None]:
    """`users` simulated participants onboard at once; (people, completed, first failure)."""
    from bot.demo import ChatWatcher, SimulatedParticipant, load_cohort

    cohort = load_cohort(None)
    watcher = ChatWatcher(emu)
    people = [SimulatedParticipant(emu, watcher, first_id + i, cohort[i % len(cohort)], slug) for i in range(users)]
    results = await asyncio.gather(*(p.run() for p in people), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    return users, sum(p.done for p in people), repr(failures[0])[:200] if failures else None


async def texts(emu: Any, n: int, concurrency: int, first_id: int,
                rate: float | None = None) -> tuple[int, int, str | None]:
    """`n` new users send one text each and wait for the answer: `concurrency`
    at once (a closed loop), or with `rate` one arriving every 1/rate seconds
    whatever the answers (an open loop: the latency at that load)."""
    from bench.bench_echo import TEXT
    from bot.demo import ChatWatcher

    watcher = ChatWatcher(emu)  # wakes a user only for their own chat (not every waiter at every change)
    gate = asyncio.Semaphore(concurrency if rate is None else n)
    answered = 0

    async def one(user_id: int) -> None:
        nonlocal answered
        async with gate:
            emu.add_user(user_id, f"U{user_id}", language_code="de")
            emu.send_text(user_id, TEXT)
            await watcher.wait(user_id, lambda: len(emu.sent(user_id)) >= 1, 120, f"an answer to {user_id}")
            answered += 1

    tasks = []
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(n):
        if rate is not None:
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(one(first_id + i)))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    return n, answered, repr(failures[0])[:200] if failures else None


async def run_config(config: str, args: argparse.Namespace) -> dict[str, Any]:
    from bench.bench_echo import fresh_postgres
    from bench.bench_updates import cpu_seconds, free_port, quiet
    from bot.demo import DEMO_TOKEN, create_event
    from emulator import BotAPIEmulator

    workers = 2 if config == "pg2" else 1
    with tempfile.TemporaryDirectory(prefix="crosslab-scale-") as tmp:
        url = fresh_postgres(args.postgres) if config.startswith("pg") else f"sqlite+aiosqlite:///{tmp}/scale.sqlite3"
        async with BotAPIEmulator(bot_username="crosslab_scale_bot") as emu, \
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            proxy_port = free_port()
            ports = [free_port() for _ in range(workers)]
            metrics_ports = [free_port() for _ in range(workers)]
            upstreams = [f"http://127.0.0.1:{p}" for p in ports]
            proxy = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--proxy", str(proxy_port),
                                      *upstreams], cwd=tmp, env={**os.environ, "PYTHONPATH": str(ROOT)})
            procs: list[subprocess.Popen] = []
            logs = [Path(tmp) / f"worker{i + 1}.log" for i in range(workers)]
            try:
                await wait_ready(session, proxy_port, [proxy], "the proxy", path="/_stats", timeout=30)
                # As deploy/docker-compose.yml: the same settings, each its own listen and metrics port.
                base = {k: v for k, v in os.environ.items()
                        if not k.startswith(("WEBHOOK_", "METRICS_", "SCHEDULER", "LOG_", "DATABASE_", "TELEGRAM_"))}
                base.update({"TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
                             "DATABASE_URL": url, "BOT_FRAMEWORK": "aiogram", "ADMIN_IDS": str(ORGANISER),
                             "WEBHOOK_URL": f"http://127.0.0.1:{proxy_port}{WEBHOOK_PATH}", "WEBHOOK_SECRET": SECRET,
                             "SCHEDULER": "auto", "LOG_FORMAT": "json", "LOG_LEVEL": args.log_level,
                             "PYTHONPATH": str(ROOT)})
                for i in range(workers):  # started together, as compose does on an empty database
                    env = {**base, "WEBHOOK_LISTEN": f"127.0.0.1:{ports[i]}",
                           "METRICS_LISTEN": f"127.0.0.1:{metrics_ports[i]}"}
                    with logs[i].open("w") as log:
                        procs.append(subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp, env=env,
                                                      stdout=log, stderr=subprocess.STDOUT))
                for i in range(workers):
                    await wait_ready(session, ports[i], procs, f"worker {i + 1}")
                emu.add_user(ORGANISER, "Orga", language_code="de")
                slug = await create_event(emu, ORGANISER, "Scale", timeout=60)
                if args.traffic == "texts":
                    await texts(emu, 20, 5, 500_000)  # first imports and connections
                await asyncio.gather(*(quiet(p.pid) for p in procs))  # the model's warm-up done
                await asyncio.sleep(2 * 2.0)  # a leader elected (LEADER_RETRY_SECONDS) in every case

                async with session.post(f"http://127.0.0.1:{proxy_port}/_reset") as resp:
                    resp.raise_for_status()
                metrics_before = [await scrape(session, p) for p in metrics_ports]
                updates_before = len(emu.updates())
                pg_before = postgres_backends_cpu(url) if config.startswith("pg") else {}
                cpu_before = [cpu_seconds(p.pid) for p in procs]
                proxy_before = cpu_seconds(proxy.pid)
                driver_before = time.process_time()
                waits = [proc.pid for proc in procs] + [proxy.pid, os.getpid()]
                wait_before = [sched_wait(pid) for pid in waits]
                pressure_before = cpu_pressure()
                start = time.perf_counter()
                if args.traffic == "texts":
                    people, completed, failure = await texts(emu, args.texts, args.concurrency, 1_000_000,
                                                             args.rate)
                else:
                    people, completed, failure = await onboarding(emu, slug, args.users, 10_000)
                # A person sees the reply before the worker's 200 reaches the emulator: the traffic
                # ends when every update was acknowledged.
                await emu.wait_until(lambda: not emu.pending_updates, 60, "every update acknowledged")
                elapsed = time.perf_counter() - start
                driver_cpu = time.process_time() - driver_before
                waited = [sched_wait(pid) - b for pid, b in zip(waits, wait_before)]
                pressure = cpu_pressure() - pressure_before
                cpu = [cpu_seconds(p.pid) - b for p, b in zip(procs, cpu_before)]
                proxy_cpu = cpu_seconds(proxy.pid) - proxy_before
                pg_after = postgres_backends_cpu(url) if config.startswith("pg") else {}
                pg_cpu = sum(v - pg_before.get(pid, 0.0) for pid, v in pg_after.items())
                updates = len(emu.updates()) - updates_before
                async with session.get(f"http://127.0.0.1:{proxy_port}/_stats") as resp:
                    stats = await resp.json()
                metrics_after = [await scrape(session, p) for p in metrics_ports]
                await asyncio.sleep(1.5)  # replies queued behind others go out (the leader's sender)
                pending = len(emu.pending_updates)
            finally:
                for proc in procs:
                    await stop(proc)
                await stop(proxy, 15)
            db = database_checks(url)
            log_summaries = [log_summary(path) for path in logs]
            if args.logs is not None:  # kept: <config>-worker<n>.log
                args.logs.mkdir(parents=True, exist_ok=True)
                for i, path in enumerate(logs):
                    (args.logs / f"{config}-worker{i + 1}.log").write_bytes(path.read_bytes())

    sends = Counter(m for m, _ in emu.requests if m in SEND_METHODS)
    requests = stats["requests"]  # [upstream, status, update id, answered at, latency ms]
    latencies = [r[4] for r in requests]
    ok_ids = [r[2] for r in requests if 200 <= r[1] < 300]
    per_worker = []
    for i in range(workers):
        mine = [r for r in requests if r[0] == i]
        counted = {k: round(metrics_after[i].get(k, 0) - metrics_before[i].get(k, 0))
                   for k in set(metrics_after[i]) | set(metrics_before[i]) if k != "leader"}
        per_worker.append({
            "worker": i + 1, "leader": bool(metrics_after[i].get("leader")),
            "updates": sum(1 for r in mine if 200 <= r[1] < 300),
            "statuses": dict(Counter(str(r[1]) for r in mine)),
            "counted_by_worker": counted,
            "cpu_ms_per_handled_update": round(cpu[i] * 1000 / max(1, sum(1 for r in mine if 200 <= r[1] < 300)), 2),
            "cpu_share_of_a_core": round(cpu[i] / elapsed, 2),
            **{k: v for k, v in latency_figures([r[4] for r in mine]).items() if k in ("p50_ms", "p99_ms")},
            "log": log_summaries[i],
        })
    kinds = {u["update_id"]: update_kind(u) for u in emu.updates()}
    slow = sorted(requests, key=lambda r: -r[4])[:max(1, len(requests) // 100)]
    non_2xx = sum(1 for r in requests if not 200 <= r[1] < 300)
    figures: dict[str, Any] = {
        "config": config, "workers": workers, "database": "postgresql" if config.startswith("pg") else "sqlite",
        "traffic": args.traffic + (f" at {args.rate:g}/s" if args.traffic == "texts" and args.rate else ""),
        "people": people, "completed": completed, "updates": updates,
        "seconds": round(elapsed, 2), "updates_per_s": round(updates / elapsed, 1),
        "steady_updates_per_s": round(steady_rate([r[3] for r in requests]), 1),
        **latency_figures(latencies),
        # per update of the traffic (the workers' figures add up to what all workers spent on one)
        "cpu_ms_per_update": {
            **{f"worker{i + 1}": round(c * 1000 / updates, 2) for i, c in enumerate(cpu)},
            "proxy": round(proxy_cpu * 1000 / updates, 2),
            "emulator_and_people": round(driver_cpu * 1000 / updates, 2),
            **({"postgres_backends": round(pg_cpu * 1000 / updates, 2)} if config.startswith("pg") else {}),
        },
        # runnable but waiting for a CPU (all threads), per update of the traffic: CPU contention
        "cpu_wait_ms_per_update": {
            **{f"worker{i + 1}": round(w * 1000 / updates, 2) for i, w in enumerate(waited[:workers])},
            "proxy": round(waited[workers] * 1000 / updates, 2),
            "emulator_and_people": round(waited[workers + 1] * 1000 / updates, 2)},
        "machine": {"cpu_pressure_some": round(pressure / elapsed, 2), "load_avg_1min": os.getloadavg()[0]},
        "per_worker": per_worker,
        # the slowest 1 %: what they were and when (seconds into the traffic)
        "slowest_1pct": {"kinds": dict(Counter(kinds.get(r[2], "?") for r in slow)),
                         "answered_at_s": [round(percentile([r[3] for r in slow], q), 1) for q in (0, 0.5, 1)],
                         "latency_ms_median": round(percentile([r[4] for r in slow], 0.5), 1)},
        "checks": {
            "all_completed": completed == people,
            "pending_at_emulator": pending,
            "answered_2xx": len(ok_ids),
            "answered_2xx_twice": len(ok_ids) - len(set(ok_ids)),
            "non_2xx": non_2xx,
            "processed_updates_rows": db["processed_updates"],
            "all_updates_recorded": db["processed_updates"] == len(emu.updates()),
            "outbox": db["outbox"],
            "outbox_calls": db["outbox_calls"], "bot_api_sends": dict(sends),
            "every_send_once": sum(sends.values()) == db["outbox_calls"],
            "outbox_settled": set(db["outbox"]) <= {"sent"},
            "worker_counts_agree": all(w["counted_by_worker"].get("ok", 0) == w["updates"]
                                       and not set(w["counted_by_worker"]) - {"ok"} for w in per_worker),
            "logs_clean": not any(set(w["log"]["levels"]) - {"DEBUG", "INFO"} for w in per_worker),
        },
    }
    if failure:
        figures["first_failure"] = failure
    figures["cpu_ms_per_update"]["total"] = round(sum(figures["cpu_ms_per_update"].values()), 2)
    return figures


def describe(f: dict[str, Any]) -> list[str]:
    c = f["cpu_ms_per_update"]
    name = {"sqlite": "(a) 1 worker, SQLite", "pg": "(b) 1 worker, PostgreSQL",
            "pg2": "(c) 2 workers, PostgreSQL"}[f["config"]]
    lines = [
        f"{name}: {f['updates']} updates ({f['traffic']}, {f['completed']}/{f['people']} people done) in "
        f"{f['seconds']} s -> {f['updates_per_s']} updates/s (steady {f['steady_updates_per_s']}); handling latency "
        f"p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, p99 {f['p99_ms']} ms, max {f['max_ms']} ms",
        "    CPU ms per update: " + ", ".join(f"{k} {v}" for k, v in c.items()),
        "    waited for a CPU, ms per update: " + ", ".join(f"{k} {v}" for k, v in f["cpu_wait_ms_per_update"].items())
        + f"; machine: some task waited for a CPU {100 * f['machine']['cpu_pressure_some']:.0f} % of the time, "
          f"load average {f['machine']['load_avg_1min']:.1f}",
    ]
    for w in f["per_worker"]:
        lines.append(f"    worker {w['worker']}{' (leader)' if w['leader'] else ''}: {w['updates']} updates "
                     f"(statuses {w['statuses']}, its own count {w['counted_by_worker']}), "
                     f"{w['cpu_ms_per_handled_update']} ms CPU per update it handled, busy {w['cpu_share_of_a_core']} of a core, "
                     f"p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms; log lines {w['log']['levels']}"
                     + (f"; first: {w['log']['first_warnings'][:2]}" if w["log"]["first_warnings"] else ""))
    s = f["slowest_1pct"]
    lines.append(f"    slowest 1 %: median {s['latency_ms_median']} ms, answered {s['answered_at_s'][0]}-"
                 f"{s['answered_at_s'][2]} s into the traffic (median {s['answered_at_s'][1]} s), kinds {s['kinds']}")
    k = f["checks"]
    lines.append(f"    checks: all completed {k['all_completed']}, pending {k['pending_at_emulator']}, "
                 f"2xx {k['answered_2xx']} (twice {k['answered_2xx_twice']}), non-2xx {k['non_2xx']}, "
                 f"processed_updates {k['processed_updates_rows']} (all recorded {k['all_updates_recorded']}), "
                 f"outbox {k['outbox']}, Bot API sends {sum(k['bot_api_sends'].values())} = outbox calls "
                 f"{k['outbox_calls']}: {k['every_send_once']}; workers' counts agree {k['worker_counts_agree']}, "
                 f"logs clean {k['logs_clean']}"
                 + (f"; first failure: {f['first_failure']}" if "first_failure" in f else ""))
    return lines


async def main(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in args.configs}
    for r in range(args.runs):
        for config in args.configs:  # alternating, so each sees the same machine over time
            figures = await run_config(config, args)
            results[config].append(figures)
            print("\n".join(describe(figures)), flush=True)
            print(json.dumps(figures), flush=True)
    summary: dict[str, Any] = {"traffic": args.traffic, "rate": args.rate if args.traffic == "texts" else None,
                               "runs": args.runs,
                               "people": args.users if args.traffic == "onboarding" else args.texts}
    for config, runs in results.items():
        def med(key: str) -> float:
            return statistics.median(r[key] for r in runs)
        summary[config] = {
            "updates_per_s": med("updates_per_s"), "steady_updates_per_s": med("steady_updates_per_s"),
            "p50_ms": med("p50_ms"), "p95_ms": med("p95_ms"), "p99_ms": med("p99_ms"),
            "cpu_ms_per_update_total": statistics.median(r["cpu_ms_per_update"]["total"] for r in runs),
            "worker_cpu_ms_per_update": statistics.median(
                sum(v for k, v in r["cpu_ms_per_update"].items() if k.startswith("worker")) for r in runs),
            "split": [[w["updates"] for w in r["per_worker"]] for r in runs],
            "nothing_lost": all(r["checks"]["all_completed"] and r["checks"]["all_updates_recorded"]
                                and r["checks"]["pending_at_emulator"] == 0 and r["checks"]["outbox_settled"]
                                for r in runs),
            "nothing_twice": all(r["checks"]["answered_2xx_twice"] == 0 and r["checks"]["non_2xx"] == 0
                                 and r["checks"]["every_send_once"] for r in runs),
            "workers_clean": all(r["checks"]["worker_counts_agree"] and r["checks"]["logs_clean"] for r in runs),
        }
        s = summary[config]
        print(f"{config}: median {s['updates_per_s']} updates/s (steady {s['steady_updates_per_s']}), "
              f"p50/p95/p99 {s['p50_ms']}/{s['p95_ms']}/{s['p99_ms']} ms, workers' CPU "
              f"{s['worker_cpu_ms_per_update']} ms per update (all processes {s['cpu_ms_per_update_total']} ms); "
              f"split {s['split']}; nothing lost {s['nothing_lost']}, nothing twice {s['nothing_twice']}, "
              f"workers clean {s['workers_clean']}")
    print("targets: sqlite >= 300 updates/s; pg2 >= 500 updates/s with p99 <= 100 ms")
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--proxy":  # the proxy process: --proxy PORT UPSTREAM...
        run_proxy(int(sys.argv[2]), sys.argv[3:])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traffic", choices=["onboarding", "texts"], default="onboarding")
    parser.add_argument("--users", type=int, default=200, help="onboarding: simulated participants")
    parser.add_argument("--texts", type=int, default=2000, help="texts: new users, one text each")
    parser.add_argument("--concurrency", type=int, default=40, help="texts: users waiting for their answer at once")
    parser.add_argument("--rate", type=float, default=None,
                        help="texts: instead, a new user every 1/RATE s (open loop: the latency at that load)")
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        type=lambda s: [c for c in s.split(",") if c], help="which of sqlite,pg,pg2")
    parser.add_argument("--runs", type=int, default=1, help="repeat (alternating configurations); medians")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, metavar="URL",
                        help="PostgreSQL database for pg and pg2, dropped and created anew for each")
    parser.add_argument("--log-level", default="WARNING", help="the workers' LOG_LEVEL")
    parser.add_argument("--logs", type=Path, default=None, metavar="DIR", help="keep the workers' logs in DIR")
    args = parser.parse_args()
    if unknown := [c for c in args.configs if c not in CONFIGS]:
        parser.error(f"unknown configuration(s) {unknown}; choose from {CONFIGS}")
    import sqlalchemy as sa

    if sa.engine.make_url(args.postgres).database in (None, "", "test", "postgres"):
        parser.error("--postgres must name a database of its own (it is dropped): not 'test' or 'postgres'")
    asyncio.run(main(args))
