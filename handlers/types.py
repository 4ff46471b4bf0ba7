"""The small channel-neutral interface between transports and flows.

A transport turns whatever its framework delivers into an `Incoming` and
delivers the `Reply` it gets back; flows never see aiogram or PTB objects.
"""
from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class UserRef:
    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A photo or file already on Telegram's servers, referred to by file_id
    (received from a user, sent on without downloading)."""

    kind: str  # "photo" | "document"
    file_id: str
    filename: str | None = None
    mime_type: str | None = None
    caption: str | None = None  # used when sending; incoming captions are in Incoming.text


@dataclass(frozen=True)
class Incoming:
    """One update from a user.

    kind: "text" (includes commands), "button" (a pressed inline button), or the
    name of an unsupported content type ("sticker", "photo", "voice", ...).
    """

    update_id: int
    user: UserRef
    chat_id: int
    kind: str
    text: str = ""
    callback_data: str | None = None
    callback_id: str | None = None
    message_id: int | None = None  # the message carrying the pressed button
    chat_type: str = "private"
    # For kind "photo" / "document": the file (largest photo size); its caption is in `text`.
    attachment: Attachment | None = None
    # The person edited a message they had sent (Telegram's edited_message):
    # `text` is the new text; it is not read as an answer (handlers.core.on_edited).
    edited: bool = False
    # A forwarded message: its original sender (Telegram's forward_origin of type
    # "user"), or the name shown when the sender hides their account ("hidden_user").
    forward_from: UserRef | None = None
    forward_hidden: str | None = None

    @property
    def command(self) -> tuple[str, str] | None:
        """('start', 'payload') for '/start payload' or '/start@bot payload'."""
        if self.kind != "text" or self.edited or not self.text.startswith("/"):
            return None
        head, _, args = self.text.strip().partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        return name, args.strip()


@dataclass(frozen=True)
class Button:
    text: str
    data: str | None = None  # callback data (signed, ≤ 64 bytes)
    url: str | None = None


@dataclass(frozen=True)
class Document:
    """A file the bot uploads (an .ics, a data export, a chart)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"
    # Shown in the chat as a picture (sendPhoto: Telegram recompresses it, at
    # most 1,280 px on the long side) rather than as a file to download.
    as_photo: bool = False


@dataclass
class OutMessage:
    chat_id: int
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    document: Document | None = None
    edit_message_id: int | None = None  # edit this message instead of sending a new one
    # Photos/files sent by file_id after the text (photos and documents each as albums of ≤ 10).
    media: list[Attachment] = field(default_factory=list)
    # Its row in the outbox once the turn committed (None: not stored, e.g. an error reply).
    outbox_id: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """JSON for the outbox (documents base64)."""
        out: dict[str, Any] = {"text": self.text}
        if self.buttons:
            out["buttons"] = [[{k: v for k, v in (("text", b.text), ("data", b.data), ("url", b.url)) if v is not None}
                               for b in row] for row in self.buttons]
        if self.document is not None:
            out["document"] = {"filename": self.document.filename, "mime_type": self.document.mime_type,
                               "content": base64.b64encode(self.document.content).decode("ascii")}
            if self.document.as_photo:
                out["document"]["as_photo"] = True
        if self.edit_message_id is not None:
            out["edit_message_id"] = self.edit_message_id
        if self.media:
            out["media"] = [{k: v for k, v in dataclasses.asdict(a).items() if v is not None} for a in self.media]
        return out

    @classmethod
    def from_payload(cls, chat_id: int, payload: dict[str, Any], outbox_id: int | None = None) -> OutMessage:
        doc = payload.get("document")
        return cls(
            chat_id=chat_id,
            text=payload.get("text", ""),
            buttons=[[Button(**b) for b in row] for row in payload.get("buttons", [])],
            document=Document(doc["filename"], base64.b64decode(doc["content"]), doc.get("mime_type") or
                              "application/octet-stream", bool(doc.get("as_photo"))) if doc else None,
            edit_message_id=payload.get("edit_message_id"),
            media=[Attachment(**a) for a in payload.get("media", [])],
            outbox_id=outbox_id,
        )


@dataclass
class Reply:
    messages: list[OutMessage] = field(default_factory=list)
    callback_text: str | None = None  # toast shown for a pressed button
    callback_alert: bool = False
    duplicate: bool = False  # the update was seen before; nothing was done
    error: bool = False  # handling failed: the person got the generic "something went wrong" message
    # Over the person's flood limit (handlers/flood.py): not handled; at most a notice or a toast.
    flooded: bool = False
    queued: int = 0  # messages to other chats written to the outbox (the sender sends them)

    def __bool__(self) -> bool:  # pragma: no cover - convenience
        return bool(self.messages) or self.callback_text is not None


TELEGRAM_TEXT_LIMIT = 4096


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long text at line breaks so each part fits one Telegram message."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current:
        parts.append(current)
    return parts
