"""aiogram with its models built on first use (bot/aiogram_models.py): the
transport's models are built at start, the rest only when needed, and every
update and method call reads and serialises exactly as with aiogram's own
eager import. Each side runs in a fresh interpreter (aiogram can be imported
only once per process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

UPDATES = [
    {"update_id": 1, "message": {"message_id": 5, "date": 1700000000, "chat": {"id": 7, "type": "private", "first_name": "A"},
                                 "from": {"id": 7, "is_bot": False, "first_name": "A", "language_code": "de"},
                                 "text": "/start abc", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}},
    {"update_id": 2, "callback_query": {"id": "q", "chat_instance": "c", "data": "bw|p:1|0|AAAA",
                                        "from": {"id": 7, "is_bot": False, "first_name": "A"},
                                        "message": {"message_id": 6, "date": 1700000001, "chat": {"id": 7, "type": "private"},
                                                    "text": "card", "reply_markup": {"inline_keyboard": [[
                                                        {"text": "👍", "callback_data": "x"}]]}}}},
    {"update_id": 3, "edited_message": {"message_id": 5, "date": 1700000000, "edit_date": 1700000100,
                                        "chat": {"id": 7, "type": "private"}, "text": "edited"}},
    {"update_id": 4, "message": {"message_id": 8, "date": 1700000002, "chat": {"id": 7, "type": "private"}, "caption": "Board",
                                 "photo": [{"file_id": "p", "file_unique_id": "u", "width": 90, "height": 90, "file_size": 10}]}},
    {"update_id": 5, "message": {"message_id": 9, "date": 1700000003, "chat": {"id": 7, "type": "private"},
                                 "document": {"file_id": "d", "file_unique_id": "u2", "file_name": "results.pdf",
                                              "mime_type": "application/pdf"}}},
    {"update_id": 6, "message": {"message_id": 10, "date": 1700000004, "chat": {"id": 7, "type": "private"},
                                 "venue": {"location": {"latitude": 51.3, "longitude": 12.4}, "title": "Werkstatt",
                                           "address": "Werkstraße 5, Leipzig"}}},
    {"update_id": 7, "message": {"message_id": 11, "date": 1700000005, "chat": {"id": 7, "type": "private"},
                                 "sticker": {"file_id": "s", "file_unique_id": "u3", "width": 1, "height": 1,
                                             "is_animated": False, "is_video": False, "type": "regular"},
                                 "reply_to_message": {"message_id": 10, "date": 1700000004, "chat": {"id": 7, "type": "private"},
                                                      "location": {"latitude": 51.3, "longitude": 12.4}}}},
    {"update_id": 8, "message": {"message_id": 12, "date": 1700000006, "chat": {"id": 7, "type": "private"},
                                 "contact": {"phone_number": "+49", "first_name": "B"}, "dice": {"emoji": "🎲", "value": 3}}},
]

SCRIPT = """
import json, sys
lazy = sys.argv[1] == "lazy"
if lazy:
    import bot.transport_aiogram as transport
    from bot import aiogram_models
    assert aiogram_models.import_aiogram() is True
from aiogram.methods import SendMessage, EditMessageText
from aiogram.types import Update, Poll, InlineKeyboardMarkup, InlineKeyboardButton
state = {}
if lazy:
    from aiogram.types import Sticker, ChatMemberUpdated
    state["transport_models_built"] = all(m.__pydantic_complete__ for m in (Update, SendMessage, EditMessageText))
    state["others_deferred"] = not Poll.__pydantic_complete__ and not ChatMemberUpdated.__pydantic_complete__
updates = json.loads(sys.stdin.read())
out = [Update.model_validate(u).model_dump(mode="json", exclude_none=True) for u in updates]
markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="✅ Fertig", callback_data="dis|ok|1|A")]])
out.append(SendMessage(chat_id=7, text="Hallo", reply_markup=markup).model_dump(exclude_none=True))
out.append(EditMessageText(chat_id=7, message_id=5, text="x").model_dump(exclude_none=True))
print(json.dumps({"out": out, "state": state}, default=repr))
"""


def run(mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], input=json.dumps(UPDATES), capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_deferred_models_read_and_write_exactly_like_eager_aiogram() -> None:
    lazy, eager = run("lazy"), run("eager")
    assert lazy["state"] == {"transport_models_built": True, "others_deferred": True}
    assert lazy["out"] == eager["out"]
    assert lazy["out"][5]["message"]["venue"]["title"] == "Werkstatt"
