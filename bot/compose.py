"""Answer composition: turning entries, facts and computed values into Vietnamese text. Pure.

User-facing text is Vietnamese; everything here is plain text (the Telegram adapter escapes it
and adds markup).
"""

from __future__ import annotations

from datetime import date

from bot.knowledge import Entry, Fact, FactValue, KnowledgeBase, display_date
from bot.results import Citation
from bot.vntext import fold

NO_ANSWER = (
    "Xin lỗi, các tài liệu mà mình có chưa chứa thông tin để trả lời câu hỏi này, nên mình "
    "không muốn đoán. Câu hỏi đã được ghi lại để người biên soạn bổ sung."
)
OTHER_ORGANISATION = (
    "Câu hỏi này có vẻ nói về một tổ chức khác. Tài liệu của mình chỉ viết về Đảng bộ Khối các "
    "cơ quan Trung ương (cùng một bài về một Đảng bộ Khối cấp tỉnh), nên mình không có thông tin "
    "đáng tin để trả lời. Câu hỏi đã được ghi lại để người biên soạn xem xét."
)
NO_ANSWER_SUGGEST = " Bạn có thể tham khảo các câu hỏi gần nhất dưới đây."
AMBIGUOUS = "Mình chưa chắc bạn muốn hỏi điều gì. Có phải bạn muốn hỏi một trong các câu sau?"
EMPTY = "Bạn hãy gõ một câu hỏi về lịch sử Đảng bộ Khối các cơ quan Trung ương nhé."
STALE_NOW = (
    "Tài liệu của mình không có thông tin về thời điểm hiện nay. Thông tin gần nhất mình có "
    "được nêu ở câu hỏi dưới đây, kèm mốc thời gian của nó."
)
PASSAGE_LEAD = "Mình chưa có câu trả lời soạn sẵn cho câu này. Đoạn trích liên quan trong tài liệu:"

SMALLTALK = {
    "greeting": (
        "Xin chào! Mình là trợ lý hỏi đáp về lịch sử Đảng bộ Khối các cơ quan Trung ương. "
        "Bạn cứ hỏi, ví dụ: \u201cĐảng bộ Khối thành lập ngày nào?\u201d"
    ),
    "thanks": "Không có gì ạ! Nếu còn thắc mắc về lịch sử Đảng bộ Khối, bạn cứ hỏi tiếp nhé.",
    "who": (
        "Mình là trợ lý hỏi đáp tự động. Mình trả lời các câu hỏi về lịch sử Đảng bộ Khối các "
        "cơ quan Trung ương dựa trên năm tài liệu đã được biên soạn, và mỗi câu trả lời đều "
        "kèm trích dẫn nguyên văn từ nguồn. Câu nào tài liệu không có, mình sẽ nói thật là "
        "không biết."
    ),
    "bye": "Tạm biệt bạn! Hẹn gặp lại.",
}
_SMALLTALK_PHRASES = {
    "greeting": [
        "xin chao",
        "chao",
        "chao ban",
        "chao bot",
        "chao ad",
        "hello",
        "hi",
        "alo",
        "hey",
        "chao buoi sang",
        "chao buoi toi",
        "chao em",
        "chao anh",
        "chao chi",
    ],
    "thanks": [
        "cam on",
        "cam on ban",
        "cam on nhieu",
        "thanks",
        "thank you",
        "tks",
        "thank",
        "ok cam on",
        "cam on bot",
        "xin cam on",
        "cam on nhe",
    ],
    "who": [
        "ban la ai",
        "bot la ai",
        "ban la gi",
        "ban lam duoc gi",
        "ban co the lam gi",
        "ban biet gi",
        "em la ai",
        "may la ai",
        "ban giup duoc gi",
    ],
    "bye": ["tam biet", "bye", "bye bye", "hen gap lai"],
}
_SMALLTALK_INDEX = {p: k for k, ps in _SMALLTALK_PHRASES.items() for p in ps}
_PARTICLES = {"a", "nhe", "nha", "oi", "nhi", "ha", "day", "vay"}


def smalltalk_kind(words: list[str]) -> str | None:
    """The kind of small talk when the whole message is a greeting, thanks, 'who are you'..."""
    folded = [fold(w) for w in words]
    while folded and folded[-1] in _PARTICLES:
        folded.pop()
    return _SMALLTALK_INDEX.get(" ".join(folded))


def citation(kb: KnowledgeBase, source_id: str, quote: str) -> Citation:
    """A citation with the source's title and date."""
    src = kb.sources[source_id]
    return Citation(source_id, src.title, src.display_date, quote)


def entry_citations(kb: KnowledgeBase, entry: Entry) -> tuple[Citation, ...]:
    """The entry's citations, resolved against the sources."""
    return tuple(citation(kb, c.source, c.quote) for c in entry.citations if c.source in kb.sources)


def _value_lines(kb: KnowledgeBase, values: list[FactValue]) -> list[str]:
    """One line per distinct figure at one date, naming every source that gives it."""
    by_text: dict[str, list[str]] = {}
    for value in values:
        src = kb.sources.get(value.source)
        where = src.short if src else value.source
        by_text.setdefault(value.text, []).append(where)
    when = values[0].when or display_date(values[0].as_of)
    return [f"{when}: {text} — theo {', '.join(wheres)}" for text, wheres in by_text.items()]


def fact_year_missing(fact: Fact, years: list[str]) -> str:
    """The lead of an answer for a year the fact series has no figure for."""
    label = fact.label[:1].lower() + fact.label[1:]
    return f"Các tài liệu không có số liệu về {label} trong năm {', '.join(years)}."


def fact_answer(
    kb: KnowledgeBase,
    entry: Entry,
    fact: Fact,
    years: list[str],
    now: bool = False,
    also: tuple[Fact, ...] = (),
) -> tuple[str, tuple[Citation, ...], str]:
    """Answer from a fact series: the value for the year asked, or the latest, plus history.

    ``also`` are other figures the question names ("bao nhiêu đảng viên và bao nhiêu chi
    bộ"): each is given at the same date when it has one, else at its latest.
    Returns the text, the citations and the as-of date of the leading value.
    """
    by_date: dict[str, list[FactValue]] = {}
    for value in fact.values:
        by_date.setdefault(value.as_of, []).append(value)
    asked = [d for d in by_date if d[:4] in years]
    if not asked and entry.as_of and not now:
        # An entry about one moment ("at re-establishment in 2007") leads with that moment.
        asked = [d for d in by_date if d[:4] == entry.as_of[:4]]
    lead_date = asked[-1] if asked else max(by_date)
    lead = by_date[lead_date]
    lines: list[str] = []
    if len({v.text for v in lead}) > 1:
        when = lead[0].when or display_date(lead_date)
        lines.append(f"{fact.label} — các tài liệu ghi khác nhau về mốc {when}:")
        lines.extend(f"• {line}" for line in _value_lines(kb, lead))
        lines.append("Mình nêu cả hai để bạn đối chiếu.")
    else:
        v = lead[0]
        when = v.when or display_date(v.as_of)
        if asked:
            lines.append(f"{fact.label} ({when}): {v.text}.")
        else:
            label = fact.label[:1].lower() + fact.label[1:]
            lines.append(f"Theo số liệu mới nhất trong tài liệu, {label} ({when}): {v.text}.")
    history = [d for d in sorted(by_date) if d != lead_date]
    if history:
        lines.append("Các mốc khác trong tài liệu:")
        for d in history:
            value_lines = _value_lines(kb, by_date[d])
            if len(value_lines) > 1:
                lines.append(f"• {'; '.join(value_lines)} (các nguồn ghi khác nhau)")
            else:
                lines.append(f"• {value_lines[0]}")
    extra_cites: list[Citation] = []
    for other in also:
        same_date = [v for v in other.values if v.as_of == lead_date]
        value = same_date[0] if same_date else other.values[-1]
        when = value.when or display_date(value.as_of)
        lines.insert(1, f"{other.label} ({when}): {value.text}.")
        if value.source in kb.sources:
            extra_cites.append(citation(kb, value.source, value.quote))
    if entry.answer:
        lines.append(entry.answer)
    cites = [citation(kb, v.source, v.quote) for v in lead if v.source in kb.sources]
    cites.extend(c for c in extra_cites if c not in cites)
    cites.extend(c for c in entry_citations(kb, entry) if c not in cites)
    return "\n".join(lines), tuple(cites), lead_date


def same_year_values(
    kb: KnowledgeBase, facts: list[Fact], year: str, answer: str
) -> list[tuple[str, Citation]]:
    """Lines for figures of these facts in the given year that the answer does not state yet."""
    out: list[tuple[str, Citation]] = []
    for fact in facts:
        for value in fact.values:
            if value.as_of[:4] == year and value.text not in answer and value.source in kb.sources:
                when = value.when or display_date(value.as_of)
                out.append(
                    (
                        f"{fact.label} ({when}): {value.text}.",
                        citation(kb, value.source, value.quote),
                    )
                )
                break
    return out


def anniversary_answer(entry: Entry, today: date, years: list[str]) -> str:
    """'How many years this year' from the founding date and the (injectable) clock."""
    assert entry.compute is not None
    start = date.fromisoformat(str(entry.compute["date"]))
    label = str(entry.compute.get("label", "ngày kỷ niệm"))
    asked = [int(y) for y in years if len(y) == 4 and int(y) > start.year]
    year = asked[0] if asked else today.year
    n = year - start.year
    day = start.replace(year=year)
    start_txt = start.strftime("%d/%m/%Y")
    day_txt = day.strftime("%d/%m/%Y")
    if asked and year != today.year:
        verb = "là" if day < today else "sẽ là"
        text = f"Ngày {day_txt} {verb} dịp kỷ niệm {n} năm {label} ({start_txt} – {day_txt})."
    elif day <= today:
        text = f"Năm nay ({year}) là dịp kỷ niệm {n} năm {label} ({start_txt} – {day_txt})."
    else:
        text = (
            f"Năm nay ({year}), ngày {day_txt} sẽ là dịp kỷ niệm {n} năm {label} "
            f"({start_txt} – {day_txt})."
        )
    if entry.answer:
        text += " " + entry.answer
    return text
