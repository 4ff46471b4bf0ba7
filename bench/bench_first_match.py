"""How long the first "Passt so" (confirming the profile, which computes the
first suggestions) takes when someone onboards right after the bot started.

The bot runs as its own process (`crosslab run`, SQLite, a cold process: the
embedding model is not loaded yet) against the emulator in this process. One
participant onboards at once; prints the seconds from the bot's first poll to
the summary, from pressing "Passt so" to its answer, and to the first
"typing …" (sendChatAction), plus the bot's log line about the model.

    python bench/bench_first_match.py [--framework aiogram|ptb] [--code PATH] [--runs 1] [--think 0]

`--code` is the checkout whose bot runs (default: this one), e.g. the main
branch for a before/after comparison; `--think` the seconds a participant
takes per step (onboarding takes a person minutes, the warm-up ~10-20 s).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import DEMO_TOKEN  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402

UID = 4242
CHALLENGE = ("Unsere Möbel verkaufen wir nur im eigenen Laden. Wir wollen online verkaufen, "
             "aber unsere Produktfotos sind schlecht und wir haben keinen Onlineshop.")


async def one_run(framework: str, code: Path, think: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="crosslab-bench-") as tmp:
        async with BotAPIEmulator(bot_username="crosslab_bench_bot") as emu:
            env = {**os.environ, "TELEGRAM_API_URL": emu.base_url, "TELEGRAM_BOT_TOKEN": DEMO_TOKEN,
                   "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", "BOT_FRAMEWORK": framework,
                   "LOG_LEVEL": "INFO", "PYTHONPATH": str(code), "HF_HUB_OFFLINE": "1",
                   "TRANSFORMERS_OFFLINE": "1"}
            log_path = Path(tmp) / "bot.log"
            with open(log_path, "w") as log:
                proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=tmp, env=env,
                                        stdout=log, stderr=subprocess.STDOUT)
            try:
                await emu.wait_until(lambda: any(m == "getUpdates" for m, _ in emu.requests), 120, "the bot to poll")
                polling = time.perf_counter()
                emu.add_user(UID, "Uta", language_code="de")

                async def answered(send: object) -> None:  # the bot changed the chat, then is idle
                    mark = emu.seq
                    await asyncio.sleep(think)  # a person reading and typing
                    send()  # type: ignore[operator]
                    await emu.wait_until(lambda: emu.changed_since(UID, mark), 60, "an answer")
                    await emu.wait_idle(60, quiet=0.1)

                async def say(text: str) -> None:
                    await answered(lambda: emu.send_text(UID, text))

                async def tap(label: str) -> None:
                    await answered(lambda: emu.click(UID, emu.last(UID), label))

                await say("/start")
                await tap("Einverstanden")
                await say("Uta Seifert")
                await tap("Produktion")
                await say("Seifert Möbel")
                await say("Inhaberin")
                await say("Tischlerei, Massivholzmöbel")
                await say(CHALLENGE)
                await tap("Fertig")
                await tap("Di")
                await tap("vormittags")
                await tap("Fertig")
                assert "Passt so" in " ".join(label for row in emu.last(UID).buttons for label, _ in row)
                summary = time.perf_counter()
                actions_before = len(emu.chat_actions)
                cq = emu.click(UID, emu.last(UID), "Passt so")["callback_query"]["id"]
                pressed = time.perf_counter()
                typing_at: float | None = None

                def confirmed() -> bool:
                    nonlocal typing_at
                    if typing_at is None and len(emu.chat_actions) > actions_before:
                        typing_at = time.perf_counter()
                    return any(a["callback_query_id"] == cq for a in emu.callback_answers)

                await emu.wait_until(confirmed, 300, "the answer to Passt so")
                done = time.perf_counter()
            finally:
                proc.terminate()
                proc.wait(30)
            ready = [line.strip() for line in log_path.read_text().splitlines() if "ready after" in line]
    return {"onboarding_s": summary - polling, "passt_so_s": done - pressed,
            "first_typing_s": (typing_at - pressed) if typing_at is not None else float("nan"),
            "model_log": ready[0].split(": ", 1)[-1] if ready else "(no ready line)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", choices=["aiogram", "ptb"], default="aiogram")
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout whose bot runs")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds the participant takes per step (0: as fast as the bot answers)")
    args = parser.parse_args()
    results = []
    for i in range(args.runs):
        r = asyncio.run(one_run(args.framework, args.code.resolve(), args.think))
        results.append(r)
        print(f"run {i + 1}: onboarding {r['onboarding_s']:.1f} s, 'Passt so' answered after {r['passt_so_s']:.1f} s, "
              f"first typing after {r['first_typing_s']:.1f} s; {r['model_log']}", flush=True)
    if args.runs > 1:
        print(f"median 'Passt so': {statistics.median(r['passt_so_s'] for r in results):.1f} s")
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared)")


if __name__ == "__main__":
    main()
