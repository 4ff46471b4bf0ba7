"""bot.logs: no log record carries the token or another secret (issue 14.1)."""
from __future__ import annotations

import io
import logging

from bot.logs import RedactSecrets, install_redaction

TOKEN = "987654321:AAH-unit-test-token-0123456789abcdef"


def test_redacts_token_secrets_and_token_shapes() -> None:
    f = RedactSecrets()
    f.add(TOKEN, TOKEN.split(":")[1], "webhook-secret-value")
    assert f.redact(f"POST https://api.telegram.org/bot{TOKEN}/getMe") == \
        "POST https://api.telegram.org/bot<redacted>/getMe"
    assert f.redact(f"token={TOKEN.split(':')[1]} secret=webhook-secret-value") == \
        "token=<redacted> secret=<redacted>"
    # Not configured, but shaped like a token (another bot's), also percent-encoded.
    assert f.redact("GET /bot1234567:ABCDEFGHIJKLMNOPQRSTUVWXYZ012/x") == "GET /bot<redacted>/x"
    assert f.redact("1234567%3AABCDEFGHIJKLMNOPQRSTUVWXYZ012") == "<redacted>"
    assert f.redact("meeting at 12:30, room 4:B") == "meeting at 12:30, room 4:B"


def test_every_record_is_redacted_also_in_arguments_and_tracebacks() -> None:
    install_redaction(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # added after the installation: still clean
    log = logging.getLogger("tests.unit.test_logs")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.debug("request %s", f"https://x/bot{TOKEN}/getUpdates")
        try:
            raise RuntimeError(f"Client error for url https://x/bot{TOKEN}/sendMessage")
        except RuntimeError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN.split(":")[1] not in out
    assert "https://x/bot<redacted>/getUpdates" in out and "bot<redacted>/sendMessage" in out
