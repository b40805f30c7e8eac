"""The answering core on the real knowledge base: behaviour a user relies on."""

import unicodedata
from datetime import date
from pathlib import Path

import pytest

from bot.engine import Engine
from bot.lexicon import asked_part
from bot.results import Result
from bot.subjects import province_named
from bot.vntext import nfc_ws

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
TODAY = date(2026, 11, 23)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(KNOWLEDGE)


def ask(engine: Engine, question: str, today: date = TODAY) -> Result:
    return engine.answer(question, today=today)


def assert_quotes_verbatim(engine: Engine, result: Result) -> None:
    assert result.citations, "an answer must be cited"
    for c in result.citations:
        assert nfc_ws(c.quote) in engine.kb.sources[c.source].normalized_body
        assert c.title == engine.kb.sources[c.source].title and c.date


def test_founding_date_is_answered_with_a_verbatim_quote(engine: Engine) -> None:
    result = ask(engine, "Đảng bộ Khối thành lập ngày nào?")
    assert result.status == "answered"
    assert "1948" in result.answer
    assert_quotes_verbatim(engine, result)


@pytest.mark.parametrize(
    "typed",
    [
        "dang bo khoi thanh lap nam nao",
        unicodedata.normalize("NFD", "Đảng bộ Khối thành lập năm nào?"),
        "ĐẢNG BỘ KHỐI THÀNH LẬP NĂM NÀO",
        "cho mình hỏi đảng bộ khối thành lập năm nào ạ 🙏",
        "ĐBK các cơ quan TW ra đời khi nào",
        # everyday filler must not hide the question
        "mọi người ơi Đảng bộ Khối thành lập ngày nào vậy???",
        "hỏi chút: Đảng bộ Khối thành lập ngày nào",
        "dạ cho cháu hỏi xíu Đảng bộ Khối thành lập ngày nào với ạ",
        "ủa Đảng bộ Khối thành lập ngày nào z",
        "Đảng bộ Khối thành lập mùng mấy tháng mấy",
        "Bac oi Dang bo Khoi minh sinh nhat ngay may thang may vay?",
    ],
)
def test_typing_variants_reach_the_same_answer(engine: Engine, typed: str) -> None:
    result = ask(engine, typed)
    assert result.status == "answered"
    assert "1948" in result.answer


@pytest.mark.parametrize(
    "question",
    [
        "Đảng Cộng sản Việt Nam thành lập ngày nào?",
        "Đảng bộ Khối Doanh nghiệp Trung ương thành lập năm nào?",
        "Trụ sở Đảng ủy Khối ở đâu?",
        "Năm 2025 Đảng bộ Khối có bao nhiêu đảng viên?",
        "thời tiết Hà Nội hôm nay thế nào",
    ],
)
def test_questions_outside_the_documents_are_not_answered(engine: Engine, question: str) -> None:
    result = ask(engine, question)
    assert result.status != "answered", (result.entry_id, result.score)
    assert "1948" not in result.answer


def test_no_answer_offers_the_closest_entries(engine: Engine) -> None:
    result = ask(engine, "Đảng Cộng sản Việt Nam thành lập ngày nào?")
    assert result.status == "no_answer"
    assert 1 <= len(result.suggestions) <= 4
    assert all(s.entry_id in engine.kb.entries for s in result.suggestions)


def test_membership_now_gives_latest_value_date_and_history(engine: Engine) -> None:
    result = ask(engine, "Hiện nay Đảng bộ Khối có bao nhiêu đảng viên?")
    assert result.status == "answered" and result.kind == "fact"
    assert "78.449" in result.answer
    assert "2023" in result.answer
    assert "gần 7 vạn" in result.answer and "79.000" in result.answer
    assert_quotes_verbatim(engine, result)


def test_conflicting_1948_membership_cites_both_sources(engine: Engine) -> None:
    result = ask(engine, "Năm 1948 có bao nhiêu đảng viên?")
    assert result.status == "answered"
    assert "mấy trăm" in result.answer and "vài chục" in result.answer
    cited = {c.source for c in result.citations}
    assert "phong-van-70-nam" in cited and cited & {"bai-viet-75-nam", "ke-hoach-95-2023"}


def test_provincial_figures_are_never_the_central_blocs(engine: Engine) -> None:
    result = ask(
        engine, "Đảng bộ Khối các cơ quan Trung ương kết nạp bao nhiêu đảng viên mới năm 2023?"
    )
    assert result.status != "answered" or "tỉnh" in result.answer


def test_anniversary_is_computed_from_the_injected_clock(engine: Engine) -> None:
    before = ask(engine, "năm nay kỷ niệm bao nhiêu năm ngày truyền thống?", date(2026, 3, 1))
    assert before.status == "answered" and before.kind == "computed"
    assert "78 năm" in before.answer and "sẽ" in before.answer
    later = ask(engine, "năm nay kỷ niệm bao nhiêu năm ngày truyền thống?", date(2030, 12, 1))
    assert "82 năm" in later.answer


def test_two_lesson_lists_are_told_apart(engine: Engine) -> None:
    r70 = ask(engine, "Năm bài học kinh nghiệm qua 70 năm của Đảng bộ Khối là gì?")
    r75 = ask(engine, "Những bài học kinh nghiệm qua 75 năm của Đảng bộ Khối là gì?")
    assert r70.status == r75.status == "answered"
    assert r70.entry_id != r75.entry_id
    assert {c.source for c in r70.citations} == {"phong-van-70-nam"}
    assert "ke-hoach-95-2023" in {c.source for c in r75.citations}


@pytest.mark.parametrize(
    ("question", "kind_word"),
    [("xin chào", "Xin chào"), ("cảm ơn bạn nhé", "Không có gì"), ("bạn là ai", "trợ lý")],
)
def test_small_talk_gets_a_friendly_reply(engine: Engine, question: str, kind_word: str) -> None:
    result = ask(engine, question)
    assert result.kind == "smalltalk" and kind_word in result.answer


def test_greeting_with_a_question_is_not_small_talk(engine: Engine) -> None:
    result = ask(engine, "chào bạn, Đảng bộ Khối thành lập năm nào?")
    assert result.kind != "smalltalk" and "1948" in result.answer


def test_empty_and_emoji_only_input(engine: Engine) -> None:
    assert ask(engine, "").status == "no_answer"
    assert ask(engine, "🙏🙏 ???").status == "no_answer"


def test_related_entries_exist_and_answer_entry_matches(engine: Engine) -> None:
    result = ask(engine, "Tiền thân của Đảng bộ Khối là gì?")
    assert result.status == "answered" and result.related
    follow = engine.answer_entry(result.related[0].entry_id, today=TODAY)
    assert follow is not None and follow.status == "answered" and follow.citations
    assert engine.answer_entry("khong-ton-tai") is None


def test_explain_shows_normalised_query_and_candidates(engine: Engine) -> None:
    lines = engine.explain("QĐ 47 là gì")
    assert lines[0].startswith("normalised: qđ 47")
    assert any("recall=" in line for line in lines)


def test_every_entry_answer_is_cited_verbatim(engine: Engine) -> None:
    for entry_id in engine.kb.entries:
        result = engine.answer_entry(entry_id, today=TODAY)
        assert result is not None
        assert_quotes_verbatim(engine, result)


def test_quotes_are_verbatim_in_the_original_seeds(engine: Engine) -> None:
    repo = KNOWLEDGE.parent
    seeds = {s.id: repo.parent / s.origin for s in engine.kb.sources.values()}
    if not all(p.is_file() for p in seeds.values()):
        pytest.skip("../shared/seeds is not beside the repository")
    text = {sid: nfc_ws(p.read_text(encoding="utf-8")) for sid, p in seeds.items()}
    quotes = [(c.source, c.quote) for e in engine.kb.entries.values() for c in e.citations]
    quotes += [(v.source, v.quote) for f in engine.kb.facts.values() for v in f.values]
    missing = [(s, q) for s, q in quotes if nfc_ws(q) not in text[s]]
    assert not missing


def test_self_test_passes(engine: Engine) -> None:
    passed, total, failures = engine.self_test()
    assert total > 400 and passed == total, failures[:5]


def test_question_naming_several_figures_gets_each_of_them(engine: Engine) -> None:
    result = ask(engine, "Hiện nay Đảng bộ Khối có bao nhiêu đảng viên và bao nhiêu chi bộ?")
    assert result.status == "answered"
    assert "5.814" in result.answer and "78.449" in result.answer
    assert_quotes_verbatim(engine, result)


def test_dated_figure_adds_other_figures_of_the_same_year(engine: Engine) -> None:
    result = engine.answer_entry("so-dang-vien-2022", today=TODAY)
    assert result is not None and "79.000" in result.answer
    asked = ask(engine, "Tính đến giữa năm 2022 có bao nhiêu đảng viên và chi bộ?")
    assert asked.status == "answered"
    assert "79.000" in asked.answer and "5.700" in asked.answer
    assert_quotes_verbatim(engine, asked)


def test_three_letter_typos_are_corrected(engine: Engine) -> None:
    terms = engine.matcher.terms(engine.lexicon.analyze("lien chi co quan trung uog"))
    fixed = {t.corrected_from: t.folded for t in terms if t.corrected_from}
    assert fixed == {"uog": "uong"}


def test_texting_short_forms(engine: Engine) -> None:
    assert engine.lexicon.analyze("bh").intents == {"WHEN"}
    result = engine.answer("ĐBK có bn đv j")
    assert result.status == "answered" and result.entry_id == "so-dang-vien-hien-nay"
    result = engine.answer("Chủ tịch nc trao huân chương gì cho đảng bộ khối năm 2017")
    assert result.status == "answered" and "Huân chương Lao động hạng Nhất" in result.answer


def test_nn_is_nha_nuoc_and_kn_both_readings(engine: Engine) -> None:
    result = engine.answer("ĐBK được Đảng và NN tặng thưởng những gì?")
    assert result.status == "answered" and result.entry_id == "cac-phan-thuong"
    assert engine.answer("KN 75 năm ngày truyền thống").entry_id == "ky-niem-75-nam"
    assert engine.answer("bài học KN 75 năm").entry_id == "bai-hoc-75-nam"
    # ...while the full words stay apart: an anniversary is not a lesson.
    assert engine.normalize("kỷ niệm 70 năm") != engine.normalize("kinh nghiệm 70 năm")


@pytest.mark.parametrize(
    "question",
    [
        "Đảng bộ thành phố Hà Nội được thành lập năm nào?",
        "Dang bo Quan doi hien co bao nhieu dang vien?",
        "Đoàn Thanh niên Khối các cơ quan Trung ương",
        "Quân ủy TW có bao nhiêu ủy viên?",
    ],
)
def test_another_organisation_gets_an_honest_no(engine: Engine, question: str) -> None:
    result = ask(engine, question)
    assert result.status == "no_answer"
    assert "tổ chức khác" in result.answer
    assert result.suggestions  # the closest entries are still offered


def test_the_bloc_under_hanoi_is_still_answered(engine: Engine) -> None:
    result = ask(engine, "Đảng bộ Khối có từng trực thuộc Đảng bộ thành phố Hà Nội không?")
    assert result.status == "answered"
    assert result.entry_id == "truc-thuoc-ha-noi"
    # ...but not "since when": the documents give no years, and the bot says so
    result = ask(engine, "Đảng bộ Khối trực thuộc Đảng bộ thành phố Hà Nội từ khi nào?")
    assert result.status == "no_answer"
    assert result.entry_id == "truc-thuoc-ha-noi-nhung-nam-nao"


def test_provincial_entry_scores_lower_when_the_question_names_only_the_bloc(
    engine: Engine,
) -> None:
    def top(question: str) -> tuple[str, float]:
        ranked = engine.matcher.rank(engine.lexicon.analyze(question))
        return ranked[0].entry_id, ranked[0].score

    provincial = top("Đảng bộ Khối tỉnh rà soát quy hoạch cán bộ cho những nhiệm kỳ nào?")
    central = top("Đảng bộ Khối rà soát quy hoạch cán bộ cho những nhiệm kỳ nào?")
    assert provincial[0] == central[0] == "khoi-tinh-quy-hoach-can-bo"
    assert central[1] < provincial[1] * 0.9


def test_particles_typed_without_marks_weigh_like_function_words(engine: Engine) -> None:
    from bot.matcher import FUNCTION_WEIGHT

    terms = {
        t.folded: t.weight
        for t in engine.matcher.terms(engine.lexicon.analyze("con phuong cham nao luon thi"))
    }
    assert terms["luon"] == FUNCTION_WEIGHT  # only "luôn" reads so
    assert terms["thi"] > FUNCTION_WEIGHT  # "thì", but also "thi đua"


def test_a_number_given_by_another_phrasing_of_the_entry_is_no_conflict(engine: Engine) -> None:
    # "75 năm" is in other phrasings of the affiliated committees' entry, whose best phrasing
    # names Kế hoạch 95: the two numbers are the same plan, not two different facts.
    question = "Các đảng ủy trực thuộc có trách nhiệm gì trong việc thực hiện kế hoạch 75 năm?"
    ranked = engine.matcher.rank(engine.lexicon.analyze(question))
    scored = {s.entry_id: s for s in ranked}
    assert scored["kh95-dang-uy-truc-thuoc"].intent_factor == 1.0
    # ...while 70 against 75 still tells the two lesson lists apart.
    lessons = engine.matcher.rank(engine.lexicon.analyze("bài học kinh nghiệm 75 năm"))
    assert lessons[0].entry_id == "bai-hoc-75-nam"
    conflict = {s.entry_id: s for s in lessons}
    assert conflict.get("bai-hoc-70-nam") is None or conflict["bai-hoc-70-nam"].score < 0.7


def test_a_bare_keyword_gets_suggestions_not_a_guess(engine: Engine) -> None:
    # "nghị quyết" is a small part of many phrasings: a lead over the next entry is no
    # reason to pick one of them.
    result = ask(engine, "nghị quyết")
    assert result.status == "ambiguous"
    assert 2 <= len(result.suggestions) <= 4


@pytest.mark.parametrize(
    "question",
    ["Đảng bộ Khối có những chuyền thống nào?", "dang bo khoi co nhung chuyen thong nao"],
)
def test_regional_spelling_is_read_in_context(engine: Engine, question: str) -> None:
    # "chuyền"/"chuyen" fits neither neighbour; "truyền thống" does (ch/tr sound alike).
    terms = engine.matcher.terms(engine.lexicon.analyze(question))
    assert "truyen" in {t.folded for t in terms}
    assert ask(engine, question).entry_id == "truyen-thong-tot-dep"


@pytest.mark.parametrize(
    ("question", "kept", "not_read_as"),
    [
        ("chuyen sinh hoat dang khoi tinh", "chuyen", "truyen"),  # fits its neighbour
        ("khối tỉnh đã chuyển bao nhiêu đảng viên sang sinh hoạt", "chuyen", "truyen"),  # marked
        ("những đảng bộ khối nào được tổ chức lại, liệt kê đủ nhé", "du", "giu"),  # đ is not d
    ],
)
def test_real_words_are_not_respelled(
    engine: Engine, question: str, kept: str, not_read_as: str
) -> None:
    folded = {t.folded for t in engine.matcher.terms(engine.lexicon.analyze(question))}
    assert kept in folded and not_read_as not in folded


def test_another_department_is_a_conflict(engine: Engine) -> None:
    ranked = engine.matcher.rank(engine.lexicon.analyze("ngày truyền thống ngành tuyên giáo"))
    scored = {s.entry_id: s for s in ranked}
    own = engine.matcher.rank(engine.lexicon.analyze("ngày truyền thống ngành tổ chức"))
    entry = "khoi-tinh-ngay-truyen-thong-nganh-to-chuc"
    assert own[0].entry_id == entry and own[0].intent_factor == 1.0
    assert entry not in scored or scored[entry].intent_factor < 1.0


def test_unmarked_minh_is_mình_unless_it_ends_ho_chi_minh(engine: Engine) -> None:
    assert "minh" not in engine.normalize("Bac oi Dang bo Khoi minh sinh nhat ngay may")
    assert "minh" not in engine.normalize("giup minh voi")
    assert "hồ chí minh" in engine.normalize("tu tuong ho chi minh")


def test_an_unknown_three_letter_syllable_is_not_corrected_into_an_answer(engine: Engine) -> None:
    # "tru" (trụ sở, headquarters) is one letter from "tri" (vị trí); the documents never
    # give the headquarters, so the question must not be answered with the bloc's role.
    result = ask(engine, "tru so dang uy khoi cac co quan trung uong o dau")
    assert result.status != "answered"
    terms = engine.matcher.terms(engine.lexicon.analyze("dang bo khoi thanh lap nam nao uog"))
    assert "uong" in {t.folded for t in terms}  # a dropped letter is still restored


def test_a_typo_is_corrected_to_the_word_that_fits_its_neighbour(engine: Engine) -> None:
    # "thộc" is one edit from both "thực" (commoner) and "thuộc"; only "trực thuộc" is a pair.
    terms = engine.matcher.terms(engine.lexicon.analyze("đảng bộ trực thộc"))
    assert "thuoc" in {t.folded for t in terms}
    assert "thuc" not in {t.folded for t in terms}


def test_a_corrected_typo_completes_a_phrase(engine: Engine) -> None:
    # "quyết đinh" only becomes the abbreviation QĐ (which the entries use) once corrected.
    analysis = engine.matcher.respelled(engine.lexicon.analyze("Quyết đinh 47 do ai ban hành?"))
    assert analysis.tokens[:2] == ["qđ", "47"]
    result = ask(engine, "Quyết đinh 47 lập Đảng bộ Khối do cơ quan nào ban hành?")
    assert result.status == "answered"
    assert "Bộ Chính trị" in result.answer


def test_phuong_thuc_is_not_a_province(engine: Engine) -> None:
    result = ask(engine, "kết quả đổi mới phương thức lãnh đạo của Đảng bộ Khối")
    assert result.status == "answered"
    assert result.entry_id == "ket-qua-phuong-thuc-lanh-dao"


def test_a_three_letter_word_is_corrected_only_where_the_fix_fits(engine: Engine) -> None:
    # "tru so" is "trụ sở" (headquarters, never mentioned), not "trực ..." one letter away.
    terms = engine.matcher.terms(engine.lexicon.analyze("tru so dang uy khoi cac co quan"))
    assert "truc" not in {t.folded for t in terms}
    assert ask(engine, "tru so Dang uy Khoi cac co quan Trung uong").status != "answered"


def test_a_count_of_members_is_no_question_for_the_anniversary_computation(engine: Engine) -> None:
    # Any year after 1948 is an input of the computed anniversary entry; a question naming
    # members must not be answered with the bloc's age.
    result = ask(engine, "Tính đến năm 2026, ĐBK các cơ quan TW có bao nhiêu ĐV?")
    assert result.status != "answered"
    assert ask(engine, "năm 2026 đảng bộ khối kỷ niệm bao nhiêu năm").status == "answered"


def test_a_year_the_figures_lack_is_not_answered_with_another_year(engine: Engine) -> None:
    result = ask(engine, "Năm 2017 Đảng bộ Khối có bao nhiêu tổ chức cơ sở đảng?")
    assert result.status == "no_answer" and result.entry_id == "so-to-chuc-co-so-dang-2007"
    assert "năm 2017" in result.answer and "1 nghìn" in result.answer  # what the documents hold
    assert_quotes_verbatim(engine, result)
    # a year the series has is answered, and a figure that looks like a year is no year
    assert (
        ask(engine, "Năm 2017 Đảng bộ Khối có bao nhiêu đảng bộ trực thuộc?").status == "answered"
    )
    assert ask(engine, "Gần 1.000 tổ chức cơ sở đảng là số liệu năm nào?").status == "answered"


@pytest.mark.parametrize(
    ("question", "gap"),
    [
        ("Chủ tịch nước Trần Đại Quang sinh năm nào?", "tran-dai-quang-tieu-su"),
        (
            "Hội thảo lịch sử ra đời, vị trí, vai trò của ĐBK tổ chức ở đâu?",
            "kh95-hoi-thao-thoi-gian-dia-diem",
        ),
        ("Kế hoạch 95 chi bao nhiêu tiền cho tuyên truyền?", "kh95-kinh-phi-so-tien"),
    ],
)
def test_known_gaps_say_what_the_documents_hold(engine: Engine, question: str, gap: str) -> None:
    result = ask(engine, question)
    assert result.status == "no_answer" and result.entry_id == gap
    assert_quotes_verbatim(engine, result)
    # ...while the fact beside the gap is still answered
    assert (
        ask(engine, "Ai trao Huân chương Lao động hạng Nhất cho Đảng bộ Khối?").status == "answered"
    )


def test_a_negated_clause_is_not_read_as_asked(engine: Engine) -> None:
    # "(ko phải đảng bộ trực thuộc nha)" says what the question is not about
    negated = "năm 2023 Đảng bộ Khối có bao nhiêu tổ chức cơ sở đảng? (ko phải đảng bộ trực thuộc)"
    assert "trực thuộc" not in engine.normalize(negated)
    assert engine.normalize(negated) == engine.normalize(negated.split("?")[0])
    assert "tỉnh" not in engine.normalize("Đảng bộ Khối, chứ không phải Đảng bộ tỉnh, lập năm nào?")
    # a yes/no tail and a leading "không phải ... sao?" are questions, not negated clauses
    assert "1948" in engine.normalize("Đảng bộ thành lập năm 1948, phải không?")
    assert "1948" in engine.normalize("Không phải Đảng bộ Khối thành lập năm 1948 sao?")
    result = ask(engine, negated)
    assert result.status == "no_answer" and result.entry_id == "so-to-chuc-co-so-dang-2007"


@pytest.mark.parametrize(
    "question",
    [
        "số đảng viên Khối Nam Định",
        "Đảng bộ Khối Hà Tĩnh có bao nhiêu đảng viên",
        "dang bo khoi thanh hoa thanh lap nam nao",
    ],
)
def test_a_named_provinces_bloc_is_another_organisation(engine: Engine, question: str) -> None:
    assert ask(engine, question).status == "no_answer"


def test_a_province_name_needs_its_marks_when_typed_with_them(engine: Engine) -> None:
    said = engine.lexicon.analyze("Đảng bộ Khối đã nâng cao chất lượng chi bộ thế nào")
    assert province_named(said.tokens, said.folded, said.marked) is None  # "đã nâng" is not Đà Nẵng
    named = engine.lexicon.analyze("Đảng bộ Khối Đà Nẵng có bao nhiêu đảng viên")
    assert province_named(named.tokens, named.folded, named.marked) == ("da", "nang")
    # an entry that names the province still answers (the provincial class's museum trip)
    result = ask(engine, "Học viên khối tỉnh đến Bảo tàng Nam Định để làm gì?")
    assert result.status == "answered"


def test_words_differing_only_in_marks_are_two_terms_unless_a_slip(engine: Engine) -> None:
    def terms(question: str) -> list[str]:
        analysis = engine.lexicon.analyze(question)
        return [t.accented for t in engine.matcher.terms(analysis) if t.folded == "ky"]

    # "người ký" and "kỷ niệm": two words, both must be explained
    assert sorted(terms("Ai là người ký kế hoạch tuyên truyền kỷ niệm 75 năm?")) == ["ký", "kỷ"]
    result = ask(engine, "Ai là người ký kế hoạch tuyên truyền kỷ niệm 75 năm Đảng bộ Khối vậy ạ?")
    assert result.status == "answered" and "Lại Xuân Lâm" in result.answer
    # the same pair of words typed again with a slip ("kinh nghiêm") is not a second word
    analysis = engine.lexicon.analyze("bài học kinh nghiêm thứ ba về kiểm tra giám sát")
    assert [t.folded for t in engine.matcher.terms(analysis)].count("nghiem") == 1


def test_a_count_is_answered_only_by_an_entry_that_counts_it(engine: Engine) -> None:
    # The 70-year lessons mention "đảng viên" but count lessons, not members.
    result = ask(engine, "ĐBK dịp kỷ niệm 70 năm (2018) có bn ĐV?")
    assert result.status != "answered" or result.entry_id != "bai-hoc-70-nam"
    # An entry whose answer puts a number to what is asked still answers it.
    cells = ask(
        engine, "tinh den 30/6/2022 dang bo khoi cac co quan trung uong co bao nhieu chi bo"
    )
    assert cells.status == "answered" and "5.700" in cells.answer


def test_so_may_asks_which_number_not_how_many(engine: Engine) -> None:
    analysis = engine.lexicon.analyze("QĐ công nhận ngày truyền thống là QĐ số mấy?")
    assert "HOW_MANY" not in analysis.intents
    result = ask(engine, "QĐ công nhận ngày truyền thống ĐBK các cơ quan TW là QĐ số mấy?")
    assert result.status == "answered" and "40-QĐ/TW" in result.answer


def test_texting_abbreviations_for_party_units(engine: Engine) -> None:
    result = ask(engine, "Năm 2017 ĐBK các cơ quan TW có bao nhiêu ĐB trực thuộc?")
    assert result.status == "answered" and "63" in result.answer


@pytest.mark.parametrize(
    ("question", "intent", "dropped"),
    [
        ("Sao hồi đó lại phải lập Liên chi vậy?", "WHY", "sao"),
        ("sao hoi do lai phai lap lien chi", "WHY", "sao"),
        ("Lúc mới ra đời năm 1948 thì có tầm bao nhiêu đảng viên?", "HOW_MANY", "tam"),
        ("Trước khi có Liên chi thì ai đề nghị lập, vào hôm nào?", "WHEN", "hom"),
        ("Năm 2007 người ta gộp những đảng bộ khối nào?", "WHAT", "ta"),
    ],
)
def test_colloquial_question_words(
    engine: Engine, question: str, intent: str, dropped: str
) -> None:
    analysis = engine.lexicon.analyze(question)
    assert intent in analysis.intents
    assert dropped not in analysis.folded


def test_quiz_and_essay_frames_are_not_the_subject(engine: Engine) -> None:
    framed = engine.lexicon.analyze(
        "Đúng hay sai: Đảng bộ Khối từng trực thuộc Thành ủy Hà Nội? Nếu đúng thì từ khi nào?"
    )
    plain = engine.lexicon.analyze("Đảng bộ Khối từng trực thuộc Thành ủy Hà Nội từ khi nào?")
    assert framed.folded == plain.folded
    essay = ask(
        engine,
        "Em đang viết tiểu luận về Đảng bộ Khối. Xin hãy trình bày ba vấn đề lớn mà việc "
        "thành lập Liên chi cơ quan Trung ương đã giải quyết",
    )
    assert essay.status == "answered" and essay.entry_id == "ba-van-de-giai-quyet"


def test_a_question_naming_its_document_prefers_entries_citing_it(engine: Engine) -> None:
    analysis = engine.lexicon.analyze("Theo bài báo năm 2017, Đảng bộ Khối có mấy đảng bộ?")
    assert analysis.sources == {"tpo-10-nam-2017"}
    assert not engine.lexicon.analyze("Bài báo năm 2017 viết về sự kiện gì?").sources
    result = ask(
        engine,
        "Theo bài báo năm 2017, lúc mới thành lập Đảng bộ Khối có bao nhiêu đảng bộ trực thuộc?",
    )
    assert result.status == "answered" and "92" in result.answer
    assert any(c.source == "tpo-10-nam-2017" for c in result.citations)


@pytest.mark.parametrize(
    ("message", "ask"),
    [
        (
            "Cơ quan tôi đang làm bảng tin cho đảng viên mới, vậy Liên chi ra đời ở đâu?",
            "Liên chi ra đời ở đâu?",
        ),
        (
            "Hôm qua họp chi bộ mọi người tranh luận mãi. Quyết định 47-QĐ/TW do ai ban hành?",
            "Quyết định 47-QĐ/TW do ai ban hành?",
        ),
        # the whole message asks: a short opening, numbers with dots, a quiz frame
        ("Cho mình hỏi, vậy Liên chi ra đời ở đâu?", None),
        ("Con số gần 79.000 đảng viên, hơn 5.700 chi bộ là tính đến thời điểm nào vậy?", None),
        ("Đúng hay sai: Đảng bộ Khối từng trực thuộc Hà Nội? Nếu đúng thì từ năm nào?", None),
    ],
)
def test_the_asked_part_of_a_long_message(message: str, ask: str | None) -> None:
    found = asked_part(message)
    assert (found.strip() if found else None) == ask


def test_scene_setting_words_weigh_less_than_the_ask(engine: Engine) -> None:
    question = (
        "Hôm qua họp chi bộ mọi người tranh luận mãi mà không ai nhớ chắc chắn. "
        "Quyết định 47-QĐ/TW do cơ quan nào ban hành?"
    )
    analysis = engine.lexicon.analyze(question)
    assert {"tranh", "luan", "nho"} <= analysis.context and "47" not in analysis.context
    weights = {t.folded: t.weight for t in engine.matcher.terms(analysis)}
    scene = sum(w for f, w in weights.items() if f in analysis.context)
    assert scene <= 0.5 * (sum(weights.values()) - scene) + 1e-9
    best = engine.matcher.rank(analysis, limit=1)[0]
    assert best.entry_id == "thanh-lap-lai-2007"


def test_an_ask_that_points_back_at_the_scene_keeps_the_scene_whole(engine: Engine) -> None:
    question = (
        "Em đọc bài 70 năm thấy ghi hồi mới lập Liên chi chỉ có vài chục đảng viên, mà chỗ "
        "khác lại ghi mấy trăm. Rốt cuộc là bao nhiêu ạ?"
    )
    analysis = engine.lexicon.analyze(question)
    assert analysis.context  # the ask is the last sentence...
    plain = engine.lexicon.analyze(question)
    plain.context = set()
    weights = [t.weight for t in engine.matcher.terms(analysis)]
    assert weights == [t.weight for t in engine.matcher.terms(plain)]  # ...but names nothing
    result = ask(engine, question)
    first = result.entry_id or result.suggestions[0].entry_id
    assert first == "so-dang-vien-1948"


def test_quiz_contest_numbering_and_options_are_not_the_subject(engine: Engine) -> None:
    question = (
        "Câu 7: Bộ Chính trị ban hành Quyết định 47-QĐ/TW lập Đảng bộ Khối vào ngày nào? "
        "A. 12/9/2016 B. 11/4/2007 C. 07/11/1948 D. 17/01/2023"
    )
    analysis = engine.lexicon.analyze(question)
    assert "câu" not in analysis.tokens and "2016" not in " ".join(analysis.tokens)
    result = ask(engine, question)
    assert result.status == "answered" and "11/4/2007" in result.answer
    blank = engine.lexicon.analyze("Điền vào chỗ trống: Đảng bộ Khối được lập năm ……")
    assert blank.folded == engine.lexicon.analyze("Đảng bộ Khối được lập năm ……").folded


def test_sao_inside_a_question_is_a_word(engine: Engine) -> None:
    assert "WHY" not in engine.lexicon.analyze("ra sao").intents
    assert "sao" in engine.lexicon.analyze("ngôi sao vàng").folded


def test_unmarked_gop_reads_as_merging_and_gop_phan_as_contributing(engine: Engine) -> None:
    merged = ask(engine, "nam 2007 lap dang bo khoi thi gop tu nhung khoi nao")
    assert merged.status == "answered" and merged.entry_id == "bay-dang-bo-khoi-hop-nhat"
    assert "đóng" in engine.lexicon.analyze("gop phan").tokens


@pytest.mark.parametrize(
    ("typed", "word", "not_intent"),
    [
        ("nghi quyet dai hoi nao", "hội", "WHEN"),  # đại hội nào, not "hồi nào"
        ("vai tro trong bo may nha nuoc", "máy", "HOW_MANY"),  # bộ máy, not "mấy"
        ("vai tro trong bo may nha nuoc", "nhà", None),  # nhà nước, not the particle "nha"
        ("nhung huan chuong gi roi", "chương", None),
    ],
)
def test_no_marks_reading_in_context(
    engine: Engine, typed: str, word: str, not_intent: str | None
) -> None:
    analysis = engine.lexicon.analyze(typed)
    assert word in analysis.tokens
    assert not_intent is None or not_intent not in analysis.intents
    assert analysis.folded[-1] != "roi"


def test_capital_tu_without_marks_is_trung_uong(engine: Engine) -> None:
    assert engine.lexicon.analyze("cac co quan TU").folded[-2:] == ["trung", "uong"]
    assert "tu" in engine.lexicon.analyze("tu tuong").folded


@pytest.mark.parametrize(
    ("spoken", "number"),
    [("bảy thập kỷ", "70"), ("ba phần tư thế kỷ", "75"), ("bay thap ky ruoi", "75")],
)
def test_anniversaries_spoken_in_decades(engine: Engine, spoken: str, number: str) -> None:
    assert engine.lexicon.analyze(f"sau {spoken}").folded == ["sau", number, "nam"]


def test_a_long_question_scoring_fairly_high_is_answered(engine: Engine) -> None:
    from bot.matcher import Scored

    ranked = [Scored("a", 0.68, "p", 0.7, 0.6, 0.7, 1.0), Scored("b", 0.6, "p", 0.6, 0.6, 0.6, 1.0)]
    assert not engine.confident(ranked, n_terms=6)  # a short question: a few shared words
    assert engine.confident(ranked, n_terms=int(engine.thresholds.long_terms))
    close = [ranked[0], Scored("b", 0.67, "p", 0.6, 0.6, 0.6, 1.0)]
    assert not engine.confident(close, n_terms=30)  # even long, a close call is no answer
