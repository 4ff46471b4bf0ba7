"""HTTP control API under ``/_emulator/…``: drive the emulator with curl (JSON in, JSON out)."""
from __future__ import annotations

import base64
import inspect
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover
    from .ports import EmulatorHost

INJECT = ("send_text", "send_command", "send_photo", "send_document", "send_sticker", "send_voice",
          "send_video", "send_location", "send_contact", "press_button", "click", "edit_text")
ACTIONS = INJECT + ("add_user", "add_group", "redeliver", "block_bot", "fail_next", "reset")
_INT = {"user_id", "message_id", "chat_id", "update_id", "error_code", "retry_after", "times", "duration",
        "width", "height", "reply_to", "contact_user_id"}
_FLOAT = {"latitude", "longitude", "timeout", "quiet"}
_BOOL = {"blocked", "notify", "started", "is_premium"}

HELP = {
    "about": "Crosslab Telegram Bot API emulator. Bot API: {base}/bot<token>/<method>; "
             "files: {base}/file/bot<token>/<file_path>. Control API below (JSON bodies; "
             "query parameters work too). Injection actions accept \"wait\": true|seconds to wait "
             "until the bot is idle and return its replies.",
    "GET": {
        "/_emulator/state": "users, chats, pending updates, webhook, commands",
        "/_emulator/sent?chat_id=ID": "messages the bot sent (all chats without chat_id)",
        "/_emulator/transcript?chat_id=ID": "readable conversation (text/plain)",
        "/_emulator/requests?method=NAME": "log of Bot API calls",
        "/_emulator/updates": "every update created so far",
        "/_emulator/callback_answers": "answerCallbackQuery calls",
        "/_emulator/chat_actions?chat_id=ID": "sendChatAction calls (typing …) as [chat_id, action]",
        "/_emulator/commands": "setMyCommands results by scope and language",
        "/_emulator/wait_idle?timeout=10": "wait until the bot is idle",
    },
    "POST": {
        "/_emulator/add_user": {"user_id": 1001, "first_name": "Anna", "username": "anna", "language_code": "de"},
        "/_emulator/add_group": {"chat_id": -1001, "title": "Cohort"},
        "/_emulator/send_text": {"user_id": 1001, "text": "/start", "wait": True},
        "/_emulator/send_command": {"user_id": 1001, "command": "start", "payload": "ref_1"},
        "/_emulator/press_button": {"user_id": 1001, "message_id": 2, "callback_data": "yes", "wait": True},
        "/_emulator/click": {"user_id": 1001, "message_id": 2, "label": "Ja", "wait": True},
        "/_emulator/send_document": {"user_id": 1001, "file_name": "cv.pdf", "content_base64": "JVBERi0x..."},
        "/_emulator/send_photo": {"user_id": 1001, "caption": "our workshop"},
        "/_emulator/send_location": {"user_id": 1001, "latitude": 52.52, "longitude": 13.4},
        "/_emulator/send_contact": {"user_id": 1001, "phone_number": "+4930123"},
        "/_emulator/send_sticker|send_voice|send_video": {"user_id": 1001},
        "/_emulator/edit_text": {"user_id": 1001, "message_id": 1, "text": "corrected"},
        "/_emulator/redeliver": {"update_id": 3},
        "/_emulator/block_bot": {"user_id": 1001, "blocked": True},
        "/_emulator/fail_next": {"method": "sendMessage", "error_code": 429, "retry_after": 2},
        "/_emulator/reset": {},
    },
}


def _ok(result: Any, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps({"ok": True, "result": result}, ensure_ascii=False, default=str),
                        status=status, content_type="application/json")


def _error(description: str, status: int = 400) -> web.Response:
    return web.Response(text=json.dumps({"ok": False, "description": description}, ensure_ascii=False),
                        status=status, content_type="application/json")


def _coerce(body: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in ("data_base64", "content_base64"):
            out[key[: -len("_base64")]] = base64.b64decode(value)
            continue
        if isinstance(value, str):
            if key in _INT:
                value = int(value)
            elif key in _FLOAT:
                value = float(value)
            elif key in _BOOL:
                value = value.lower() in ("1", "true", "yes", "on")
        out[key] = value
    return out


async def _body(request: web.Request) -> dict[str, Any]:
    body: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                body.update(data)
        else:
            body.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    return _coerce(body)


def add_control_routes(app: web.Application, emu: "EmulatorHost") -> None:
    async def index(request: web.Request) -> web.Response:
        help_ = json.loads(json.dumps(HELP).replace("{base}", emu.base_url))
        return _ok(help_)

    async def get_action(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        q = request.query
        chat_id = int(q["chat_id"]) if q.get("chat_id") else None
        if action == "state":
            return _ok({
                "base_url": emu.base_url,
                "users": [emu.user(uid) for uid in emu._users],
                "chats": emu.chats(),
                "pending_updates": len(emu.pending_updates),
                "webhook": {k: v for k, v in (emu.webhook or {}).items() if k != "token"} or None,
                "commands": {f"{s}|{lang}": c for (s, lang), c in emu.commands.items()},
                "idle": emu.is_idle(),
            })
        if action == "sent":
            return _ok([m.to_dict() for m in emu.sent(chat_id)])
        if action == "transcript":
            return web.Response(text=emu.transcript(chat_id) + "\n", content_type="text/plain", charset="utf-8")
        if action == "requests":
            method = q.get("method")
            return _ok([{"method": m, "params": p} for m, p in emu.requests
                        if method is None or m.lower() == method.lower()])
        if action == "updates":
            return _ok(emu.updates())
        if action == "callback_answers":
            return _ok(emu.callback_answers)
        if action == "chat_actions":
            return _ok([[c, a] for c, a in emu.chat_actions if chat_id is None or c == chat_id])
        if action == "commands":
            return _ok([{"scope": s, "language_code": lang, "commands": c} for (s, lang), c in emu.commands.items()])
        if action == "wait_idle":
            return await wait_idle(request)
        return _error(f"unknown GET action {action!r}; see GET /_emulator", 404)

    async def wait_idle(request: web.Request) -> web.Response:
        body = await _body(request)
        try:
            await emu.wait_idle(float(body.get("timeout", 10.0)), float(body.get("quiet", 0.15)))
        except TimeoutError as exc:
            return _error(str(exc), 504)
        return _ok(True)

    async def post_action(request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action == "wait_idle":
            return await wait_idle(request)
        if action == "users":
            action = "add_user"
        if action not in ACTIONS:
            return _error(f"unknown action {action!r}; see GET /_emulator", 404)
        try:
            body = await _body(request)
        except (ValueError, TypeError) as exc:
            return _error(f"bad request body: {exc}")
        wait = body.pop("wait", None)
        if action == "click" and "message_id" in body:
            body["message"] = body.pop("message_id")
        fn = getattr(emu, action)
        try:
            bound = inspect.signature(fn).bind(**body)
        except TypeError as exc:
            return _error(f"{action}: {exc}")
        mark = emu.seq
        try:
            result = fn(*bound.args, **bound.kwargs)
        except (ValueError, KeyError, LookupError) as exc:
            return _error(f"{action}: {exc}")
        if action in INJECT and wait:
            timeout = 10.0 if wait is True else float(wait)
            try:
                await emu.wait_idle(timeout)
            except TimeoutError as exc:
                return _error(str(exc), 504)
            chat_id = body.get("chat_id") or body.get("user_id")
            return _ok({"update": result, "replies": [m.to_dict() for m in emu.changed_since(chat_id, mark)]})
        return _ok(result)

    app.router.add_get("/_emulator", index)
    app.router.add_get("/_emulator/", index)
    app.router.add_get("/_emulator/{action}", get_action)
    app.router.add_post("/_emulator/{action}", post_action)
