"""`crosslab match` and `crosslab match-eval` (wired in bot/cli.py).

`match --json` writes exactly one JSON object to stdout; everything else
(progress, warnings, errors) goes to stderr.  The encoder is `--model` or
else the EMBEDDING_MODEL environment variable (empty = bundled model); see
`matching.encoders.parse_spec` for the accepted forms.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import TextIO

from matching.cohort import Cohort, CohortError, load_cohort

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
PROGRESS_FROM = 200  # participants


def _matcher(model: str | None = None, **options):
    """The matcher of the commands (tests replace it); `options` go to
    `Matcher` (ranking=, fusion=, cache=)."""
    from matching.matcher import Matcher

    spec = model if model is not None else os.environ.get("EMBEDDING_MODEL")
    return Matcher(model_name=spec or None, **options)


def _check_ranking(ranking: str | None) -> bool:
    from matching.fusion import RANKINGS

    if ranking is not None and ranking not in RANKINGS:
        print(f"crosslab: --ranking must be one of {', '.join(RANKINGS)}, not {ranking!r}", file=sys.stderr)
        return False
    return True


def _check_model(model: str | None) -> bool:
    """An unknown --model / EMBEDDING_MODEL is a usage error (one line on stderr)."""
    from matching.encoders import UnknownEncoderSpec, parse_spec

    spec = model if model is not None else os.environ.get("EMBEDDING_MODEL")
    try:
        parse_spec(spec)
    except UnknownEncoderSpec as exc:
        print(f"crosslab: {exc}", file=sys.stderr)
        return False
    return True


def _load(path: str) -> Cohort | None:
    try:
        return load_cohort(path)
    except CohortError as exc:
        print(f"crosslab: {exc}", file=sys.stderr)
        return None


def _reason_language(lang: str) -> str:
    return lang if lang in ("de", "en") else "en"


def run_match(cohort_path: str, top: int = 3, as_json: bool = False, out: TextIO | None = None,
              model: str | None = None) -> int:
    out = out or sys.stdout
    if top < 1:
        print("crosslab: --top must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if not _check_model(model):
        return EXIT_USAGE
    cohort = _load(cohort_path)
    if cohort is None:
        return EXIT_USAGE
    progress = len(cohort.participants) >= PROGRESS_FROM
    try:
        # libraries must not write to stdout while the JSON contract holds it
        with contextlib.redirect_stdout(sys.stderr):
            matcher = _matcher(model)
            suggestions = matcher.suggest(cohort.participants, top=top, progress=progress)
    except Exception as exc:  # model missing, out of memory…: one clear line
        print(f"crosslab: matching failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR

    if as_json:
        payload = {p.id: [s.counterpart_id for s in suggestions.get(p.id, [])] for p in cohort.participants}
        out.write(json.dumps(payload, ensure_ascii=False))
        out.write("\n")
        out.flush()
        return EXIT_OK

    by_id = cohort.by_id()
    for p in cohort.participants:
        lang = _reason_language(p.language)
        who = p.name or p.id
        org = f", {p.organisation}" if p.organisation else ""
        out.write(f"{who}{org} [{p.id}, {p.side}]\n")
        items = suggestions.get(p.id, [])
        if not items:
            out.write("   (no suggestions)\n")
        for rank, s in enumerate(items, start=1):
            other = by_id[s.counterpart_id]
            name = other.name or other.id
            out.write(f"   {rank}. {name} [{other.id}]  {s.score:.3f}\n      {s.reason(lang)}\n")
        out.write("\n")
    out.flush()
    return EXIT_OK


def _row(out: TextIO, name: str, scores: dict, k: int, width: int = 34) -> None:
    out.write(f"{name:<{width}}{scores[f'ndcg@{k}']:>9.3f}{scores[f'hit@{k}']:>9.3f}{scores['mrr']:>9.3f}\n")


def _rankings(matcher, cohort: Cohort) -> dict[str, list[str]]:
    sides = {p.id: p.side for p in cohort.participants}
    largest = max(sum(1 for p in cohort.participants if p.side != sides[q]) for q in cohort.relevance)
    suggestions = matcher.suggest(cohort.participants, top=largest, for_ids=set(cohort.relevance))
    return {q: [s.counterpart_id for s in items] for q, items in suggestions.items()}


def run_match_eval(cohort_path: str | None, k: int = 3, out: TextIO | None = None, model: str | None = None,
                   ranking: str | None = None, ablations: bool = True) -> int:
    """The matcher (`ranking`, default the shipped one) and the other ranking
    next to baselines; with the fused ranking available, per-signal
    ablations (each signal alone, all minus each, equal weights)."""
    from matching.cache import InMemoryEmbeddingCache
    from matching.evaluation import embedding_baseline, evaluate, random_baseline, tfidf_baseline
    from matching.fusion import DEFAULT_RANKING, RANKINGS

    out = out or sys.stdout
    if k < 1:
        print("crosslab: --k must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if not _check_model(model) or not _check_ranking(ranking):
        return EXIT_USAGE
    if not cohort_path:
        print("crosslab: match-eval needs --cohort FILE (or --loco)", file=sys.stderr)
        return EXIT_USAGE
    cohort = _load(cohort_path)
    if cohort is None:
        return EXIT_USAGE
    if not cohort.relevance:
        print(f"crosslab: {cohort_path}: no \"relevance\" labels to evaluate against", file=sys.stderr)
        return EXIT_USAGE
    ranking = ranking or DEFAULT_RANKING
    other = next(r for r in RANKINGS if r != ranking)
    ablation_rows = []
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cache = InMemoryEmbeddingCache()
            matcher = _matcher(model, ranking=ranking, cache=cache)
            second = _matcher(model, ranking=other, cache=cache)
            rows = [
                (f"crosslab matcher ({ranking})", evaluate(_rankings(matcher, cohort), cohort.relevance, k)),
                (f"other ranking ({other})", evaluate(_rankings(second, cohort), cohort.relevance, k)),
                ("baseline: TF-IDF char 2-5", tfidf_baseline(cohort.participants, cohort.relevance, k)),
                ("baseline: random", random_baseline(cohort.participants, cohort.relevance, k)),
            ]
            rows.append(("(model alone, profiles)", embedding_baseline(cohort.participants, cohort.relevance, matcher.embedder, k)))
            fused = matcher if ranking == "fused" else second
            if ablations and all(q in {p.id for p in cohort.participants if p.side == "production"} for q in cohort.relevance):
                from matching.loco import ablations as ablation_table, cohort_signals

                ablation_rows = ablation_table(cohort_signals(fused, cohort, cohort_path), k)
    except Exception as exc:
        print(f"crosslab: evaluation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR

    queries = rows[0][1]["queries"]
    out.write(f"{cohort_path}: {queries} labelled queries, {len(cohort.participants)} participants, "
              f"encoder {matcher.model_id}\n")
    out.write(f"{'method':<34}{'nDCG@' + str(k):>9}{'hit@' + str(k):>9}{'MRR':>9}\n")
    for name, scores in rows:
        _row(out, name, scores, k)
    if ablation_rows:
        out.write("ablations of the fused ranking (equal weights over the signals named):\n")
        for name, scores in ablation_rows:
            _row(out, f"  {name}", scores, k)
    out.flush()
    return EXIT_OK


def default_cohorts() -> list[tuple[str, str]]:
    """(name, path) of every labelled cohort the repository knows: the shared
    development cohort (when present) and tests/fixtures/cohort_*.json."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    dev = root.parent / "shared/data/cohort_dev.json"
    if not dev.exists():
        dev = Path("/work/shared/data/cohort_dev.json")
    if dev.exists():
        found.append(("dev", str(dev)))
    for path in sorted((root / "tests/fixtures").glob("cohort_*.json")):
        found.append((path.stem.removeprefix("cohort_"), str(path)))
    return found


def run_match_loco(cohort_paths: list[str] | None = None, k: int = 3, out: TextIO | None = None,
                   model: str | None = None) -> int:
    """Leave-one-cohort-out over the labelled cohorts: per fold the weights
    fitted on the others and the held-out figures, next to equal weights and
    the classic ranking; then the fit on all cohorts."""
    from matching.cache import InMemoryEmbeddingCache
    from matching.evaluation import evaluate
    from matching.loco import cohort_signals, equal_weights, fit, is_hard, loco, verdict

    out = out or sys.stdout
    if not _check_model(model):
        return EXIT_USAGE
    named = [(_name(p), p) for p in cohort_paths] if cohort_paths else default_cohorts()
    cohorts = []
    for name, path in named:
        cohort = _load(path)
        if cohort is None:
            return EXIT_USAGE
        if cohort.relevance:
            cohorts.append((name, cohort))
    if len(cohorts) < 2:
        print("crosslab: --loco needs at least two labelled cohorts", file=sys.stderr)
        return EXIT_USAGE
    try:
        with contextlib.redirect_stdout(sys.stderr):
            cache = InMemoryEmbeddingCache()
            fused = _matcher(model, ranking="fused", cache=cache)
            classic = _matcher(model, ranking="classic", cache=cache)
            signals = [cohort_signals(fused, cohort, name) for name, cohort in cohorts]
            folds = loco(signals, k)
            classic_scores = [evaluate(_rankings(classic, cohort), cohort.relevance, k) for _, cohort in cohorts]
            overall = fit(signals, k)
    except Exception as exc:
        print(f"crosslab: evaluation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR

    names = signals[0].signals
    out.write(f"leave-one-cohort-out over {len(cohorts)} cohorts, encoder {fused.model_id}; "
              f"nDCG@{k} / hit@{k} / MRR on the held-out cohort\n")
    head = f"{'held out':<12}{'fitted weights (' + ' '.join(names) + ')':<44}{'LOCO fitted':>20}{'equal weights':>20}{'classic':>20}\n"
    out.write(head)

    def fmt(s):
        return f"{s[f'ndcg@{k}']:.3f} / {s[f'hit@{k}']:.2f} / {s['mrr']:.2f}"

    for fold, cl in zip(folds, classic_scores):
        weights = " ".join(f"{fold.weights.get(n, 0):.1f}" for n in names)
        out.write(f"{fold.held_out:<12}{weights:<44}{fmt(fold.fitted):>20}{fmt(fold.equal):>20}{fmt(cl):>20}\n")

    def mean(rows):
        return {key: sum(r[key] for r in rows) / len(rows) for key in (f"ndcg@{k}", f"hit@{k}", "mrr")}

    out.write(f"{'mean':<12}{'':<44}{fmt(mean([f.fitted for f in folds])):>20}{fmt(mean([f.equal for f in folds])):>20}"
              f"{fmt(mean(classic_scores)):>20}\n")
    hard = [(f, cl) for f, cl in zip(folds, classic_scores) if is_hard(f.held_out)]
    if hard:
        out.write(f"{'mean hard':<12}{'':<44}{fmt(mean([f.fitted for f, _ in hard])):>20}"
                  f"{fmt(mean([f.equal for f, _ in hard])):>20}{fmt(mean([cl for _, cl in hard])):>20}\n")
    out.write("fit on all cohorts: " + " ".join(f"{n}={overall.get(n, 0):.1f}" for n in names)
              + "; equal weights: " + " ".join(f"{n}={w:.2f}" for n, w in equal_weights(names).items()) + "\n")
    out.write(f"verdict: {verdict(folds, k).reason}\n")
    out.flush()
    return EXIT_OK


def _name(path: str) -> str:
    from pathlib import Path

    return Path(path).stem.removeprefix("cohort_")


PLAN_FORMATS = ("breakout", "speed")
_UNPLACED_TEXT = {
    "all_pairs_forbidden": "every pair with the other side is excluded (declined, met or no common language)",
    "not_enough_creatives": "not enough creatives for another group",
    "not_enough_places": "every group this creative could join is full",
}


def _plan_usage(fmt: str, rounds: int | None, group_size: int | None, max_groups: int | None) -> str | None:
    """The usage error of `crosslab plan`'s options, or None."""
    if fmt not in PLAN_FORMATS:
        return f"--format must be breakout or speed, not {fmt!r}"
    if fmt == "speed":
        if group_size is not None or max_groups is not None:
            return "--group-size and --max-groups-per-creative apply to --format breakout only"
        if rounds is None:
            return "--format speed needs --rounds N"
        if rounds < 1:
            return f"--rounds must be at least 1, not {rounds}"
    else:
        if rounds is not None:
            return "--rounds applies to --format speed only"
        if group_size is not None and group_size < 1:
            return f"--group-size must be at least 1, not {group_size}"
        if max_groups is not None and max_groups < 1:
            return f"--max-groups-per-creative must be at least 1, not {max_groups}"
    return None


def run_plan(cohort_path: str, fmt: str, rounds: int | None = None, group_size: int | None = None,
             max_groups: int | None = None, as_json: bool = False, out: TextIO | None = None,
             model: str | None = None) -> int:
    """`crosslab plan`: breakout groups or speed-meetup rounds for a cohort
    file (matching.formation), as the JSON contract or a readable table."""
    from matching.formation import form_groups, form_rounds, pair_reasons, score_matrix

    out = out or sys.stdout
    problem = _plan_usage(fmt, rounds, group_size, max_groups)
    if problem:
        print(f"crosslab: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if not _check_model(model):
        return EXIT_USAGE
    cohort = _load(cohort_path)
    if cohort is None:
        return EXIT_USAGE
    try:
        with contextlib.redirect_stdout(sys.stderr):
            matcher = _matcher(model)
            prepared = matcher.prepare(cohort.participants, progress=len(cohort.participants) >= PROGRESS_FROM)
            scores = score_matrix(matcher, cohort.participants, prepared=prepared)
    except Exception as exc:  # model missing, out of memory…: one clear line
        print(f"crosslab: matching failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if fmt == "breakout":
            plan = form_groups(scores, group_size=group_size or 2, max_groups_per_creative=max_groups or 1)
        else:
            plan = form_rounds(scores, rounds=rounds)
    except ValueError as exc:  # too many rounds and the like: the reader can fix the options
        print(f"crosslab: {exc}", file=sys.stderr)
        return EXIT_USAGE

    if as_json:
        out.write(json.dumps(plan.to_json(), ensure_ascii=False))
        out.write("\n")
        out.flush()
        return EXIT_OK
    by_id = cohort.by_id()
    if fmt == "breakout":
        pairs = [(g.company, k) for g in plan.groups for k in g.creatives]
    else:
        pairs = [(mt.company, mt.creative) for r in plan.rounds for mt in r]
    reasons = pair_reasons(prepared, pairs)

    def who(pid: str) -> str:
        p = by_id[pid]
        org = f", {p.organisation}" if p.organisation and p.organisation != p.name else ""
        return f"{p.name or p.id}{org} [{p.id}]"

    def reason(company: str, creative: str) -> str:
        lang = _reason_language(by_id[company].language)
        texts = reasons[(company, creative)]
        return texts.get(lang) or texts.get("en", "")

    if fmt == "breakout":
        _write_groups(out, plan, scores, by_id, who, reason)
    else:
        _write_rounds(out, plan, scores, who, reason)
    out.flush()
    return EXIT_OK


def _write_groups(out: TextIO, plan, scores, by_id, who, reason) -> None:
    from matching.taxonomy import DISCIPLINES

    m, n = scores.shape
    alike = sum(1 for g in plan.groups if not g.diverse)
    out.write(f"Breakout groups: {m} companies, {n} creatives; groups of 1 + {plan.group_size}, "
              f"each creative in at most {plan.max_groups_per_creative} group(s)\n")
    out.write(f"{len(plan.groups)} groups ({plan.full_groups} full), total relevance {plan.total:.2f} "
              f"(0–1 per pair: 1 = the cohort's best pair)"
              + (f", {alike} group(s) with one discipline only" if alike else "") + "\n\n")
    for number, g in enumerate(plan.groups, start=1):
        lang = _reason_language(by_id[g.company].language)
        out.write(f"Group {number} · {who(g.company)}   score {g.score:.2f}\n")
        for k, score in zip(g.creatives, g.scores):
            codes = by_id[k].disciplines
            fields = ", ".join(DISCIPLINES[c][lang] for c in codes if c in DISCIPLINES) or "no discipline given"
            out.write(f"   + {who(k)}  {score:.2f}  ({fields})\n      {reason(g.company, k)}\n")
        if not g.diverse:
            out.write("   ! all creatives of this group declared the same discipline(s)\n")
        out.write("\n")
    if plan.unplaced:
        out.write("Not placed:\n")
        for u in plan.unplaced:
            out.write(f"   {who(u.id)} ({u.side}): {_UNPLACED_TEXT[u.reason]}\n")


def _write_rounds(out: TextIO, plan, scores, who, reason) -> None:
    m, n = scores.shape
    out.write(f"Speed meetup: {len(plan.rounds)} rounds, {m} companies at tables 1–{m} (they keep their "
              f"table), {n} creatives move; total relevance {plan.total:.2f} (0–1 per pair)\n\n")
    for number, (meetings, sitting) in enumerate(zip(plan.rounds, plan.breaks), start=1):
        out.write(f"Round {number}  (total relevance {sum(mt.score for mt in meetings):.2f})\n")
        for mt in meetings:
            out.write(f"   Table {mt.table}: {who(mt.company)} ↔ {who(mt.creative)}  {mt.score:.2f}"
                      + ("  (locked)" if mt.locked else "") + "\n")
            out.write(f"      {reason(mt.company, mt.creative)}\n")
        if sitting:
            out.write(f"   Break: {', '.join(who(pid) for pid in sitting)}\n")
        out.write("\n")
    if plan.unplaced:
        out.write("No meeting in any round:\n")
        for u in plan.unplaced:
            out.write(f"   {who(u.id)} ({u.side}): {_UNPLACED_TEXT[u.reason]}\n")
