"""Value types of the emulator: what the bot sent, files, API errors, parameters."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterator

__all__ = ["ApiError", "SentFile", "SentMessage", "Upload", "Params"]


class ApiError(Exception):
    """A Bot API error response: ``{"ok": false, "error_code", "description", "parameters"?}``."""

    def __init__(self, error_code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_dict(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(text: str) -> ApiError:
    return ApiError(400, f"Bad Request: {text}")


@dataclass
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    data: bytes
    content_type: str | None


@dataclass
class SentFile:
    """A file stored by the emulator (uploaded by the bot or sent by a simulated user).

    Iterating gives ``(filename, data, mime_type)``, so ``name, data, mime = msg.document``.
    """

    file_id: str
    file_unique_id: str
    kind: str  # document, photo, voice, video, audio, sticker, animation, video_note
    filename: str | None
    data: bytes
    mime_type: str | None
    file_path: str
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.filename, self.data, self.mime_type))

    def to_dict(self) -> dict:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "kind": self.kind,
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size": self.size,
            "file_path": self.file_path,
        }


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent (a live object: edits and deletion update it).

    ``text`` is what the user sees: the message text or the media caption after
    parse_mode was applied (tags removed).  ``source_text`` is the string the bot
    sent, ``parse_mode`` the mode it used.
    """

    chat_id: int
    message_id: int
    method: str
    raw: dict
    date: int
    text: str | None = None
    source_text: str | None = None
    parse_mode: str | None = None
    entities: list[dict] = field(default_factory=list)
    reply_markup: dict | None = None
    document: SentFile | None = None
    photo: SentFile | None = None
    media: SentFile | None = None
    edits: list[dict] = field(default_factory=list)
    deleted: bool = False
    params: dict = field(default_factory=dict)
    seq: int = 0  # emulator-wide sequence number of the last change

    # ---- convenience -------------------------------------------------------
    @property
    def kind(self) -> str:
        for k in ("text", "document", "photo", "sticker", "voice", "video", "audio", "animation",
                  "video_note", "location", "venue", "contact", "poll"):
            if k in self.raw:
                return k
        return "unknown"

    @property
    def caption(self) -> str | None:
        return self.raw.get("caption")

    @property
    def is_edited(self) -> bool:
        return bool(self.edits)

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            return self.reply_markup["inline_keyboard"]
        return []

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard as rows of ``(text, callback_data or url or other payload)``."""
        rows = []
        for row in self.inline_keyboard:
            out = []
            for btn in row:
                payload = None
                for key in ("callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat",
                            "copy_text", "web_app", "login_url"):
                    if key in btn:
                        payload = btn[key]
                        if isinstance(payload, dict):
                            payload = payload.get("url") or payload.get("text") or json.dumps(payload)
                        break
                out.append((btn.get("text", ""), payload))
            rows.append(out)
        return rows

    @property
    def button_texts(self) -> list[str]:
        return [t for row in self.buttons for t, _ in row]

    @property
    def keyboard(self) -> list[list[str]]:
        """Reply keyboard (``ReplyKeyboardMarkup``) as rows of button texts, else []."""
        if self.reply_markup and "keyboard" in self.reply_markup:
            return [[b if isinstance(b, str) else b.get("text", "") for b in row]
                    for row in self.reply_markup["keyboard"]]
        return []

    def callback_data(self, label: str) -> str:
        """callback_data of the inline button whose text is ``label`` (exact, else unique substring)."""
        flat = [(t, d) for row in self.buttons for t, d in row]
        for t, d in flat:
            if t == label:
                return d  # type: ignore[return-value]
        hits = [(t, d) for t, d in flat if label.lower() in t.lower()]
        if len(hits) == 1:
            return hits[0][1]  # type: ignore[return-value]
        raise KeyError(f"no unique button {label!r} in message {self.message_id}; buttons: {[t for t, _ in flat]}")

    def to_dict(self) -> dict:
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "method": self.method,
            "kind": self.kind,
            "date": self.date,
            "text": self.text,
            "source_text": self.source_text,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "buttons": [[list(b) for b in row] for row in self.buttons],
            "document": self.document.to_dict() if self.document else None,
            "photo": self.photo.to_dict() if self.photo else None,
            "media": self.media.to_dict() if self.media else None,
            "edits": self.edits,
            "deleted": self.deleted,
            "raw": self.raw,
        }

    def __repr__(self) -> str:
        flag = " deleted" if self.deleted else (" edited" if self.edits else "")
        text = (self.text or "")[:60]
        return f"<SentMessage chat={self.chat_id} id={self.message_id} {self.kind}{flag} {text!r}>"


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


class Params:
    """Request parameters from query string, form, JSON body or multipart, like Telegram accepts them.

    Form values are strings (aiogram and PTB JSON-encode non-string values);
    JSON bodies carry native types.  The accessors accept both.
    """

    def __init__(self, values: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.files = files or {}

    def __contains__(self, name: str) -> bool:
        return name in self.values or name in self.files

    def get(self, name: str, default: Any = None) -> Any:
        return self.values.get(name, default)

    def str(self, name: str, *, required_error: str | None = None) -> str | None:
        v = self.values.get(name)
        if v is None or v == "":
            if required_error:
                raise bad_request(required_error)
            return None if v is None else ""
        if isinstance(v, (dict, list)):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    def int(self, name: str, *, required_error: str | None = None, default: int | None = None) -> int | None:
        v = self.values.get(name)
        if v is None or v == "":
            if required_error:
                raise bad_request(required_error)
            return default
        if isinstance(v, bool):
            return int(v)
        try:
            return int(v)
        except (TypeError, ValueError):
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise bad_request(f'invalid {name} specified') from None
            return int(f)

    def float(self, name: str, default: float | None = None) -> float | None:
        v = self.values.get(name)
        if v is None or v == "":
            return default
        try:
            return float(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def bool(self, name: str, default: bool = False) -> bool:
        v = self.values.get(name)
        if v is None:
            return default
        if isinstance(v, bool):
            return v
        if isinstance(v, (int, float)):
            return bool(v)
        s = str(v).strip().lower()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        return default

    def json(self, name: str, *, what: str | None = None) -> Any:
        v = self.values.get(name)
        if v is None or v == "":
            return None
        if isinstance(v, (dict, list)):
            return v
        if isinstance(v, (int, float, bool)):
            return v
        try:
            return json.loads(v)
        except (TypeError, ValueError):
            raise bad_request(f"can't parse {what or name + ' JSON object'}") from None

    def file(self, name: str) -> Upload | str | None:
        """An upload (direct part or ``attach://part``) or a string (file_id / URL)."""
        if name in self.files:
            return self.files[name]
        v = self.values.get(name)
        if v is None or v == "":
            return None
        if isinstance(v, str) and v.startswith("attach://"):
            part = v[len("attach://"):]
            if part in self.files:
                return self.files[part]
            raise bad_request(f"file of the {name} not found in the request")  # approximate wording
        if isinstance(v, dict):
            raise bad_request(f"wrong {name} specified")
        return str(v)

    def resolve_attach(self, ref: Any) -> Upload | str | None:
        if isinstance(ref, str) and ref.startswith("attach://"):
            part = ref[len("attach://"):]
            if part in self.files:
                return self.files[part]
            raise bad_request("file attachment not found in the request")
        return ref

    def loggable(self, json_fields: frozenset[str]) -> dict:
        out: dict[str, Any] = {}
        for k, v in self.values.items():
            if k in json_fields and isinstance(v, str):
                try:
                    v = json.loads(v)
                except ValueError:
                    pass
            out[k] = v
        for k, up in self.files.items():
            out[k] = {"_upload": up.filename, "size": len(up.data), "content_type": up.content_type}
        return out
