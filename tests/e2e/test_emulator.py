"""The local Bot API emulator: raw HTTP behaviour (errors, limits, polling, webhook,
control API) and the real aiogram and python-telegram-bot clients against it."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
import subprocess
import sys
import urllib.request

import aiohttp
import pytest
from aiohttp import web

from emulator import BotAPIEmulator, SentMessage, parse_text
from emulator.formatting import EntityParseError
from emulator.media import sample_png

TOKEN = "123456:TEST-emulator-token"
UID = 1001


@pytest.fixture
async def emu():
    async with BotAPIEmulator(token=TOKEN) as e:
        e.add_user(UID, "Anna", username="anna", language_code="de")
        yield e
        assert not e.internal_errors


@pytest.fixture
async def http():
    async with aiohttp.ClientSession() as s:
        yield s


async def call(http: aiohttp.ClientSession, emu: BotAPIEmulator, method: str, token: str = TOKEN,
               **params) -> tuple[int, dict]:
    async with http.post(f"{emu.base_url}/bot{token}/{method}", json=params) as r:
        return r.status, await r.json()


def inline(*rows: list[tuple[str, str]]) -> dict:
    return {"inline_keyboard": [[{"text": t, "callback_data": d} for t, d in row] for row in rows]}


# ============================================================================ raw HTTP: errors and limits


async def test_token_and_unknown_method(emu, http):
    status, body = await call(http, emu, "getMe", token="999:wrong")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await call(http, emu, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await call(http, emu, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["id"] == 123456 and body["result"]["is_bot"] is True
    assert body["result"]["username"] == "crosslab_test_bot"


async def test_any_token_when_none_configured(http):
    async with BotAPIEmulator() as emu:
        status, body = await call(http, emu, "getMe", token="42:whatever")
        assert status == 200 and body["result"]["id"] == 42


async def test_params_as_query_form_json_and_multipart(emu, http):
    url = f"{emu.base_url}/bot{TOKEN}/sendMessage"
    async with http.get(url, params={"chat_id": str(UID), "text": "query"}) as r:
        assert (await r.json())["result"]["text"] == "query"
    async with http.post(url, data={"chat_id": str(UID), "text": "form",
                                    "reply_markup": json.dumps(inline([("A", "a")]))}) as r:
        assert (await r.json())["result"]["reply_markup"] == inline([("A", "a")])
    form = aiohttp.FormData()
    form.add_field("chat_id", str(UID))
    form.add_field("text", "multipart")
    async with http.post(url, data=form()) as r:
        assert (await r.json())["result"]["text"] == "multipart"
    async with http.post(url, json={"chat_id": UID, "text": "json"}) as r:
        result = (await r.json())["result"]
    assert result["text"] == "json" and result["from"]["is_bot"] is True and result["chat"]["id"] == UID
    assert [m.text for m in emu.sent(UID)] == ["query", "form", "multipart", "json"]
    assert [m.message_id for m in emu.sent(UID)] == [1, 2, 3, 4]


async def test_send_message_errors(emu, http):
    async def err(**params):
        status, body = await call(http, emu, "sendMessage", **params)
        assert body["ok"] is False and status == body["error_code"]
        return body["description"]

    assert await err(chat_id=UID, text="x" * 4097) == "Bad Request: message is too long"
    assert await err(chat_id=UID, text="") == "Bad Request: message text is empty"
    assert await err(chat_id=UID, text="   ") == "Bad Request: message text is empty"
    assert await err(chat_id=424242, text="hi") == "Bad Request: chat not found"
    assert await err(text="hi") == "Bad Request: chat_id is empty"
    assert await err(chat_id=UID, text="hi", reply_markup=inline([("A", "x" * 65)])) == "Bad Request: BUTTON_DATA_INVALID"
    # 64 bytes, not characters: 22 × "ü" (2 bytes) = 44 bytes is fine, 33 × "ü" = 66 bytes is not
    assert await err(chat_id=UID, text="hi", reply_markup=inline([("A", "ü" * 33)])) == "Bad Request: BUTTON_DATA_INVALID"
    assert (await err(chat_id=UID, text="a < b", parse_mode="HTML")).startswith("Bad Request: can't parse entities:")
    assert "Unsupported start tag \"br\"" in await err(chat_id=UID, text="a<br>b", parse_mode="HTML")
    assert "reserved" in await err(chat_id=UID, text="Ende.", parse_mode="MarkdownV2")
    assert await err(chat_id=UID, text="hi", reply_to_message_id=99) == "Bad Request: message to be replied not found"
    # limits are inclusive, after entity parsing
    status, body = await call(http, emu, "sendMessage", chat_id=UID, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    assert status == 200 and body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4096}]
    status, _ = await call(http, emu, "sendMessage", chat_id=UID, text="hi", reply_markup=inline([("A", "ü" * 32)]))
    assert status == 200
    status, _ = await call(http, emu, "sendMessage", chat_id=UID, text="hi",
                           reply_markup={"keyboard": [[{"text": "Ja"}, "Nein"]], "resize_keyboard": True})
    assert status == 200 and emu.current_keyboard(UID) == [["Ja", "Nein"]]
    status, _ = await call(http, emu, "sendMessage", chat_id=UID, text="weg", reply_markup={"remove_keyboard": True})
    assert status == 200 and emu.current_keyboard(UID) == []


async def test_blocked_unstarted_and_injected_failures(emu, http):
    update = emu.block_bot(UID)
    assert update["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    status, body = await call(http, emu, "sendMessage", chat_id=UID, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    emu.block_bot(UID, False)
    assert (await call(http, emu, "sendMessage", chat_id=UID, text="hi"))[0] == 200

    emu.add_user(2002, "Ben", started=False)
    status, body = await call(http, emu, "sendMessage", chat_id=2002, text="hi")
    assert (status, body["description"]) == (403, "Forbidden: bot can't initiate conversation with a user")

    emu.fail_next("sendMessage", 429, retry_after=7)
    status, body = await call(http, emu, "sendMessage", chat_id=UID, text="hi")
    assert status == 429 and body == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 7",
                                      "parameters": {"retry_after": 7}}
    assert (await call(http, emu, "sendMessage", chat_id=UID, text="hi"))[0] == 200  # only the next call fails
    emu.fail_next("*", 502, "Bad Gateway")
    assert (await call(http, emu, "getMe"))[0] == 502


async def test_edit_delete_and_callback_answers(emu, http):
    _, body = await call(http, emu, "sendMessage", chat_id=UID, text="Frage?", reply_markup=inline([("Ja", "yes")]))
    mid = body["result"]["message_id"]
    status, body = await call(http, emu, "editMessageText", chat_id=UID, message_id=mid, text="Frage?",
                              reply_markup=inline([("Ja", "yes")]))
    assert status == 400 and body["description"].startswith("Bad Request: message is not modified")
    # editing the text without reply_markup removes the inline keyboard, like Telegram
    status, body = await call(http, emu, "editMessageText", chat_id=UID, message_id=mid, text="<i>Danke</i>",
                              parse_mode="HTML")
    assert status == 200 and "reply_markup" not in body["result"] and body["result"]["edit_date"]
    msg = emu.message(UID, mid)
    assert msg.text == "Danke" and msg.source_text == "<i>Danke</i>" and msg.buttons == []
    assert [e["text"] for e in msg.edits] == ["Danke"] and msg.edits[0]["old_text"] == "Frage?"
    status, body = await call(http, emu, "editMessageReplyMarkup", chat_id=UID, message_id=mid,
                              reply_markup=inline([("Nochmal", "again")]))
    assert status == 200 and msg.buttons == [[("Nochmal", "again")]]
    assert (await call(http, emu, "editMessageText", chat_id=UID, message_id=999, text="x"))[1]["description"] == \
        "Bad Request: message to edit not found"
    user_msg = emu.send_text(UID, "hallo")["message"]["message_id"]
    assert (await call(http, emu, "editMessageText", chat_id=UID, message_id=user_msg, text="x"))[1]["description"] == \
        "Bad Request: message can't be edited"

    update = emu.press_button(UID, mid, "forged-data")  # not validated against the keyboard
    query = update["callback_query"]
    assert query["data"] == "forged-data" and query["message"]["message_id"] == mid
    assert query["from"]["id"] == UID and query["chat_instance"]
    status, _ = await call(http, emu, "answerCallbackQuery", callback_query_id=query["id"], text="Gespeichert",
                           show_alert=True)
    assert status == 200
    assert emu.callback_answers[-1]["text"] == "Gespeichert" and emu.callback_answers[-1]["show_alert"] is True
    status, body = await call(http, emu, "answerCallbackQuery", callback_query_id=query["id"])
    assert status == 400 and "query is too old" in body["description"]
    with pytest.raises(ValueError):
        emu.press_button(UID, user_msg, "x")  # not a bot message

    assert (await call(http, emu, "deleteMessage", chat_id=UID, message_id=mid))[0] == 200
    assert msg.deleted
    status, body = await call(http, emu, "deleteMessage", chat_id=UID, message_id=mid)
    assert body["description"] == "Bad Request: message to delete not found"
    assert "Danke" in emu.transcript(UID) and "deleted #1" in emu.transcript(UID)


async def test_files_upload_get_file_download_and_photo(emu, http):
    form = aiohttp.FormData()
    form.add_field("chat_id", str(UID))
    form.add_field("caption", "Bericht")
    form.add_field("reply_markup", json.dumps(inline([("OK", "ok")])))
    form.add_field("document", b"a;b\n1;2\n", filename="report.csv", content_type="application/octet-stream")
    async with http.post(f"{emu.base_url}/bot{TOKEN}/sendDocument", data=form) as r:
        doc = (await r.json())["result"]
    assert doc["document"]["file_name"] == "report.csv" and doc["document"]["mime_type"] == "text/csv"
    assert doc["caption"] == "Bericht" and doc["reply_markup"] == inline([("OK", "ok")])
    sent = emu.last(UID)
    assert sent.document is not None
    name, data, mime = sent.document
    assert (name, data, mime) == ("report.csv", b"a;b\n1;2\n", "text/csv")
    assert sent.text == "Bericht" and sent.kind == "document"

    _, body = await call(http, emu, "getFile", file_id=doc["document"]["file_id"])
    path = body["result"]["file_path"]
    async with http.get(f"{emu.base_url}/file/bot{TOKEN}/{path}") as r:
        assert r.status == 200 and await r.read() == b"a;b\n1;2\n"
    assert (await call(http, emu, "getFile", file_id="nope"))[1]["description"] == "Bad Request: invalid file_id"
    # re-send by file_id
    status, body = await call(http, emu, "sendDocument", chat_id=UID, document=doc["document"]["file_id"])
    assert status == 200 and body["result"]["document"]["file_unique_id"] == doc["document"]["file_unique_id"]
    status, body = await call(http, emu, "sendDocument", chat_id=UID, document="not-a-file-id")
    assert body["description"] == "Bad Request: wrong file identifier/HTTP URL specified"

    form = aiohttp.FormData()
    form.add_field("chat_id", str(UID))
    form.add_field("photo", sample_png(1600, 900), filename="p.png")
    async with http.post(f"{emu.base_url}/bot{TOKEN}/sendPhoto", data=form) as r:
        sizes = (await r.json())["result"]["photo"]
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (1280, 720) and sizes[0]["width"] == 90
    form = aiohttp.FormData()
    form.add_field("chat_id", str(UID))
    form.add_field("photo", b"%PDF-1.4 not an image", filename="x.jpg")
    async with http.post(f"{emu.base_url}/bot{TOKEN}/sendPhoto", data=form) as r:
        assert (await r.json())["description"] == "Bad Request: IMAGE_PROCESS_FAILED"


async def test_commands_menu_chat_and_misc(emu, http):
    cmds = [{"command": "start", "description": "Starten"}, {"command": "help", "description": "Hilfe"}]
    assert (await call(http, emu, "setMyCommands", commands=cmds, language_code="de"))[0] == 200
    assert (await call(http, emu, "setMyCommands", commands=cmds[:1]))[0] == 200
    assert (await call(http, emu, "setMyCommands", commands=cmds[:1],
                       scope={"type": "chat", "chat_id": UID}))[0] == 200
    assert emu.commands[("default", "de")] == cmds and emu.commands[("default", "")] == cmds[:1]
    assert ("chat:1001", "") in emu.commands
    assert (await call(http, emu, "getMyCommands", language_code="de"))[1]["result"] == cmds
    assert (await call(http, emu, "getMyCommands", language_code="fr"))[1]["result"] == []
    status, body = await call(http, emu, "setMyCommands", commands=[{"command": "Start", "description": "x"}])
    assert body["description"] == "Bad Request: BOT_COMMAND_INVALID"
    assert (await call(http, emu, "deleteMyCommands", scope={"type": "chat", "chat_id": UID}))[0] == 200
    assert emu.visible_commands(UID) == cmds  # Anna speaks German

    assert (await call(http, emu, "setChatMenuButton", menu_button={"type": "commands"}))[0] == 200
    assert (await call(http, emu, "getChatMenuButton", chat_id=UID))[1]["result"] == {"type": "commands"}
    assert (await call(http, emu, "sendChatAction", chat_id=UID, action="typing"))[0] == 200
    assert (await call(http, emu, "sendChatAction", chat_id=UID, action="dancing"))[0] == 400
    assert emu.chat_actions == [(UID, "typing")]
    async with http.get(f"{emu.base_url}/_emulator/chat_actions", params={"chat_id": UID}) as r:
        assert (await r.json())["result"] == [[UID, "typing"]]
    chat = (await call(http, emu, "getChat", chat_id=UID))[1]["result"]
    assert chat["type"] == "private" and chat["username"] == "anna"
    assert (await call(http, emu, "logOut"))[1] == {"ok": True, "result": True}
    assert (await call(http, emu, "close"))[1] == {"ok": True, "result": True}

    src = emu.send_text(UID, "weiterleiten")["message"]["message_id"]
    _, body = await call(http, emu, "copyMessage", chat_id=UID, from_chat_id=UID, message_id=src)
    assert emu.message(UID, body["result"]["message_id"]).text == "weiterleiten"
    _, body = await call(http, emu, "forwardMessage", chat_id=UID, from_chat_id=UID, message_id=src)
    assert body["result"]["forward_origin"]["sender_user"]["id"] == UID
    assert [m for m, _ in emu.requests][-2:] == ["copyMessage", "forwardMessage"]


async def test_flood_limits_opt_in(http):
    from emulator import FloodLimits

    async with BotAPIEmulator(flood_limits=FloodLimits(private_burst=2, private_per_second=1)) as emu:
        emu.add_user(1, "A")
        emu.add_user(2, "B")
        assert (await call(http, emu, "sendMessage", chat_id=1, text="1"))[0] == 200
        assert (await call(http, emu, "sendMessage", chat_id=1, text="2"))[0] == 200
        status, body = await call(http, emu, "sendMessage", chat_id=1, text="3")
        assert status == 429 and body["parameters"]["retry_after"] >= 1
        assert (await call(http, emu, "sendMessage", chat_id=2, text="other chat"))[0] == 200
        assert (await call(http, emu, "sendChatAction", chat_id=1, action="typing"))[0] == 200  # not a send


# ============================================================================ raw HTTP: getUpdates


async def test_get_updates_offset_limit_long_poll_and_conflict(emu, http):
    u1 = emu.send_text(UID, "/start ref_42")
    assert u1["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    u2 = emu.send_text(UID, "/help@crosslab_test_bot")
    assert u2["message"]["entities"][0]["length"] == len("/help@crosslab_test_bot")
    _, body = await call(http, emu, "getUpdates", limit=1)
    assert [u["update_id"] for u in body["result"]] == [u1["update_id"]]
    _, body = await call(http, emu, "getUpdates")  # unconfirmed updates come again
    assert [u["update_id"] for u in body["result"]] == [u1["update_id"], u2["update_id"]]
    _, body = await call(http, emu, "getUpdates", offset=u2["update_id"] + 1, timeout=0)
    assert body["result"] == []

    # long poll: returns as soon as an update arrives
    poll = asyncio.create_task(call(http, emu, "getUpdates", offset=u2["update_id"] + 1, timeout=5))
    await asyncio.sleep(0.1)
    assert not poll.done()
    u3 = emu.send_text(UID, "hallo")
    _, body = await asyncio.wait_for(poll, 2)
    assert [u["update_id"] for u in body["result"]] == [u3["update_id"]]

    # a second concurrent getUpdates terminates the first with 409, like Telegram
    first = asyncio.create_task(call(http, emu, "getUpdates", offset=u3["update_id"] + 1, timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(call(http, emu, "getUpdates", offset=u3["update_id"] + 1, timeout=0.2))
    status, body = await asyncio.wait_for(first, 2)
    assert status == 409 and body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert (await second)[1]["result"] == []

    # allowed_updates: callback queries are dropped for a bot that only wants messages
    emu.press_button(UID, (await call(http, emu, "sendMessage", chat_id=UID, text="?",
                                      reply_markup=inline([("A", "a")])))[1]["result"]["message_id"], "a")
    _, body = await call(http, emu, "getUpdates", offset=u3["update_id"] + 1, allowed_updates=["message"])
    assert body["result"] == [] and emu.pending_updates == []


async def test_redeliver_duplicates_and_negative_offset(emu, http):
    u1 = emu.send_text(UID, "eins")
    _, body = await call(http, emu, "getUpdates", offset=0)
    _, body = await call(http, emu, "getUpdates", offset=u1["update_id"] + 1)
    assert body["result"] == []
    emu.redeliver(u1["update_id"])  # although confirmed, the same update_id comes again
    _, body = await call(http, emu, "getUpdates", offset=u1["update_id"] + 1)
    assert body["result"] == [u1]
    _, body = await call(http, emu, "getUpdates", offset=u1["update_id"] + 1)
    assert body["result"] == []
    for text in ("a", "b", "c"):
        emu.send_text(UID, text)
    _, body = await call(http, emu, "getUpdates", offset=-1)
    assert [u["message"]["text"] for u in body["result"]] == ["c"]
    with pytest.raises(KeyError):
        emu.redeliver(12345)


# ============================================================================ webhook


async def test_webhook_delivery_secret_reply_method_and_409(emu, http):
    received: list[tuple[dict, str | None]] = []
    fail_first = [True]

    async def hook(request: web.Request) -> web.Response:
        update = await request.json()
        received.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        if fail_first[0]:
            fail_first[0] = False
            return web.Response(status=500)
        # answer with a method in the response body, which Telegram executes
        return web.json_response({"method": "sendMessage", "chat_id": update["message"]["chat"]["id"],
                                  "text": "per webhook"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    emu.webhook_retry_delay = 0.05
    try:
        status, _ = await call(http, emu, "setWebhook", url=f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t")
        assert status == 200
        status, body = await call(http, emu, "getUpdates")
        assert status == 409 and "webhook is active" in body["description"]
        emu.send_text(UID, "hallo")
        await emu.wait_for(UID, 1, timeout=5)
        assert emu.last(UID).text == "per webhook"
        assert len(received) == 2 and received[0] == received[1]  # retried after the 500
        assert received[0][1] == "s3cr3t"
        info = (await call(http, emu, "getWebhookInfo"))[1]["result"]
        assert info["url"].endswith("/hook") and info["pending_update_count"] == 0
        assert info["last_error_message"] == "Wrong response from the webhook: 500 Internal Server Error"
        assert (await call(http, emu, "deleteWebhook"))[0] == 200
        assert (await call(http, emu, "getUpdates"))[0] == 200
    finally:
        await runner.cleanup()


async def test_webhook_delivers_up_to_max_connections_at_once_one_per_chat(emu, http):
    """Like Telegram: several requests at once (max_connections), but a chat's
    next update only after its previous one was confirmed."""
    inside: list[int] = []  # chats being delivered now
    most = 0
    order: list[tuple[int, str]] = []
    gate = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        nonlocal most
        update = await request.json()
        chat = update["message"]["chat"]["id"]
        assert chat not in inside  # never two of one chat at once
        inside.append(chat)
        most = max(most, len(inside))
        order.append((chat, update["message"]["text"]))
        await gate.wait()
        inside.remove(chat)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        for uid in (2001, 2002, 2003):
            emu.add_user(uid, f"U{uid}")
        status, _ = await call(http, emu, "setWebhook", url=f"http://127.0.0.1:{port}/hook", max_connections=2)
        assert status == 200
        for n in (1, 2):
            for uid in (2001, 2002, 2003):
                emu.send_text(uid, f"m{n}")
        await emu.wait_until(lambda: len(inside) == 2, 5, "two deliveries in flight")
        await asyncio.sleep(0.2)
        assert sorted(inside) == [2001, 2002]  # the limit, in update_id order
        gate.set()
        await emu.wait_idle(timeout=5)
        assert most == 2 and len(order) == 6 and emu.pending_updates == []
        for uid in (2001, 2002, 2003):
            assert [text for chat, text in order if chat == uid] == ["m1", "m2"]
    finally:
        await runner.cleanup()


# ============================================================================ control API, standalone


async def test_control_api(emu, http):
    base = f"{emu.base_url}/_emulator"
    async with http.get(base) as r:
        assert "send_text" in json.dumps(await r.json())
    async with http.post(f"{base}/add_user", json={"user_id": 7, "first_name": "Curl", "language_code": "en"}) as r:
        assert (await r.json())["result"]["first_name"] == "Curl"
    async with http.post(f"{base}/send_text", json={"user_id": 7, "text": "/start"}) as r:
        update = (await r.json())["result"]
    assert update["message"]["text"] == "/start"
    async with http.post(f"{base}/send_document", json={"user_id": 7, "file_name": "a.txt",
                                                        "content_base64": base64.b64encode(b"hi").decode()}) as r:
        file_id = (await r.json())["result"]["message"]["document"]["file_id"]
    assert emu.file(file_id).data == b"hi"
    await call(http, emu, "sendMessage", chat_id=7, text="Hello", reply_markup=inline([("Go", "go")]))
    async with http.get(f"{base}/sent", params={"chat_id": "7"}) as r:
        sent = (await r.json())["result"]
    assert sent[0]["text"] == "Hello" and sent[0]["buttons"] == [[["Go", "go"]]]
    async with http.post(f"{base}/click", json={"user_id": 7, "message_id": sent[0]["message_id"],
                                                "label": "Go"}) as r:
        assert (await r.json())["result"]["callback_query"]["data"] == "go"
    async with http.post(f"{base}/press_button", json={"user_id": 7, "message_id": 999, "callback_data": "x"}) as r:
        assert r.status == 400
    async with http.get(f"{base}/transcript", params={"chat_id": "7"}) as r:
        text = await r.text()
    assert "Curl: /start" in text and "bot → #3: Hello" in text and "[Go]" in text
    async with http.post(f"{base}/nonsense", json={}) as r:
        assert r.status == 404
    async with http.post(f"{base}/send_text", json={"user_id": 7}) as r:
        assert r.status == 400  # missing text


async def test_control_api_wait_returns_replies(emu, http):
    async def echo_bot() -> None:
        offset = None
        while True:
            _, body = await call(http, emu, "getUpdates", offset=offset, timeout=1)
            for u in body["result"]:
                offset = u["update_id"] + 1
                if "message" in u:
                    await call(http, emu, "sendMessage", chat_id=u["message"]["chat"]["id"],
                               text="echo: " + u["message"]["text"])

    task = asyncio.create_task(echo_bot())
    try:
        async with http.post(f"{emu.base_url}/_emulator/send_text",
                             json={"user_id": UID, "text": "ping", "wait": 5}) as r:
            result = (await r.json())["result"]
        assert [m["text"] for m in result["replies"]] == ["echo: ping"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_thread_mode_for_synchronous_code():
    emu = BotAPIEmulator().start_in_thread()
    try:
        emu.add_user(5, "Sync")  # marshalled onto the emulator's loop
        body = json.dumps({"chat_id": 5, "text": "sync"}).encode()
        req = urllib.request.Request(f"{emu.base_url}/bot1:x/sendMessage", body,
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert json.load(r)["result"]["text"] == "sync"
        emu.run_sync(emu.wait_idle(timeout=2, quiet=0.01))
        assert emu.last(5).text == "sync"
    finally:
        emu.stop_thread()


def test_standalone_cli_prints_url_and_serves():
    proc = subprocess.Popen([sys.executable, "-c", "from emulator import serve_forever; serve_forever('127.0.0.1', 0)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.strip().rsplit(" ", 1)[1]
        assert "Usage:" in proc.stdout.readline()
        with urllib.request.urlopen(f"{url}/bot1:x/getMe", timeout=5) as r:
            assert json.load(r)["ok"] is True
    finally:
        proc.terminate()
        proc.wait(5)
    assert proc.returncode == 0


# ============================================================================ formatting


@pytest.mark.parametrize("text,mode,plain,types", [
    ("<b>fett</b> &amp; <a href='https://x.de'>Link</a>", "HTML", "fett & Link", ["bold", "text_link"]),
    ("<pre><code class=\"language-python\">x = 1</code></pre>", "HTML", "x = 1", ["pre"]),
    ("😀 <i>kursiv</i>", "HTML", "😀 kursiv", ["italic"]),
    ("*fett* _kursiv_ \\. [L](https://x.de)", "MarkdownV2", "fett kursiv . L", ["bold", "italic", "text_link"]),
    ("*fett* `code`", "Markdown", "fett code", ["bold", "code"]),
    ("a < b", None, "a < b", []),
])
def test_parse_modes(text, mode, plain, types):
    out, entities = parse_text(text, mode)
    assert out == plain and [e["type"] for e in entities] == types


def test_entity_offsets_are_utf16():
    _, entities = parse_text("😀 <i>x</i>", "HTML")
    assert entities == [{"type": "italic", "offset": 3, "length": 1}]


@pytest.mark.parametrize("text,mode", [("<b>x", "HTML"), ("<b>x</i>", "HTML"), ("<div>x</div>", "HTML"),
                                       ("<span>x</span>", "HTML"), ("1+1=2", "MarkdownV2"), ("*x", "Markdown")])
def test_parse_errors(text, mode):
    with pytest.raises(EntityParseError):
        parse_text(text, mode)


# ============================================================================ aiogram and PTB clients


def _aiogram_bot(emu: BotAPIEmulator):
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))


def _ptb_builder(emu: BotAPIEmulator):
    from telegram.ext import ApplicationBuilder

    return ApplicationBuilder().token(TOKEN).base_url(f"{emu.base_url}/bot").base_file_url(f"{emu.base_url}/file/bot")


async def test_aiogram_bot_methods(emu):
    from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
    from aiogram.types import (BotCommand, BotCommandScopeAllPrivateChats, BufferedInputFile,
                               InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonCommands)

    bot = _aiogram_bot(emu)
    try:
        me = await bot.get_me()
        assert (me.id, me.username) == (123456, "crosslab_test_bot")
        kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Ja", callback_data="yes"),
                                                    InlineKeyboardButton(text="Web", url="https://example.org")]])
        msg = await bot.send_message(UID, "<b>Hallo</b> Anna", parse_mode="HTML", reply_markup=kb)
        assert msg.text == "Hallo Anna" and msg.entities[0].type == "bold"
        assert msg.reply_markup.model_dump() == kb.model_dump()
        assert emu.last(UID).buttons == [[("Ja", "yes"), ("Web", "https://example.org")]]
        edited = await bot.edit_message_text("Neu", chat_id=UID, message_id=msg.message_id, reply_markup=kb)
        assert edited.text == "Neu" and edited.edit_date
        with pytest.raises(TelegramBadRequest, match="message is not modified"):
            await bot.edit_message_text("Neu", chat_id=UID, message_id=msg.message_id, reply_markup=kb)

        sent = await bot.send_document(UID, BufferedInputFile(b"%PDF-1.4 aiogram", "plan.pdf"), caption="Plan")
        assert sent.document.file_name == "plan.pdf" and sent.document.mime_type == "application/pdf"
        file = await bot.get_file(sent.document.file_id)
        assert (await bot.download_file(file.file_path)).read() == b"%PDF-1.4 aiogram"
        photo = await bot.send_photo(UID, BufferedInputFile(sample_png(), "p.png"))
        assert photo.photo[-1].width == 64 and emu.last(UID).photo is not None

        await bot.set_my_commands([BotCommand(command="start", description="Starten")], language_code="de")
        await bot.set_my_commands([BotCommand(command="start", description="Start")],
                                  scope=BotCommandScopeAllPrivateChats(), language_code="en")
        assert emu.commands[("default", "de")][0]["description"] == "Starten"
        assert emu.commands[("all_private_chats", "en")][0]["description"] == "Start"
        assert (await bot.get_my_commands(language_code="de"))[0].command == "start"
        assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        assert (await bot.get_chat(UID)).username == "anna"

        emu.block_bot(UID, notify=False)
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(UID, "x")
        emu.block_bot(UID, False, notify=False)
        emu.fail_next("sendMessage", 429, retry_after=3)
        with pytest.raises(TelegramRetryAfter) as exc:
            await bot.send_message(UID, "x")
        assert exc.value.retry_after == 3
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await bot.send_message(777, "x")
    finally:
        await bot.session.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_ptb_bot_methods(emu):
    from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonCommands
    from telegram.error import BadRequest, Forbidden, RetryAfter

    app = _ptb_builder(emu).build()
    async with app.bot as bot:  # initialize() calls getMe
        assert bot.username == "crosslab_test_bot" and bot.id == 123456
        kb = InlineKeyboardMarkup([[InlineKeyboardButton("Ja", callback_data="yes")]])
        msg = await bot.send_message(UID, "*Hallo*", parse_mode="MarkdownV2", reply_markup=kb)
        assert msg.text == "Hallo" and msg.reply_markup == kb
        edited = await bot.edit_message_text("Neu", chat_id=UID, message_id=msg.message_id, reply_markup=kb)
        assert edited.text == "Neu" and edited.edit_date is not None
        await bot.edit_message_reply_markup(UID, msg.message_id, reply_markup=None)
        assert emu.message(UID, msg.message_id).buttons == []

        sent = await bot.send_document(UID, document=b"a,b\n1,2\n", filename="liste.csv", caption="Liste")
        assert sent.document.file_name == "liste.csv" and sent.caption == "Liste"
        assert emu.last(UID).document.data == b"a,b\n1,2\n"
        file = await bot.get_file(sent.document.file_id)
        assert bytes(await file.download_as_bytearray()) == b"a,b\n1,2\n"

        await bot.set_my_commands([BotCommand("hilfe", "Hilfe anzeigen")], language_code="de")
        await bot.set_my_commands([BotCommand("help", "Show help")], scope=BotCommandScopeChat(UID), language_code="en")
        assert emu.commands[("default", "de")] == [{"command": "hilfe", "description": "Hilfe anzeigen"}]
        assert emu.visible_commands(UID, "en") == [{"command": "help", "description": "Show help"}]
        assert (await bot.get_my_commands(language_code="de"))[0].command == "hilfe"
        assert await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        assert (await bot.get_chat(UID)).username == "anna"

        emu.block_bot(UID, notify=False)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(UID, "x")
        emu.block_bot(UID, False, notify=False)
        emu.fail_next("sendMessage", 429, retry_after=2)
        with pytest.raises(RetryAfter):
            await bot.send_message(UID, "x")
        with pytest.raises(BadRequest, match="[Mm]essage is too long"):
            await bot.send_message(UID, "x" * 5000)


def _only_current_task() -> list[asyncio.Task]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]


async def test_aiogram_polling_round_trip_and_duplicates(caplog):
    from aiogram import Dispatcher, F
    from aiogram.filters import CommandStart, CommandObject
    from aiogram.types import CallbackQuery, Message

    caplog.set_level(logging.WARNING)
    async with BotAPIEmulator(token=TOKEN) as emu:
        emu.add_user(UID, "Anna")
        bot = _aiogram_bot(emu)
        dp = Dispatcher()

        @dp.message(CommandStart())
        async def start(message: Message, command: CommandObject) -> None:
            await message.answer(f"start:{command.args}")

        @dp.message(F.text)
        async def echo(message: Message) -> None:
            await message.answer(message.text)

        @dp.callback_query()
        async def pressed(query: CallbackQuery) -> None:
            await query.answer("ok")
            await query.message.edit_text(f"pressed {query.data}")

        task = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False))
        update = emu.send_text(UID, "hallo")
        assert [m.text for m in await emu.wait_for(UID, 1, timeout=5)] == ["hallo"]
        emu.redeliver(update["update_id"])
        assert [m.text for m in await emu.wait_for(UID, 1, since=1, timeout=5)] == ["hallo"]

        replies = await emu.say(UID, "/start ref_7")
        assert [m.text for m in replies] == ["start:ref_7"]
        replies = await emu.say(UID, "frage")
        emu.press_button(UID, replies[0].message_id, "yes")
        edited = await emu.wait_for_edit(UID, replies[0].message_id, timeout=5)
        assert edited.text == "pressed yes" and emu.callback_answers[-1]["text"] == "ok"

        await dp.stop_polling()
        await asyncio.wait_for(task, 5)
        requests = [m for m, _ in emu.requests]
        assert requests[0] == "getMe" and "deleteWebhook" not in requests  # aiogram does not delete webhooks
        assert emu.calls("getUpdates")[0]["timeout"] == "1"
    assert _only_current_task() == []
    assert not [r for r in caplog.records if "Failed to fetch updates" in r.getMessage()]


async def test_ptb_polling_round_trip_and_duplicates(caplog):
    from telegram import Update
    from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

    caplog.set_level(logging.WARNING)
    async with BotAPIEmulator(token=TOKEN) as emu:
        emu.add_user(UID, "Anna")
        app = _ptb_builder(emu).build()

        async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text(f"start:{' '.join(context.args)}")

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.message.reply_text(update.message.text)

        async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.callback_query.answer("ok")
            await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")

        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(CallbackQueryHandler(pressed))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(timeout=1, poll_interval=0)
        try:
            update = emu.send_text(UID, "hallo")
            assert [m.text for m in await emu.wait_for(UID, 1, timeout=5)] == ["hallo"]
            emu.redeliver(update["update_id"])
            assert [m.text for m in await emu.wait_for(UID, 1, since=1, timeout=5)] == ["hallo"]
            assert [m.text for m in await emu.say(UID, "/start@crosslab_test_bot ref_7")] == ["start:ref_7"]
            msg = (await emu.say(UID, "frage"))[0]
            emu.press_button(UID, msg.message_id, "yes")
            assert (await emu.wait_for_edit(UID, msg.message_id, timeout=5)).text == "pressed yes"
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        requests = [m for m, _ in emu.requests]
        assert requests[:2] == ["getMe", "deleteWebhook"]  # PTB's polling bootstrap deletes the webhook
        assert emu.pending_updates == []
    assert _only_current_task() == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_every_injected_update_parses_in_both_frameworks(emu, http):
    from aiogram.types import Update as AiogramUpdate
    from telegram import Bot as PtbBot, Update as PtbUpdate

    emu.add_group(-100123, "Kohorte")
    _, body = await call(http, emu, "sendMessage", chat_id=UID, text="?", reply_markup=inline([("A", "a")]))
    updates = [
        emu.send_text(UID, "/start ref_1"),
        emu.send_text(UID, "hallo Gruppe", chat_id=-100123),
        emu.send_sticker(UID),
        emu.send_photo(UID, caption="Werkstatt"),
        emu.send_voice(UID),
        emu.send_video(UID),
        emu.send_document(UID, b"%PDF-1.4", "cv.pdf"),
        emu.send_location(UID),
        emu.send_contact(UID),
        emu.press_button(UID, body["result"]["message_id"], "a"),
        emu.edit_text(UID, 2, "/start ref_2"),
        emu.block_bot(UID),
        emu.send_text(UID, "wieder da"),  # unblocks first, like "Restart"
    ]
    assert [next(k for k in u if k != "update_id") for u in emu.updates()][-3:] == \
        ["my_chat_member", "my_chat_member", "message"]
    ptb_bot = PtbBot(TOKEN)
    for update in updates:
        parsed = AiogramUpdate.model_validate(update)
        assert parsed.update_id == update["update_id"] and parsed.event_type != "unknown"
        assert PtbUpdate.de_json(update, ptb_bot).effective_user.id == UID
    photo = updates[3]["message"]["photo"]
    assert len(photo) >= 1 and len({p["file_id"] for p in photo}) == len(photo)
    assert emu.file(photo[-1]["file_id"]).data.startswith(b"\x89PNG")


def test_sent_message_helpers():
    sm = SentMessage(chat_id=1, message_id=2, method="sendMessage", date=0,
                     raw={"message_id": 2, "text": "x"}, text="x",
                     reply_markup={"inline_keyboard": [[{"text": "Ja, gerne", "callback_data": "y"},
                                                        {"text": "Nein", "callback_data": "n"}]]})
    assert sm.callback_data("Nein") == "n" and sm.callback_data("gerne") == "y"
    assert sm.button_texts == ["Ja, gerne", "Nein"] and sm.kind == "text"
    with pytest.raises(KeyError):
        sm.callback_data("Vielleicht")
