"""The command line, run as a real process the way users and CI run it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    full_env |= env or {}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_ask_json_stdin_answers_in_order_one_object_per_line() -> None:
    questions = [
        "Đảng bộ Khối thành lập ngày nào?",
        "",
        "Đảng Cộng sản Việt Nam thành lập ngày nào?",
    ]
    proc = run("ask", "--json", "-", stdin="\n".join(questions) + "\n")
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["question"] for r in rows] == [questions[0], questions[2]]
    first, second = rows
    assert set(first) == {
        "question",
        "status",
        "answer",
        "citations",
        "score",
        "entry",
        "suggestions",
        "latency_ms",
    }
    assert first["status"] == "answered" and "1948" in first["answer"]
    assert first["citations"] and {"source", "title", "date", "quote"} == set(first["citations"][0])
    assert second["status"] != "answered" and second["entry"] is None
    assert 0.0 <= second["score"] <= 1.0


def test_ask_plain_and_explain() -> None:
    plain = run("ask", "ngày truyền thống của đảng bộ khối")
    assert plain.returncode == 0 and "1948" in plain.stdout and "📖" in plain.stdout
    explain = run("ask", "--explain", "QĐ 47")
    assert explain.stdout.startswith("normalised:") and "recall=" in explain.stdout


def test_check_json_reports_clean_knowledge() -> None:
    proc = run("check", "--json")
    assert proc.returncode == 0, proc.stdout[-2000:]
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    assert report["entries"] > 100 and report["phrasings"] >= 4 * report["entries"]
    assert report["sources"] == 5
    st = report["self_test"]
    assert st["passed"] == st["total"] and st["failures"] == []
    cov = report["coverage"]
    assert cov["cited"] / cov["total"] >= 0.9 and set(cov["by_source"]) == {
        "bai-viet-75-nam",
        "phong-van-70-nam",
        "tpo-10-nam-2017",
        "ke-hoach-95-2023",
        "to-chuc-khoi-tinh-2023",
    }


def test_check_fails_on_a_broken_knowledge_file(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    bad = knowledge / "entries" / "zz-broken.yaml"
    bad.write_text("entries:\n  - id: x\n    question: [oops\n", encoding="utf-8")
    proc = run("--knowledge", str(knowledge), "check")
    assert proc.returncode == 1
    assert "zz-broken.yaml:" in proc.stdout and "YAML syntax error" in proc.stdout


def test_bare_command_without_token_starts_the_terminal_chat() -> None:
    proc = run(stdin="đảng bộ khối thành lập năm nào\nthoát\n")
    assert proc.returncode == 0
    assert "TELEGRAM_BOT_TOKEN" in proc.stdout  # says how to connect Telegram
    assert "1948" in proc.stdout


def test_chat_leaves_on_a_slash_command_too() -> None:
    proc = run("chat", stdin="/quit\nđảng bộ khối thành lập năm nào\n")
    assert proc.returncode == 0
    assert proc.stdout.count("Bạn:") == 1  # left at the first prompt


@pytest.mark.parametrize("command", ["ask", "check", "chat", "bench", "eval", "run"])
def test_every_command_has_help(command: str) -> None:
    proc = run(command, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout
