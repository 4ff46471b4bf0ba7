"""What the Prometheus metrics cost per update (bot/metrics.py): the hooks run
for every update whether or not METRICS_LISTEN serves them.

Times, in one process, the calls the transport and the outbox make for one
handled update (`observe_update`: a labelled counter and the latency
histogram; `record_outbox_results` for its one reply), and one scrape
(`generate_latest` of the whole registry), best of --repeat runs.

    python bench/bench_metrics.py [--number 200000] [--repeat 5]
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prometheus_client import REGISTRY, generate_latest  # noqa: E402

from bot import metrics  # noqa: E402
from db.outbox import Result  # noqa: E402
from handlers.types import Incoming, Reply, UserRef  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--number", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ev = Incoming(update_id=1, user=UserRef(id=1, first_name="A", last_name=None, username=None,
                                            language_code="de"), chat_id=1, kind="text", text="hallo")
    reply, results = Reply(), [Result(1, 1, "sent")]

    def best(fn, number: int) -> float:
        return min(timeit.repeat(fn, number=number, repeat=args.repeat)) / number

    update = best(lambda: metrics.observe_update(ev, reply, 0.004), args.number)
    sends = best(lambda: metrics.record_outbox_results(results, "reply"), args.number)
    scrape = best(lambda: generate_latest(REGISTRY), max(1, args.number // 1000))
    print(f"observe_update:               {update * 1e6:6.2f} µs per update")
    print(f"record_outbox_results (1):    {sends * 1e6:6.2f} µs per reply")
    print(f"per handled update in total:  {(update + sends) * 1e6:6.2f} µs")
    print(f"one scrape (generate_latest): {scrape * 1e3:6.2f} ms, {len(generate_latest(REGISTRY))} bytes")


if __name__ == "__main__":
    main()
