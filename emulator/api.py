"""Bot API methods of the emulator (a mixin of BotAPIEmulator).

Each ``api_<methodName>`` implements one method; results are shaped like
Telegram's so aiogram and python-telegram-bot parse them.  Errors are raised as
:class:`ApiError` with Telegram's wording.
"""
from __future__ import annotations

import asyncio
import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from .formatting import EntityParseError, parse_text
from .media import guess_mime
from .records import ApiError, Params, SentFile, SentMessage, Upload, bad_request
from .state import DEFAULT_UPDATE_TYPES, ChatState
from .webhook import webhook_loop

if TYPE_CHECKING:  # pragma: no cover
    from .ports import EmulatorHost as _Host
else:
    _Host = object

__all__ = ["ApiMethods", "Call", "METHODS", "JSON_FIELDS"]

JSON_FIELDS = frozenset({
    "reply_markup", "allowed_updates", "commands", "scope", "entities", "caption_entities",
    "media", "reply_parameters", "link_preview_options", "menu_button", "message_ids",
})

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
DOWNLOAD_LIMIT = 20 * 1024 * 1024
PHOTO_LIMIT = 10 * 1024 * 1024

CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note",
})
SCOPE_TYPES = frozenset({
    "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
    "chat", "chat_administrators", "chat_member",
})
INLINE_BUTTON_ACTIONS = (
    "callback_data", "url", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


@dataclass
class Call:
    method: str
    params: Params
    token: str
    bot: dict


class ApiMethods(_Host):
    """Mixin: the Bot API.  ``self`` is the emulator: state and helpers come from the host
    class (``core.BotAPIEmulator``), as described by :class:`emulator.ports.EmulatorHost`."""

    # ------------------------------------------------------------------ helpers
    def _chat(self, call: Call, key: str = "chat_id") -> ChatState:
        raw = call.params.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        chat_id: int | None = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            chat_id = raw
        else:
            s = str(raw).strip()
            if re.fullmatch(r"-?\d+", s):
                chat_id = int(s)
            elif s.startswith("@"):
                for chat in self._chats.values():
                    if chat.type != "private" and chat.info.get("username", "").lower() == s[1:].lower():
                        return chat
        if chat_id is None or chat_id not in self._chats:
            raise bad_request("chat not found")
        return self._chats[chat_id]

    def _check_writable(self, chat: ChatState) -> None:
        if chat.type != "private":
            return
        state = self._users.get(chat.user_id)  # type: ignore[arg-type]
        if state is None:
            raise bad_request("chat not found")
        if state.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if not state.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")

    @staticmethod
    def _render(p: Params, text_key: str, mode_key: str = "parse_mode",
                entities_key: str = "entities") -> tuple[str | None, list[dict], str | None]:
        text = p.str(text_key)
        if text is None:
            return None, [], None
        mode = p.str(mode_key)
        explicit = p.json(entities_key)
        if explicit:
            if not isinstance(explicit, list):
                raise bad_request(f"can't parse {entities_key} JSON object")
            return text, explicit, None
        try:
            plain, entities = parse_text(text, mode)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        except ValueError:
            raise bad_request("unsupported parse_mode") from None
        return plain, entities, mode

    def _reply_markup(self, p: Params, *, inline_only: bool = False) -> dict | None:
        markup = p.json("reply_markup", what="reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('can\'t parse inline keyboard button: Field "inline_keyboard" must be of type Array')
            total = 0
            for row in rows:
                for btn in row:
                    total += 1
                    if not isinstance(btn, dict):
                        raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                    if not isinstance(btn.get("text"), str) or not btn["text"].strip():
                        raise bad_request("BUTTON_TEXT_INVALID" if "text" in btn else
                                          'can\'t parse inline keyboard button: Field "text" must be of type String')
                    actions = [k for k in INLINE_BUTTON_ACTIONS if k in btn]
                    if not actions:
                        raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                    if "callback_data" in btn:
                        data = btn["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                            raise bad_request("BUTTON_DATA_INVALID")
                    if "url" in btn:
                        url = btn["url"]
                        if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$|^t\.me/\S+$", url):
                            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
            if total > 100:
                raise bad_request("reply markup is too long")
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('can\'t parse keyboard button: Field "keyboard" must be of type Array')
            for row in rows:
                for btn in row:
                    text = btn if isinstance(btn, str) else (btn.get("text") if isinstance(btn, dict) else None)
                    if not isinstance(text, str) or not text:
                        raise bad_request("can't parse keyboard button: Field \"text\" must be of type String")
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise bad_request("can't find field \"inline_keyboard\"")  # what Telegram says for junk markup

    def _reply_target(self, chat: ChatState, p: Params) -> dict | None:
        rp = p.json("reply_parameters")
        mid = None
        allow = p.bool("allow_sending_without_reply")
        if isinstance(rp, dict):
            mid = rp.get("message_id")
            allow = bool(rp.get("allow_sending_without_reply", allow))
        elif p.get("reply_to_message_id") not in (None, ""):
            mid = p.int("reply_to_message_id")
        if mid is None:
            return None
        target = chat.messages.get(int(mid))
        if target is None:
            if allow:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _record(
        self,
        call: Call,
        chat: ChatState,
        content: dict,
        *,
        text: str | None,
        source: str | None,
        parse_mode: str | None,
        entities: list[dict],
        markup: dict | None,
        reply_to: dict | None = None,
        document: SentFile | None = None,
        photo: SentFile | None = None,
        media: SentFile | None = None,
        extra: dict | None = None,
    ) -> SentMessage:
        mid = chat.new_message_id()
        raw: dict[str, Any] = {"message_id": mid, "from": dict(call.bot), "chat": dict(chat.info),
                               "date": self.now()}
        if extra:
            raw.update(extra)
        if reply_to is not None:
            raw["reply_to_message"] = reply_to
        raw.update(content)
        if markup and "inline_keyboard" in markup:
            raw["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if markup and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        sm = SentMessage(
            chat_id=chat.id, message_id=mid, method=call.method, raw=raw, date=raw["date"],
            text=text, source_text=source, parse_mode=parse_mode, entities=entities,
            reply_markup=markup, document=document, photo=photo, media=media,
            params=call.params.loggable(frozenset()),
        )
        sm.seq = self._bump()
        chat.messages[mid] = raw
        chat.bot_messages[mid] = sm
        chat.sent.append(sm)
        self._all_sent.append(sm)
        self._event(chat, {"who": "bot", "kind": "send", "message_id": mid, "text": text,
                           "media": self._media_label(sm), **self._markup_event(markup)})
        return sm

    @staticmethod
    def _media_label(sm: SentMessage) -> str | None:
        f = sm.document or sm.photo or sm.media
        kind = sm.kind
        if kind in ("text",):
            return None
        if f is not None:
            name = f" {f.filename}" if f.filename else ""
            return f"{kind}{name}, {f.size} bytes"
        if kind == "location":
            loc = sm.raw["location"]
            return f"location {loc['latitude']}, {loc['longitude']}"
        if kind == "contact":
            return f"contact {sm.raw['contact'].get('first_name')} {sm.raw['contact'].get('phone_number')}"
        return kind

    @staticmethod
    def _markup_event(markup: dict | None) -> dict:
        if not markup:
            return {}
        if "inline_keyboard" in markup:
            return {"buttons": [[b.get("text", "") for b in row] for row in markup["inline_keyboard"]]}
        if "keyboard" in markup:
            return {"keyboard": [[b if isinstance(b, str) else b.get("text", "") for b in row]
                                 for row in markup["keyboard"]]}
        if markup.get("remove_keyboard"):
            return {"remove_keyboard": True}
        return {}

    async def _file_from(self, p: Params, key: str, kind: str) -> SentFile:
        value = p.file(key)
        if value is None:
            raise bad_request(f"there is no {key} in the request")
        return await self._store_file(value, kind)

    async def _store_file(self, value: Upload | str, kind: str) -> SentFile:
        if isinstance(value, str):
            if value in self._files:
                return self._files[value]
            if re.match(r"^https?://", value):
                try:
                    timeout = aiohttp.ClientTimeout(total=10)
                    async with aiohttp.ClientSession(timeout=timeout) as session:
                        async with session.get(value) as resp:
                            if resp.status != 200:
                                raise bad_request("failed to get HTTP URL content")
                            data = await resp.read()
                            ctype = resp.content_type
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    raise bad_request("failed to get HTTP URL content") from None
                name = value.rstrip("/").rsplit("/", 1)[-1].split("?")[0] or None
                value = Upload(name, data, ctype)
            else:
                raise bad_request("wrong file identifier/HTTP URL specified")
        if not value.data:
            raise bad_request("file must be non-empty")
        if kind == "photo":
            if len(value.data) > PHOTO_LIMIT:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
            return self._new_file("photo", value.data, value.filename, "image/jpeg")
        mime = guess_mime(value.filename, value.content_type)
        return self._new_file(kind, value.data, value.filename, mime)

    def _caption(self, p: Params) -> tuple[dict, str | None, list[dict], str | None, str | None]:
        caption, entities, mode = self._render(p, "caption", entities_key="caption_entities")
        content: dict[str, Any] = {}
        if caption:
            if len(caption) > CAPTION_LIMIT:
                raise bad_request("message caption is too long")
            content["caption"] = caption
            if entities:
                content["caption_entities"] = entities
        return content, caption or None, entities, p.str("caption"), mode

    # ------------------------------------------------------------------ identity, updates, webhook
    def api_getMe(self, call: Call) -> dict:
        return {**call.bot, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    def api_logOut(self, call: Call) -> bool:
        return True

    def api_close(self, call: Call) -> bool:
        return True

    async def api_getUpdates(self, call: Call) -> list[dict]:
        p = call.params
        if self._webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        allowed = p.json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else self._default_allowed()
        limit = p.int("limit", default=100) or 100
        limit = max(1, min(100, limit))
        timeout = max(0.0, min(p.float("timeout", 0.0) or 0.0, 50.0))
        return await self._get_updates(p.int("offset"), limit, timeout)

    @staticmethod
    def _default_allowed() -> frozenset[str]:
        return DEFAULT_UPDATE_TYPES

    def api_setWebhook(self, call: Call) -> bool:
        p = call.params
        url = p.str("url") or ""
        if not url:
            return self.api_deleteWebhook(call)
        if not re.match(r"^https?://[^/\s]+", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.str("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise bad_request("secret token contains unallowed characters")
        if p.bool("drop_pending_updates"):
            self._queue.clear()
        allowed = p.json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else self._default_allowed()
        old = self._webhook or {}
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p.int("max_connections", default=40),
            "ip_address": p.str("ip_address"),
            "token": call.token,
            "last_error_date": old.get("last_error_date"),
            "last_error_message": old.get("last_error_message"),
        }
        if self._poll is not None:
            self._poll.terminated = True
        self._wake_pollers()
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(webhook_loop(self))
        return True

    def api_deleteWebhook(self, call: Call) -> bool:
        if call.params.bool("drop_pending_updates"):
            self._queue.clear()
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    def api_getWebhookInfo(self, call: Call) -> dict:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self._queue)}
        wh = self._webhook
        if wh:
            info["url"] = wh["url"]
            info["max_connections"] = wh["max_connections"]
            if wh.get("ip_address"):
                info["ip_address"] = wh["ip_address"]
            if wh.get("last_error_date"):
                info["last_error_date"] = wh["last_error_date"]
                info["last_error_message"] = wh["last_error_message"]
            if self._allowed_updates != self._default_allowed():
                info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    # ------------------------------------------------------------------ sending
    def api_sendMessage(self, call: Call) -> dict:
        p = call.params
        chat = self._chat(call)
        text, entities, mode = self._render(p, "text")
        if text is None or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
        markup = self._reply_markup(p)
        self._check_writable(chat)
        reply_to = self._reply_target(chat, p)
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        lpo = p.json("link_preview_options")
        if isinstance(lpo, dict) and lpo:
            content["link_preview_options"] = lpo
        sm = self._record(call, chat, content, text=text, source=p.str("text"), parse_mode=mode,
                          entities=entities, markup=markup, reply_to=reply_to)
        return sm.raw

    async def _send_media(self, call: Call, key: str, kind: str) -> dict:
        p = call.params
        chat = self._chat(call)
        markup = self._reply_markup(p)
        content, caption, entities, source, mode = self._caption(p)
        self._check_writable(chat)
        reply_to = self._reply_target(chat, p)
        f = await self._file_from(p, key, kind)
        body, doc, photo, media = self._media_object(f, kind, p)
        body.update(content)
        sm = self._record(call, chat, body, text=caption, source=source, parse_mode=mode, entities=entities,
                          markup=markup, reply_to=reply_to, document=doc, photo=photo, media=media)
        return sm.raw

    def _media_object(self, f: SentFile, kind: str, p: Params | None = None
                      ) -> tuple[dict, SentFile | None, SentFile | None, SentFile | None]:
        p = p or Params({})
        base = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size}
        if kind == "photo":
            if f.width is None:  # a fresh upload: compute the sizes
                sizes = self._photo_sizes(f.data)
                main = self._files[sizes[-1]["file_id"]]
            else:
                sizes, main = [{**base, "width": f.width, "height": f.height or f.width}], f
            return {"photo": sizes}, None, main, None
        if kind == "document":
            obj = {"file_name": f.filename or "document", "mime_type": f.mime_type or "application/octet-stream",
                   **base}
            return {"document": obj}, f, None, None
        duration = p.int("duration", default=1) or 1
        width = p.int("width", default=f.width or 640) or 640
        height = p.int("height", default=f.height or 360) or 360
        if kind == "voice":
            obj = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "duration": duration,
                   "mime_type": f.mime_type or "audio/ogg", "file_size": f.size}
        elif kind == "audio":
            obj = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "duration": duration,
                   "file_name": f.filename or "audio.mp3", "mime_type": f.mime_type or "audio/mpeg",
                   "file_size": f.size}
            for k in ("title", "performer"):
                if p.str(k):
                    obj[k] = p.str(k)
        elif kind in ("video", "animation"):
            obj = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "width": width, "height": height,
                   "duration": duration, "mime_type": f.mime_type or "video/mp4", "file_size": f.size}
            if f.filename:
                obj["file_name"] = f.filename
        elif kind == "video_note":
            obj = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "length": p.int("length", default=240),
                   "duration": duration, "file_size": f.size}
        elif kind == "sticker":
            obj = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "file_size": f.size}
            if p.str("emoji"):
                obj["emoji"] = p.str("emoji")
        else:  # pragma: no cover
            raise bad_request(f"unsupported media kind {kind}")
        body = {kind: obj}
        if kind == "animation":  # Telegram also sets "document" for animations
            body["document"] = {"file_name": f.filename or "animation.mp4", "mime_type": obj["mime_type"], **base}
        return body, None, None, f

    async def api_sendDocument(self, call: Call) -> dict:
        return await self._send_media(call, "document", "document")

    async def api_sendPhoto(self, call: Call) -> dict:
        return await self._send_media(call, "photo", "photo")

    async def api_sendVoice(self, call: Call) -> dict:
        return await self._send_media(call, "voice", "voice")

    async def api_sendAudio(self, call: Call) -> dict:
        return await self._send_media(call, "audio", "audio")

    async def api_sendVideo(self, call: Call) -> dict:
        return await self._send_media(call, "video", "video")

    async def api_sendAnimation(self, call: Call) -> dict:
        return await self._send_media(call, "animation", "animation")

    async def api_sendVideoNote(self, call: Call) -> dict:
        return await self._send_media(call, "video_note", "video_note")

    async def api_sendSticker(self, call: Call) -> dict:
        return await self._send_media(call, "sticker", "sticker")

    async def api_sendMediaGroup(self, call: Call) -> list[dict]:
        p = call.params
        chat = self._chat(call)
        media = p.json("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("media must include 2-10 items")
        self._check_writable(chat)
        reply_to = self._reply_target(chat, p)
        group_id = str(13_000_000_000_000_000 + self._seq)
        prepared = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in ("photo", "video", "document", "audio"):
                raise bad_request("can't parse InputMedia: unsupported media type")
            ref = p.resolve_attach(item.get("media"))
            if ref is None:
                raise bad_request("there is no media in the request")
            f = await self._store_file(ref, item["type"])
            sub = Params({k: v for k, v in item.items() if k not in ("type", "media")}, p.files)
            content, caption, entities, source, mode = self._caption(sub)
            prepared.append((item["type"], f, sub, content, caption, entities, source, mode))
        out = []
        for kind, f, sub, content, caption, entities, source, mode in prepared:
            body, doc, photo, m = self._media_object(f, kind, sub)
            body.update(content)
            sm = self._record(call, chat, body, text=caption, source=source, parse_mode=mode, entities=entities,
                              markup=None, reply_to=reply_to, document=doc, photo=photo, media=m,
                              extra={"media_group_id": group_id})
            out.append(sm.raw)
        return out

    def api_sendLocation(self, call: Call) -> dict:
        p = call.params
        chat = self._chat(call)
        lat, lon = p.float("latitude"), p.float("longitude")
        if lat is None or lon is None or not -90 <= lat <= 90 or not -180 <= lon <= 180:
            raise bad_request("wrong coordinates specified")  # approximate wording
        markup = self._reply_markup(p)
        self._check_writable(chat)
        sm = self._record(call, chat, {"location": {"latitude": lat, "longitude": lon}}, text=None, source=None,
                          parse_mode=None, entities=[], markup=markup, reply_to=self._reply_target(chat, p))
        return sm.raw

    def api_sendVenue(self, call: Call) -> dict:
        p = call.params
        chat = self._chat(call)
        lat, lon = p.float("latitude"), p.float("longitude")
        title, address = p.str("title"), p.str("address")
        if lat is None or lon is None or not title or not address:
            raise bad_request("venue must have title, address, latitude and longitude")  # approximate
        markup = self._reply_markup(p)
        self._check_writable(chat)
        loc = {"latitude": lat, "longitude": lon}
        sm = self._record(call, chat, {"venue": {"location": loc, "title": title, "address": address},
                                       "location": loc}, text=title, source=title, parse_mode=None,
                          entities=[], markup=markup, reply_to=self._reply_target(chat, p))
        return sm.raw

    def api_sendContact(self, call: Call) -> dict:
        p = call.params
        chat = self._chat(call)
        phone, first = p.str("phone_number"), p.str("first_name")
        if not phone:
            raise bad_request("phone number is empty")  # approximate wording
        if not first:
            raise bad_request("first name is empty")
        contact = {"phone_number": phone, "first_name": first}
        if p.str("last_name"):
            contact["last_name"] = p.str("last_name")
        markup = self._reply_markup(p)
        self._check_writable(chat)
        sm = self._record(call, chat, {"contact": contact}, text=None, source=None, parse_mode=None, entities=[],
                          markup=markup, reply_to=self._reply_target(chat, p))
        return sm.raw

    def api_sendChatAction(self, call: Call) -> bool:
        chat = self._chat(call)
        action = call.params.str("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._check_writable(chat)
        self.chat_actions.append((chat.id, action))
        return True

    def _source_message(self, call: Call, verb: str) -> dict:
        src = self._chat(call, "from_chat_id")
        mid = call.params.int("message_id", required_error="message identifier is not specified")
        msg = src.messages.get(mid)  # type: ignore[arg-type]
        if msg is None:
            raise bad_request(f"message to {verb} not found")
        return msg

    _CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "document", "photo", "sticker", "voice",
                     "video", "audio", "animation", "video_note", "location", "venue", "contact")

    def _copy_into(self, call: Call, msg: dict, extra: dict | None, *, keep_caption: bool) -> SentMessage:
        p = call.params
        chat = self._chat(call)
        self._check_writable(chat)
        content = {k: copy.deepcopy(v) for k, v in msg.items() if k in self._CONTENT_KEYS}
        text = content.get("text", content.get("caption"))
        entities = content.get("entities", content.get("caption_entities", []))
        mode = None
        if not keep_caption and "caption" in p:
            new_content, caption, entities, _, mode = self._caption(p)
            content.pop("caption", None)
            content.pop("caption_entities", None)
            content.update(new_content)
            text = caption
        markup = self._reply_markup(p) if not keep_caption else None
        files = {}
        for kind in ("document", "photo", "sticker", "voice", "video", "audio", "animation", "video_note"):
            if kind in content:
                obj = content[kind][-1] if kind == "photo" else content[kind]
                f = self._files.get(obj["file_id"])
                files = {"document": f} if kind == "document" else ({"photo": f} if kind == "photo" else {"media": f})
        return self._record(call, chat, content, text=text, source=text, parse_mode=mode, entities=entities,
                            markup=markup, reply_to=self._reply_target(chat, p), extra=extra, **files)

    def api_copyMessage(self, call: Call) -> dict:
        msg = self._source_message(call, "copy")
        sm = self._copy_into(call, msg, None, keep_caption=False)
        return {"message_id": sm.message_id}

    def api_forwardMessage(self, call: Call) -> dict:
        msg = self._source_message(call, "forward")
        sender = msg.get("from") or {}
        if sender.get("id") == call.bot["id"] or not sender:
            origin = {"type": "user", "sender_user": dict(call.bot), "date": msg["date"]}
        else:
            origin = {"type": "user", "sender_user": dict(sender), "date": msg["date"]}
        sm = self._copy_into(call, msg, {"forward_origin": origin}, keep_caption=True)
        return sm.raw

    # ------------------------------------------------------------------ editing
    def _editable(self, call: Call) -> tuple[ChatState, SentMessage]:
        p = call.params
        if p.str("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._chat(call)
        mid = p.int("message_id", required_error="message identifier is not specified")
        if mid not in chat.messages:
            raise bad_request("message to edit not found")
        sm = chat.bot_messages.get(mid)  # type: ignore[arg-type]
        if sm is None:
            raise bad_request("message can't be edited")
        self._check_writable(chat)
        return chat, sm

    def _apply_edit(self, call: Call, chat: ChatState, sm: SentMessage, *, text_key: str | None,
                    new_text: str | None, entities: list[dict], source: str | None, mode: str | None,
                    markup: dict | None) -> dict:
        old_markup = sm.raw.get("reply_markup")
        new_markup = {"inline_keyboard": markup["inline_keyboard"]} if markup else None
        entities_key = "entities" if text_key == "text" else "caption_entities"
        if text_key is not None:
            same_text = (sm.raw.get(text_key) or None) == (new_text or None) and \
                (sm.raw.get(entities_key) or []) == (entities or [])
        else:
            same_text = True
        if same_text and old_markup == new_markup:
            raise bad_request(NOT_MODIFIED)
        old_text = sm.text
        if text_key is not None:
            if new_text:
                sm.raw[text_key] = new_text
            else:
                sm.raw.pop(text_key, None)
            if entities:
                sm.raw[entities_key] = entities
            else:
                sm.raw.pop(entities_key, None)
            sm.text, sm.source_text, sm.parse_mode, sm.entities = new_text, source, mode, entities
        if new_markup:
            sm.raw["reply_markup"] = new_markup
        else:
            sm.raw.pop("reply_markup", None)
        sm.reply_markup = markup
        sm.raw["edit_date"] = self.now()
        sm.edits.append({"method": call.method, "date": sm.raw["edit_date"], "old_text": old_text,
                         "text": sm.text, "old_reply_markup": old_markup, "reply_markup": new_markup})
        sm.seq = self._bump()
        self._event(chat, {"who": "bot", "kind": "edit", "message_id": sm.message_id, "text": sm.text,
                           "media": self._media_label(sm), **self._markup_event(markup)})
        return sm.raw

    def api_editMessageText(self, call: Call) -> dict:
        p = call.params
        chat, sm = self._editable(call)
        text, entities, mode = self._render(p, "text")
        if text is None or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        if "text" not in sm.raw:
            raise bad_request("there is no text in the message to edit")
        markup = self._reply_markup(p, inline_only=True)
        return self._apply_edit(call, chat, sm, text_key="text", new_text=text, entities=entities,
                                source=p.str("text"), mode=mode, markup=markup)

    def api_editMessageCaption(self, call: Call) -> dict:
        p = call.params
        chat, sm = self._editable(call)
        if "text" in sm.raw:
            raise bad_request("there is no caption in the message to edit")
        content, caption, entities, source, mode = self._caption(p)
        markup = self._reply_markup(p, inline_only=True)
        return self._apply_edit(call, chat, sm, text_key="caption", new_text=caption, entities=entities,
                                source=source, mode=mode, markup=markup)

    def api_editMessageReplyMarkup(self, call: Call) -> dict:
        chat, sm = self._editable(call)
        markup = self._reply_markup(call.params, inline_only=True)
        return self._apply_edit(call, chat, sm, text_key=None, new_text=None, entities=[], source=None,
                                mode=None, markup=markup)

    def api_deleteMessage(self, call: Call) -> bool:
        chat = self._chat(call)
        mid = call.params.int("message_id", required_error="message identifier is not specified")
        self._delete(chat, mid, strict=True)  # type: ignore[arg-type]
        return True

    def api_deleteMessages(self, call: Call) -> bool:
        chat = self._chat(call)
        ids = call.params.json("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message_ids must contain 1-100 message identifiers")
        for mid in ids:
            self._delete(chat, int(mid), strict=False)
        return True

    def _delete(self, chat: ChatState, mid: int, strict: bool) -> None:
        if mid not in chat.messages:
            if strict:
                raise bad_request("message to delete not found")
            return
        del chat.messages[mid]
        sm = chat.bot_messages.get(mid)
        if sm is not None:
            sm.deleted = True
            sm.seq = self._bump()
        self._event(chat, {"who": "bot", "kind": "delete", "message_id": mid})

    def api_answerCallbackQuery(self, call: Call) -> bool:
        p = call.params
        cq_id = p.str("callback_query_id", required_error="QUERY_ID_INVALID")
        query = self._callback_queries.get(cq_id)  # type: ignore[arg-type]
        if query is None or query["answered"]:
            raise bad_request(QUERY_TOO_OLD)
        text = p.str("text")
        if text and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer = {"callback_query_id": cq_id, "text": text, "show_alert": p.bool("show_alert"),
                  "url": p.str("url"), "cache_time": p.int("cache_time"), "user_id": query["user_id"],
                  "chat_id": query["chat_id"], "message_id": query["message_id"], "data": query["data"]}
        self.callback_answers.append(answer)
        chat = self._chats.get(query["chat_id"])
        if chat is not None and text:
            self._event(chat, {"who": "bot", "kind": "answer", "text": text, "show_alert": answer["show_alert"]})
        return True

    # ------------------------------------------------------------------ files
    def api_getFile(self, call: Call) -> dict:
        file_id = call.params.str("file_id", required_error="invalid file_id")
        f = self._files.get(file_id)  # type: ignore[arg-type]
        if f is None:
            raise bad_request("invalid file_id")
        if f.size > DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        return {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size,
                "file_path": f.file_path}

    # ------------------------------------------------------------------ commands and bot settings
    def _scope_key(self, call: Call) -> str:
        scope = call.params.json("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope")  # approximate
        kind = scope["type"]
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat_id = scope.get("chat_id")
            try:
                chat_id = int(chat_id)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat_id not in self._chats:
                raise bad_request("chat not found")
            if kind == "chat_member":
                user_id = scope.get("user_id")
                if user_id is None:
                    raise bad_request("user not found")
                return f"chat_member:{chat_id}:{int(user_id)}"
            return f"{kind}:{chat_id}"
        return kind

    @staticmethod
    def _language(p: Params) -> str:
        lang = p.str("language_code") or ""
        if lang and not re.fullmatch(r"[a-z]{2}", lang):
            raise bad_request("invalid language code specified")  # approximate wording
        return lang

    def api_setMyCommands(self, call: Call) -> bool:
        p = call.params
        commands = p.json("commands")
        if not isinstance(commands, list):
            raise bad_request("parameter \"commands\" is required")  # approximate wording
        if len(commands) > 100:
            raise bad_request("too many commands")  # approximate wording
        clean = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise bad_request("can't parse BotCommand")
            name, desc = cmd.get("command"), cmd.get("description")
            if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name.lstrip("/")):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name.lstrip("/"), "description": desc})
        key = (self._scope_key(call), self._language(p))
        if clean:
            self.commands[key] = clean
        else:
            self.commands.pop(key, None)
        return True

    def api_getMyCommands(self, call: Call) -> list[dict]:
        key = (self._scope_key(call), self._language(call.params))
        return copy.deepcopy(self.commands.get(key, []))

    def api_deleteMyCommands(self, call: Call) -> bool:
        key = (self._scope_key(call), self._language(call.params))
        self.commands.pop(key, None)
        return True

    def api_setChatMenuButton(self, call: Call) -> bool:
        p = call.params
        button = p.json("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands", "web_app"):
            raise bad_request("can't parse MenuButton")  # approximate
        if p.get("chat_id") not in (None, ""):
            self._chat(call).menu_button = button
        else:
            self.default_menu_button = button
        return True

    def api_getChatMenuButton(self, call: Call) -> dict:
        if call.params.get("chat_id") not in (None, ""):
            chat = self._chat(call)
            return copy.deepcopy(chat.menu_button or self.default_menu_button)
        return copy.deepcopy(self.default_menu_button)

    def _set_setting(self, call: Call, name: str, key: str, limit: int) -> bool:
        value = call.params.str(key) or ""
        if len(value) > limit:
            raise bad_request(f"{key} is too long")  # approximate
        lang = self._language(call.params)
        if value:
            self.bot_settings[(name, lang)] = value
        else:
            self.bot_settings.pop((name, lang), None)
        return True

    def _get_setting(self, call: Call, name: str, key: str) -> dict:
        lang = self._language(call.params)
        value = self.bot_settings.get((name, lang), self.bot_settings.get((name, ""), ""))
        if name == "name" and not value:
            value = self.bot_name
        return {key: value}

    def api_setMyName(self, call: Call) -> bool:
        return self._set_setting(call, "name", "name", 64)

    def api_getMyName(self, call: Call) -> dict:
        return self._get_setting(call, "name", "name")

    def api_setMyDescription(self, call: Call) -> bool:
        return self._set_setting(call, "description", "description", 512)

    def api_getMyDescription(self, call: Call) -> dict:
        return self._get_setting(call, "description", "description")

    def api_setMyShortDescription(self, call: Call) -> bool:
        return self._set_setting(call, "short_description", "short_description", 120)

    def api_getMyShortDescription(self, call: Call) -> dict:
        return self._get_setting(call, "short_description", "short_description")

    # ------------------------------------------------------------------ chats
    def api_getChat(self, call: Call) -> dict:
        chat = self._chat(call)
        info = dict(chat.info)
        info.update({
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {"unlimited_gifts": True, "limited_gifts": True, "unique_gifts": True,
                                    "premium_subscription": True, "gifts_from_channels": True},
        })
        if chat.type == "private":
            info["active_usernames"] = [info["username"]] if info.get("username") else []
        return info

    def api_getChatMember(self, call: Call) -> dict:
        chat = self._chat(call)
        user_id = call.params.int("user_id", required_error="user not found")
        if user_id == call.bot["id"]:
            return {"status": "member", "user": dict(call.bot)}
        state = self._users.get(user_id)  # type: ignore[arg-type]
        if state is None:
            raise bad_request("user not found")
        if chat.type == "private" and chat.id != user_id:
            raise bad_request("user not found")
        return {"status": "member", "user": dict(state.user)}

    def api_setMessageReaction(self, call: Call) -> bool:
        chat = self._chat(call)
        mid = call.params.int("message_id", required_error="message identifier is not specified")
        if mid not in chat.messages:
            raise bad_request("message to react not found")  # approximate
        return True

    def api_pinChatMessage(self, call: Call) -> bool:
        chat = self._chat(call)
        mid = call.params.int("message_id", required_error="message identifier is not specified")
        if mid not in chat.messages:
            raise bad_request("message to pin not found")
        return True

    def api_unpinChatMessage(self, call: Call) -> bool:
        self._chat(call)
        return True


METHODS: dict[str, tuple[str, Any]] = {
    name[4:].lower(): (name[4:], getattr(ApiMethods, name))
    for name in dir(ApiMethods) if name.startswith("api_")
}
