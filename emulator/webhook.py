"""Webhook delivery: POST queued updates to the URL given by setWebhook."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import aiohttp

from .records import Params, Upload

if TYPE_CHECKING:  # pragma: no cover
    from .ports import EmulatorHost

log = logging.getLogger("crosslab.emulator")


async def _reply_method(emu: "EmulatorHost", resp: aiohttp.ClientResponse, token: str) -> None:
    """Telegram executes a Bot API method given in the webhook's response body."""
    values: dict = {}
    files: dict[str, Upload] = {}
    ctype = resp.content_type
    if ctype == "application/json":
        try:
            body = await resp.json(content_type=None)
        except ValueError:
            return
        if isinstance(body, dict):
            values = body
    elif ctype.startswith("multipart/"):
        reader = aiohttp.MultipartReader.from_response(resp)
        async for part in reader:
            if part is None or not isinstance(part, aiohttp.BodyPartReader) or not part.name:
                continue
            if part.filename:
                files[part.name] = Upload(part.filename, bytes(await part.read(decode=True)),
                                          part.headers.get(aiohttp.hdrs.CONTENT_TYPE))
            else:
                values[part.name] = await part.text()
    elif ctype == "application/x-www-form-urlencoded":
        values = dict(parse_qsl(await resp.text()))
    method = values.pop("method", None)
    if method:
        await emu.execute(str(method), Params(values, files), token)


async def webhook_loop(emu: "EmulatorHost") -> None:
    """Deliver updates one at a time, in order; retry failed deliveries after
    ``emu.webhook_retry_delay`` seconds (Telegram keeps retrying too)."""
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while emu._webhook and not emu._closing:
            ev = emu._update_event
            entries = emu._deliverable()
            if not entries:
                try:
                    await asyncio.wait_for(ev.wait(), 1.0)
                except asyncio.TimeoutError:
                    pass
                continue
            entry = entries[0]
            wh = emu._webhook
            headers = {}
            if wh.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = wh["secret_token"]
            error = None
            emu._inflight += 1
            try:
                async with session.post(wh["url"], json=entry.update, headers=headers) as resp:
                    if 200 <= resp.status < 300:
                        entry.delivered = True
                        if entry in emu._queue:
                            emu._queue.remove(entry)
                        try:
                            await _reply_method(emu, resp, wh.get("token") or "")
                        except Exception:  # noqa: BLE001
                            log.exception("could not execute the method in the webhook response")
                    else:
                        error = f"Wrong response from the webhook: {resp.status} {resp.reason}"
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                error = "Connection refused" if isinstance(exc, aiohttp.ClientConnectorError) else \
                    f"Connection error: {type(exc).__name__}"
            finally:
                emu._inflight -= 1
                emu._touch()
            if error:
                if emu._webhook is wh:
                    wh["last_error_date"] = emu.now()
                    wh["last_error_message"] = error
                await asyncio.sleep(emu.webhook_retry_delay)
