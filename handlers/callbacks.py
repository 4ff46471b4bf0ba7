"""Signed button payloads.

Format: ``action|value|version|sig`` where sig is an HMAC over the addressee's
Telegram id and the rest. A forged or someone else's payload fails the check; a
payload signed for an older conversation version is stale.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_CALLBACK_BYTES = 64


@dataclass(frozen=True)
class CallbackPayload:
    action: str
    value: str
    version: int


class CallbackSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sig(self, user_id: int, body: str) -> str:
        mac = hmac.new(self._secret, f"{user_id}|{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:6]).decode()

    def sign(self, user_id: int, action: str, value: str, version: int) -> str:
        if "|" in action or "|" in value:
            raise ValueError("'|' is reserved in callback payloads")
        body = f"{action}|{value}|{version}"
        data = f"{body}|{self._sig(user_id, body)}"
        if len(data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data too long ({len(data.encode())} bytes): {data!r}")
        return data

    def verify(self, user_id: int, data: str | None) -> CallbackPayload | None:
        """The payload if it is genuine for this user, else None."""
        if not data:
            return None
        parts = data.split("|")
        if len(parts) != 4:
            return None
        action, value, version, sig = parts
        body = f"{action}|{value}|{version}"
        if not hmac.compare_digest(sig, self._sig(user_id, body)):
            return None
        try:
            return CallbackPayload(action, value, int(version))
        except ValueError:
            return None
