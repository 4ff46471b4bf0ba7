"""Chat drivers: scenarios are written once against `Chat` and run directly on
the core (fast) and through the Bot API emulator with aiogram and with PTB."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from handlers.core import CrosslabCore
from handlers.types import Incoming, OutMessage, Reply, UserRef

_update_ids = itertools.count(1000)


@dataclass
class Msg:
    message_id: int
    text: str
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)
    document: tuple[str, bytes] | None = None
    kind: str = "text"  # "photo" / "document" for media sent by file_id (hand-over)
    photo: bytes | None = None  # a picture the bot uploaded (a chart), as uploaded

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    def data_for(self, label_part: str) -> str:
        for row in self.buttons:
            for label, data in row:
                if label_part in label:
                    return data
        raise AssertionError(f"no button containing {label_part!r} in {self.labels}")

    def json(self) -> Any:
        assert self.document is not None
        return json.loads(self.document[1].decode("utf-8"))


class ChatBase:
    """What every chat driver offers on top of `messages`, `press_data` and `toasts`."""

    messages: list[Msg]

    async def press_data(self, data: str, message_id: int | None = None) -> list[Msg]:
        raise NotImplementedError

    async def edit_last(self, text: str) -> list[Msg]:
        """The person edits the last text message they sent (an edited_message update)."""
        raise NotImplementedError

    async def forward(self, text: str, from_id: int | None, first_name: str = "", *,
                      hidden: str | None = None) -> list[Msg]:
        """The person forwards a text message of someone else (`from_id`), or of
        someone who hides their account (`hidden`: the name it shows)."""
        raise NotImplementedError

    async def press(self, label_part: str) -> list[Msg]:
        """Press the button containing `label_part` on the newest message that has one."""
        for msg in reversed(self.messages):
            if any(label_part in label for label in msg.labels):
                return await self.press_data(msg.data_for(label_part), msg.message_id)
        raise AssertionError(f"no message has a button containing {label_part!r}; last: {self.last.text!r}")

    @property
    def last(self) -> Msg:
        return self.messages[-1]


class CoreChat(ChatBase):
    """Talks to CrosslabCore directly, keeping a local picture of the chat."""

    def __init__(self, core: CrosslabCore, user_id: int, first_name: str = "Anna", language_code: str | None = "de",
                 username: str | None = None, directory: dict[int, CoreChat] | None = None) -> None:
        self.core = core
        self.directory = directory if directory is not None else {}
        self.directory[user_id] = self
        self.user = UserRef(user_id, first_name, None, username or f"user{user_id}", language_code)
        self.user_id = user_id
        self.messages: list[Msg] = []
        self.toasts: list[str | None] = []
        self._ids = itertools.count(1)
        self.last_update_id = 0

    def _apply(self, reply: Reply) -> list[Msg]:
        new: list[Msg] = []
        for out in reply.messages:
            if out.chat_id != self.user_id:  # a message to someone else (e.g. the other side of a pair)
                other = self.directory.get(out.chat_id)
                if other is not None:
                    other.receive(out)
                continue
            buttons = [[(b.text, b.data or b.url or "") for b in row] for row in out.buttons]
            if out.edit_message_id is not None:
                for m in self.messages:
                    if m.message_id == out.edit_message_id:
                        m.text, m.buttons = out.text, buttons
                        new.append(m)
                        break
                continue
            before = len(self.messages)
            self.receive(out)
            new.extend(self.messages[before:])
        if reply.callback_text is not None or not reply.duplicate:
            self.toasts.append(reply.callback_text)
        return new

    def receive(self, out: OutMessage) -> Msg:
        """A message the bot sends on its own (to this chat); media by file_id
        become one message each, as in Telegram."""
        buttons = [[(b.text, b.data or b.url or "") for b in row] for row in out.buttons]
        if out.document is not None and out.document.as_photo:
            msg = Msg(next(self._ids), out.text, buttons, kind="photo", photo=out.document.content)
        else:
            doc = (out.document.filename, out.document.content) if out.document else None
            msg = Msg(next(self._ids), out.text, buttons, doc, kind="document" if doc else "text")
        if out.text or out.document is not None:
            self.messages.append(msg)
        for item in out.media:
            self.messages.append(Msg(next(self._ids), item.caption or "", [],
                                     (item.filename or "", b"") if item.kind == "document" else None, kind=item.kind))
        return msg

    async def _handle(self, ev: Incoming) -> list[Msg]:
        self.last_update_id = ev.update_id
        return self._apply(await self.core.handle(ev))

    async def say(self, text: str) -> list[Msg]:
        return await self._handle(Incoming(next(_update_ids), self.user, self.user_id, "text", text=text))

    async def send_kind(self, kind: str) -> list[Msg]:
        return await self._handle(Incoming(next(_update_ids), self.user, self.user_id, kind))

    async def edit_last(self, text: str) -> list[Msg]:
        return await self._handle(Incoming(next(_update_ids), self.user, self.user_id, "text", text=text, edited=True))

    async def forward(self, text: str, from_id: int | None, first_name: str = "", *,
                      hidden: str | None = None) -> list[Msg]:
        origin = UserRef(from_id, first_name) if from_id is not None else None
        return await self._handle(Incoming(next(_update_ids), self.user, self.user_id, "text", text=text,
                                           forward_from=origin, forward_hidden=hidden))

    async def send_file(self, kind: str, caption: str = "", filename: str | None = None) -> list[Msg]:
        """A photo or document (with a caption) that Telegram already holds."""
        from handlers.types import Attachment

        n = next(_update_ids)
        att = Attachment(kind, f"file-{n}", filename if kind == "document" else None,
                         "image/jpeg" if kind == "photo" else "application/pdf")
        return await self._handle(Incoming(n, self.user, self.user_id, kind, text=caption, attachment=att))

    async def press_data(self, data: str, message_id: int | None = None) -> list[Msg]:
        if message_id is None:
            message_id = self.messages[-1].message_id if self.messages else 1
        return await self._handle(Incoming(next(_update_ids), self.user, self.user_id, "button", callback_data=data,
                                           callback_id=str(next(_update_ids)), message_id=message_id))

    @property
    def last_toast(self) -> str | None:
        return self.toasts[-1] if self.toasts else None
