"""The `crosslab` command line.

Each sub-command imports what it needs lazily, so `crosslab match` does not load
the Telegram frameworks and `crosslab run` does not load the embedding model.
"""
from __future__ import annotations

import argparse
import sys


MODEL_HELP = ("encoder: use-multilingual, e5-small, minilm, sentence-transformers:<name or path> "
              "(default: EMBEDDING_MODEL, empty = use-multilingual)")


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crosslab", description="Crosslab matchmaking assistant")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the Telegram bot (long polling, or webhook mode with WEBHOOK_URL)")
    run.set_defaults(func=_cmd_run)

    emu = sub.add_parser("emulator", help="run the local Telegram Bot API emulator")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=8081)
    emu.set_defaults(func=_cmd_emulator)

    demo = sub.add_parser("demo", help="emulator + bot + simulated cohort, prints a transcript summary")
    demo.add_argument("--cohort", default=None, help="cohort JSON file (default: the bundled development cohort)")
    demo.add_argument("--framework", choices=["aiogram", "ptb"], default=None)
    demo.add_argument("--limit", type=int, default=None,
                      help="only the first N participants (breakout, speed: a third of them companies)")
    demo.add_argument("--format", dest="demo_format", choices=["open", "breakout", "speed"], default="open",
                      help="open (default): onboarding, introductions, meetings, follow-ups; breakout, speed: "
                           "an organiser approves the applications, reviews and releases the plan, runs the "
                           "groups (results) or the rounds")
    demo.set_defaults(func=_cmd_demo)

    match = sub.add_parser("match", help="suggest counterparts for every participant of a cohort file")
    match.add_argument("--cohort", required=True)
    match.add_argument("--top", type=int, default=3)
    match.add_argument("--json", action="store_true", help="print only one JSON object to stdout")
    match.add_argument("--model", default=None, help=MODEL_HELP)
    match.set_defaults(func=_cmd_match)

    ev = sub.add_parser("match-eval", help="nDCG@3, hit@3, MRR against the cohort's relevance labels")
    ev.add_argument("--cohort", action="append", default=None,
                    help="cohort file (with --loco: repeat to choose the cohorts; default: every labelled cohort)")
    ev.add_argument("--k", type=int, default=3)
    ev.add_argument("--model", default=None, help=MODEL_HELP)
    ev.add_argument("--ranking", default=None, choices=["fused", "classic"],
                    help="ranking to evaluate (default: the shipped one); the other is printed for comparison")
    ev.add_argument("--no-ablations", action="store_true", help="skip the per-signal ablations")
    ev.add_argument("--loco", action="store_true",
                    help="leave-one-cohort-out over the labelled cohorts: fitted fusion weights per fold")
    ev.set_defaults(func=_cmd_match_eval)

    plan = sub.add_parser("plan", help="breakout groups or speed-meetup rounds for a cohort file")
    plan.add_argument("--cohort", required=True)
    plan.add_argument("--format", required=True, dest="plan_format", metavar="breakout|speed",
                      help="breakout: 1 company + K creatives per group; speed: rounds of one-to-one meetings")
    plan.add_argument("--rounds", type=int, default=None, help="speed: number of rounds (required)")
    plan.add_argument("--group-size", type=int, default=None, help="breakout: creatives per group (default 2)")
    plan.add_argument("--max-groups-per-creative", type=int, default=None,
                      help="breakout: groups one creative may join (default 1)")
    plan.add_argument("--json", action="store_true", help="print only one JSON object to stdout")
    plan.add_argument("--model", default=None, help=MODEL_HELP)
    plan.set_defaults(func=_cmd_plan)

    mig = sub.add_parser("migrate", help="apply database migrations and exit")
    mig.set_defaults(func=_cmd_migrate)

    doc = sub.add_parser("doctor", help="check settings, database, model, Bot API, webhook and clock; "
                                        "exit 1 if something will not work")
    doc.add_argument("--skip-model", action="store_true", help="do not load the embedding model")
    doc.add_argument("--model-timeout", type=float, default=180.0,
                     help="seconds the embedding model may take to load (default 180)")
    doc.add_argument("--timeout", type=float, default=10.0, help="seconds for each Bot API call (default 10)")
    doc.set_defaults(func=_cmd_doctor)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import run_bot

    return run_bot()


def _cmd_emulator(args: argparse.Namespace) -> int:
    from emulator import serve_forever

    return serve_forever(args.host, args.port)


def _cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    if args.demo_format != "open":
        from bot.demo_formats import run_format_demo_cli

        return run_format_demo_cli(args.demo_format, cohort=args.cohort, framework=args.framework, limit=args.limit)
    return run_demo(cohort=args.cohort, framework=args.framework, limit=args.limit)


def _cmd_match(args: argparse.Namespace) -> int:
    from matching.cli import run_match

    return run_match(args.cohort, top=args.top, as_json=args.json, model=args.model)


def _cmd_match_eval(args: argparse.Namespace) -> int:
    from matching.cli import run_match_eval

    if args.loco:
        from matching.cli import run_match_loco

        return run_match_loco(args.cohort, k=args.k, model=args.model)
    if args.cohort and len(args.cohort) > 1:
        print("crosslab: match-eval takes one --cohort (several only with --loco)", file=sys.stderr)
        return 2
    return run_match_eval(args.cohort[0] if args.cohort else None, k=args.k, model=args.model,
                          ranking=args.ranking, ablations=not args.no_ablations)


def _cmd_plan(args: argparse.Namespace) -> int:
    from matching.cli import run_plan

    return run_plan(args.cohort, args.plan_format, rounds=args.rounds, group_size=args.group_size,
                    max_groups=args.max_groups_per_creative, as_json=args.json, model=args.model)


def _cmd_migrate(args: argparse.Namespace) -> int:
    from bot.app import migrate_only

    return migrate_only()


def _cmd_doctor(args: argparse.Namespace) -> int:
    from bot.doctor import run_doctor

    return run_doctor(args)


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
