"""Photos and files through both transports and the Bot API emulator over real HTTP:
incoming photo/document messages become `Incoming.attachment`, and `OutMessage.media`
is sent on by file_id (photos and documents in separate albums of ≤ 10)."""
from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Callable

import pytest

import bot.transport_aiogram
import bot.transport_ptb
from bot import delivery
from bot.delivery import MediaRejected, Rejected, RetryLater, Unreachable, deliver_message, media_groups
from emulator import BotAPIEmulator
from emulator.media import sample_png
from handlers.types import Attachment, Document, Incoming, OutMessage, Reply
from tests.support.config import TOKEN

FRAMEWORKS = ["aiogram", "ptb"]
USER, COMPANY = 5101, 5102


class StubCore:
    """Stands in for CrosslabCore: records every Incoming, answers with `respond(ev)`."""

    def __init__(self) -> None:
        self.events: list[Incoming] = []
        self.respond: Callable[[Incoming], Reply] = lambda ev: Reply()

    async def handle(self, ev: Incoming) -> Reply:
        self.events.append(ev)
        return self.respond(ev)


class Rig:
    def __init__(self, emu: BotAPIEmulator, core: StubCore) -> None:
        self.emu = emu
        self.core = core
        self.delivered: set[int] = set()

    async def inject(self, update: dict) -> Incoming:
        """Wait until the bot handled the update and delivered its reply."""
        uid = update["update_id"]
        await self.emu.wait_until(lambda: uid in self.delivered, 10, f"update {uid} handled and delivered")
        await self.emu.wait_idle(quiet=0.02)
        return next(ev for ev in self.core.events if ev.update_id == uid)

    async def photo(self, caption: str | None = None, shade: int = 0) -> Attachment:
        ev = await self.inject(self.emu.send_photo(USER, sample_png(80, 60, (shade % 256, 90, 160)), caption=caption))
        assert ev.attachment is not None
        return ev.attachment

    async def document(self, name: str = "notes.pdf", caption: str | None = None) -> Attachment:
        ev = await self.inject(self.emu.send_document(USER, b"%PDF-1.4 " + name.encode(), name, caption=caption))
        assert ev.attachment is not None
        return ev.attachment

    async def reply(self, *messages: OutMessage) -> None:
        """The user writes; the stub core answers with `messages`."""
        self.core.respond = lambda ev: Reply(messages=list(messages)) if ev.kind == "text" else Reply()
        await self.inject(self.emu.send_text(USER, "/abgeben"))

    def company(self) -> list[Any]:
        return [m for m in self.emu.sent(COMPANY) if not m.deleted]


@pytest.fixture(params=FRAMEWORKS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    async with BotAPIEmulator(token=TOKEN) as emu:
        emu.add_user(USER, "Anna", username="anna", language_code="de")
        emu.add_user(COMPANY, "Firma", username="firma", language_code="de")
        core = StubCore()
        r = Rig(emu, core)
        cls = bot.transport_ptb.PTBTransport if request.param == "ptb" else bot.transport_aiogram.AiogramTransport
        transport = cls(TOKEN, emu.base_url)
        transport.bind(core, on_delivered=lambda ev, reply: r.delivered.add(ev.update_id))  # type: ignore[arg-type]
        await transport.start(polling_timeout=1)
        try:
            yield r
        finally:
            await transport.stop()
        assert not emu.internal_errors


# -- incoming ------------------------------------------------------------------


async def test_incoming_photo_and_document(rig: Rig) -> None:
    update = rig.emu.send_photo(USER, sample_png(1600, 1200), caption="Whiteboard nach Runde 2")
    ev = await rig.inject(update)
    largest = max(update["message"]["photo"], key=lambda s: s["width"] * s["height"])
    assert ev.kind == "photo" and ev.text == "Whiteboard nach Runde 2" and ev.command is None
    assert ev.attachment == Attachment(kind="photo", file_id=largest["file_id"], mime_type="image/jpeg")
    assert rig.emu.file(ev.attachment.file_id).width == 1280  # the emulator's largest size

    update = rig.emu.send_document(USER, b"%PDF-1.4 Protokoll", "protokoll.pdf", caption="/notizen Protokoll")
    ev = await rig.inject(update)
    assert ev.kind == "document" and ev.text == "/notizen Protokoll" and ev.command is None
    assert ev.attachment == Attachment(kind="document", file_id=update["message"]["document"]["file_id"],
                                       filename="protokoll.pdf", mime_type="application/pdf")
    assert rig.emu.file(ev.attachment.file_id).data == b"%PDF-1.4 Protokoll"

    ev = await rig.inject(rig.emu.send_photo(USER))  # no caption
    assert ev.kind == "photo" and ev.text == "" and ev.attachment is not None


async def test_other_kinds_unchanged(rig: Rig) -> None:
    ev = await rig.inject(rig.emu.send_text(USER, "hallo"))
    assert (ev.kind, ev.text, ev.attachment) == ("text", "hallo", None)
    ev = await rig.inject(rig.emu.send_sticker(USER))
    assert (ev.kind, ev.text, ev.attachment) == ("sticker", "", None)
    ev = await rig.inject(rig.emu.send_video(USER, caption="Rundgang"))
    assert (ev.kind, ev.text, ev.attachment) == ("video", "", None)
    ev = await rig.inject(rig.emu.send_voice(USER))
    assert (ev.kind, ev.text, ev.attachment) == ("voice", "", None)


# -- outgoing ------------------------------------------------------------------


async def test_handover_text_then_photo_album_then_document(rig: Rig) -> None:
    p1 = await rig.photo("Skizze")
    doc = await rig.document("ergebnis.pdf", "Ergebnis")
    p2 = await rig.photo(shade=200)
    long_caption = "x" * 2000
    await rig.reply(OutMessage(COMPANY, "Ergebnisse von Anna", media=[
        Attachment("photo", p1.file_id, caption="Skizze"),
        Attachment("document", doc.file_id, filename="ergebnis.pdf", caption="Ergebnis"),
        Attachment("photo", p2.file_id, caption=long_caption),
    ]))

    sent = rig.company()
    assert [m.kind for m in sent] == ["text", "photo", "photo", "document"]
    assert sent[0].text == "Ergebnisse von Anna"
    assert [sent[1].photo.file_id, sent[2].photo.file_id] == [p1.file_id, p2.file_id]
    assert sent[1].raw["media_group_id"] == sent[2].raw["media_group_id"]
    assert sent[1].caption == "Skizze" and len(sent[2].caption) == 1024 and sent[2].caption.endswith("…")
    assert sent[3].document.file_id == doc.file_id and sent[3].caption == "Ergebnis"
    assert "media_group_id" not in sent[3].raw
    assert rig.emu.file(doc.file_id).data == b"%PDF-1.4 ergebnis.pdf"
    assert len(rig.emu.calls("sendMediaGroup")) == 1 and len(rig.emu.calls("sendDocument")) == 1


async def test_twelve_photos_two_albums_and_two_documents(rig: Rig) -> None:
    photos = [await rig.photo(shade=i * 20) for i in range(12)]
    docs = [await rig.document(f"datei{i}.txt") for i in range(2)]
    await rig.reply(OutMessage(COMPANY, "", media=[Attachment("photo", p.file_id) for p in photos]
                               + [Attachment("document", d.file_id) for d in docs]))

    sent = rig.company()  # no text: media only
    assert [m.kind for m in sent] == ["photo"] * 12 + ["document"] * 2
    assert [m.photo.file_id for m in sent[:12]] == [p.file_id for p in photos]
    assert [m.document.file_id for m in sent[12:]] == [d.file_id for d in docs]
    groups = [m.raw.get("media_group_id") for m in sent]
    assert len(set(groups[:10])) == 1 and len(set(groups[10:12])) == 1 and len(set(groups[12:])) == 1
    assert len({groups[0], groups[10], groups[12]}) == 3
    assert len(rig.emu.calls("sendMediaGroup")) == 3 and not rig.emu.calls("sendMessage")


async def test_single_photo_and_single_document(rig: Rig) -> None:
    p = await rig.photo()
    d = await rig.document("plan.pdf")
    await rig.reply(OutMessage(COMPANY, "Ein Foto", media=[Attachment("photo", p.file_id, caption="Foto")]),
                    OutMessage(COMPANY, "Eine Datei", media=[Attachment("document", d.file_id)]))

    sent = rig.company()
    assert [(m.method, m.kind) for m in sent] == [("sendMessage", "text"), ("sendPhoto", "photo"),
                                                 ("sendMessage", "text"), ("sendDocument", "document")]
    assert sent[1].photo.file_id == p.file_id and sent[1].caption == "Foto"
    assert sent[3].document.file_id == d.file_id and sent[3].caption is None
    assert not rig.emu.calls("sendMediaGroup")


async def test_uploaded_picture_goes_as_a_photo_with_its_bytes(rig: Rig) -> None:
    """A chart (`Document.as_photo`) is uploaded with sendPhoto: shown in the
    chat, the caption under it; an ordinary upload stays a file."""
    png = sample_png(640, 400, (30, 90, 200))
    await rig.reply(OutMessage(COMPANY, "Trichter", document=Document("trichter.png", png, "image/png", as_photo=True)),
                    OutMessage(COMPANY, "Tabelle", document=Document("daten.zip", b"PK\x03\x04 zip", "application/zip")))
    sent = rig.company()
    assert [(m.method, m.kind) for m in sent] == [("sendPhoto", "photo"), ("sendDocument", "document")]
    assert sent[0].caption == "Trichter" and rig.emu.file(sent[0].photo.file_id).data == png
    assert max(s["width"] for s in sent[0].raw["photo"]) == 640
    assert sent[1].document.filename == "daten.zip" and sent[1].caption == "Tabelle"


async def test_forged_file_id_is_logged_and_the_rest_delivered(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    p1 = await rig.photo(shade=1)
    p2 = await rig.photo(shade=2)
    forged = "AgACAgIAAxkBAAI999999forgedforgedforgedforgedforgedforgedforged"
    caplog.set_level(logging.WARNING, logger="bot.delivery")
    await rig.reply(
        OutMessage(COMPANY, "Erst", media=[Attachment("photo", forged)]),
        OutMessage(COMPANY, "Album", media=[Attachment("photo", p1.file_id), Attachment("photo", forged),
                                            Attachment("photo", p2.file_id), Attachment("document", "nope")]),
        OutMessage(COMPANY, "Danach"),
    )

    sent = rig.company()
    assert [m.text if m.kind == "text" else m.photo.file_id for m in sent] == [
        "Erst", "Album", p1.file_id, p2.file_id, "Danach"]
    rejected = [r for r in caplog.records if r.name == "bot.delivery" and "rejected" in r.getMessage()]
    # the single forged photo; the album; then its forged photo alone; the forged document
    assert len(rejected) == 4
    assert all("wrong file identifier" in r.getMessage().lower() for r in rejected)


async def test_unreachable_company_stops_that_message_only(rig: Rig) -> None:
    p = await rig.photo()
    rig.emu.block_bot(COMPANY, notify=False)
    await rig.reply(OutMessage(COMPANY, "Ergebnisse", media=[Attachment("photo", p.file_id)]),
                    OutMessage(USER, "Abgegeben"))
    assert rig.company() == []
    assert rig.emu.last(USER).text == "Abgegeben"


# -- unit level ------------------------------------------------------------------


def test_media_groups() -> None:
    ph = [Attachment("photo", f"p{i}") for i in range(23)]
    dc = [Attachment("document", f"d{i}", caption="c" * 1500) for i in range(3)]
    groups = media_groups([dc[0], *ph[:5], Attachment("voice", "v"), dc[1], *ph[5:], dc[2]])
    assert [[a.file_id for a in g] for g in groups] == [
        ["d0", "d1", "d2"],
        [f"p{i}" for i in range(10)], [f"p{i}" for i in range(10, 20)], ["p20", "p21", "p22"],
    ]
    assert all(len(a.caption) == 1024 for a in groups[0]) and dc[0].caption == "c" * 1500  # a copy is cut
    assert [len(g) for g in media_groups([Attachment("photo", str(i)) for i in range(11)])] == [10, 1]
    assert media_groups([]) == []
    assert media_groups([Attachment("photo", "x", caption="")])[0][0].caption is None


class FakeChannel:
    def __init__(self, fail: dict[str, list[Exception]] | None = None) -> None:
        self.log: list[tuple] = []
        self.fail = fail or {}

    def _maybe_fail(self, key: str) -> None:
        if self.fail.get(key):
            raise self.fail[key].pop(0)

    async def send_text(self, chat_id: int, text: str, buttons: Any) -> int:
        self.log.append(("text", text))
        return len(self.log)

    async def send_document(self, chat_id: int, document: Document, caption: str) -> int:
        self.log.append(("upload", document.filename, caption))
        return len(self.log)

    async def send_photo(self, chat_id: int, document: Document, caption: str) -> int:
        self._maybe_fail(document.filename)
        self.log.append(("photo", document.filename, caption))
        return len(self.log)

    async def send_media(self, chat_id: int, items: list[Attachment]) -> None:
        self._maybe_fail(items[0].file_id)
        self.log.append(("media", [a.file_id for a in items]))


async def test_deliver_message_order_retry_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(_: float) -> None:
        return None

    monkeypatch.setattr(delivery.asyncio, "sleep", no_sleep)
    ch = FakeChannel(fail={"p0": [RetryLater(1)], "d0": [MediaRejected("wrong file identifier")]})
    await deliver_message(ch, OutMessage(1, "Hallo", media=[Attachment("photo", "p0"), Attachment("document", "d0"),
                                                             Attachment("photo", "p1")]))
    assert ch.log == [("text", "Hallo"), ("media", ["p0", "p1"])]  # retried after 429; bad document skipped

    ch = FakeChannel()
    await deliver_message(ch, OutMessage(1, "Datei", document=Document("a.ics", b"x"),
                                         media=[Attachment("document", "d1")]))
    assert ch.log == [("upload", "a.ics", "Datei"), ("media", ["d1"])]

    ch = FakeChannel(fail={"p0": [Unreachable("blocked")]})
    await deliver_message(ch, OutMessage(1, "", media=[Attachment("photo", "p0"), Attachment("document", "d1")]))
    assert ch.log == []  # unreachable: nothing more for that chat, no exception

    # An uploaded picture goes as a photo; refused as a photo, as a file.
    chart = OutMessage(1, "Zahlen", document=Document("chart.png", b"\x89PNG", "image/png", as_photo=True))
    ch = FakeChannel()
    await deliver_message(ch, chart)
    assert ch.log == [("photo", "chart.png", "Zahlen")]
    ch = FakeChannel(fail={"chart.png": [Rejected("PHOTO_INVALID_DIMENSIONS")]})
    await deliver_message(ch, chart)
    assert ch.log == [("upload", "chart.png", "Zahlen")]
    # The outbox keeps the difference.
    again = OutMessage.from_payload(1, chart.to_payload())
    assert again.document == chart.document and again.document.as_photo
    assert not OutMessage.from_payload(1, OutMessage(1, "x", document=Document("a.ics", b"x")).to_payload()).document.as_photo
