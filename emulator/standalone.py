"""``crosslab emulator``: run the emulator as a standalone server until Ctrl-C."""
from __future__ import annotations

import asyncio
import os
import signal
import sys

from .core import BotAPIEmulator


def serve_forever(host: str = "127.0.0.1", port: int = 8081) -> int:
    """Serve until SIGINT/SIGTERM; prints the base URL, a usage line and the live conversation.

    ``EMULATOR_TOKEN`` (optional) restricts the emulator to one bot token.
    """

    async def main() -> None:
        emu = BotAPIEmulator(host, port, token=os.environ.get("EMULATOR_TOKEN") or None)
        emu.on_event = lambda chat_id, line: print(f"[{chat_id}] {line}", flush=True)
        await emu.start()
        base = emu.base_url
        print(f"Telegram Bot API emulator listening on {base}", flush=True)
        print(f"Usage: TELEGRAM_API_URL={base} crosslab run   (any token)  ·  "
              f"curl -s -d '{{\"user_id\": 1001, \"text\": \"/start\", \"wait\": true}}' "
              f"{base}/_emulator/send_text  ·  help: {base}/_emulator  ·  Ctrl-C to stop", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
                pass
        try:
            await stop.wait()
        finally:
            await emu.stop()
            print("emulator stopped", flush=True)

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"emulator: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0
