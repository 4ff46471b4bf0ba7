"""Webhook delivery: POST queued updates to the URL given by setWebhook."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import aiohttp

from .records import Params, Upload
from .state import QueueEntry

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


def _chat_key(update: dict) -> tuple[str, object]:
    """The chat an update belongs to (its message's chat, a pressed button's
    message's chat, else its sender): two updates of one chat are never in
    flight at once, so a chat's updates arrive in order."""
    body = next((v for k, v in update.items() if k != "update_id"), None)
    if isinstance(body, dict):
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return ("chat", chat["id"])
        sender = body.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return ("user", sender["id"])
    return ("update", update.get("update_id"))


async def _deliver(emu: "EmulatorHost", session: aiohttp.ClientSession, wh: dict, entry: QueueEntry) -> bool:
    """POST one update; True once the webhook confirmed it (2xx)."""
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
    if error and emu._webhook is wh:
        wh["last_error_date"] = emu.now()
        wh["last_error_message"] = error
    return error is None


async def webhook_loop(emu: "EmulatorHost") -> None:
    """Deliver updates in update_id order, up to the webhook's ``max_connections``
    at once (Telegram's default 40) but never two of the same chat at once;
    retry a failed delivery after ``emu.webhook_retry_delay`` seconds (Telegram
    keeps retrying too), while that chat's later updates wait behind it."""
    loop = asyncio.get_running_loop()
    timeout = aiohttp.ClientTimeout(total=60)
    inflight: dict[int, tuple[QueueEntry, asyncio.Task[bool]]] = {}  # by id(entry)
    retry_at: dict[int, float] = {}  # a failed entry's next try (loop time)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=0)) as session:
        try:
            while emu._webhook and not emu._closing:
                wh = emu._webhook
                limit = max(1, int(wh.get("max_connections") or 40))
                ev = emu._update_event
                now = loop.time()
                queued = emu._deliverable()
                live = {id(e) for e in queued}
                for key in [k for k in retry_at if k not in live]:
                    del retry_at[key]
                busy: set[tuple[str, object]] = set()  # chats with an earlier update not yet confirmed
                wake = now + 1.0
                for entry in queued:
                    key = _chat_key(entry.update)
                    if key in busy:
                        continue
                    busy.add(key)
                    if id(entry) in inflight:
                        continue
                    due = retry_at.get(id(entry), now)
                    if due > now:
                        wake = min(wake, due)
                        continue
                    if len(inflight) >= limit:
                        break
                    inflight[id(entry)] = (entry, asyncio.create_task(_deliver(emu, session, wh, entry)))
                woken = asyncio.ensure_future(ev.wait())  # a new update, or a webhook change
                await asyncio.wait({woken, *(task for _, task in inflight.values())},
                                   timeout=max(0.0, wake - loop.time()), return_when=asyncio.FIRST_COMPLETED)
                woken.cancel()
                for key, (entry, task) in list(inflight.items()):
                    if task.done():
                        del inflight[key]
                        if task.cancelled() or task.exception() is not None or not task.result():
                            retry_at[key] = loop.time() + emu.webhook_retry_delay
                        else:
                            retry_at.pop(key, None)
        finally:
            for _, task in inflight.values():
                task.cancel()
            await asyncio.gather(*(task for _, task in inflight.values()), return_exceptions=True)
