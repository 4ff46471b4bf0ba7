"""`crosslab run` under cProfile, enabled only while a benchmark measures.

    python bench/profiled_run.py OUT.prof

SIGUSR1 starts profiling (the main thread: the event loop, every handler),
the end of the process writes OUT.prof. So start-up (imports, migrations,
pydantic schema building) and the model's warm-up stay out of the figures.
Used by bench/bench_updates.py --profile.
"""
from __future__ import annotations

import atexit
import cProfile
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":
    out = sys.argv[1]
    profile = cProfile.Profile()
    enabled = False

    def start(*_: object) -> None:
        global enabled
        if not enabled:
            enabled = True
            profile.enable()

    def dump() -> None:
        if enabled:
            profile.disable()
            profile.dump_stats(out)

    signal.signal(signal.SIGUSR1, start)
    atexit.register(dump)
    from bot.cli import main

    sys.exit(main(["run"]))
