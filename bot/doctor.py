"""`crosslab doctor`: is this installation able to run? One line per check,
with a verdict and, when something is wrong, one sentence of what to do:

    ✓ works   ! works, but look at it   ✗ will not work   – not checked

Checks, in order: the settings (as `crosslab run` reads them: environment and
`.env`; the settings that differ from the defaults are listed, secrets only
as "set"), the database (reachable; its migrations against this version's
head — nothing is migrated), the outbox (what waits, what failed), the
embedding model (loaded offline in a separate process, with a time limit: its
seconds and memory), the Bot API (`getMe` with the token), the webhook
(`getWebhookInfo` against the mode this configuration runs in), the clock and
the time zone (TIMEZONE, and the system clock against the Date header of the
Bot API server). The model loads while the other checks run.

Exit code 0 when nothing is ✗, 1 otherwise. No secret is printed: every line
goes through the log redaction (`bot.logs`).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from bot.logs import install_redaction, redaction
from bot.settings import Settings, SettingsError, load_settings

__all__ = ["Check", "clock_check", "diagnose", "run_doctor"]

MARKS = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "–"}
ASCII_MARKS = {"ok": "OK", "warn": "!!", "fail": "XX", "skip": "--"}
SECRET_FIELDS = ("telegram_bot_token", "webhook_secret", "callback_secret")
DB_TIMEOUT = 10.0
API_TIMEOUT = 10.0
MODEL_TIMEOUT = 180.0
CLOCK_OK = 3.0  # seconds the system clock may differ from the Bot API server's (Date has 1 s resolution)
CLOCK_FAIL = 60.0
OUTBOX_LAG_WARN = 300.0  # seconds a due message may wait before it is worth a look
PENDING_UPDATES_WARN = 100
WEBHOOK_ERROR_RECENT = timedelta(hours=1)


@dataclass
class Check:
    name: str
    status: str  # ok | warn | fail | skip
    summary: str
    advice: str = ""  # one sentence: what to do (for warn and fail)

    def line(self, marks: dict[str, str] = MARKS, width: int = 11) -> str:
        text = f"{marks[self.status]} {self.name:<{width}} {self.summary}"
        if self.advice and self.status in ("warn", "fail"):
            text += f" → {self.advice}"
        return redaction().redact(text)


# -- settings ----------------------------------------------------------------------
def _shown(name: str, value: Any) -> str:
    if name in SECRET_FIELDS:
        return "(set)"
    if name == "database_url":
        from sqlalchemy.engine import make_url

        return make_url(value).render_as_string(hide_password=True)
    if name == "quiet_hours":
        return "none" if value is None else f"{value[0]:%H:%M}-{value[1]:%H:%M}"
    if isinstance(value, (frozenset, set)):
        return ",".join(str(v) for v in sorted(value))
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # durations: ((label, td), ...)
        return ",".join(label for label, _ in value) or "none"
    if isinstance(value, tuple) and not value:
        return "none"
    return str(value)


def non_default_settings(settings: Settings) -> list[str]:
    """``NAME=value`` for every setting that differs from its default; secrets as "(set)"."""
    shown = []
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        try:
            default = field.get_default(call_default_factory=True, validated_data={})
        except TypeError:  # pydantic < 2.10
            default = field.get_default(call_default_factory=True)
        if value != default:
            shown.append(f"{name.upper()}={_shown(name, value)}")
    return shown


def settings_checks(settings: Settings) -> list[Check]:
    changed = non_default_settings(settings)
    checks = [Check("settings", "ok", "parsed" + (f"; set: {', '.join(changed)}" if changed else "; all defaults"))]
    if not settings.telegram_bot_token:
        checks[0] = Check("settings", "fail", "TELEGRAM_BOT_TOKEN is not set",
                          "Put the token from @BotFather into .env or the environment.")
    if not settings.admin_ids:
        checks.append(Check("organisers", "warn", "ADMIN_IDS is empty: nobody can create events",
                            "Put the organisers' Telegram user ids into ADMIN_IDS (e.g. 12345,67890)."))
    return checks


# -- database and outbox -------------------------------------------------------------
def _db_error(exc: BaseException, where: str) -> Check:
    name = exc.__class__.__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    lowered = f"{name} {text}".lower()
    if "password" in lowered or "authentication" in lowered:
        advice = "Check the user name and password in DATABASE_URL."
    elif "does not exist" in lowered and "database" in lowered:
        advice = "Create the database (createdb) or correct its name in DATABASE_URL."
    elif isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        advice = "Check that the database server runs and that this machine may reach its host and port."
        text = f"no answer within {DB_TIMEOUT:.0f} s"
    else:
        advice = "Check that the database server runs and DATABASE_URL's host, port and name."
    return Check("database", "fail", f"cannot use {where} ({name}: {text})", advice)


async def database_checks(settings: Settings) -> list[Check]:
    """The database line and the outbox line (skipped unless at head)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url

    from db.engine import create_engine, create_session_factory
    from db.migrate import alembic_config
    from db.outbox import OutboxStore
    from db.models import utcnow

    url = make_url(settings.database_url)
    where = url.render_as_string(hide_password=True)
    skip_outbox = Check("outbox", "skip", "not checked: the database is not ready (see above)")
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:"):
            return [Check("database", "warn", "SQLite in memory: nothing is kept after a stop",
                          "Set DATABASE_URL to a file, e.g. sqlite+aiosqlite:///crosslab.sqlite3."), skip_outbox]
        file = Path(path)
        if not file.parent.is_dir():
            return [Check("database", "fail", f"the directory of the SQLite file {file} does not exist",
                          "Create the directory or correct DATABASE_URL."), skip_outbox]
        if not file.exists():
            writable = os.access(file.parent, os.W_OK)
            return [Check("database", "warn" if writable else "fail",
                          f"the SQLite file {file} does not exist yet",
                          "The first start (or `crosslab migrate`) creates it." if writable else
                          f"Make {file.parent} writable for the bot's user."), skip_outbox]
        if not (os.access(file, os.W_OK) and os.access(file.parent, os.W_OK)):
            return [Check("database", "fail", f"the SQLite file {file} (or its directory) is not writable",
                          "Give the bot's user write access to the file and its directory (WAL files go next to it)."),
                    skip_outbox]
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    engine = create_engine(settings.database_url)
    try:
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                async with engine.connect() as conn:
                    current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
                    if conn.dialect.name == "postgresql":
                        info = conn.dialect.server_version_info or ()
                        server = "PostgreSQL " + ".".join(str(p) for p in info[:2])
                    else:
                        server = f"SQLite {sqlite3.sqlite_version}"
        except Exception as exc:
            return [_db_error(exc, where), Check("outbox", "skip", "not checked: no database")]
        known = {rev.revision for rev in script.walk_revisions()}
        if current is None:
            return [Check("database", "warn", f"{server} reachable at {where}, but empty (no migrations applied)",
                          "The first start applies them (or run `crosslab migrate`)."), skip_outbox]
        if current not in known:
            return [Check("database", "fail", f"{server} at {where} is at migration {current}, "
                          "which this version does not know (the database is newer than the code)",
                          "Run the version that migrated it, or restore a backup made for this version."),
                    skip_outbox]
        if current != head:
            pending = [rev.revision for rev in script.iterate_revisions(head, current)]
            return [Check("database", "warn", f"{server} at {where} is at migration {current}; "
                          f"{len(pending)} pending up to {head}",
                          "The next start applies them under a lock (or run `crosslab migrate`); back up first."),
                    skip_outbox]
        checks = [Check("database", "ok", f"{server} at {where}: migrations at head ({head})")]
        store = OutboxStore(create_session_factory(engine))
        try:
            async with asyncio.timeout(DB_TIMEOUT):
                counts = await store.counts()
                _, lag = await store.depth(utcnow())
        except Exception as exc:
            checks.append(Check("outbox", "fail", f"cannot read the outbox ({exc.__class__.__name__})",
                                "Check the database user's rights on the outbox table."))
            return checks
        checks.append(outbox_check(counts["pending"], counts["sending"], counts["failed"],
                                   counts["unreachable"], lag))
        return checks
    finally:
        await engine.dispose()


def outbox_check(pending: int, sending: int, failed: int, unreachable: int, lag: float) -> Check:
    summary = (f"{pending} pending, {sending} sending; kept from the last 14 days: {failed} failed, "
               f"{unreachable} to unreachable chats")
    if lag > OUTBOX_LAG_WARN:
        return Check("outbox", "warn", f"{summary}; the oldest due message has waited {lag / 60:.0f} min",
                     "Make sure one process leads (SCHEDULER=auto) and reaches the Bot API; see its log.")
    if failed:
        return Check("outbox", "warn", summary,
                     "See the log lines `outbox: gave up …` and `refused for good` for why.")
    return Check("outbox", "ok", summary)


# -- the embedding model ------------------------------------------------------------------
MODEL_PROBE = r"""
import json, resource, sys, time

def rss():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

from matching.encoders import encoder_for
before, started = rss(), time.perf_counter()
encoder = encoder_for(sys.argv[1])
rows = encoder.encode_passages(["Tischlerei sucht Produktfotografie", "product photographer"])
print(json.dumps({"name": encoder.name, "dim": int(rows.shape[1]),
                  "seconds": time.perf_counter() - started, "rss": rss() - before}))
"""


async def model_check(settings: Settings, timeout: float = MODEL_TIMEOUT) -> Check:
    """Load EMBEDDING_MODEL in a fresh process, offline (HF_HUB_OFFLINE), and
    embed two texts; its seconds and the growth of that process's memory."""
    spec = settings.embedding_model
    label = spec or "the default (use-multilingual)"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", MODEL_PROBE, spec, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return Check("model", "fail", f"{label} did not load within {timeout:.0f} s",
                     "Check that it is available offline (a download cannot work without network) "
                     "or allow more time with --model-timeout.")
    except asyncio.CancelledError:
        proc.kill()
        raise
    if proc.returncode != 0:
        lines = [line for line in err.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else f"exit code {proc.returncode}"
        return Check("model", "fail", f"{label} cannot be loaded offline ({reason[:300]})",
                     "Set EMBEDDING_MODEL to a model installed here (empty = the bundled default; docs/matching.md).")
    try:
        found = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Check("model", "fail", f"{label}: the probe gave no answer", "Run it again; if it stays, report it.")
    return Check("model", "ok", f"{found['name']} loaded offline in {found['seconds']:.1f} s, "
                 f"+{found['rss'] / 2**20:.0f} MB memory, {found['dim']} dimensions")


# -- Bot API, webhook, clock ---------------------------------------------------------------
@dataclass
class ApiProbe:
    check: Check
    server_time: datetime | None = None  # from the Date header, at the middle of the round trip
    local_time: datetime | None = None
    rtt: float = 0.0
    webhook: dict[str, Any] | None = None
    reached: bool = False


async def bot_api_checks(settings: Settings, timeout: float = API_TIMEOUT) -> ApiProbe:
    import aiohttp

    base = f"{settings.telegram_api_url}/bot{settings.telegram_bot_token}"
    where = settings.telegram_api_url
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            started = time.time()
            async with http.get(f"{base}/getMe") as resp:
                ended = time.time()
                status, date = resp.status, resp.headers.get("Date")
                try:
                    body = await resp.json(content_type=None)
                except (ValueError, aiohttp.ContentTypeError):
                    body = None
            probe = ApiProbe(Check("bot api", "ok", ""), reached=True, rtt=ended - started)
            if date:
                try:
                    # Date has whole seconds: the server's clock was in [date, date + 1).
                    probe.server_time = parsedate_to_datetime(date) + timedelta(seconds=0.5)
                    probe.local_time = datetime.fromtimestamp((started + ended) / 2, timezone.utc)
                except (TypeError, ValueError):
                    pass
            if not isinstance(body, dict):
                probe.check = Check("bot api", "fail", f"{where} answered HTTP {status} without a Bot API answer",
                                    "Check TELEGRAM_API_URL (e.g. https://api.telegram.org, no path).")
                return probe
            if status == 401:
                probe.check = Check("bot api", "fail", f"{where} refused the token (401 Unauthorized)",
                                    "Copy TELEGRAM_BOT_TOKEN again from @BotFather (/mybots → API Token).")
                return probe
            if status == 404:
                probe.check = Check("bot api", "fail", f"{where} does not know this bot (404 Not Found)",
                                    "Check TELEGRAM_BOT_TOKEN (from @BotFather) and TELEGRAM_API_URL.")
                return probe
            if not body.get("ok"):
                probe.check = Check("bot api", "fail", f"getMe failed: {status} {body.get('description', '')}",
                                    "Check TELEGRAM_BOT_TOKEN and TELEGRAM_API_URL.")
                return probe
            me = body.get("result") or {}
            probe.check = Check("bot api", "ok", f"@{me.get('username')} (id {me.get('id')}) via {where}, "
                                f"{probe.rtt * 1000:.0f} ms")
            async with http.get(f"{base}/getWebhookInfo") as resp:
                info = await resp.json(content_type=None)
            if isinstance(info, dict) and info.get("ok"):
                probe.webhook = info.get("result") or {}
            return probe
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        what = f"no answer within {timeout:.0f} s" if isinstance(exc, asyncio.TimeoutError) else \
            f"{exc.__class__.__name__}: {exc}"
        return ApiProbe(Check("bot api", "fail", f"cannot reach {where} ({what})",
                              "Check the network, DNS, firewall or proxy, and TELEGRAM_API_URL."))


def webhook_check(settings: Settings, probe: ApiProbe, now: datetime | None = None) -> Check:
    if not probe.reached or probe.check.status != "ok":
        return Check("webhook", "skip", "not checked: the Bot API was not reached with the token")
    if probe.webhook is None:
        return Check("webhook", "warn", "getWebhookInfo gave no answer", "Run the doctor again.")
    info, now = probe.webhook, now or datetime.now(timezone.utc)
    url, pending = info.get("url") or "", int(info.get("pending_update_count") or 0)
    wanted = settings.webhook_url
    waiting = f"{pending} update(s) waiting at Telegram"
    if not wanted:
        if url:
            return Check("webhook", "warn", f"a webhook is set ({url}) but this configuration polls "
                         "(WEBHOOK_URL is empty); getUpdates fails while it is set",
                         "The bot deletes it when it starts polling; set WEBHOOK_URL if webhook mode was meant.")
        return Check("webhook", "ok", f"none set: polling mode; {waiting}")
    if not url:
        return Check("webhook", "warn", f"WEBHOOK_URL is set but Telegram has no webhook; {waiting}",
                     "The bot sets it when it starts (setWebhook); if this stays after a start, read its log.")
    if url != wanted:
        return Check("webhook", "warn", f"Telegram calls {url}, not WEBHOOK_URL {wanted}",
                     "Restart the bot so that it sets WEBHOOK_URL; only one deployment may use a bot token.")
    error_at = info.get("last_error_date")
    if error_at and now - datetime.fromtimestamp(int(error_at), timezone.utc) < WEBHOOK_ERROR_RECENT:
        ago = (now - datetime.fromtimestamp(int(error_at), timezone.utc)).total_seconds() / 60
        return Check("webhook", "warn", f"Telegram calls {url}; its last delivery failed {ago:.0f} min ago: "
                     f"{info.get('last_error_message') or 'no reason given'}; {waiting}",
                     "Check that the proxy reaches the workers (/healthz) and that the certificate is valid.")
    if pending > PENDING_UPDATES_WARN:
        return Check("webhook", "warn", f"Telegram calls {url}; {waiting}",
                     "The workers do not keep up or are not reached; check them and the proxy.")
    return Check("webhook", "ok", f"Telegram calls {url}; {waiting}")


def clock_check(settings: Settings, skew: float | None, rtt: float = 0.0,
                now: datetime | None = None) -> Check:
    """TIMEZONE (valid, its offset now) and `skew`: the system clock minus the
    Bot API server's, in seconds (None: not compared)."""
    tz = settings.tz
    local = (now or datetime.now(timezone.utc)).astimezone(tz)
    minutes = int((local.utcoffset() or timedelta()).total_seconds() // 60)
    offset = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    zone = f"TIMEZONE {settings.timezone}: {local:%H:%M} {local.tzname()} (UTC{offset})"
    if skew is None:
        return Check("clock", "warn", f"{zone}; the system clock was not compared",
                     "Reach the Bot API (see above) to compare the clock with its server's.")
    off = abs(skew)
    ahead = "ahead of" if skew > 0 else "behind"
    if off <= CLOCK_OK + rtt / 2:
        return Check("clock", "ok", f"{zone}; the system clock is within {max(off, 1):.0f} s of the Bot API server's")
    what = f"{zone}; the system clock is {off:.0f} s {ahead} the Bot API server's"
    advice = "Turn on time synchronisation (NTP, e.g. `timedatectl set-ntp true`)."
    if off <= CLOCK_FAIL:
        return Check("clock", "warn", what, advice)
    return Check("clock", "fail", what + ": reminders and quiet hours go wrong", advice)


# -- all of it ------------------------------------------------------------------------------
async def diagnose(settings: Settings, *, model: bool = True, model_timeout: float = MODEL_TIMEOUT,
                   api_timeout: float = API_TIMEOUT) -> list[Check]:
    checks = settings_checks(settings)
    loading = asyncio.ensure_future(model_check(settings, model_timeout)) if model else None
    try:
        checks += await database_checks(settings)
        if settings.telegram_bot_token:
            probe = await bot_api_checks(settings, api_timeout)
        else:
            probe = ApiProbe(Check("bot api", "skip", "not checked: TELEGRAM_BOT_TOKEN is not set"))
        checks.append(probe.check)
        checks.append(webhook_check(settings, probe))
        skew = ((probe.local_time - probe.server_time).total_seconds()
                if probe.local_time is not None and probe.server_time is not None else None)
        checks.append(clock_check(settings, skew, probe.rtt))
        if loading is not None:
            checks.insert(len(checks) - 3, await loading)
        else:
            checks.insert(len(checks) - 3, Check("model", "skip", "not checked (--skip-model)"))
    finally:
        if loading is not None and not loading.done():
            loading.cancel()
    return checks


def _marks() -> dict[str, str]:
    try:
        "✓✗–→".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS
    return MARKS


def run_doctor(argv: argparse.Namespace) -> int:
    marks = _marks()
    print("Crosslab doctor")
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(Check("settings", "fail", str(exc), "Correct it in .env or the environment (see .env.example).")
              .line(marks))
        return 1
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    install_redaction(*(getattr(settings, f) for f in SECRET_FIELDS), str(password) if password else "")
    checks = asyncio.run(diagnose(settings, model=not argv.skip_model, model_timeout=argv.model_timeout,
                                  api_timeout=argv.timeout))
    for check in checks:
        line = check.line(marks)
        if password:
            line = line.replace(str(password), "***")  # also a short one, which the log filter leaves alone
        print(line if marks is MARKS else line.replace("→", "->"))
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    print(f"{failed} problem(s), {warned} warning(s)" if failed or warned else "all good")
    return 1 if failed else 0
