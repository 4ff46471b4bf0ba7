"""Figures for the matching engine (issue 3).  Prints, never asserts.

    python bench/bench_matching.py                 # everything
    python bench/bench_matching.py quality         # nDCG@3 / hit@3 / MRR on the cohorts
    python bench/bench_matching.py scale [--n 10000] [--repeat 3]
    python bench/bench_matching.py encode [--texts 5000]

quality  the matcher with the bundled model on the development cohort and the
         held-out cohorts, next to the baselines (TF-IDF, random, model alone).
scale    N companies × N creatives with synthetic texts and random unit
         vectors pre-loaded into the embedding cache (the model is never
         loaded): time of the scoring + top-5 for everyone (`Matcher.rank`),
         of preparing the per-participant features (cold and warm text
         memos), and the peak RSS while doing so.
encode   5,000 profile texts through `Encoder.encode` (empty cache) and
         through the model's own `encode`, same batch size, alternating.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from matching import InMemoryEmbeddingCache, Matcher, Participant, cache_key  # noqa: E402
from matching import taxonomy  # noqa: E402

COHORTS = [
    ("development", next((p for p in (ROOT.parent / "shared/data/cohort_dev.json", ROOT / "bot/data/demo_cohort.json")
                          if p.exists()), ROOT / "bot/data/demo_cohort.json")),
    ("held-out", ROOT / "tests/fixtures/cohort_holdout.json"),
    ("held-out 2", ROOT / "tests/fixtures/cohort_holdout2.json"),
    ("held-out 3", ROOT / "tests/fixtures/cohort_holdout3.json"),
]


# -- memory -------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Samples this process's RSS every few ms while active."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval, self.peak, self._stop = interval, 0.0, threading.Event()

    def __enter__(self) -> "PeakRss":
        self.start = _rss_mb()
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(self.interval)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


# -- synthetic cohort ---------------------------------------------------------


class TextFactory:
    """Plausible-looking profile texts: taxonomy vocabulary mixed with a large
    pool of invented words, so the lexical vocabulary is realistically big."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = ("ba be bi bo ka ke ki ko la le li lo ma me mi mo na ne ni no ra re ri ro sa se si so "
                     "ta te ti to ver ung en er sch st an in ter gen bau werk haus").split()
        self.invented = np.array(["".join(self.rng.choice(syllables, self.rng.integers(2, 5))) for _ in range(20_000)])
        terms: list[str] = []
        for spec in taxonomy.CHALLENGE_TYPES.values():
            terms += [t.split(":")[0].strip("^=$") for t in spec["need"] + spec["skill"]]
        self.terms = np.array(terms)
        self.glue = np.array("und mit für die der wir unsere im auf zu von and with for our the".split())

    def text(self, words: int) -> str:
        rng = self.rng
        chosen = list(rng.choice(self.terms, max(1, words // 5))) + list(rng.choice(self.invented, words // 2))
        chosen += list(rng.choice(self.glue, words - len(chosen))) if words > len(chosen) else []
        rng.shuffle(chosen)
        return (" ".join(chosen).capitalize() + ".") if chosen else ""


def synthetic_cohort(n: int, seed: int = 7) -> list[Participant]:
    factory = TextFactory(seed)
    rng = factory.rng
    people = []
    for i in range(n):
        lang = "en" if rng.random() < 0.2 else "de"
        stated = ("de", "en") if rng.random() < 0.3 else ()
        people.append(Participant(
            f"p{i:05d}", "production", name=f"Company {i}", language=lang, languages=stated,
            offers=factory.text(int(rng.integers(4, 12))), seeks=factory.text(int(rng.integers(12, 40))),
            sector=factory.text(3),
        ))
        codes = list(rng.choice(list(taxonomy.DISCIPLINES), int(rng.integers(0, 3)), replace=False))
        people.append(Participant(
            f"c{i:05d}", "creative", name=f"Creative {i}", language=lang, languages=stated,
            offers=factory.text(int(rng.integers(12, 40))), seeks=factory.text(int(rng.integers(4, 16))),
            disciplines=tuple(codes),
        ))
    return people


def cached_embeddings(people: list[Participant], model_id: str, dim: int = 384, seed: int = 11) -> InMemoryEmbeddingCache:
    texts = sorted({t for p in people for t in (p.offers, p.seeks, p.sector) if t and t.strip()})
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(texts), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return InMemoryEmbeddingCache({cache_key(model_id, t): v for t, v in zip(texts, vectors)})


# -- sections -------------------------------------------------------------------


def bench_quality() -> None:
    from matching.cli import run_match_eval

    print("== quality (bundled model, nDCG with gain 2^grade-1) ==")
    for name, path in COHORTS:
        if not path.exists():
            print(f"{name}: {path} missing")
            continue
        print(f"-- {name}")
        run_match_eval(str(path), k=3)
    print()


def bench_scale(n: int, repeat: int) -> None:
    print(f"== scale: {n} companies x {n} creatives, top-5 for everyone, embeddings cached ==")
    t = time.perf_counter()
    people = synthetic_cohort(n)
    matcher = Matcher()
    cache = cached_embeddings(people, matcher.model_id)
    matcher = Matcher(cache=cache)
    print(f"synthetic cohort + cache: {time.perf_counter() - t:.1f} s, "
          f"{len(cache)} cached vectors, process RSS {_rss_mb():.0f} MB")

    gc.collect()
    with PeakRss() as mem_cold:
        t = time.perf_counter()
        prepared = matcher.prepare(people)
        cold = time.perf_counter() - t
    del prepared
    gc.collect()
    warm = []
    for _ in range(repeat):
        t = time.perf_counter()
        prepared = matcher.prepare(people)
        warm.append(time.perf_counter() - t)
    f = prepared.features
    print(f"prepare features: cold {cold:.2f} s (first sight of the texts), warm median {statistics.median(warm):.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in warm)}); lexical columns {f.lex_c.shape[1]} fwd / {f.b_lex_c.shape[1]} bwd, "
          f"vector width {prepared.scorer.fwd_c.shape[1]} fwd / {prepared.scorer.bwd_c.shape[1]} bwd")
    gc.collect()
    times = []
    with PeakRss() as mem_rank:
        for _ in range(repeat):
            t = time.perf_counter()
            result = matcher.rank(prepared, top=5)
            times.append(time.perf_counter() - t)
    assert len(result) == 2 * n and all(len(v) == 5 for v in result.values())
    print(f"scoring + top-5 (Matcher.rank): median {statistics.median(times):.2f} s, best {min(times):.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in times)}) on {len(os.sched_getaffinity(0))} cores")
    del result, prepared
    gc.collect()
    with PeakRss() as mem_all:
        t = time.perf_counter()
        result = matcher.suggest(people, top=5)
        total = time.perf_counter() - t
    sample = result["p00000"][0]
    print(f"suggest() end to end (warm text memos): {total:.2f} s")
    print(f"peak RSS: prepare (cold) {mem_cold.peak:.0f} MB, rank {mem_rank.peak:.0f} MB, suggest {mem_all.peak:.0f} MB "
          f"(process before: {mem_cold.start:.0f} MB)")
    print(f"model loaded: {'sentence_transformers' in sys.modules}; sample reason: {sample.reason('de')[:100]}")
    print()


def profile_texts(count: int, seed: int = 3) -> list[str]:
    """Profile-like German/English sentences of varied length, all distinct."""
    rng = np.random.default_rng(seed)
    openers = ["Wir sind eine Tischlerei und", "Als Produktdesignerin", "Our company", "Ich arbeite als Fotograf und",
               "Unser Familienbetrieb", "We are a small factory and", "Als Texterin", "Unser Handwerksbetrieb"]
    factory = TextFactory(seed)
    out = []
    for i in range(count):
        words = int(rng.integers(10, 60))
        out.append(f"{openers[i % len(openers)]} {factory.text(words)} ({i})")
    return out


def bench_encode(count: int) -> None:
    from matching.encoder import Encoder, load_model

    print(f"== encoding {count} profiles (bundled model, CPU) ==")
    texts = profile_texts(count)
    t = time.perf_counter()
    model = load_model(None)
    print(f"model load: {time.perf_counter() - t:.1f} s")
    model.encode(texts[:64], batch_size=64, normalize_embeddings=True)  # warm-up
    direct, ours = [], []
    for run in range(2):
        order = ("direct", "ours") if run % 2 == 0 else ("ours", "direct")
        for which in order:
            gc.collect()
            t = time.perf_counter()
            if which == "direct":
                model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
                direct.append(time.perf_counter() - t)
            else:
                Encoder(cache=InMemoryEmbeddingCache(), batch_size=64).encode(texts)
                ours.append(time.perf_counter() - t)
    ratio = statistics.median(ours) / statistics.median(direct)
    print(f"model.encode directly: {', '.join(f'{x:.1f}' for x in direct)} s; "
          f"Encoder.encode (cache miss, then stored): {', '.join(f'{x:.1f}' for x in ours)} s; "
          f"ratio of medians {ratio:.3f}")
    cache = InMemoryEmbeddingCache()
    enc = Encoder(cache=cache)
    enc.encode(texts[:500])
    t = time.perf_counter()
    enc.encode(texts[:500])
    print(f"re-encoding 500 cached texts: {1000 * (time.perf_counter() - t):.1f} ms")
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", choices=["quality", "scale", "encode", []], default=[])
    parser.add_argument("--n", type=int, default=10_000, help="companies and creatives each (scale)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--texts", type=int, default=5_000, help="profiles to encode (encode)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sections = args.sections or ["quality", "scale", "encode"]
    if "scale" in sections:  # first, so the process holds no model
        bench_scale(args.n, args.repeat)
    if "quality" in sections:
        bench_quality()
    if "encode" in sections:
        bench_encode(args.texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
