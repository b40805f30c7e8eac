"""The evaluation set as a regression test, on the split the thresholds were not tuned on.

The release bar is 90% in-scope accuracy, 90% abstention on negatives and < 3% confidently
wrong. The in-scope floor below is the level reached so far (see README), so that a change
cannot lower it unnoticed; the other bars are the release bars themselves.
"""

from pathlib import Path

import pytest

from bot.engine import Engine
from bot.evaluation import (
    VARIANTS,
    QuoteVerifier,
    evaluate,
    has_facts,
    load_items,
    no_marks,
    old_tone,
    variant,
)

ROOT = Path(__file__).resolve().parent.parent
IN_SCOPE_FLOOR = 0.88  # a regression guard on the test split (90.4% now); the release bar is 90%


@pytest.fixture(scope="module")
def report() -> tuple[dict, tuple[int, int]]:
    engine = Engine.load(ROOT / "knowledge")
    items = load_items(ROOT / "tests" / "eval")
    tallies, cites, _ = evaluate(engine, items, {"test"})
    return tallies, cites


def test_eval_set_is_large_and_balanced() -> None:
    items = load_items(ROOT / "tests" / "eval")
    assert len(items) >= 200
    kinds = {i.kind for i in items}
    assert kinds == {"in_scope", "negative"}
    assert {i.split for i in items} == {"dev", "test"}
    assert all(i.expect for i in items if i.kind == "in_scope")


def test_negatives_are_not_answered(report: tuple[dict, tuple[int, int]]) -> None:
    neg = report[0]["negative"]["all"]
    assert neg.correct / neg.n >= 0.90


def test_confidently_wrong_is_rare(report: tuple[dict, tuple[int, int]]) -> None:
    tallies = report[0]
    n = tallies["in_scope"]["all"].n + tallies["negative"]["all"].n
    wrong = tallies["in_scope"]["all"].wrong + tallies["negative"]["all"].wrong
    assert wrong / n < 0.03


def test_every_answer_quote_is_verified(report: tuple[dict, tuple[int, int]]) -> None:
    good, total = report[1]
    assert total > 0 and good == total


def test_in_scope_accuracy_does_not_regress(report: tuple[dict, tuple[int, int]]) -> None:
    ins = report[0]["in_scope"]
    assert ins["all"].correct / ins["all"].n >= IN_SCOPE_FLOOR
    # Typing variants must not fall far behind the plain question.
    base = ins["variant:base"].correct / ins["variant:base"].n
    for name in VARIANTS[1:]:
        t = ins[f"variant:{name}"]
        assert t.correct / t.n >= base - 0.1, name


def test_variant_generators() -> None:
    assert old_tone("hòa bình, thủy lợi") == "hoà bình, thuỷ lợi"
    assert no_marks("Đảng bộ Khối") == "Dang bo Khoi"
    assert variant("Ngày nào?", "caps") == "NGÀY NÀO?"
    assert has_facts("ngày 07/11/1948 – 2023", [["7/11/1948", "07/11/1948"], ["1948-2023"]])
    assert not has_facts("năm 1948", [["2007"]])


def test_quote_verifier_flags_an_invented_quote() -> None:
    from bot.results import Citation, Result

    engine = Engine.load(ROOT / "knowledge")
    verifier = QuoteVerifier(engine)
    fake = Result("q", "answered", "a", (Citation("phong-van-70-nam", "t", "d", "không có"),))
    assert verifier.verified(fake) == (0, 1)


def test_calibration_keeps_a_safety_step_from_the_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """Negatives score 0.68 and a few in-scope questions 0.71: answering from 0.70 meets the
    targets on these questions, but 0.04 lower it would not, so calibration settles above
    0.71 and gives up those few (at the most cautious setting that answers the rest)."""
    from bot import evaluation as ev

    def outcome(kind: str, score: float) -> ev._Outcomes:
        answered = (True, False) if kind == "in_scope" else (False, True)
        silent = (False, False) if kind == "in_scope" else (True, False)
        return ev._Outcomes(
            ev.Item("q", kind, "formal", "dev", "t"), score, score, 1.0, 8, answered, silent, silent
        )

    outcomes = [outcome("in_scope", 0.9)] * 60 + [outcome("in_scope", 0.71)] * 5
    outcomes += [outcome("negative", 0.68)] * 5 + [outcome("negative", 0.3)] * 95
    monkeypatch.setattr(ev, "_outcomes", lambda engine, items, splits: outcomes)

    class FakeEngine:
        thresholds = None  # set by calibrate

    settings = ev.calibrate(FakeEngine(), [])  # type: ignore[arg-type]
    assert settings[0] > 0.71
    accuracy, abstention, wrong_rate = ev._replay(outcomes, settings)
    assert accuracy == 60 / 65 and abstention == 1.0 and wrong_rate == 0.0
