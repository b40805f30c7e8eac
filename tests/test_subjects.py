"""Spotting a question about another organisation (bot/subjects.py), on folded words."""

import pytest

from bot.subjects import other_organisation
from bot.vntext import fold


def words(text: str) -> list[str]:
    return [fold(w) for w in text.lower().split()]


@pytest.mark.parametrize(
    ("question", "mass", "name"),
    [
        ("đảng bộ thành phố hà nội thành lập", False, "dang bo thanh pho"),
        ("đảng ủy công an trung ương thành lập", False, "dang uy cong an"),
        ("đảng bộ quân đội có đảng viên", False, "dang bo quan doi"),
        ("quân ủy trung ương có ủy viên", False, "quan uy"),
        ("đảng ủy khối doanh nghiệp trung ương thành lập", False, "khoi doanh nghiep"),
        ("đoàn thanh niên khối các cơ quan trung ương", True, "doan thanh nien"),
        ("công đoàn việt nam ra đời", True, "cong doan"),
        ("đảng cộng sản việt nam thành lập", False, "dang cong san"),
    ],
)
def test_another_organisation_is_named(question: str, mass: bool, name: str) -> None:
    assert other_organisation(words(question)) == (mass, tuple(name.split()))


@pytest.mark.parametrize(
    "question",
    [
        "đảng bộ khối thành lập",
        "đảng bộ khối thuộc đảng bộ thành phố hà nội từ",  # names the bloc too
        "liên chi cơ quan trung ương ra đời",
        "đảng bộ khối dưới sự lãnh đạo của đảng cộng sản việt nam",
        "đảng bộ đã lãnh đạo nhiệm vụ trọng tâm",  # "Đảng bộ" followed by a verb
        "đảng ủy trực thuộc có trách nhiệm",
        "đảng bộ khối kinh tế trung ương sáp nhập",  # a forerunner bloc
    ],
)
def test_questions_about_the_bloc_are_not_flagged(question: str) -> None:
    assert other_organisation(words(question)) is None


def test_a_mass_organisation_named_beside_a_party_committee_is_not_flagged() -> None:
    assert other_organisation(words("đảng ủy khối giao đoàn thanh niên khối việc gì")) is None
