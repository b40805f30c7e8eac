"""Command line: ``python -m bot <command>``, a thin layer over the library; docstrings are help.

With no command: runs the Telegram bot when TELEGRAM_BOT_TOKEN is set, else the terminal chat.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from bot.engine import Engine
from bot.knowledge import KnowledgeError
from bot.results import Result


def _knowledge_dir(args: argparse.Namespace) -> Path:
    return Path(args.knowledge or os.environ.get("BOT_KNOWLEDGE") or "knowledge")


def _load(args: argparse.Namespace) -> Engine:
    """Load the engine; problems are printed as warnings so curators can still inspect."""
    engine, problems = Engine.check(_knowledge_dir(args))
    if problems:
        print(KnowledgeError(problems).report(), file=sys.stderr)
    if engine is None:
        raise SystemExit(2)
    return engine


def format_result(result: Result) -> str:
    """A result as a person reads it in a terminal."""
    lines = [result.answer]
    for c in result.citations:
        lines.append(f"\n📖 {c.title} ({c.date})\n   \u201c{c.quote}\u201d")
    if result.suggestions:
        lines.append("")
        lines.extend(f"  {i}. {s.question}" for i, s in enumerate(result.suggestions, 1))
    if result.related:
        lines.append("\nCâu hỏi liên quan:")
        lines.extend(f"  • {s.question}" for s in result.related)
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer a question ("-" reads one question per line from stdin)."""
    engine = _load(args)
    questions: list[str] | TextIO = sys.stdin if args.question == "-" else [args.question]
    for raw in questions:
        question = raw.rstrip("\n")
        if args.question == "-" and not question.strip():
            continue
        if args.explain:
            print("\n".join(engine.explain(question)))
            continue
        start = time.perf_counter()
        result = engine.answer(question)
        latency = (time.perf_counter() - start) * 1000
        if args.json:
            print(json.dumps(result.to_json(latency), ensure_ascii=False), flush=True)
        else:
            print(format_result(result), flush=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Validate the knowledge, verify every quote, run the self-test and report coverage."""
    engine, problems = Engine.check(_knowledge_dir(args))
    report: dict[str, object] = {"errors": [p.to_json() for p in problems]}
    if engine is not None:
        passed, total, failures = engine.self_test()
        report |= {
            "entries": len(engine.kb.entries),
            "phrasings": sum(len(e.all_questions) for e in engine.kb.entries.values()),
            "sources": len(engine.kb.sources),
            "facts": len(engine.kb.facts),
            "self_test": {"passed": passed, "total": total, "failures": failures},
            "coverage": engine.coverage(),
        }
    ok = not problems and engine is not None and not report["self_test"]["failures"]  # type: ignore[index]
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0 if ok else 1
    for p in problems:
        print(f"ERROR {p}")
    if engine is not None:
        st = report["self_test"]
        cov = report["coverage"]
        assert isinstance(st, dict) and isinstance(cov, dict)
        for f in st["failures"]:
            print(f"SELF-TEST {f['entry']}: {f['question']!r} -> {f['status']} {f['got']}")
        print(
            f"entries: {report['entries']}, phrasings: {report['phrasings']}, "
            f"sources: {report['sources']}, facts: {report['facts']}"
        )
        print(f"self-test: {st['passed']}/{st['total']} phrasings answer their own entry")
        pct = 100 * cov["cited"] / cov["total"] if cov["total"] else 0.0
        print(f"coverage: {cov['cited']}/{cov['total']} substantive paragraphs cited ({pct:.1f}%)")
        for sid, c in cov["by_source"].items():
            print(
                f"  {sid}: {c['cited']}/{c['total']}"
                + (f" (uncited paragraphs: {c['uncited']})" if c["uncited"] else "")
            )
    print("OK" if ok else f"FAILED: {len(problems)} error(s)")
    return 0 if ok else 1


def cmd_chat(args: argparse.Namespace) -> int:
    """Chat with the bot in the terminal (Ctrl-D, 'thoát' or '/quit' to leave)."""
    engine = _load(args)
    print("Hỏi đáp Đảng bộ Khối — trò chuyện trong terminal. Gõ câu hỏi, Ctrl-D để thoát.")
    if not os.environ.get("TELEGRAM_BOT_TOKEN"):
        print(
            "(Chưa đặt TELEGRAM_BOT_TOKEN. Để chạy trên Telegram: đặt biến môi trường "
            "TELEGRAM_BOT_TOKEN rồi chạy `make run` hoặc `python -m bot run`.)"
        )
    for example in engine.examples(3):
        print(f"  ví dụ: {example}")
    while True:
        try:
            question = input("\nBạn: ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if question.strip().lower().lstrip("/") in {"thoát", "thoat", "exit", "quit"}:
            return 0
        if question.strip():
            print("Bot: " + format_result(engine.answer(question)))


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure answer latency on the real knowledge base against brute-force rapidfuzz."""
    from bot.bench import run_bench

    return run_bench(_load(args), rounds=args.rounds)


def cmd_eval(args: argparse.Namespace) -> int:
    """Run the evaluation set (tests/eval) and print accuracy, abstention and error rates."""
    from bot.evaluation import run_eval

    return run_eval(
        _load(args),
        Path(args.eval_file),
        split=args.split,
        verbose=args.verbose,
        do_calibrate=args.calibrate,
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Run the Telegram bot (needs TELEGRAM_BOT_TOKEN)."""
    from bot.telegram_app import run_from_env

    return run_from_env()


def build_parser() -> tuple[
    argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]
]:
    """The argument parser and the command table."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "--knowledge", help="knowledge directory (default: $BOT_KNOWLEDGE or ./knowledge)"
    )
    sub = parser.add_subparsers(dest="command")
    commands: dict[str, Callable[[argparse.Namespace], int]] = {}

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=(func.__doc__ or "").splitlines()[0], description=func.__doc__
        )
        commands[name] = func
        return p

    p = add("ask", cmd_ask)
    p.add_argument("question", help='the question, or "-" for one question per line on stdin')
    p.add_argument("--json", action="store_true", help="one JSON object per question")
    p.add_argument("--explain", action="store_true", help="show how the question was matched")
    p = add("check", cmd_check)
    p.add_argument("--json", action="store_true", help="print one JSON report")
    add("chat", cmd_chat)
    p = add("bench", cmd_bench)
    p.add_argument("--rounds", type=int, default=5, help="passes over the question set")
    p = add("eval", cmd_eval)
    p.add_argument(
        "--eval-file",
        default="tests/eval",
        help="a YAML file or a directory of them (default: tests/eval)",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="tune thresholds on each half and report on the other; print those tuned on both",
    )
    p.add_argument("--split", choices=["dev", "test", "all"], default="all")
    p.add_argument("--verbose", action="store_true", help="list every failure")
    add("run", cmd_run)
    sub.add_parser(
        "logs", help="query-log tools for curators (python -m bot logs --help)", add_help=False
    )
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run a command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["logs"]:
        from bot.logs_cli import main as logs_main

        return logs_main(argv[1:])
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if os.environ.get("TELEGRAM_BOT_TOKEN"):
            return cmd_run(args)
        return cmd_chat(args)
    return commands[args.command](args)
