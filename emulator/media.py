"""Small helpers for files: image size sniffing, sample payloads, file ids, MIME types."""
from __future__ import annotations

import base64
import hashlib
import mimetypes
import struct
import zlib

__all__ = ["image_size", "sample_png", "guess_mime", "make_file_ids", "SAMPLE_BYTES", "EXTENSIONS"]


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) for PNG/JPEG/GIF/WEBP/BMP, else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return "png", w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return "gif", w, h
    if data.startswith(b"BM") and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return "bmp", abs(w), abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        chunk = data[12:16]
        if chunk == b"VP8X" and len(data) >= 30:
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return "webp", w, h
        if chunk == b"VP8 " and len(data) >= 30:
            w, h = struct.unpack("<HH", data[26:30])
            return "webp", w & 0x3FFF, h & 0x3FFF
        if chunk == b"VP8L" and len(data) >= 25:
            b = data[21:25]
            w = 1 + (((b[1] & 0x3F) << 8) | b[0])
            h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
            return "webp", w, h
        return "webp", 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg_len = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return "jpeg", w, h
            i += 2 + seg_len
        return "jpeg", 0, 0
    return None


def sample_png(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    """A valid solid-colour PNG (used for simulated user photos)."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


# Plausible (not necessarily playable) payloads for simulated user media.
SAMPLE_BYTES = {
    "voice": b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead" + b"\x00" * 64,
    "video": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
    "video_note": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
    "animation": b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
    "audio": b"ID3\x03\x00" + b"\x00" * 64,
    "sticker": b"RIFF\x24\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x10\x00\x00\x00\xff\x01\x00\xff\x01\x00",
    "document": b"%PDF-1.4\n% emulator sample\n%%EOF\n",
}

EXTENSIONS = {
    "voice": "oga",
    "video": "mp4",
    "video_note": "mp4",
    "animation": "mp4",
    "audio": "mp3",
    "sticker": "webp",
    "photo": "jpg",
}

DIRECTORIES = {
    "document": "documents",
    "photo": "photos",
    "voice": "voice",
    "video": "videos",
    "video_note": "video_notes",
    "animation": "animations",
    "audio": "music",
    "sticker": "stickers",
}

_EXTRA_TYPES = {
    ".oga": "audio/ogg",
    ".ogg": "audio/ogg",
    ".webp": "image/webp",
    ".ics": "text/calendar",
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
}


def guess_mime(filename: str | None, fallback: str | None = None) -> str | None:
    if filename:
        dot = filename.rfind(".")
        if dot >= 0 and filename[dot:].lower() in _EXTRA_TYPES:
            return _EXTRA_TYPES[filename[dot:].lower()]
        mime, _ = mimetypes.guess_type(filename)
        if mime:
            return mime
    if fallback and fallback != "application/octet-stream":
        return fallback
    return fallback or ("application/octet-stream" if filename else None)


_PREFIX = {
    "document": "BQACAgIAAxkBAAI",
    "photo": "AgACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
    "video": "BAACAgIAAxkBAAI",
    "video_note": "DQACAgIAAxkBAAI",
    "animation": "CgACAgIAAxkBAAI",
    "audio": "CQACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
}


def make_file_ids(kind: str, serial: int, salt: str = "") -> tuple[str, str]:
    """Deterministic, Telegram-looking (file_id, file_unique_id) for the n-th stored file."""
    digest = hashlib.sha256(f"{kind}:{serial}:{salt}".encode()).digest()
    tail = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    file_id = f"{_PREFIX.get(kind, 'BQACAgIAAxkBAAI')}{serial:06d}{tail[:40]}"
    unique = f"AgAD{serial:05d}{tail[40:43]}"
    return file_id, unique
