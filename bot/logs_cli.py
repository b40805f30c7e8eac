"""``python -m bot logs …``: the curators' tools over the query log.

A thin layer over ``bot.logs_report`` (reading) and ``bot.querylog`` (migrations). Reading
commands open the database read-only, so they are safe while the bot runs, and print an empty
report when there is no log yet.

  stats      [--since 7d] [--json]
  unanswered [--since 7d] [--limit 20] [--json]
  suggest    [--since 30d] [--limit N] [--knowledge DIR] [--json]
  export     --format csv|jsonl [--since 7d] [--output FILE]
  migrate

``--db`` defaults to ``$BOT_DB`` or ``data/queries.sqlite3``; ``--knowledge`` to
``$BOT_KNOWLEDGE`` or ``knowledge``. Durations: ``30m``, ``24h``, ``7d``, ``2w`` (a bare number is
days).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot import logs_report

DEFAULT_DB = "data/queries.sqlite3"
DEFAULT_KNOWLEDGE = "knowledge"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNIT_DAYS = {"s": 1 / 86400, "m": 1 / 1440, "h": 1 / 24, "d": 1.0, "w": 7.0, "": 1.0}


def parse_duration(text: str) -> float:
    """A duration such as ``30m``, ``24h``, ``7d`` or ``2w``, in days (a bare number is days)."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30m, 24h, 7d, 2w)")
    return float(match.group(1)) * _UNIT_DAYS[match.group(2).lower()]


def _db(args: argparse.Namespace) -> Path:
    return Path(args.db or os.environ.get("BOT_DB") or DEFAULT_DB)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def cmd_stats(args: argparse.Namespace) -> int:
    """Totals, answered / ambiguous / no-answer rates, feedback, top entries, per day."""
    report = asyncio.run(logs_report.stats(_db(args), args.since))
    if args.json:
        _print_json(report)
    else:
        print(logs_report.stats_text(report))
    return 0


def cmd_unanswered(args: argparse.Namespace) -> int:
    """Unanswered and 👎 questions, near-identical phrasings clustered, most frequent first."""
    clusters = asyncio.run(logs_report.unanswered(_db(args), args.since, args.limit))
    if args.json:
        _print_json([c.to_json() for c in clusters])
    else:
        print(logs_report.unanswered_text(clusters, args.since))
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    """For each cluster of unanswered or ambiguous questions: its likely entry, as YAML.

    Prints ``# entry: <id>`` (or ``# new entry needed``) followed by the phrasings, ready to paste
    under ``phrasings:`` in knowledge/entries/*.yaml. Nothing edits the knowledge files.
    """
    from bot.engine import Engine
    from bot.knowledge import KnowledgeError

    knowledge = Path(args.knowledge or os.environ.get("BOT_KNOWLEDGE") or DEFAULT_KNOWLEDGE)
    try:
        engine = Engine.load(knowledge)
    except KnowledgeError as error:
        print(f"cannot load {knowledge}:\n{error}", file=sys.stderr)
        return 1
    proposals = asyncio.run(
        logs_report.suggest(
            _db(args), engine, args.since, min_score=args.min_score, limit=args.limit
        )
    )
    if args.json:
        _print_json([p.to_json() for p in proposals])
    else:
        print(logs_report.suggest_text(proposals, args.since))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Every column of every row as CSV or JSON lines (JSON has ``entry`` for the entry id)."""
    if args.output in (None, "-"):
        asyncio.run(logs_report.export(_db(args), args.format, args.since, sys.stdout))
        return 0
    output = Path(args.output)
    # The export holds questions and pseudonymous user keys: keep it private like the log.
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8", newline="") as out:
        count = asyncio.run(logs_report.export(_db(args), args.format, args.since, out))
    print(f"{count} rows → {output}", file=sys.stderr)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Create the database if needed (mode 0600) and apply pending migrations."""
    from bot.querylog import migrate_db

    db = _db(args)
    applied = asyncio.run(migrate_db(db))
    if applied:
        for name in applied:
            print(f"applied {name}")
    else:
        print(f"{db}: up to date")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``logs`` argument parser; each command's docstring is its help."""
    parser = argparse.ArgumentParser(
        prog="python -m bot logs",
        description=inspect.cleandoc(__doc__ or ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", help=f"query log database (default: $BOT_DB or {DEFAULT_DB})")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    since = argparse.ArgumentParser(add_help=False)
    since.add_argument(
        "--since", type=parse_duration, metavar="DURATION", help="only the last 30m, 24h, 7d, 2w…"
    )
    as_json = argparse.ArgumentParser(add_help=False)
    as_json.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, function: Callable[[argparse.Namespace], int], *parents: argparse.ArgumentParser
    ) -> argparse.ArgumentParser:
        doc = inspect.cleandoc(function.__doc__ or "")
        sub = commands.add_parser(
            name,
            parents=[common, *parents],
            help=doc.splitlines()[0],
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(run=function)
        return sub

    add("stats", cmd_stats, since, as_json)
    sub = add("unanswered", cmd_unanswered, since, as_json)
    sub.add_argument("--limit", type=int, default=20, help="clusters to show (default 20)")
    sub = add("suggest", cmd_suggest, since, as_json)
    sub.add_argument("--limit", type=int, default=None, help="clusters to show (default all)")
    sub.add_argument(
        "--knowledge", help=f"knowledge directory (default: $BOT_KNOWLEDGE or {DEFAULT_KNOWLEDGE})"
    )
    sub.add_argument(
        "--min-score",
        type=float,
        default=logs_report.SUGGEST_MIN_SCORE,
        help="lowest score to propose an unanswered question's closest entry"
        f" (default {logs_report.SUGGEST_MIN_SCORE})",
    )
    sub = add("export", cmd_export, since)
    sub.add_argument("--format", choices=("csv", "jsonl"), required=True)
    sub.add_argument("--output", "-o", help="write to FILE (mode 0600) instead of stdout")
    add("migrate", cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a ``logs`` command; return the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
