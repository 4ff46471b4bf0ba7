"""LOG_FORMAT=json: one JSON object per line, and still no secret in any of
them (issue 14, operations kit); LOG_FORMAT and METRICS_LISTEN as settings."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.logs import JsonFormatter, install_redaction, redaction
from bot.settings import SettingsError, load_settings

TOKEN = "987654321:AAH-json-log-test-token-0123456789abcdef"
SECRET = TOKEN.split(":")[1]
ROOT = Path(__file__).resolve().parents[2]


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_json_records_have_the_fields_and_no_token() -> None:
    install_redaction(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(redaction())
    log = logging.getLogger("tests.unit.test_log_format")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        log.info("GET %s -> %d", f"https://api.telegram.org/bot{TOKEN}/getMe", 200)
        log.warning("Grüße\nzweite Zeile")
        try:
            raise RuntimeError(f"Client error for url https://x/bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("send failed")
        log.debug("token part alone: %s", SECRET)
    finally:
        log.removeHandler(handler)
        log.propagate = True
    out = stream.getvalue()
    assert SECRET not in out
    records = _json_lines(out)
    assert len(records) == 4
    first, second, third, fourth = records
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "INFO" and first["logger"] == "tests.unit.test_log_format"
    assert first["message"] == "GET https://api.telegram.org/bot<redacted>/getMe -> 200"
    assert first["time"].endswith("+00:00") and "T" in first["time"]
    assert second["message"] == "Grüße\nzweite Zeile" and "Grüße" in out  # readable, one line
    assert third["message"] == "send failed" and third["level"] == "ERROR"
    assert "RuntimeError: Client error for url https://x/bot<redacted>/sendMessage" in third["exception"]
    assert "Traceback" in third["exception"]
    assert fourth["message"] == "token part alone: <redacted>"


def test_crosslab_logging_as_json_in_a_fresh_process() -> None:
    """`configure_logging(..., fmt="json")` as `crosslab run` calls it: every
    line on stderr is a JSON object, httpx's request lines are held back, and
    the token is nowhere, not in messages, arguments or tracebacks."""
    code = f"""
import logging
from bot.logs import configure_logging
configure_logging("DEBUG", {TOKEN!r}, "webhook-secret-xyz", fmt="json")
logging.getLogger("aiohttp.client").debug("POST %s", "https://api.telegram.org/bot{TOKEN}/sendMessage")
logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates")
logging.getLogger("crosslab").info("secret is %s", "webhook-secret-xyz")
try:
    raise ValueError("bad url https://api.telegram.org/bot{TOKEN}/getMe")
except ValueError:
    logging.getLogger("crosslab").exception("failed")
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stderr and "webhook-secret-xyz" not in proc.stderr
    records = _json_lines(proc.stderr)
    assert [r["logger"] for r in records] == ["aiohttp.client", "crosslab", "crosslab"]  # httpx: WARNING only
    assert records[0]["message"] == "POST https://api.telegram.org/bot<redacted>/sendMessage"
    assert records[1]["message"] == "secret is <redacted>"
    assert "bot<redacted>/getMe" in records[2]["exception"]


def test_text_stays_the_default_format() -> None:
    assert load_settings(_env_file=None).log_format == "text"
    assert load_settings(_env_file=None, log_format=" JSON ").log_format == "json"


@pytest.mark.parametrize("override, fragment", [
    ({"log_format": "xml"}, "LOG_FORMAT must be text or json"),
    ({"metrics_listen": "9100"}, "METRICS_LISTEN must look like host:port"),
    ({"metrics_listen": "127.0.0.1:99999"}, "METRICS_LISTEN must look like host:port"),
    ({"metrics_listen": "localhost:http"}, "METRICS_LISTEN must look like host:port"),
])
def test_malformed_operations_settings_are_one_sentence(override: dict, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None, **override)
    message = str(info.value)
    assert fragment in message and "\n" not in message and message.endswith(".")


def test_metrics_listen_addresses() -> None:
    assert load_settings(_env_file=None).metrics_address is None  # off by default
    assert load_settings(_env_file=None, metrics_listen="127.0.0.1:9100").metrics_address == ("127.0.0.1", 9100)
    assert load_settings(_env_file=None, metrics_listen=":9100").metrics_address == ("0.0.0.0", 9100)
    assert load_settings(_env_file=None, metrics_listen="[::1]:9100").metrics_address == ("::1", 9100)
