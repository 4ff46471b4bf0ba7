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


def _matcher(model: str | None = None):
    from matching.matcher import Matcher

    spec = model if model is not None else os.environ.get("EMBEDDING_MODEL")
    return Matcher(model_name=spec or None)


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


def run_match_eval(cohort_path: str, k: int = 3, out: TextIO | None = None, model: str | None = None) -> int:
    from matching.evaluation import embedding_baseline, evaluate, random_baseline, tfidf_baseline

    out = out or sys.stdout
    if k < 1:
        print("crosslab: --k must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if not _check_model(model):
        return EXIT_USAGE
    cohort = _load(cohort_path)
    if cohort is None:
        return EXIT_USAGE
    if not cohort.relevance:
        print(f"crosslab: {cohort_path}: no \"relevance\" labels to evaluate against", file=sys.stderr)
        return EXIT_USAGE
    try:
        with contextlib.redirect_stdout(sys.stderr):
            matcher = _matcher(model)
            sides = {p.id: p.side for p in cohort.participants}
            largest = max(sum(1 for p in cohort.participants if p.side != sides[q]) for q in cohort.relevance)
            suggestions = matcher.suggest(cohort.participants, top=largest, for_ids=set(cohort.relevance))
            rankings = {q: [s.counterpart_id for s in items] for q, items in suggestions.items()}
            rows = [
                ("crosslab matcher", evaluate(rankings, cohort.relevance, k)),
                ("baseline: TF-IDF char 2-5", tfidf_baseline(cohort.participants, cohort.relevance, k)),
                ("baseline: random", random_baseline(cohort.participants, cohort.relevance, k)),
            ]
            if matcher.weights.dense > 0:
                rows.append(("(model alone, profiles)", embedding_baseline(cohort.participants, cohort.relevance, matcher.embedder, k)))
    except Exception as exc:
        print(f"crosslab: evaluation failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR

    queries = rows[0][1]["queries"]
    out.write(f"{cohort_path}: {queries} labelled queries, {len(cohort.participants)} participants, "
              f"encoder {matcher.model_id}\n")
    out.write(f"{'method':<28}{'nDCG@' + str(k):>9}{'hit@' + str(k):>9}{'MRR':>9}\n")
    for name, scores in rows:
        out.write(f"{name:<28}{scores[f'ndcg@{k}']:>9.3f}{scores[f'hit@{k}']:>9.3f}{scores['mrr']:>9.3f}\n")
    out.flush()
    return EXIT_OK
