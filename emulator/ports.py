"""What the Bot API methods, the control API and webhook delivery need from the emulator.

:mod:`emulator.api` (the ``ApiMethods`` mixin), :mod:`emulator.control` and
:mod:`emulator.webhook` are typed against :class:`EmulatorHost` instead of
``emulator.core.BotAPIEmulator``, so they never import :mod:`emulator.core`:
core depends on them, not the other way round.  ``BotAPIEmulator`` provides
every member listed here (structurally; it does not inherit from this class).
"""
from __future__ import annotations

import asyncio
from typing import Protocol

from .records import Params, SentFile, SentMessage
from .state import ChatState, Poll, QueueEntry, UserState

__all__ = ["EmulatorHost"]


class EmulatorHost(Protocol):
    """The emulator object as seen by ``api``, ``control`` and ``webhook``.

    The control API also calls the injection and setup methods it names in
    ``control.ACTIONS`` (``send_text``, ``add_user``, …) by name, with
    ``getattr``; they are not repeated here.
    """

    # ---------------------------------------------------------------- configuration and records
    base_url: str
    bot_name: str
    requests: list[tuple[str, dict]]
    callback_answers: list[dict]
    commands: dict[tuple[str, str], list[dict]]
    chat_actions: list[tuple[int, str]]
    bot_settings: dict[tuple[str, str], str]
    default_menu_button: dict
    webhook_retry_delay: float

    # ---------------------------------------------------------------- state (api, webhook)
    _users: dict[int, UserState]
    _chats: dict[int, ChatState]
    _queue: list[QueueEntry]
    _allowed_updates: frozenset[str]
    _all_sent: list[SentMessage]
    _files: dict[str, SentFile]
    _callback_queries: dict[str, dict]
    _webhook: dict | None
    _webhook_task: asyncio.Task | None
    _seq: int
    _update_event: asyncio.Event
    _poll: Poll | None
    _inflight: int
    _closing: bool

    def now(self) -> int: ...

    # ---------------------------------------------------------------- helpers the Bot API methods use
    def _touch(self) -> None: ...

    def _bump(self) -> int: ...

    def _event(self, chat: ChatState, event: dict) -> None: ...

    def _wake_pollers(self) -> None: ...

    def _deliverable(self) -> list[QueueEntry]: ...

    async def _get_updates(self, offset: int | None, limit: int, timeout: float) -> list[dict]: ...

    def _new_file(self, kind: str, data: bytes, filename: str | None, mime: str | None, *,
                  width: int | None = None, height: int | None = None) -> SentFile: ...

    def _photo_sizes(self, data: bytes) -> list[dict]: ...

    async def execute(self, method: str, params: Params | dict, token: str = "") -> tuple[int, dict]: ...

    # ---------------------------------------------------------------- reading (control API)
    def user(self, user_id: int) -> dict: ...

    def chats(self) -> list[dict]: ...

    def sent(self, chat_id: int | None = None) -> list[SentMessage]: ...

    def changed_since(self, chat_id: int, seq: int) -> list[SentMessage]: ...

    def transcript(self, chat_id: int | None = None) -> str: ...

    def updates(self) -> list[dict]: ...

    def is_idle(self, quiet: float = 0.15) -> bool: ...

    async def wait_idle(self, timeout: float = 10.0, quiet: float = 0.15) -> None: ...

    @property
    def pending_updates(self) -> list[dict]: ...

    @property
    def webhook(self) -> dict | None: ...

    @property
    def seq(self) -> int: ...
