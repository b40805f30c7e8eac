"""Loading and validating knowledge files: every problem, with file, line and entry id."""

import shutil
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.knowledge import KnowledgeError, load_knowledge, load_with_problems

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"

SOURCE = """---
id: src
title: Tài liệu thử
date: 2023-01-17
kind: bài báo
description: Một tài liệu nhỏ để thử.
scope: Đảng bộ Khối các cơ quan Trung ương
---

Liên chi cơ quan Trung ương được thành lập vào ngày 7/11/1948 tại Chiến khu Việt Bắc với 6 chi bộ.

Đảng bộ Khối đã có 61 đảng bộ trực thuộc với 78.449 đảng viên, sinh hoạt trong 5.814 chi bộ.
"""

ENTRY = """
  - id: {id}
    question: {question}
    phrasings: [{phrasings}]
    answer: Câu trả lời.
    citations:
      - source: {source}
        quote: "{quote}"
"""


def _kb(tmp_path: Path, entries: str, facts: str | None = None) -> Path:
    root = tmp_path / "knowledge"
    (root / "sources").mkdir(parents=True)
    (root / "entries").mkdir()
    (root / "sources" / "src.md").write_text(SOURCE, encoding="utf-8")
    (root / "entries" / "a.yaml").write_text("topic: thử\nentries:\n" + entries, encoding="utf-8")
    if facts is not None:
        (root / "facts.yaml").write_text(facts, encoding="utf-8")
    return root


def _entry(**kw: str) -> str:
    base = {
        "id": "thanh-lap",
        "question": "Liên chi thành lập ngày nào?",
        "phrasings": "liên chi ra đời khi nào, ngày thành lập liên chi, liên chi lập năm nào,"
        " liên chi ra đời năm nào",
        "source": "src",
        "quote": "được thành lập vào ngày 7/11/1948",
    }
    base.update(kw)
    return ENTRY.format(**base)


def test_valid_directory_loads(tmp_path: Path) -> None:
    kb = load_knowledge(_kb(tmp_path, _entry()))
    assert list(kb.entries) == ["thanh-lap"]
    assert kb.sources["src"].display_date == "17/01/2023"
    assert len(kb.version) == 12


def test_every_problem_is_collected_with_file_line_and_id(tmp_path: Path) -> None:
    entries = (
        _entry(quote="không có trong nguồn")
        + _entry(
            id="khac",
            question="Số đảng viên?",
            source="khong-co",
            phrasings="a b c, d e f, g h i, j k l",
        )
        + _entry(id="thanh-lap", question="Trùng id?", phrasings="m, n, o, p")
        + "  - id: thieu\n    question: Thiếu trường\n    mystery: 1\n"
    )
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(_kb(tmp_path, entries))
    messages = [str(p) for p in info.value.problems]
    report = info.value.report()
    assert any("quote not found" in m and "[thanh-lap]" in m and "a.yaml:" in m for m in messages)
    assert any("unknown source 'khong-co'" in m for m in messages)
    assert any("duplicate id" in m for m in messages)
    assert any("unknown key 'mystery'" in m and "[thieu]" in m for m in messages)
    assert any("missing field" in m for m in messages)
    assert report.splitlines()[0].startswith(f"{len(messages)} problem(s)")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    root = _kb(tmp_path, _entry())
    (root / "entries" / "broken.yaml").write_text(
        "entries:\n  - id: x\n    question: [unclosed\n", encoding="utf-8"
    )
    _, problems = load_with_problems(root)
    syntax = [p for p in problems if "YAML syntax error" in p.message]
    assert syntax and syntax[0].file.endswith("broken.yaml") and syntax[0].line >= 3


def test_related_to_missing_entry_and_duplicate_key(tmp_path: Path) -> None:
    entries = _entry().replace("    answer:", "    related: [khong-ton-tai]\n    answer:")
    entries += "    answer: Lặp khóa.\n"
    _, problems = load_with_problems(_kb(tmp_path, entries))
    text = "\n".join(str(p) for p in problems)
    assert "related id 'khong-ton-tai' does not exist" in text
    assert "duplicate key 'answer'" in text


def test_quote_check_ignores_only_unicode_form_and_spacing(tmp_path: Path) -> None:
    spaced = _entry(quote="được   thành lập\\nvào ngày 7/11/1948")
    assert load_knowledge(_kb(tmp_path, spaced)).entries
    accents = _entry(quote="duoc thanh lap vao ngay 7/11/1948")
    with pytest.raises(KnowledgeError):
        load_knowledge(_kb(tmp_path / "b", accents))


def test_same_question_in_two_entries_is_reported(tmp_path: Path) -> None:
    entries = _entry() + _entry(
        id="khac",
        question="Ngày thành lập Liên chi?",
        phrasings="liên chi thành lập ngày nào, x y z, u v w, r s t",
    )
    _, problems = Engine.check(_kb(tmp_path, entries))
    assert any("is the same as one in entry 'thanh-lap'" in p.message for p in problems)


def test_fact_values_are_validated(tmp_path: Path) -> None:
    facts = """facts:
  - id: so-dang-vien
    label: Số đảng viên
    values:
      - {text: 78.449 đảng viên, as_of: 2023, source: src, quote: "78.449 đảng viên"}
      - {text: sai, as_of: "2023-13", source: src, quote: "x"}
"""
    _, problems = load_with_problems(_kb(tmp_path, _entry(), facts))
    assert any("bad as_of" in p.message and p.entry == "so-dang-vien" for p in problems)


def test_broken_copy_of_real_knowledge_reports_not_crashes(tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, root)
    target = next((root / "entries").glob("*.yaml"))
    target.write_text(target.read_text(encoding="utf-8") + "\n  - id: [broken\n", encoding="utf-8")
    engine, problems = Engine.check(root)
    assert problems and problems[0].file.endswith(target.name)
    assert engine is not None and len(engine.kb.entries) > 50  # the other files still load


def test_cited_as_must_be_a_list_of_phrases(tmp_path: Path) -> None:
    root = _kb(tmp_path, _entry())
    path = root / "sources" / "src.md"
    path.write_text(
        SOURCE.replace("scope:", "cited_as: bài báo năm 2023\nscope:"), encoding="utf-8"
    )
    _, problems = load_with_problems(root)
    assert [(p.file.endswith("src.md"), p.line, "cited_as" in p.message) for p in problems] == [
        (True, 7, True)
    ]
