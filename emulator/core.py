"""BotAPIEmulator: state, HTTP server, simulated users, waiting helpers, transcripts.

The Bot API methods themselves live in :mod:`emulator.api` (a mixin), the
``/_emulator/…`` control API in :mod:`emulator.control`, webhook delivery in
:mod:`emulator.webhook`.  Those modules never import this one: they are typed
against :class:`emulator.ports.EmulatorHost`, which BotAPIEmulator implements.
The state rows (chats, users, queue) live in :mod:`emulator.state`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import functools
import inspect
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from .api import ApiMethods, Call, JSON_FIELDS, METHODS
from .control import add_control_routes
from .formatting import detect_bot_commands
from .media import DIRECTORIES, SAMPLE_BYTES, EXTENSIONS, guess_mime, image_size, make_file_ids, sample_png
from .records import ApiError, Params, SentFile, SentMessage, Upload
from .state import DEFAULT_UPDATE_TYPES, ChatState, Poll, QueueEntry, UserState

log = logging.getLogger("crosslab.emulator")

__all__ = ["BotAPIEmulator", "FloodLimits"]

MAX_UPLOAD = 50 * 1024 * 1024

SEND_METHODS = frozenset({
    "sendMessage", "sendDocument", "sendPhoto", "sendVoice", "sendAudio", "sendVideo", "sendAnimation",
    "sendVideoNote", "sendSticker", "sendMediaGroup", "sendLocation", "sendVenue", "sendContact",
    "copyMessage", "forwardMessage",
})


@dataclass
class FloodLimits:
    """Opt-in flood control (token buckets), roughly Telegram's documented limits.

    Telegram's real limits are not published precisely; this model answers
    429 "Too Many Requests: retry after N" (with ``parameters.retry_after``) when a
    send would exceed: ``global_per_second`` across all chats, ``private_per_second``
    per private chat (bursts of ``private_burst`` allowed), ``group_per_minute``
    per group.  Only sending methods count, not edits.
    """

    global_per_second: float = 30.0
    private_per_second: float = 1.0
    private_burst: int = 3
    group_per_minute: float = 20.0


class _Bucket:
    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity, self.rate = capacity, rate
        self.tokens = capacity
        self.stamp = time.monotonic()

    def wait_time(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


def _in_loop(fn: Callable) -> Callable:
    """Run a public mutator on the emulator's loop when called from another thread."""

    @functools.wraps(fn)
    def wrapper(self: "BotAPIEmulator", *args: Any, **kwargs: Any) -> Any:
        loop = self._loop
        if loop is not None and loop.is_running() and threading.get_ident() != self._loop_thread:
            fut: concurrent.futures.Future = concurrent.futures.Future()

            def run() -> None:
                try:
                    fut.set_result(fn(self, *args, **kwargs))
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    fut.set_exception(exc)

            loop.call_soon_threadsafe(run)
            return fut.result(timeout=30)
        return fn(self, *args, **kwargs)

    return wrapper


class BotAPIEmulator(ApiMethods):
    """A local, in-memory Telegram Bot API server for tests, demos and manual runs.

    Use in-process (``async with BotAPIEmulator() as emu:``), in a background
    thread (:meth:`start_in_thread`) or standalone (``crosslab emulator``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        token: str | None = None,
        bot_username: str = "crosslab_test_bot",
        bot_name: str = "Crosslab",
        clock: Callable[[], float] = time.time,
        flood_limits: FloodLimits | bool | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token
        self.bot_username = bot_username
        self.bot_name = bot_name
        self.clock = clock
        self.flood_limits: FloodLimits | None = FloodLimits() if flood_limits is True else (flood_limits or None)
        self._buckets: dict[Any, _Bucket] = {}
        self.base_url: str = ""
        # --- what the bot did (public, read them in tests)
        self.requests: list[tuple[str, dict]] = []
        self.callback_answers: list[dict] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.bot_settings: dict[tuple[str, str], str] = {}  # ("name"|"description"|"short_description", lang)
        self.default_menu_button: dict = {"type": "default"}
        self.internal_errors: list[BaseException] = []
        self.on_event: Callable[[int, str], None] | None = None  # (chat_id, transcript line)
        # --- state
        self._users: dict[int, UserState] = {}
        self._chats: dict[int, ChatState] = {}
        self._updates: dict[int, dict] = {}
        self._queue: list[QueueEntry] = []
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._all_sent: list[SentMessage] = []
        self._files: dict[str, SentFile] = {}
        self._files_by_path: dict[str, SentFile] = {}
        self._file_serial = 0
        self._callback_queries: dict[str, dict] = {}
        self._next_callback_id = 1
        self._failures: list[tuple[str, ApiError, Callable[[Params], bool] | None]] = []
        self._webhook: dict | None = None
        self._webhook_task: asyncio.Task | None = None
        self.webhook_retry_delay = 1.0
        # --- waiting / activity
        self._seq = 0
        self._update_event = asyncio.Event()
        self._change_event = asyncio.Event()
        self._poll: Poll | None = None
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        # --- server
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None

    # ================================================================ lifecycle
    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._closing = False
        # fresh events: an Event binds to the first loop that waits on it
        self._update_event = asyncio.Event()
        self._change_event = asyncio.Event()
        app = web.Application(client_max_size=MAX_UPLOAD + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        add_control_routes(app, self)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        addr = self._runner.addresses[0]
        self.port = addr[1]
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        self.base_url = f"http://{host}:{self.port}"

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            try:
                await self._webhook_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "BotAPIEmulator":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def start_in_thread(self) -> "BotAPIEmulator":
        """Run the server on its own event loop in a daemon thread (for synchronous code)."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=main, name="bot-api-emulator", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop_thread(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None

    def run_sync(self, coro: Any, timeout: float | None = None) -> Any:
        """Run a coroutine (e.g. ``emu.wait_idle()``) on the emulator's loop from another thread."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def env(self) -> dict[str, str]:
        """Environment variables that point Crosslab at this emulator."""
        return {"TELEGRAM_API_URL": self.base_url, "TELEGRAM_BOT_TOKEN": self.token or "123456:TEST-emulator-token"}

    # ================================================================ bot identity
    def bot_user(self, token: str | None = None) -> dict:
        tok = self.token or token or ""
        head = tok.split(":", 1)[0]
        bot_id = int(head) if head.isdigit() else 1000000001
        return {"id": bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    def now(self) -> int:
        return int(self.clock())

    # ================================================================ simulated users
    @_in_loop
    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        username: str | None = None,
        language_code: str | None = "de",
        last_name: str | None = None,
        is_premium: bool | None = None,
        started: bool = True,
    ) -> dict:
        """Register a Telegram user and their private chat (chat id == user id); returns the User dict.

        ``started=False`` simulates a user who never opened the bot: sending to
        them fails with 403 "bot can't initiate conversation with a user".
        Adding an existing user updates their profile.
        """
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        state = self._users.get(user_id)
        if state is None:
            self._users[user_id] = UserState(user=user, started=started)
        else:
            state.user = user
            state.started = started or state.started
        info: dict[str, Any] = {"id": user_id, "first_name": first_name}
        if last_name:
            info["last_name"] = last_name
        if username:
            info["username"] = username
        info["type"] = "private"
        chat = self._chats.get(user_id)
        if chat is None:
            self._chats[user_id] = ChatState(id=user_id, type="private", info=info, user_id=user_id)
        else:
            chat.info = info
        return dict(user)

    @_in_loop
    def add_group(self, chat_id: int, title: str, *, type: str = "supergroup", username: str | None = None) -> dict:
        """Register a group chat (use ``chat_id=`` on the injection methods to talk in it)."""
        info: dict[str, Any] = {"id": chat_id, "title": title, "type": type}
        if username:
            info["username"] = username
        if chat_id in self._chats:
            self._chats[chat_id].info = info
        else:
            self._chats[chat_id] = ChatState(id=chat_id, type=type, info=info)
        return dict(info)

    def user(self, user_id: int) -> dict:
        return dict(self._users[user_id].user)

    def _ensure_user(self, user_id: int) -> UserState:
        if user_id not in self._users:
            self.add_user(user_id)
        return self._users[user_id]

    def _chat_for(self, user_id: int, chat_id: int | None) -> ChatState:
        if chat_id is None or chat_id == user_id:
            return self._chats[user_id]
        if chat_id not in self._chats:
            raise ValueError(f"unknown chat {chat_id}: call add_group() first")
        return self._chats[chat_id]

    def _user_message(self, user_id: int, chat_id: int | None, content: dict, *,
                      reply_to: int | None = None, event: dict | None = None) -> dict:
        state = self._ensure_user(user_id)
        chat = self._chat_for(user_id, chat_id)
        if chat.type == "private":
            if state.blocked:
                self._set_blocked(user_id, False)  # pressing "Restart" unblocks and sends /start
            state.started = True
        msg: dict[str, Any] = {
            "message_id": chat.new_message_id(),
            "from": dict(state.user),
            "chat": dict(chat.info),
            "date": self.now(),
        }
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None:
                raise ValueError(f"message {reply_to} not found in chat {chat.id}")
            msg["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
        msg.update(content)
        chat.messages[msg["message_id"]] = msg
        ev = {"who": "user", "user_id": user_id, "message_id": msg["message_id"], **(event or {})}
        self._event(chat, ev)
        return self._enqueue("message", msg)

    @_in_loop
    def send_text(self, user_id: int, text: str, *, chat_id: int | None = None,
                  reply_to: int | None = None, entities: list[dict] | None = None,
                  forward_from: dict | None = None, forward_hidden: str | None = None) -> dict:
        """The user sends ``text``; commands ("/start payload", "/help@bot") get bot_command entities.
        ``forward_from`` (a User dict) or ``forward_hidden`` (the name a sender who hides their
        account shows) make it a message the user forwarded (``forward_origin``)."""
        content: dict[str, Any] = {"text": text}
        ents = entities if entities is not None else detect_bot_commands(text)
        if forward_from is not None:
            content["forward_origin"] = {"type": "user", "sender_user": {"is_bot": False, **forward_from},
                                         "date": self.now()}
            ents = entities or []
        elif forward_hidden is not None:
            content["forward_origin"] = {"type": "hidden_user", "sender_user_name": forward_hidden,
                                         "date": self.now()}
            ents = entities or []
        if ents:
            content["entities"] = ents
        return self._user_message(user_id, chat_id, content, reply_to=reply_to,
                                  event={"kind": "text", "text": text})

    @_in_loop
    def send_command(self, user_id: int, command: str, payload: str | None = None, **kw: Any) -> dict:
        """Shortcut: ``send_command(1, "start", "ref_42")`` sends "/start ref_42"."""
        text = "/" + command.lstrip("/") + (f" {payload}" if payload else "")
        return self.send_text(user_id, text, **kw)

    @_in_loop
    def send_sticker(self, user_id: int, emoji: str = "👍", *, set_name: str | None = "CrosslabStickers",
                     chat_id: int | None = None) -> dict:
        f = self._new_file("sticker", SAMPLE_BYTES["sticker"], None, "image/webp", width=512, height=512)
        sticker: dict[str, Any] = {
            "file_id": f.file_id, "file_unique_id": f.file_unique_id, "type": "regular",
            "width": 512, "height": 512, "is_animated": False, "is_video": False,
            "emoji": emoji, "file_size": f.size,
        }
        if set_name:
            sticker["set_name"] = set_name
        return self._user_message(user_id, chat_id, {"sticker": sticker},
                                  event={"kind": "sticker", "text": emoji})

    @_in_loop
    def send_photo(self, user_id: int, data: bytes | None = None, *, caption: str | None = None,
                   chat_id: int | None = None) -> dict:
        """The user sends a photo (default: a small generated PNG); ``photo`` has several sizes."""
        data = data if data is not None else sample_png()
        sizes = self._photo_sizes(data)
        content: dict[str, Any] = {"photo": sizes}
        if caption:
            content["caption"] = caption
            if ents := detect_bot_commands(caption):
                content["caption_entities"] = ents
        return self._user_message(user_id, chat_id, content,
                                  event={"kind": "photo", "text": caption or "", "file": f"{len(data)} bytes"})

    @_in_loop
    def send_voice(self, user_id: int, duration: int = 3, data: bytes | None = None, *,
                   chat_id: int | None = None) -> dict:
        f = self._new_file("voice", data if data is not None else SAMPLE_BYTES["voice"], None, "audio/ogg")
        voice = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": f.size}
        return self._user_message(user_id, chat_id, {"voice": voice},
                                  event={"kind": "voice", "text": f"{duration}s"})

    @_in_loop
    def send_video(self, user_id: int, duration: int = 5, data: bytes | None = None, *,
                   width: int = 640, height: int = 360, caption: str | None = None,
                   file_name: str | None = "video.mp4", chat_id: int | None = None) -> dict:
        f = self._new_file("video", data if data is not None else SAMPLE_BYTES["video"], file_name, "video/mp4",
                           width=width, height=height)
        video: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "width": width,
                                 "height": height, "duration": duration, "mime_type": "video/mp4",
                                 "file_size": f.size}
        if file_name:
            video["file_name"] = file_name
        content: dict[str, Any] = {"video": video}
        if caption:
            content["caption"] = caption
        return self._user_message(user_id, chat_id, content,
                                  event={"kind": "video", "text": caption or "", "file": file_name})

    @_in_loop
    def send_document(self, user_id: int, content: bytes | str | None = None, file_name: str = "document.pdf",
                      mime_type: str | None = None, *, caption: str | None = None,
                      chat_id: int | None = None) -> dict:
        data = content.encode() if isinstance(content, str) else (content if content is not None
                                                                   else SAMPLE_BYTES["document"])
        mime = mime_type or guess_mime(file_name, "application/octet-stream")
        f = self._new_file("document", data, file_name, mime)
        doc = {"file_name": file_name, "mime_type": mime, "file_id": f.file_id,
               "file_unique_id": f.file_unique_id, "file_size": f.size}
        body: dict[str, Any] = {"document": doc}
        if caption:
            body["caption"] = caption
        return self._user_message(user_id, chat_id, body,
                                  event={"kind": "document", "text": caption or "", "file": file_name})

    @_in_loop
    def send_location(self, user_id: int, latitude: float = 52.52, longitude: float = 13.405, *,
                      chat_id: int | None = None) -> dict:
        return self._user_message(user_id, chat_id, {"location": {"latitude": latitude, "longitude": longitude}},
                                  event={"kind": "location", "text": f"{latitude}, {longitude}"})

    @_in_loop
    def send_contact(self, user_id: int, phone_number: str = "+4930123456", first_name: str | None = None, *,
                     last_name: str | None = None, contact_user_id: int | None = None,
                     chat_id: int | None = None) -> dict:
        """The user shares a contact; by default their own (``user_id`` set, as after request_contact)."""
        state = self._ensure_user(user_id)
        contact: dict[str, Any] = {"phone_number": phone_number,
                                   "first_name": first_name or state.user["first_name"]}
        if last_name:
            contact["last_name"] = last_name
        contact["user_id"] = contact_user_id if contact_user_id is not None else (
            user_id if first_name is None else None)
        if contact["user_id"] is None:
            del contact["user_id"]
        return self._user_message(user_id, chat_id, {"contact": contact},
                                  event={"kind": "contact", "text": f"{contact['first_name']} {phone_number}"})

    @_in_loop
    def press_button(self, user_id: int, message_id: int, callback_data: str, *,
                     chat_id: int | None = None) -> dict:
        """The user taps an inline button: a callback_query update with the bot's message.

        The message must be one the bot sent to that chat; ``callback_data`` is
        deliberately not checked against the keyboard (forged/replayed presses).
        The returned update's ``callback_query["id"]`` is what answerCallbackQuery needs.
        """
        state = self._ensure_user(user_id)
        chat = self._chat_for(user_id, chat_id)
        sm = chat.bot_messages.get(message_id)
        if sm is None or sm.deleted:
            raise ValueError(f"chat {chat.id} has no message {message_id} from the bot")
        cq_id = str(4_000_000_000_000_000 + user_id * 1000 + self._next_callback_id)
        self._next_callback_id += 1
        query = {
            "id": cq_id,
            "from": dict(state.user),
            "message": copy.deepcopy(sm.raw),
            "chat_instance": str(-(abs(chat.id) * 7919 % 10**18) - 1),
            "data": callback_data,
        }
        self._callback_queries[cq_id] = {"answered": False, "user_id": user_id, "chat_id": chat.id,
                                         "message_id": message_id, "data": callback_data}
        label = next((t for row in sm.buttons for t, d in row if d == callback_data), None)
        self._event(chat, {"who": "user", "user_id": user_id, "kind": "press", "message_id": message_id,
                           "text": label, "data": callback_data})
        return self._enqueue("callback_query", query)

    @_in_loop
    def click(self, user_id: int, message: SentMessage | int, label: str, *, chat_id: int | None = None) -> dict:
        """Press the inline button labelled ``label`` (exact text, else unique substring)."""
        chat = self._chat_for(user_id, chat_id)
        sm = message if isinstance(message, SentMessage) else chat.bot_messages.get(message)
        if sm is None:
            raise ValueError(f"chat {chat.id} has no message {message} from the bot")
        return self.press_button(user_id, sm.message_id, sm.callback_data(label), chat_id=chat_id)

    @_in_loop
    def edit_text(self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None) -> dict:
        """The user edits one of their messages: an ``edited_message`` update."""
        chat = self._chat_for(user_id, chat_id)
        msg = chat.messages.get(message_id)
        if msg is None or msg.get("from", {}).get("id") != user_id or "text" not in msg:
            raise ValueError(f"user {user_id} has no text message {message_id} in chat {chat.id}")
        msg["text"] = text
        msg["edit_date"] = self.now()
        if ents := detect_bot_commands(text):
            msg["entities"] = ents
        else:
            msg.pop("entities", None)
        self._event(chat, {"who": "user", "user_id": user_id, "kind": "edit", "message_id": message_id,
                           "text": text})
        return self._enqueue("edited_message", msg)

    @_in_loop
    def redeliver(self, update_id: int) -> None:
        """Queue an already created update again (same update_id), as Telegram sometimes does."""
        if update_id not in self._updates:
            raise KeyError(f"unknown update_id {update_id}")
        self._queue.append(QueueEntry(copy.deepcopy(self._updates[update_id]), redelivery=True))
        self._touch()
        self._wake_pollers()

    @_in_loop
    def block_bot(self, user_id: int, blocked: bool = True, *, notify: bool = True) -> dict | None:
        """The user blocks (or unblocks) the bot; sends to them then fail with 403.

        Like Telegram, a ``my_chat_member`` update (member ↔ kicked) is queued
        unless ``notify=False``; it is returned.
        """
        self._ensure_user(user_id)
        return self._set_blocked(user_id, blocked, notify=notify)

    def _set_blocked(self, user_id: int, blocked: bool, notify: bool = True) -> dict | None:
        state = self._users[user_id]
        if state.blocked == blocked:
            return None
        state.blocked = blocked
        chat = self._chats[user_id]
        self._event(chat, {"who": "user", "user_id": user_id, "kind": "block" if blocked else "unblock"})
        if not notify:
            return None
        bot = self.bot_user()
        old, new = ("member", "kicked") if blocked else ("kicked", "member")

        def member(status: str) -> dict:
            m: dict[str, Any] = {"status": status, "user": bot}
            if status == "kicked":
                m["until_date"] = 0
            return m

        return self._enqueue("my_chat_member", {
            "chat": dict(chat.info), "from": dict(state.user), "date": self.now(),
            "old_chat_member": member(old), "new_chat_member": member(new),
        })

    @_in_loop
    def fail_next(self, method: str, error_code: int, description: str | None = None,
                  retry_after: int | None = None, *, times: int = 1,
                  when: Callable[[Params], bool] | None = None) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any method) fail with this error;
        with ``when``, only calls whose parameters it accepts (e.g. one chat's).

        ``fail_next("sendMessage", 429, retry_after=3)`` → "Too Many Requests: retry after 3"
        with ``parameters.retry_after``.
        """
        if description is None:
            description = {
                400: "Bad Request: emulated failure",
                403: "Forbidden: bot was blocked by the user",
                409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                429: f"Too Many Requests: retry after {retry_after or 1}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Emulated failure")
        params = {"retry_after": retry_after} if retry_after is not None else None
        if error_code == 429 and params is None:
            params = {"retry_after": 1}
        for _ in range(times):
            self._failures.append((method.lower(), ApiError(error_code, description, params), when))

    def _pop_failure(self, method: str, params: Params) -> ApiError | None:
        for i, (name, err, when) in enumerate(self._failures):
            if name in (method.lower(), "*") and (when is None or when(params)):
                del self._failures[i]
                return err
        return None

    @_in_loop
    def reset(self) -> None:
        """Forget everything except users, groups and configuration."""
        for chat in self._chats.values():
            chat.messages.clear()
            chat.bot_messages.clear()
            chat.sent.clear()
            chat.events.clear()
            chat.reply_keyboard = None
        self._all_sent.clear()
        self.requests.clear()
        self.callback_answers.clear()
        self.chat_actions.clear()
        self._queue.clear()
        self._failures.clear()
        self._callback_queries.clear()

    # ================================================================ updates queue
    def _enqueue(self, kind: str, payload: dict) -> dict:
        update = {"update_id": self._next_update_id, kind: copy.deepcopy(payload)}
        self._next_update_id += 1
        self._updates[update["update_id"]] = update
        self._queue.append(QueueEntry(copy.deepcopy(update)))
        self._touch()
        self._wake_pollers()
        return copy.deepcopy(update)

    def _wake_pollers(self) -> None:
        ev = self._update_event
        self._update_event = asyncio.Event()
        ev.set()

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            keep = -offset
            self._queue = self._queue[-keep:] if keep else []
            return
        self._queue = [e for e in self._queue
                       if not (e.update_id < offset and (e.delivered or not e.redelivery))]

    def _deliverable(self) -> list[QueueEntry]:
        """Queue entries in update_id order; drops those the bot did not subscribe to."""
        self._queue = [e for e in self._queue if e.type in self._allowed_updates]
        return sorted(self._queue, key=lambda e: e.update_id)

    @property
    def pending_updates(self) -> list[dict]:
        """Updates not yet fetched by the bot."""
        return [copy.deepcopy(e.update) for e in self._queue if not e.delivered]

    @property
    def unconfirmed_updates(self) -> list[int]:
        """Ids of the updates the bot has not confirmed yet (polling: not below the
        offset of a later getUpdates; webhook: no 2xx yet), fetched or not."""
        return sorted(e.update_id for e in self._queue)

    def updates(self) -> list[dict]:
        """Every update ever created, in order."""
        return [copy.deepcopy(self._updates[k]) for k in sorted(self._updates)]

    async def _get_updates(self, offset: int | None, limit: int, timeout: float) -> list[dict]:
        if self._poll is not None:
            self._poll.terminated = True
            self._wake_pollers()
        poll = Poll()
        self._poll = poll
        if offset is not None:
            self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                ev = self._update_event
                if poll.terminated:
                    raise ApiError(409, "Conflict: terminated by other getUpdates request; "
                                        "make sure that only one bot instance is running")
                entries = self._deliverable()[:limit]
                remaining = deadline - loop.time()
                if entries or remaining <= 0 or self._closing:
                    for e in entries:
                        e.delivered = True
                    if entries:
                        self._touch()
                    return [copy.deepcopy(e.update) for e in entries]
                try:
                    await asyncio.wait_for(ev.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        finally:
            if self._poll is poll:
                self._poll = None

    # ================================================================ bot-side records
    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _bump(self) -> int:
        self._seq += 1
        ev = self._change_event
        self._change_event = asyncio.Event()
        ev.set()
        return self._seq

    def _event(self, chat: ChatState, event: dict) -> None:
        event.setdefault("date", self.now())
        chat.events.append(event)
        if self.on_event is not None:
            try:
                self.on_event(chat.id, self._format_event(chat, event))
            except Exception:  # noqa: BLE001
                log.exception("on_event hook failed")

    # ================================================================ reading what the bot did
    def sent(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent (to ``chat_id`` or to all chats), oldest first; includes deleted ones."""
        if chat_id is not None:
            chat = self._chats.get(chat_id)
            return list(chat.sent) if chat else []
        return list(self._all_sent)

    def last(self, chat_id: int) -> SentMessage:
        msgs = [m for m in self.sent(chat_id) if not m.deleted]
        if not msgs:
            raise LookupError(f"the bot has sent nothing to chat {chat_id}")
        return msgs[-1]

    def message(self, chat_id: int, message_id: int) -> SentMessage:
        return self._chats[chat_id].bot_messages[message_id]

    def calls(self, method: str) -> list[dict]:
        """Parameters of every call of ``method`` (case-insensitive), in order."""
        return [p for m, p in self.requests if m.lower() == method.lower()]

    def current_keyboard(self, chat_id: int) -> list[list[str]]:
        """The reply keyboard the user currently sees in ``chat_id`` (rows of texts), [] if none."""
        kb = self._chats[chat_id].reply_keyboard if chat_id in self._chats else None
        if not kb:
            return []
        return [[b if isinstance(b, str) else b.get("text", "") for b in row] for row in kb["keyboard"]]

    def visible_commands(self, chat_id: int, language_code: str | None = None) -> list[dict]:
        """The command menu a user would see in the private chat ``chat_id`` (Telegram's scope order)."""
        lang = language_code
        if lang is None and chat_id in self._users:
            lang = self._users[chat_id].user.get("language_code") or ""
        lang = lang or ""
        for scope in (f"chat:{chat_id}", "all_private_chats", "default"):
            for code in ([lang, ""] if lang else [""]):
                if (scope, code) in self.commands:
                    return list(self.commands[(scope, code)])
        return []

    def file(self, file_id: str) -> SentFile:
        return self._files[file_id]

    @property
    def webhook(self) -> dict | None:
        return dict(self._webhook) if self._webhook else None

    def chats(self) -> list[dict]:
        return [dict(c.info) for c in self._chats.values()]

    # ================================================================ waiting
    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
        """Wait until ``predicate()`` is true; re-checked after every change made by the bot."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ev = self._change_event
            if predicate():
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            try:
                await asyncio.wait_for(ev.wait(), min(remaining, 0.05))
            except asyncio.TimeoutError:
                pass

    async def wait_for(self, chat_id: int, count: int = 1, timeout: float = 10.0, *, since: int = 0) -> list[SentMessage]:
        """Wait until the bot has sent at least ``since + count`` messages to ``chat_id``;
        return ``sent(chat_id)[since:]``.  (Edits don't count: use :meth:`wait_for_edit`,
        :meth:`say`/:meth:`tap` or :meth:`wait_idle` for those.)"""
        try:
            await self.wait_until(lambda: len(self.sent(chat_id)) >= since + count, timeout,
                                  what=f"{count} message(s) to chat {chat_id} after #{since}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; got {len(self.sent(chat_id)) - since}.\n"
                               f"{self._timeout_context(chat_id)}") from None
        return self.sent(chat_id)[since:]

    async def wait_for_edit(self, chat_id: int, message_id: int, edits: int = 1, timeout: float = 10.0) -> SentMessage:
        """Wait until message ``message_id`` has been edited at least ``edits`` times."""
        def done() -> bool:
            sm = self._chats[chat_id].bot_messages.get(message_id)
            return sm is not None and len(sm.edits) >= edits
        await self.wait_until(done, timeout, what=f"edit of message {message_id} in chat {chat_id}")
        return self._chats[chat_id].bot_messages[message_id]

    def is_idle(self, quiet: float = 0.15) -> bool:
        if any(not e.delivered for e in self._queue if e.type in self._allowed_updates):
            return False
        if self._inflight:
            return False
        return time.monotonic() - self._last_activity >= quiet

    async def wait_idle(self, timeout: float = 10.0, quiet: float = 0.15) -> None:
        """Wait until every queued update was fetched by the bot, no API request is in
        flight and none arrived for ``quiet`` seconds.  Raises TimeoutError, saying
        why (e.g. nobody is polling).

        Caveat: a handler that works longer than ``quiet`` without calling the API
        looks idle; raise ``quiet`` for slow handlers."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.is_idle(quiet):
            if loop.time() >= deadline:
                pending = [e.update_id for e in self._queue if not e.delivered]
                why = (f"{len(pending)} update(s) never fetched ({pending[:5]}…) — is the bot polling?"
                       if pending else f"{self._inflight} request(s) in flight / bot still busy")
                raise TimeoutError(f"emulator not idle after {timeout}s: {why}")
            await asyncio.sleep(0.01)

    def changed_since(self, chat_id: int, seq: int) -> list[SentMessage]:
        return sorted((m for m in self.sent(chat_id) if m.seq > seq), key=lambda m: m.message_id)

    @property
    def seq(self) -> int:
        """Sequence number of the last change the bot made (send/edit/delete)."""
        return self._seq

    async def say(self, user_id: int, text: str, *, timeout: float = 10.0, quiet: float = 0.15,
                  chat_id: int | None = None) -> list[SentMessage]:
        """Send ``text`` as the user, wait until the bot is idle, and return the messages
        it sent or edited in that chat meanwhile (ordered by message_id)."""
        mark = self._seq
        self.send_text(user_id, text, chat_id=chat_id)
        await self.wait_idle(timeout, quiet)
        return self.changed_since(chat_id if chat_id is not None else user_id, mark)

    async def tap(self, user_id: int, message: SentMessage | int, label: str, *, timeout: float = 10.0,
                  quiet: float = 0.15, chat_id: int | None = None) -> list[SentMessage]:
        """Press the inline button labelled ``label``, wait idle, return messages sent or edited."""
        mark = self._seq
        self.click(user_id, message, label, chat_id=chat_id)
        await self.wait_idle(timeout, quiet)
        return self.changed_since(chat_id if chat_id is not None else user_id, mark)

    def _timeout_context(self, chat_id: int) -> str:
        pending = [e.update_id for e in self._queue if not e.delivered]
        tail = "\n".join(self.transcript(chat_id).splitlines()[-12:])
        return f"pending updates: {pending}; last requests: {[m for m, _ in self.requests[-6:]]}\n{tail}"

    # ================================================================ transcripts
    def _who(self, user_id: int | None) -> str:
        if user_id is None or user_id not in self._users:
            return f"user {user_id}"
        u = self._users[user_id].user
        return u.get("first_name") or str(user_id)

    def _format_event(self, chat: ChatState, ev: dict) -> str:
        ts = time.strftime("%H:%M:%S", time.localtime(ev["date"]))
        kind = ev.get("kind")
        if ev["who"] == "user":
            who = self._who(ev.get("user_id"))
            if kind == "text":
                return f"{ts}  {who}: {ev['text']}"
            if kind == "press":
                label = f"[{ev['text']}]" if ev.get("text") else "[?]"
                return f"{ts}  {who} ▸ {label} (data={ev['data']!r}, on #{ev['message_id']})"
            if kind == "edit":
                return f"{ts}  {who} ✎ #{ev['message_id']}: {ev['text']}"
            if kind in ("block", "unblock"):
                return f"{ts}  {who} {'blocked' if kind == 'block' else 'unblocked'} the bot"
            extra = f" {ev['file']}" if ev.get("file") else ""
            text = f": {ev['text']}" if ev.get("text") else ""
            return f"{ts}  {who} [{kind}{extra}]{text}"
        # bot
        pad = " " * 10
        if kind == "delete":
            return f"{ts}  bot ✗ deleted #{ev['message_id']}"
        if kind == "answer":
            alert = " (alert)" if ev.get("show_alert") else ""
            return f"{ts}  bot ↩ answers button{alert}: {ev.get('text') or '—'}"
        head = "✎ edits" if kind == "edit" else "→"
        body = ev.get("text") or ""
        media = f"[{ev['media']}] " if ev.get("media") else ""
        lines = [f"{ts}  bot {head} #{ev['message_id']}: {media}{body}".rstrip()]
        for row in ev.get("buttons") or []:
            lines.append(pad + " ".join(f"[{t}]" for t in row))
        if ev.get("keyboard"):
            for row in ev["keyboard"]:
                lines.append(pad + " ".join(f"⌨ {t}" for t in row))
        if ev.get("remove_keyboard"):
            lines.append(pad + "(keyboard removed)")
        return "\n".join(lines)

    def transcript(self, chat_id: int | None = None) -> str:
        """Readable user ↔ bot conversation of one chat (or all chats)."""
        chats = [self._chats[chat_id]] if chat_id is not None else list(self._chats.values())
        blocks = []
        for chat in chats:
            if chat.type == "private" and chat.user_id in self._users:
                u = self._users[chat.user_id].user
                name = " ".join(x for x in (u.get("first_name"), u.get("last_name")) if x)
                handle = f" @{u['username']}" if u.get("username") else ""
                title = f"{name}{handle} ({chat.id}, {u.get('language_code') or '-'})"
            else:
                title = f"{chat.info.get('title', chat.id)} ({chat.id}, {chat.type})"
            lines = [f"── {title} ──"]
            lines += [self._format_event(chat, ev) for ev in chat.events]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    user_chat_log = transcript

    # ================================================================ HTTP
    @staticmethod
    def _json(body: dict, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(body, ensure_ascii=False), status=status,
                            content_type="application/json")

    async def _read_params(self, request: web.Request) -> Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, Upload] = {}
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                    if not isinstance(body, dict):
                        raise ApiError(400, "Bad Request: JSON request body must be an object")
                    values.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = Upload(value.filename, value.file.read(), value.content_type)
                    else:
                        values[key] = value
        return Params(values, files)

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if self.token is not None and token != self.token:
            return self._json(ApiError(401, "Unauthorized").to_dict(), 401)
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return self._json(exc.to_dict(), exc.error_code)
        except web.HTTPRequestEntityTooLarge:
            return self._json(ApiError(413, "Request Entity Too Large").to_dict(), 413)
        status, body = await self.execute(request.match_info["method"], params, token)
        return self._json(body, status)

    async def execute(self, method: str, params: Params | dict, token: str = "") -> tuple[int, dict]:
        """Run one Bot API call; returns (HTTP status, response body)."""
        if not isinstance(params, Params):
            params = Params(dict(params))
        entry = METHODS.get(method.lower())
        canonical = entry[0] if entry else method
        self.requests.append((canonical, params.loggable(JSON_FIELDS)))
        if entry is None:
            self._touch()
            return 404, ApiError(404, "Not Found").to_dict()
        polling = canonical == "getUpdates"
        if not polling:
            self._inflight += 1
        try:
            failure = self._pop_failure(canonical, params)
            if failure is not None:
                raise failure
            if self.flood_limits is not None and canonical in SEND_METHODS:
                self._flood_check(params)
            result = entry[1](self, Call(canonical, params, token, self.bot_user(token)))
            if inspect.isawaitable(result):
                result = await result
            return 200, {"ok": True, "result": result}
        except ApiError as exc:
            return exc.error_code, exc.to_dict()
        except Exception as exc:  # noqa: BLE001 - an emulator bug must not kill the server
            log.exception("emulator failed in %s", canonical)
            self.internal_errors.append(exc)
            return 500, {"ok": False, "error_code": 500, "description": f"Internal Server Error: emulator bug: {exc!r}"}
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()
                self._bump()

    def _flood_check(self, params: Params) -> None:
        limits = self.flood_limits
        assert limits is not None
        raw = params.get("chat_id")
        try:
            chat = self._chats.get(int(raw))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            chat = None
        buckets = [self._bucket("global", limits.global_per_second, limits.global_per_second)]
        if chat is not None and chat.type == "private":
            buckets.append(self._bucket(chat.id, limits.private_burst, limits.private_per_second))
        elif chat is not None:
            buckets.append(self._bucket(chat.id, limits.group_per_minute, limits.group_per_minute / 60))
        wait = max(b.wait_time() for b in buckets)
        if wait > 0:
            retry = max(1, int(wait + 0.999))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})
        for b in buckets:
            b.tokens -= 1

    def _bucket(self, key: Any, capacity: float, rate: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(capacity, rate)
        return bucket

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if self.token is not None and token != self.token:
            return self._json(ApiError(401, "Unauthorized").to_dict(), 401)
        f = self._files_by_path.get(request.match_info["path"])
        if f is None:
            return self._json(ApiError(404, "Not Found").to_dict(), 404)
        return web.Response(body=f.data, content_type=f.mime_type or "application/octet-stream")

    # ================================================================ files
    def _new_file(self, kind: str, data: bytes, filename: str | None, mime: str | None, *,
                  width: int | None = None, height: int | None = None) -> SentFile:
        self._file_serial += 1
        n = self._file_serial
        file_id, unique = make_file_ids(kind, n, self.bot_username)
        ext = ""
        if filename and "." in filename:
            ext = filename.rsplit(".", 1)[1]
        ext = ext or EXTENSIONS.get(kind, "")
        path = f"{DIRECTORIES.get(kind, 'documents')}/file_{n}" + (f".{ext}" if ext else "")
        f = SentFile(file_id=file_id, file_unique_id=unique, kind=kind, filename=filename, data=data,
                     mime_type=mime, file_path=path, width=width, height=height)
        self._files[file_id] = f
        self._files_by_path[path] = f
        return f

    def _photo_sizes(self, data: bytes) -> list[dict]:
        info = image_size(data)
        if info is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        _, w, h = info
        w, h = max(w, 1), max(h, 1)
        scale = min(1.0, 1280 / max(w, h))
        main = (max(1, round(w * scale)), max(1, round(h * scale)))
        dims = [(max(1, round(w * m / max(w, h))), max(1, round(h * m / max(w, h))))
                for m in (90, 320, 800) if m < max(main)]
        dims.append(main)
        sizes = []
        for dw, dh in dims:
            f = self._new_file("photo", data, None, "image/jpeg", width=dw, height=dh)
            sizes.append({"file_id": f.file_id, "file_unique_id": f.file_unique_id,
                          "file_size": f.size, "width": dw, "height": dh})
        return sizes
