"""Settings from the environment (and `.env`), validated once at start-up.

Every field is documented in `.env.example`.  `load_settings()` turns a
validation error into one clear sentence (`SettingsError`) so the command line
can print it instead of a traceback.
"""
from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from datetime import time, timedelta

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

from domain.durations import Offsets, parse_offsets, parse_quiet_hours

_TOKEN_RE = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{20,}$")
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what setWebhook's secret_token allows
OFFICIAL_API_HOST = "api.telegram.org"
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram's own servers post webhooks to
HEALTH_PATHS = ("/healthz", "/readyz")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one readable sentence."""


def parse_host_port(value: str, name: str) -> tuple[str, int]:
    """``host:port`` (``127.0.0.1:9100``, ``[::1]:9100``, ``:9100`` = every
    interface) as (host, port); a ValueError names the variable."""
    text = value.strip()
    host, colon, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not port.isdigit() or not 0 < int(port) < 65536 or " " in host or (":" in host and "." in host):
        raise ValueError(f"{name} must look like host:port, e.g. 127.0.0.1:9100 or 0.0.0.0:9100, got {value!r}")
    return host or "0.0.0.0", int(port)


def durations(name: str, example: str, *, least: int = 0, most: int | None = None) -> object:
    """The type of a setting written as comma-separated durations ("24h,1h"):
    parsed once, at start-up, by `domain.durations.parse_offsets` into
    ((label, timedelta), ...) largest first; an error names the variable."""

    def parse(value: object) -> Offsets:
        if isinstance(value, (tuple, list)):  # already parsed (defaults, model_copy)
            return tuple((str(k), d) for k, d in value)
        try:
            items = parse_offsets(str(value))
        except ValueError as exc:
            raise ValueError(f"{name} must look like {example}: {exc}") from None
        if len(items) < least or (most is not None and len(items) > most):
            raise ValueError(f"{name} must look like {example}")
        return tuple(items)

    return Annotated[Offsets, NoDecode, BeforeValidator(parse)]


def _quiet_hours(value: object) -> tuple[time, time] | None:
    if value is None or isinstance(value, tuple):
        return value  # already parsed
    try:
        return parse_quiet_hours(str(value))
    except ValueError:
        raise ValueError(f"QUIET_HOURS must look like 21:00-08:00 (empty = none), got {value!r}") from None


QuietHours = Annotated[tuple[time, time] | None, NoDecode, BeforeValidator(_quiet_hours)]
ReminderOffsets = durations("REMINDER_OFFSETS", "24h,1h (units s, m, h, d; empty = none)")
FeedbackDelay = durations("FEEDBACK_DELAY", "2h (one duration)", least=1, most=1)
NudgeIntervals = durations("NUDGE_INTERVALS", "2d,4d (at most two nudges; empty = none)", most=2)
FollowupAfter = durations("FOLLOWUP_AFTER", "14d,90d (empty = none)")
UpdatesKeep = durations("PROCESSED_UPDATES_KEEP", "7d (one duration, at least 1d)", least=1, most=1)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str = Field(default="", repr=False)
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///crosslab.sqlite3"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    bot_framework: Literal["aiogram", "ptb"] = "aiogram"
    embedding_model: str = ""
    default_language: Literal["de", "en"] = "de"
    german_form: Literal["sie", "du"] = "sie"
    timezone: str = "Europe/Berlin"
    # Webhook mode (bot/webhook.py): set WEBHOOK_URL and Telegram posts updates
    # there; empty = long polling (the default).
    webhook_url: str = ""
    webhook_secret: str = Field(default="", repr=False)
    webhook_listen: str = "0.0.0.0:8080"
    webhook_max_connections: int = 40
    callback_secret: str = Field(default="", repr=False)
    log_level: str = "INFO"
    # text: "time LEVEL logger: message"; json: one JSON object per line (docs/operations.md)
    log_format: Literal["text", "json"] = "text"
    # host:port for Prometheus' /metrics (empty = off); see docs/operations.md "Metrics"
    metrics_listen: str = ""
    reminder_offsets: ReminderOffsets = (
        ("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)))
    time_factor: float = 1.0
    meeting_minutes: int = 45
    feedback_delay: FeedbackDelay = (
        ("2h", timedelta(hours=2)),)
    nudge_intervals: NudgeIntervals = (
        ("4d", timedelta(days=4)), ("2d", timedelta(days=2)))
    quiet_hours: QuietHours = (time(21), time(8))
    followup_after: FollowupAfter = (
        ("90d", timedelta(days=90)), ("14d", timedelta(days=14)))
    ignored_limit: int = 3
    sweep_seconds: float = 60.0
    # The outbox (bot/outbox.py): one global rate for everything the bot sends,
    # and per chat a steady rate with short bursts.
    send_rate: float = 25.0
    # auto: take part in the leader election (bot/leader.py; on SQLite this process
    # leads); off: never run reminders, sweeps or the outbox sender here.
    scheduler: Literal["auto", "off"] = "auto"
    leader_retry_seconds: float = 2.0
    send_chat_rate: float = 1.0
    send_chat_burst: int = 3
    outbox_lease_seconds: float = 30.0
    outbox_max_attempts: int = 8
    # Flood control per person (handlers/flood.py): a burst of FLOOD_BURST
    # updates, then FLOOD_RATE a second; the excess is dropped with one notice.
    # Either 0: off.
    flood_burst: int = 20
    flood_rate: float = 1.0
    # How long handled update ids are remembered (redelivered updates are
    # recognised); Telegram keeps an unconfirmed update for at most 24 hours.
    processed_updates_keep: UpdatesKeep = (("7d", timedelta(days=7)),)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: str) -> str:
        value = value.strip()
        if value and not _TOKEN_RE.match(value):
            raise ValueError("TELEGRAM_BOT_TOKEN looks malformed: expected '<digits>:<secret>' as given by @BotFather")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"TELEGRAM_API_URL must be an http(s) URL such as http://127.0.0.1:8081, got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        value = value.strip()
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(f"DATABASE_URL is not a database URL: {value!r} (example: sqlite+aiosqlite:///crosslab.sqlite3)") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("DATABASE_URL must point to SQLite or PostgreSQL")
        # Accept the common sync spellings and use the async drivers.
        if url.drivername in ("sqlite", "sqlite+pysqlite"):
            url = url.set(drivername="sqlite+aiosqlite")
        elif url.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
            url = url.set(drivername="postgresql+asyncpg")
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("DATABASE_URL must use sqlite+aiosqlite or postgresql+asyncpg")
        return url.render_as_string(hide_password=False)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        parsed = urlparse(value)
        try:
            parsed.port  # noqa: B018  (raises on a port that is not a number)
        except ValueError:
            raise ValueError(f"WEBHOOK_URL has an invalid port: {value!r}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"WEBHOOK_URL must be an https URL such as https://bot.example.org/telegram, got {value!r}")
        if parsed.fragment:
            raise ValueError("WEBHOOK_URL must not contain a #fragment")
        if (parsed.path or "/") in HEALTH_PATHS:
            raise ValueError(f"WEBHOOK_URL's path must not be {parsed.path}: the health checks are served there")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        value = value.strip()
        if value and not _WEBHOOK_SECRET_RE.fullmatch(value):
            raise ValueError("WEBHOOK_SECRET must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - "
                             "(what Telegram allows)")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        value = value.strip()
        host, sep, port = value.rpartition(":")
        host = host.strip("[]")  # [::]:8080
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"WEBHOOK_LISTEN must be host:port such as 0.0.0.0:8080 or [::]:8080, got {value!r}")
        return value

    @field_validator("webhook_max_connections")
    @classmethod
    def _webhook_max_connections(cls, value: int) -> int:
        if not 1 <= value <= 100:
            raise ValueError("WEBHOOK_MAX_CONNECTIONS must be between 1 and 100 (Telegram's limits)")
        return value

    @model_validator(mode="after")
    def _webhook_mode(self) -> "Settings":
        if not self.webhook_url:
            return self
        if not self.webhook_secret:
            raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL: 1 to 256 characters of A-Z, a-z, 0-9, "
                             "_ and -, e.g. from `openssl rand -hex 32`")
        url = urlparse(self.webhook_url)
        if urlparse(self.telegram_api_url).hostname == OFFICIAL_API_HOST:
            # A local Bot API server (or the emulator) also posts to http and any port.
            if url.scheme != "https":
                raise ValueError("WEBHOOK_URL must start with https:// (Telegram posts webhooks only over HTTPS)")
            if (url.port or 443) not in WEBHOOK_PORTS:
                raise ValueError("WEBHOOK_URL must use port 443, 80, 88 or 8443 (the only ports Telegram posts to)")
        return self

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return frozenset(int(p) for p in parts)
            except ValueError:
                raise ValueError("ADMIN_IDS must be Telegram user ids separated by commas, e.g. 12345,67890") from None
        return value

    @field_validator("embedding_model")
    @classmethod
    def _embedding_model(cls, value: str) -> str:
        from matching.encoders import UnknownEncoderSpec, parse_spec

        value = value.strip()
        try:
            spec = parse_spec(value)
        except UnknownEncoderSpec as exc:
            raise ValueError(str(exc)) from None
        missing = spec.missing_package()
        if missing:
            raise ValueError(f"EMBEDDING_MODEL {value!r} needs the Python package {missing!r}, which is not installed")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"TIMEZONE {value!r} is not a known time zone (example: Europe/Berlin)") from None
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip().lower() or "text"
            if value not in ("text", "json"):
                raise ValueError(f"LOG_FORMAT must be text or json, got {value!r}")
        return value

    @field_validator("metrics_listen")
    @classmethod
    def _metrics_listen(cls, value: str) -> str:
        value = value.strip()
        if value:
            parse_host_port(value, "METRICS_LISTEN")
        return value

    @field_validator("time_factor")
    @classmethod
    def _time_factor(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("TIME_FACTOR must be positive (1 = real time)")
        return value

    @field_validator("meeting_minutes")
    @classmethod
    def _meeting_minutes(cls, value: int) -> int:
        if not 10 <= value <= 480:
            raise ValueError("MEETING_MINUTES must be between 10 and 480")
        return value

        try:
            parse_quiet_hours(value)
        except ValueError:
            raise ValueError(f"QUIET_HOURS must look like 21:00-08:00 (empty = none), got {value!r}") from None
        return value.strip()

    @field_validator("ignored_limit")
    @classmethod
    def _ignored_limit(cls, value: int) -> int:
        if value < 0:
            raise ValueError("IGNORED_LIMIT must be 0 (never pause) or more")
        return value

    @field_validator("sweep_seconds")
    @classmethod
    def _sweep_seconds(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("SWEEP_SECONDS must be positive")
        return value

    @field_validator("send_rate", "send_chat_rate", "outbox_lease_seconds", "leader_retry_seconds")
    @classmethod
    def _positive_rate(cls, value: float, info: object) -> float:
        if not value > 0:
            raise ValueError(f"{getattr(info, 'field_name', 'value').upper()} must be positive")
        return value

    @field_validator("send_chat_burst", "outbox_max_attempts")
    @classmethod
    def _at_least_one(cls, value: int, info: object) -> int:
        if value < 1:
            raise ValueError(f"{getattr(info, 'field_name', 'value').upper()} must be 1 or more")
        return value
    @field_validator("flood_burst", "flood_rate")
    @classmethod
    def _flood(cls, value: float, info: object) -> float:
        if value < 0:
            raise ValueError(f"{getattr(info, 'field_name', 'value').upper()} must be 0 (no flood control) or more")
        return value

    @field_validator("processed_updates_keep")
    @classmethod
    def _processed_updates_keep(cls, value: tuple[tuple[str, timedelta], ...]) -> tuple[tuple[str, timedelta], ...]:
        if value[0][1] < timedelta(days=1):
            raise ValueError("PROCESSED_UPDATES_KEEP must be at least 1d: Telegram redelivers an update for up to 24 hours")
        return value

    @property
    def webhook_mode(self) -> bool:
        """True with WEBHOOK_URL set: Telegram posts updates; else long polling."""
        return bool(self.webhook_url)

    @property
    def webhook_path(self) -> str:
        """The path the webhook server answers POSTs on: WEBHOOK_URL's path."""
        return urlparse(self.webhook_url).path or "/"

    @property
    def webhook_address(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN as (host, port)."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def updates_kept_for(self) -> timedelta:
        return self.processed_updates_keep[0][1]

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """Where to serve /metrics, None when METRICS_LISTEN is empty (off)."""
        return parse_host_port(self.metrics_listen, "METRICS_LISTEN") if self.metrics_listen else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def require_token(self) -> None:
        if not self.telegram_bot_token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather into .env or the environment.")

    def effective_callback_secret(self) -> bytes:
        """Key for signing button payloads; derived from the token unless set."""
        import hashlib

        source = self.callback_secret or f"crosslab-callbacks:{self.telegram_bot_token}"
        return hashlib.sha256(source.encode()).digest()



def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or "settings"
        msg = str(err.get("msg", "invalid value"))
        msg = msg.removeprefix("Value error, ")
        if err.get("loc") and field.upper() not in msg:  # a check of several fields names them itself
            msg = f"{field.upper()}: {msg}"
        raise SettingsError(msg.rstrip(".") + ".") from None
