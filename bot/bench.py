"""Latency benchmark behind ``python -m bot bench``.

Measures ``Engine.answer`` per question on the real knowledge base, and as the baseline, in the
same run and over the same questions, brute-force rapidfuzz: ``process.extractOne`` with WRatio
over every stored phrasing. Prints median, p90, p99 and the ratio. It asserts nothing: it reports.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from bot.engine import Engine
from bot.evaluation import VARIANTS, load_items, variant


def _questions(engine: Engine) -> list[str]:
    """Evaluation questions in every typing variant, else stored phrasings lightly altered."""
    eval_dir = engine.kb.root.parent / "tests" / "eval"
    items = load_items(eval_dir) if eval_dir.is_dir() else []
    if items:
        return [variant(i.q, v) for i in items for v in VARIANTS]
    phrasings = [q for e in engine.kb.entries.values() for q in e.all_questions]
    return [variant(q, v) for q in phrasings for v in ("base", "no_marks")]


def _measure(func: Callable[[str], object], questions: list[str], rounds: int) -> list[float]:
    samples: list[float] = []
    gc.disable()
    try:
        for _ in range(rounds):
            for q in questions:
                start = time.perf_counter()
                func(q)
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        gc.enable()
    return samples


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def run_bench(engine: Engine, rounds: int = 5) -> int:
    """Print latency of the engine and of the brute-force baseline, and their ratio."""
    questions = _questions(engine)
    phrasings = [q for e in engine.kb.entries.values() for q in e.all_questions]

    def brute(q: str) -> object:
        return process.extractOne(q, phrasings, scorer=fuzz.WRatio, processor=utils.default_process)

    for q in questions[:50]:  # warm caches of both
        engine.answer(q)
        brute(q)
    ours = _measure(engine.answer, questions, rounds)
    base = _measure(brute, questions, max(1, rounds // 5))
    print(
        f"knowledge: {len(engine.kb.entries)} entries, {len(phrasings)} phrasings "
        f"({Path(engine.kb.root).name}/)"
    )
    print(
        f"questions: {len(questions)} distinct inputs, engine {rounds} rounds, "
        f"baseline {max(1, rounds // 5)} round(s)"
    )
    print(f"{'':<28}{'median':>10}{'p90':>10}{'p99':>10}{'mean':>10}  (ms per question)")
    for name, s in (("engine.answer", ours), ("brute-force WRatio baseline", base)):
        print(
            f"{name:<28}{statistics.median(s):>10.4f}{_pct(s, 0.9):>10.4f}"
            f"{_pct(s, 0.99):>10.4f}{statistics.fmean(s):>10.4f}"
        )
    print(
        f"ratio baseline/engine: median {statistics.median(base) / statistics.median(ours):.1f}×,"
        f" p99 {_pct(base, 0.99) / _pct(ours, 0.99):.1f}×"
    )
    print("targets: median < 0.3 ms, p99 < 2 ms")
    return 0
