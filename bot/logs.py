"""Logging: one format, quiet HTTP clients, and no secret in any log record.

The Bot API puts the bot token into every request URL (``…/bot<token>/getMe``)
and HTTP clients log those URLs (httpx at INFO under python-telegram-bot;
aiohttp's access log in the emulator). `install_redaction` makes sure no log
record ever carries the token or another configured secret, at any level:

- a `RedactSecrets` filter rewrites a record's message (formatted with its
  arguments), its exception text and stack: the token becomes
  ``bot<redacted>`` (``<redacted>`` without the ``bot`` prefix), any other
  configured secret ``<redacted>``; anything shaped like a bot token
  (``<digits>:<35 characters>``) is redacted too, configured or not;
- it runs in the log-record factory, so it applies to every record of every
  logger before any handler sees it (a handler added later, e.g. a test's,
  included), and it is added to the root logger's handlers as well.

`configure_logging` (used by ``crosslab run``) sets the format and level and
keeps httpx/httpcore at WARNING: their INFO lines only echo each request.
``LOG_FORMAT=json`` writes one JSON object per line (`JsonFormatter`, the
standard library's ``logging.Formatter`` with ``json``: no dependency); the
redaction applies to it alike (it works on the record, before formatting).
"""
from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import datetime, timezone
from typing import Any

__all__ = ["JsonFormatter", "QUIET_LOGGERS", "RedactSecrets", "TEXT_FORMAT", "configure_logging",
           "install_redaction", "redaction"]

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

TOKEN_REDACTED = "bot<redacted>"
REDACTED = "<redacted>"
# A bot token as @BotFather gives it, also with the colon percent-encoded (URLs).
_TOKEN_SHAPE = re.compile(r"(?:(bot)|(?<![A-Za-z0-9]))\d{3,12}(?::|%3[Aa])[A-Za-z0-9_-]{20,}")
QUIET_LOGGERS = ("httpx", "httpcore")
_MIN_SECRET = 8  # shorter configured "secrets" would redact ordinary words


class RedactSecrets(logging.Filter):
    """Rewrites log records so that no configured secret and nothing shaped
    like a bot token is left in them. Never drops a record."""

    def __init__(self) -> None:
        super().__init__("")
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        with self._lock:
            found = {*self._secrets, *(s for s in secrets if s and len(s) >= _MIN_SECRET)}
            # Longest first: the full token before its secret part.
            self._secrets = tuple(sorted(found, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(f"bot{secret}", TOKEN_REDACTED).replace(secret, REDACTED)
        return _TOKEN_SHAPE.sub(lambda m: TOKEN_REDACTED if m.group(1) else REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it itself when it formats it
            return True
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.redact(text)
            if clean != text:
                record.exc_text = clean  # formatters use exc_text when it is set
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_FILTER = RedactSecrets()
_installed = False
_install_lock = threading.Lock()


def redaction() -> RedactSecrets:
    """The process's one redaction filter."""
    return _FILTER


def install_redaction(*secrets: str) -> RedactSecrets:
    """Redact these secrets (and anything token-shaped) from every log record
    from now on; idempotent, secrets accumulate. A token is redacted whole and
    by its secret part (after the colon)."""
    parts: list[str] = []
    for secret in secrets:
        if secret:
            parts.append(secret)
            head, colon, tail = secret.partition(":")
            if colon and head.isdigit() and tail:
                parts.append(tail)
    _FILTER.add(*parts)
    global _installed
    with _install_lock:
        if not _installed:
            previous = logging.getLogRecordFactory()

            def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
                record = previous(*args, **kwargs)
                _FILTER.filter(record)
                return record

            logging.setLogRecordFactory(factory)
            _installed = True
    for handler in logging.getLogger().handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    return _FILTER


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601 with milliseconds),
    ``level``, ``logger``, ``message``, and ``exception`` (the traceback) or
    ``stack`` when the record has one. Non-ASCII stays readable (UTF-8); a
    line break inside a message is escaped, so one record is one line.
    Formats what the record holds after `RedactSecrets` rewrote it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, *secrets: str, fmt: str = "text") -> None:
    """The bot's logging on stderr at `level`: ``time LEVEL logger: message``
    (`fmt` "text") or one JSON object per line (`fmt` "json", `JsonFormatter`);
    httpx/httpcore at WARNING, every secret redacted (also on this handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(_FILTER)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    install_redaction(*secrets)
