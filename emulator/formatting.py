"""Telegram-style text formatting: parse_mode → (plain text, entities).

Telegram does not store HTML or Markdown: it parses the text, returns the plain
text plus ``MessageEntity`` objects, and rejects malformed markup with
``400 Bad Request: can't parse entities: …``.  The emulator does the same so that
formatting bugs (an unescaped ``<`` from user input, ``<br>``, an unbalanced
``*``) fail in tests the way they fail in production.

Offsets and lengths of entities are in UTF-16 code units, like Telegram's.
Error positions are UTF-8 byte offsets, like Telegram's.
"""
from __future__ import annotations

import re

__all__ = [
    "EntityParseError",
    "parse_text",
    "utf16_len",
    "detect_bot_commands",
]


class EntityParseError(ValueError):
    """Raised for malformed markup; str(e) is the text after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text and tracks the UTF-16 length."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos = 0  # utf-16 offset

    def add(self, s: str) -> None:
        self.parts.append(s)
        self.pos += utf16_len(s)

    def text(self) -> str:
        return "".join(self.parts)


def _sorted(entities: list[dict]) -> list[dict]:
    return sorted(
        (e for e in entities if e["length"] > 0),
        key=lambda e: (e["offset"], -e["length"]),
    )


# --------------------------------------------------------------------------- HTML

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}

_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, i: int) -> tuple[str | None, int]:
    """At text[i] == '&': return (char, next index) or (None, i)."""
    m = re.match(r"&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);", text[i:])
    if not m:
        return None, i
    body = m.group(1)
    if body.startswith("#x"):
        code = int(body[2:], 16)
    elif body.startswith("#"):
        code = int(body[1:])
    else:
        ch = _NAMED_ENTITIES.get(body.lower()) if body.islower() else _NAMED_ENTITIES.get(body)
        if ch is None:
            return None, i
        return ch, i + m.end()
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, i
    return chr(code), i + m.end()


def _html_unescape_attr(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            ch, j = _decode_html_entity(value, i)
            if ch is not None:
                out.append(ch)
                i = j
                continue
        out.append(value[i])
        i += 1
    return "".join(out)


def parse_html(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    entities: list[dict] = []
    stack: list[dict] = []  # {"tag", "offset", "attrs", "begin"}
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            ch, j = _decode_html_entity(text, i)
            if ch is not None:
                b.add(ch)
                i = j
            else:
                b.add("&")
                i += 1
            continue
        if c != "<":
            b.add(c)
            i += 1
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            # end tag
            i += 1
            j = i
            while j < n and text[j] != ">" and not text[j].isspace():
                j += 1
            tag = text[i:j].lower()
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            if not stack:
                raise EntityParseError(
                    f'Unexpected end tag at byte offset {_byte_offset(text, begin)}'
                )
            top = stack[-1]
            if tag != top["tag"]:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{top["tag"]}>", found "</{tag}>"'
                )
            stack.pop()
            _close_html_entity(top, b.pos, entities, stack)
            i = j + 1
            continue
        # start tag
        j = i
        while j < n and not text[j].isspace() and text[j] not in ">/":
            j += 1
        tag = text[i:j].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {_byte_offset(text, begin)}'
            )
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and text[i].isspace():
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            if text[i] == ">":
                i += 1
                break
            if text[i] == "/" and i + 1 < n and text[i + 1] == ">":
                # <tag/> is not a valid self-closing element in Telegram HTML
                raise EntityParseError(
                    f'Unsupported self-closing tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            k = i
            while k < n and (text[k].isalnum() or text[k] in "-_:"):
                k += 1
            name = text[i:k].lower()
            if not name:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(text, begin)}'
                )
            i = k
            while i < n and text[i].isspace():
                i += 1
            if i < n and text[i] == "=":
                i += 1
                while i < n and text[i].isspace():
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                    )
                if text[i] in "\"'":
                    q = text[i]
                    end = text.find(q, i + 1)
                    if end < 0:
                        raise EntityParseError(
                            f"Unclosed start tag at byte offset {_byte_offset(text, begin)}"
                        )
                    value = text[i + 1 : end]
                    i = end + 1
                else:
                    k = i
                    while k < n and not text[k].isspace() and text[k] != ">":
                        k += 1
                    value = text[i:k]
                    i = k
                attrs[name] = _html_unescape_attr(value)
            else:
                attrs[name] = ""
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}'
            )
        stack.append({"tag": tag, "offset": b.pos, "attrs": attrs})
    if stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"'
        )
    return b.text(), _sorted(entities)


def _close_html_entity(top: dict, end: int, entities: list[dict], stack: list[dict]) -> None:
    tag, attrs, offset = top["tag"], top["attrs"], top["offset"]
    length = end - offset
    etype = _HTML_TAGS[tag]
    if etype == "text_link":
        href = attrs.get("href")
        if not href:
            return
        entities.append({"type": "text_link", "offset": offset, "length": length, "url": href})
        return
    if etype == "custom_emoji":
        emoji_id = attrs.get("emoji-id")
        if emoji_id:
            entities.append(
                {"type": "custom_emoji", "offset": offset, "length": length, "custom_emoji_id": emoji_id}
            )
        return
    if etype == "blockquote" and "expandable" in attrs:
        etype = "expandable_blockquote"
    if etype == "code" and stack and stack[-1]["tag"] == "pre":
        cls = attrs.get("class", "")
        if cls.startswith("language-"):
            stack[-1]["language"] = cls[len("language-") :]
            return
    entity = {"type": etype, "offset": offset, "length": length}
    if etype == "pre" and top.get("language"):
        entity["language"] = top["language"]
    entities.append(entity)


# --------------------------------------------------------------------------- MarkdownV2

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    entities: list[dict] = []
    stack: list[dict] = []
    n = len(text)
    i = 0
    quote_start: int | None = None  # utf16 offset of an open blockquote
    at_line_start = True

    def err_reserved(ch: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    def toggle(etype: str, width: int) -> None:
        nonlocal i
        if stack and stack[-1]["type"] == etype:
            top = stack.pop()
            entities.append({"type": etype, "offset": top["offset"], "length": b.pos - top["offset"]})
        elif any(s["type"] == etype for s in stack):
            top = stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MDV2_NAMES[top['type']]} entity at byte offset {top['begin']}"
            )
        else:
            stack.append({"type": etype, "offset": b.pos, "begin": _byte_offset(text, i)})
        i += width

    while i < n:
        c = text[i]
        line_start = at_line_start
        at_line_start = False
        if c == "\n":
            if quote_start is not None and not text.startswith(">", i + 1):
                entities.append({"type": "blockquote", "offset": quote_start, "length": b.pos - quote_start})
                quote_start = None
            b.add(c)
            i += 1
            at_line_start = True
            continue
        if c == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            b.add(text[i + 1])
            i += 2
            continue
        top_type = stack[-1]["type"] if stack else None
        if top_type in ("code", "pre"):
            closer = "```" if top_type == "pre" else "`"
            if text.startswith(closer, i):
                top = stack.pop()
                ent = {"type": top_type, "offset": top["offset"], "length": b.pos - top["offset"]}
                if top.get("language"):
                    ent["language"] = top["language"]
                entities.append(ent)
                i += len(closer)
            else:
                b.add(c)
                i += 1
            continue
        if c not in _MDV2_RESERVED:
            b.add(c)
            i += 1
            continue
        if c == "_":
            if text.startswith("__", i) and (
                top_type == "underline" or not any(s["type"] == "underline" for s in stack)
            ):
                toggle("underline", 2)
            else:
                toggle("italic", 1)
        elif c == "*":
            toggle("bold", 1)
        elif c == "~":
            toggle("strikethrough", 1)
        elif c == "|":
            if not text.startswith("||", i):
                raise err_reserved(c)
            toggle("spoiler", 2)
        elif c == "`":
            begin = _byte_offset(text, i)
            if text.startswith("```", i):
                i += 3
                nl = text.find("\n", i)
                language = None
                if nl >= 0:
                    header = text[i:nl]
                    if header and not any(ch.isspace() or ch == "`" for ch in header):
                        language = header
                        i = nl + 1
                stack.append({"type": "pre", "offset": b.pos, "begin": begin, "language": language})
            else:
                stack.append({"type": "code", "offset": b.pos, "begin": begin})
                i += 1
        elif c == "[" or (c == "!" and text.startswith("![", i)):
            etype = "custom_emoji" if c == "!" else "text_link"
            stack.append({"type": etype, "offset": b.pos, "begin": _byte_offset(text, i)})
            i += 2 if c == "!" else 1
        elif c == "]":
            if not stack or stack[-1]["type"] not in ("text_link", "custom_emoji"):
                raise err_reserved(c)
            top = stack.pop()
            i += 1
            url = ""
            if i < n and text[i] == "(":
                j = i + 1
                chars: list[str] = []
                while j < n and text[j] != ")":
                    if text[j] == "\\" and j + 1 < n:
                        chars.append(text[j + 1])
                        j += 2
                        continue
                    chars.append(text[j])
                    j += 1
                if j >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, i)}"
                    )
                url = "".join(chars)
                i = j + 1
            if top["type"] == "custom_emoji":
                m = re.match(r"tg://emoji\?id=(\d+)$", url)
                if not m:
                    raise EntityParseError(
                        f"Custom emoji entity must contain a tg://emoji URL at byte offset {top['begin']}"
                    )
                entities.append(
                    {"type": "custom_emoji", "offset": top["offset"], "length": b.pos - top["offset"],
                     "custom_emoji_id": m.group(1)}
                )
            elif url:
                entities.append(
                    {"type": "text_link", "offset": top["offset"], "length": b.pos - top["offset"], "url": url}
                )
        elif c == ">" and line_start:
            if quote_start is None:
                quote_start = b.pos
            i += 1
        else:
            raise err_reserved(c)
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[top['type']]} entity at byte offset {top['begin']}"
        )
    if quote_start is not None:
        entities.append({"type": "blockquote", "offset": quote_start, "length": b.pos - quote_start})
    return b.text(), _sorted(entities)


# --------------------------------------------------------------------------- legacy Markdown


def parse_markdown(text: str) -> tuple[str, list[dict]]:
    b = _Builder()
    entities: list[dict] = []
    n = len(text)
    i = 0
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            b.add(text[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            b.add(c)
            i += 1
            continue
        begin = _byte_offset(text, i)
        offset = b.pos
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
            label = text[i + 1 : end]
            b.add(label)
            i = end + 1
            if i < n and text[i] == "(":
                close = text.find(")", i + 1)
                if close < 0:
                    raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
                url = text[i + 1 : close]
                i = close + 1
                if url:
                    entities.append({"type": "text_link", "offset": offset, "length": b.pos - offset, "url": url})
            continue
        marker = "```" if text.startswith("```", i) else c
        start = i + len(marker)
        end = text.find(marker, start)
        if end < 0:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        inner = text[start:end]
        language = None
        if marker == "```":
            nl = inner.find("\n")
            if nl > 0 and not any(ch.isspace() for ch in inner[:nl]):
                language, inner = inner[:nl], inner[nl + 1 :]
        b.add(inner)
        etype = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}[marker]
        ent = {"type": etype, "offset": offset, "length": b.pos - offset}
        if language:
            ent["language"] = language
        entities.append(ent)
        i = end + len(marker)
    return b.text(), _sorted(entities)


# --------------------------------------------------------------------------- public

_PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict]]:
    """Return (plain text, entities) for ``parse_mode`` (None/"" = plain text).

    Raises EntityParseError for malformed markup and ValueError for an unknown
    parse mode (Telegram: "Bad Request: unsupported parse_mode").
    """
    if not parse_mode:
        return text, []
    parser = _PARSERS.get(parse_mode.lower())
    if parser is None:
        raise ValueError("unsupported parse_mode")
    return parser(text)


_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")


def detect_bot_commands(text: str) -> list[dict]:
    """bot_command entities the way Telegram marks them in incoming messages."""
    entities = []
    for m in _COMMAND_RE.finditer(text):
        entities.append(
            {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        )
    return entities
