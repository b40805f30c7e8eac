"""Knowledge files → typed models, with every problem collected into one report.

Layout of a knowledge directory::

    sources/<id>.md        front matter (YAML between --- lines) + the document text
    entries/*.yaml         curated entries: {topic, entries: [...]}
    facts.yaml             time-bound facts: {facts: [{id, label, scope, values: [...]}]}
    synonyms.yaml          {abbreviations: {short: [expansion]}, synonyms: [[canonical, alt]]}

YAML is read with a ``yaml.SafeLoader`` subclass that keeps line numbers, so every problem names
its file, line and entry id. Loading never stops at the first problem: ``load_knowledge`` raises
``KnowledgeError`` carrying all of them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.vntext import nfc_ws

# --- YAML with line numbers -----------------------------------------------------------------


class LineDict(dict[str, Any]):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that records line numbers and reports duplicate keys."""

    duplicate_keys: list[tuple[int, str]]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    data = LineDict()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in data:
            loader.duplicate_keys.append((key_node.start_mark.line + 1, str(key)))
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[str(key)] = key_node.start_mark.line + 1
    return data


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _load_yaml(text: str) -> tuple[Any, list[tuple[int, str]]]:
    loader = _LineLoader(text)
    loader.duplicate_keys = []
    try:
        return loader.get_single_data(), loader.duplicate_keys
    finally:
        loader.dispose()


# --- problems ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the knowledge files."""

    file: str
    line: int
    entry: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        who = f" [{self.entry}]" if self.entry else ""
        return f"{where}{who}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The problem as a JSON object for ``check --json``."""
        return {"file": self.file, "line": self.line, "entry": self.entry, "message": self.message}


class KnowledgeError(Exception):
    """The knowledge directory has problems; ``problems`` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        """All problems, one per line, ready to show an admin."""
        head = f"{len(self.problems)} problem(s) in the knowledge files:"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


# --- models -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of a source document."""

    source: str
    index: int
    text: str
    substantive: bool


@dataclass
class Source:
    """A source document: metadata plus its cleaned text."""

    id: str
    title: str
    date: str
    publisher: str
    kind: str
    description: str
    scope: str
    body: str
    file: str
    author: str = ""
    short: str = ""
    origin: str = ""
    provincial: bool = False
    # How people name the document in a question ("theo bài báo năm 2017"): such a phrase
    # frames the question and prefers the entries that cite this source.
    cited_as: list[str] = field(default_factory=list)
    paragraphs: list[Paragraph] = field(default_factory=list)
    normalized_body: str = ""

    @property
    def display_date(self) -> str:
        """The date as Vietnamese readers write it (17/01/2023, 2018)."""
        return display_date(self.date)


@dataclass(frozen=True)
class CitationRef:
    """A citation in a knowledge file: source id + verbatim quote."""

    source: str
    quote: str
    line: int = 0


@dataclass
class Entry:
    """A curated question with its answer and citations."""

    id: str
    question: str
    phrasings: list[str]
    answer: str
    citations: list[CitationRef]
    file: str
    line: int
    topic: str = ""
    as_of: str | None = None
    tags: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)
    scope: str = "central"
    fact: str | None = None
    compute: dict[str, Any] | None = None
    in_sources: bool = True  # False: the documents do not hold the answer; the entry says so

    @property
    def all_questions(self) -> list[str]:
        """The canonical question followed by its alternate phrasings."""
        return [self.question, *self.phrasings]


@dataclass(frozen=True)
class FactValue:
    """One dated value of a time-bound fact, with its citation."""

    text: str
    as_of: str
    source: str
    quote: str
    value: float | None = None
    when: str = ""
    line: int = 0


@dataclass
class Fact:
    """A time-bound fact (members, committees, cells) with its dated values."""

    id: str
    label: str
    scope: str
    values: list[FactValue]
    file: str
    line: int
    terms: list[str] = field(default_factory=list)  # words naming this figure in a question


@dataclass
class Synonyms:
    """Curated abbreviations and synonym groups."""

    abbreviations: dict[str, list[str]] = field(default_factory=dict)
    groups: list[list[str]] = field(default_factory=list)


@dataclass
class KnowledgeBase:
    """Everything loaded from a knowledge directory."""

    sources: dict[str, Source]
    entries: dict[str, Entry]
    facts: dict[str, Fact]
    synonyms: Synonyms
    version: str
    root: Path


# --- dates --------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(value: Any) -> str | None:
    """Normalise YYYY, YYYY-MM or YYYY-MM-DD (or a YAML date) to a string, else None."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and 1000 <= value <= 9999:
        return str(value)
    if isinstance(value, str):
        m = _DATE_RE.match(value.strip())
        if m:
            if m.group(2) and not 1 <= int(m.group(2)) <= 12:
                return None
            if m.group(3):
                try:
                    date.fromisoformat(value.strip())
                except ValueError:
                    return None
            return value.strip()
    return None


def display_date(iso: str) -> str:
    """2023-01-17 → 17/01/2023; 2017-04 → 04/2017; 2018 → 2018."""
    parts = iso.split("-")
    return "/".join(reversed(parts))


# --- loading ------------------------------------------------------------------------------------

ENTRY_KEYS = {
    "id",
    "question",
    "phrasings",
    "answer",
    "citations",
    "as_of",
    "tags",
    "related",
    "scope",
    "fact",
    "compute",
    "topic",
    "in_sources",
}
ENTRY_REQUIRED = {"id", "question", "phrasings", "citations"}
SOURCE_KEYS = {
    "id",
    "short",
    "title",
    "publisher",
    "author",
    "date",
    "kind",
    "description",
    "scope",
    "provincial",
    "origin",
    "attribution",
    "cited_as",
}
SOURCE_REQUIRED = {"id", "title", "date", "kind", "description", "scope"}
FACT_KEYS = {"id", "label", "scope", "values", "terms"}
VALUE_KEYS = {"value", "text", "as_of", "when", "source", "quote"}
SCOPES = {"central", "provincial", "general"}
COMPUTE_KINDS = {"anniversary"}
MIN_PHRASINGS = 4
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Collector:
    """Accumulates problems while loading."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def add(self, path: Path | str, line: int, entry: str | None, message: str) -> None:
        name = self.rel(path) if isinstance(path, Path) else path
        self.problems.append(Problem(name, line, entry, message))

    def yaml(self, path: Path, text: str, line_offset: int = 0) -> Any:
        try:
            data, dups = _load_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = (mark.line + 1 + line_offset) if mark is not None else 0
            problem = getattr(exc, "problem", None) or str(exc)
            context = getattr(exc, "context", None)
            msg = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
            self.add(path, line, None, msg)
            return None
        for line, key in dups:
            self.add(path, line + line_offset, None, f"duplicate key {key!r}")
        return data


def _line(node: Any, key: str | None = None) -> int:
    if isinstance(node, LineDict):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return 0


def _str_list(value: Any) -> list[str] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value]
    return None


def paragraph_is_substantive(text: str) -> bool:
    """Headings, signatures, captions and the interviewer's questions are not substantive."""
    stripped = text.strip()
    if stripped.startswith("#"):
        return False
    plain = stripped.replace("*", "").strip()
    if plain.endswith("?"):
        return False
    words = plain.split()
    if len(words) < 12:
        return False
    letters = [c for c in plain if c.isalpha()]
    return not (letters and sum(c.isupper() for c in letters) / len(letters) > 0.6)


def _load_sources(root: Path, col: _Collector) -> dict[str, Source]:
    sources: dict[str, Source] = {}
    folder = root / "sources"
    if not folder.is_dir():
        col.add(folder, 0, None, "missing sources/ directory")
        return sources
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if not text.startswith("---\n"):
            col.add(path, 1, None, "source file must start with a YAML front matter block (---)")
            continue
        end = text.find("\n---\n", 4)
        if end < 0:
            col.add(path, 1, None, "front matter is not closed by a --- line")
            continue
        meta = col.yaml(path, text[4 : end + 1], line_offset=1)
        if meta is None:
            continue
        if not isinstance(meta, dict):
            col.add(path, 2, None, "front matter must be a mapping")
            continue
        sid = meta.get("id")
        for key in meta:
            if key not in SOURCE_KEYS:
                col.add(path, _line(meta, key) + 1, sid, f"unknown key {key!r} in front matter")
        missing = SOURCE_REQUIRED - set(meta)
        if missing:
            col.add(path, 2, sid, f"missing field(s): {', '.join(sorted(missing))}")
            continue
        source_date = parse_partial_date(meta["date"])
        if source_date is None:
            col.add(path, _line(meta, "date") + 1, sid, f"bad date {meta['date']!r}")
            continue
        if sid in sources:
            col.add(path, 2, sid, f"duplicate source id {sid!r} (also in {sources[sid].file})")
            continue
        cited_as = meta.get("cited_as", []) or []
        if not isinstance(cited_as, list) or not all(isinstance(c, str) for c in cited_as):
            col.add(path, _line(meta, "cited_as") + 1, sid, "cited_as must be a list of phrases")
            cited_as = []
        body = text[end + 5 :].strip("\n")
        source = Source(
            id=str(sid),
            title=str(meta["title"]),
            date=source_date,
            publisher=str(meta.get("publisher", "")),
            kind=str(meta["kind"]),
            description=str(meta["description"]),
            scope=str(meta["scope"]),
            body=body,
            file=col.rel(path),
            author=str(meta.get("author", "")),
            short=str(meta.get("short", "")) or str(meta["title"]),
            origin=str(meta.get("origin", "")),
            provincial=bool(meta.get("provincial", False)),
            cited_as=[str(c) for c in cited_as],
        )
        paras = [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]
        source.paragraphs = [
            Paragraph(source.id, i, p, paragraph_is_substantive(p)) for i, p in enumerate(paras)
        ]
        source.normalized_body = nfc_ws(body)
        sources[source.id] = source
    if not sources:
        col.add(folder, 0, None, "no source documents found")
    return sources


def _parse_citations(
    raw: Any, path: Path, entry_id: str | None, line: int, col: _Collector
) -> list[CitationRef]:
    out: list[CitationRef] = []
    if not isinstance(raw, list) or not raw:
        col.add(path, line, entry_id, "citations must be a non-empty list of {source, quote}")
        return out
    for item in raw:
        iline = _line(item) or line
        if not isinstance(item, dict):
            col.add(path, iline, entry_id, "a citation must be a mapping {source, quote}")
            continue
        extra = set(item) - {"source", "quote"}
        for key in sorted(extra):
            col.add(path, _line(item, key), entry_id, f"unknown key {key!r} in citation")
        if not isinstance(item.get("source"), str) or not isinstance(item.get("quote"), str):
            col.add(path, iline, entry_id, "a citation needs a source id and a quote (strings)")
            continue
        out.append(CitationRef(item["source"], item["quote"].strip(), iline))
    return out


def _load_entries(root: Path, col: _Collector) -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    folder = root / "entries"
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        col.add(folder, 0, None, "no entry files (entries/*.yaml)")
    for path in files:
        data = col.yaml(path, path.read_text(encoding="utf-8"))
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            col.add(path, 1, None, "an entry file is a mapping with an 'entries' list")
            continue
        for key in data:
            if key not in {"topic", "entries"}:
                col.add(path, _line(data, key), None, f"unknown top-level key {key!r}")
        file_topic = str(data.get("topic", ""))
        for raw in data["entries"]:
            entry = _parse_entry(raw, path, file_topic, col)
            if entry is None:
                continue
            if entry.id in entries:
                other = entries[entry.id]
                col.add(
                    path,
                    entry.line,
                    entry.id,
                    f"duplicate id (first defined in {other.file}:{other.line})",
                )
                continue
            entries[entry.id] = entry
    return entries


def _parse_entry(raw: Any, path: Path, file_topic: str, col: _Collector) -> Entry | None:
    line = _line(raw)
    if not isinstance(raw, dict):
        col.add(path, line, None, "an entry must be a mapping")
        return None
    eid = raw.get("id") if isinstance(raw.get("id"), str) else None
    ok = True
    for key in raw:
        if key not in ENTRY_KEYS:
            col.add(path, _line(raw, key), eid, f"unknown key {key!r}")
            ok = False
    missing = ENTRY_REQUIRED - set(raw)
    if "answer" not in raw and "fact" not in raw and "compute" not in raw:
        missing.add("answer")
    if missing:
        col.add(path, line, eid, f"missing field(s): {', '.join(sorted(missing))}")
        return None
    if eid is None or not _ID_RE.match(eid):
        col.add(path, _line(raw, "id"), eid, "id must be lowercase ascii letters, digits and -")
        return None
    question = raw["question"]
    if not isinstance(question, str) or not question.strip():
        col.add(path, _line(raw, "question"), eid, "question must be a non-empty string")
        ok = False
    phrasings = _str_list(raw["phrasings"])
    if phrasings is None:
        col.add(path, _line(raw, "phrasings"), eid, "phrasings must be a list of strings")
        ok = False
    elif len(phrasings) < MIN_PHRASINGS:
        col.add(
            path,
            _line(raw, "phrasings"),
            eid,
            f"needs at least {MIN_PHRASINGS} phrasings, has {len(phrasings)}",
        )
    answer = raw.get("answer", "")
    if not isinstance(answer, str):
        col.add(path, _line(raw, "answer"), eid, "answer must be a string")
        ok = False
    as_of = None
    if raw.get("as_of") is not None:
        as_of = parse_partial_date(raw["as_of"])
        if as_of is None:
            col.add(path, _line(raw, "as_of"), eid, f"bad as_of date {raw['as_of']!r}")
    raw_tags = raw.get("tags", [])
    tags = (
        [str(t).strip() for t in raw_tags]
        if isinstance(raw_tags, list) and all(isinstance(t, str | int | float) for t in raw_tags)
        else None
    )
    related = _str_list(raw.get("related", []))
    if tags is None:
        col.add(path, _line(raw, "tags"), eid, "tags must be a list of words or numbers")
    if related is None:
        col.add(path, _line(raw, "related"), eid, "related must be a list of entry ids")
    scope = raw.get("scope", "central")
    if scope not in SCOPES:
        col.add(path, _line(raw, "scope"), eid, f"scope must be one of {sorted(SCOPES)}")
    fact = raw.get("fact")
    if fact is not None and not isinstance(fact, str):
        col.add(path, _line(raw, "fact"), eid, "fact must be a fact id")
        fact = None
    compute = raw.get("compute")
    if compute is not None:
        if (
            not isinstance(compute, dict)
            or compute.get("kind") not in COMPUTE_KINDS
            or parse_partial_date(compute.get("date")) is None
            or len(str(parse_partial_date(compute.get("date")))) != 10
        ):
            col.add(
                path,
                _line(raw, "compute"),
                eid,
                "compute must be {kind: anniversary, date: YYYY-MM-DD, label: ...}",
            )
            compute = None
        else:
            compute = dict(compute)
            compute["date"] = parse_partial_date(compute["date"])
    citations = _parse_citations(raw["citations"], path, eid, _line(raw, "citations"), col)
    in_sources = raw.get("in_sources", True)
    if not isinstance(in_sources, bool):
        col.add(path, _line(raw, "in_sources"), eid, "in_sources must be true or false")
        in_sources = True
    if not ok:
        return None
    return Entry(
        id=eid,
        question=str(question).strip(),
        phrasings=phrasings or [],
        answer=str(answer).strip(),
        citations=citations,
        file=col.rel(path),
        line=line,
        topic=str(raw.get("topic", file_topic)),
        as_of=as_of,
        tags=tags or [],
        related=related or [],
        scope=str(scope),
        fact=fact,
        compute=compute,
        in_sources=in_sources,
    )


def _load_facts(root: Path, col: _Collector) -> dict[str, Fact]:
    facts: dict[str, Fact] = {}
    path = root / "facts.yaml"
    if not path.exists():
        return facts
    data = col.yaml(path, path.read_text(encoding="utf-8"))
    if data is None:
        return facts
    if not isinstance(data, dict) or not isinstance(data.get("facts"), list):
        col.add(path, 1, None, "facts.yaml is a mapping with a 'facts' list")
        return facts
    for raw in data["facts"]:
        line = _line(raw)
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            col.add(path, line, None, "a fact is a mapping with an id")
            continue
        fid = raw["id"]
        for key in raw:
            if key not in FACT_KEYS:
                col.add(path, _line(raw, key), fid, f"unknown key {key!r}")
        if fid in facts:
            col.add(path, line, fid, "duplicate fact id")
            continue
        values: list[FactValue] = []
        raw_values = raw.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            col.add(path, line, fid, "values must be a non-empty list")
            raw_values = []
        for rv in raw_values:
            vline = _line(rv) or line
            if not isinstance(rv, dict):
                col.add(path, vline, fid, "a value must be a mapping")
                continue
            for key in rv:
                if key not in VALUE_KEYS:
                    col.add(path, _line(rv, key), fid, f"unknown key {key!r} in value")
            missing = {"text", "as_of", "source", "quote"} - set(rv)
            if missing:
                col.add(path, vline, fid, f"value missing field(s): {', '.join(sorted(missing))}")
                continue
            as_of = parse_partial_date(rv["as_of"])
            if as_of is None:
                col.add(path, _line(rv, "as_of"), fid, f"bad as_of date {rv['as_of']!r}")
                continue
            number = rv.get("value")
            if number is not None and not isinstance(number, int | float):
                col.add(path, _line(rv, "value"), fid, "value must be a number")
                number = None
            values.append(
                FactValue(
                    str(rv["text"]),
                    as_of,
                    str(rv["source"]),
                    str(rv["quote"]).strip(),
                    float(number) if number is not None else None,
                    str(rv.get("when", "")),
                    vline,
                )
            )
        scope = raw.get("scope", "central")
        if scope not in SCOPES:
            col.add(path, _line(raw, "scope"), fid, f"scope must be one of {sorted(SCOPES)}")
        facts[fid] = Fact(
            fid,
            str(raw.get("label", fid)),
            str(scope),
            sorted(values, key=lambda v: v.as_of),
            col.rel(path),
            line,
            _str_list(raw.get("terms", [])) or [],
        )
    return facts


def _load_synonyms(root: Path, col: _Collector) -> Synonyms:
    path = root / "synonyms.yaml"
    syn = Synonyms()
    if not path.exists():
        return syn
    data = col.yaml(path, path.read_text(encoding="utf-8"))
    if data is None:
        return syn
    if not isinstance(data, dict):
        col.add(path, 1, None, "synonyms.yaml must be a mapping")
        return syn
    for key in data:
        if key not in {"abbreviations", "synonyms"}:
            col.add(path, _line(data, key), None, f"unknown key {key!r}")
    abbr = data.get("abbreviations", {}) or {}
    if not isinstance(abbr, dict):
        col.add(path, _line(data, "abbreviations"), None, "abbreviations must be a mapping")
        abbr = {}
    for short, expansions in abbr.items():
        exp = [expansions] if isinstance(expansions, str) else _str_list(expansions)
        if not exp:
            col.add(
                path,
                _line(abbr, str(short)),
                None,
                f"abbreviation {short!r} needs one or more expansions",
            )
            continue
        syn.abbreviations[str(short)] = exp
    groups = data.get("synonyms", []) or []
    if not isinstance(groups, list):
        col.add(path, _line(data, "synonyms"), None, "synonyms must be a list of lists")
        groups = []
    for group in groups:
        g = _str_list(group)
        if not g or len(g) < 2:
            col.add(
                path, _line(data, "synonyms"), None, f"a synonym group needs 2+ phrases: {group!r}"
            )
            continue
        syn.groups.append(g)
    return syn


def _verify(kb: KnowledgeBase, col: _Collector) -> None:
    """Cross-file checks: citations, quotes, related ids, facts."""
    for entry in kb.entries.values():
        for cit in entry.citations:
            _check_quote(
                kb, col, entry.file, cit.line or entry.line, entry.id, cit.source, cit.quote
            )
        for rid in entry.related:
            if rid not in kb.entries:
                col.add(entry.file, entry.line, entry.id, f"related id {rid!r} does not exist")
            elif rid == entry.id:
                col.add(entry.file, entry.line, entry.id, "an entry cannot be related to itself")
        if entry.fact is not None and entry.fact not in kb.facts:
            col.add(entry.file, entry.line, entry.id, f"fact {entry.fact!r} does not exist")
    for fact in kb.facts.values():
        for value in fact.values:
            _check_quote(kb, col, fact.file, value.line, fact.id, value.source, value.quote)


def _check_quote(
    kb: KnowledgeBase, col: _Collector, file: str, line: int, who: str, source: str, quote: str
) -> None:
    src = kb.sources.get(source)
    if src is None:
        col.add(file, line, who, f"citation to unknown source {source!r}")
        return
    if not quote:
        col.add(file, line, who, "empty quote")
    elif nfc_ws(quote) not in src.normalized_body:
        short = quote if len(quote) <= 80 else quote[:77] + "..."
        col.add(file, line, who, f"quote not found in source {source!r}: {short!r}")


def _content_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".md", ".yaml", ".yml"}:
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def load_knowledge(root: Path | str, *, strict: bool = True) -> KnowledgeBase:
    """Load and validate a knowledge directory; raise KnowledgeError listing every problem.

    With ``strict=False`` the problems are returned on ``kb`` via ``KnowledgeError`` only when
    nothing usable was loaded; ``check`` uses ``load_with_problems`` instead.
    """
    kb, problems = load_with_problems(root)
    if problems and strict:
        raise KnowledgeError(problems)
    return kb


def load_with_problems(root: Path | str) -> tuple[KnowledgeBase, list[Problem]]:
    """Load what can be loaded and return it together with every problem found."""
    root = Path(root).resolve()
    col = _Collector(root)
    if not root.is_dir():
        col.add(root, 0, None, "knowledge directory not found")
        empty = KnowledgeBase({}, {}, {}, Synonyms(), "", root)
        return empty, col.problems
    sources = _load_sources(root, col)
    entries = _load_entries(root, col)
    facts = _load_facts(root, col)
    synonyms = _load_synonyms(root, col)
    kb = KnowledgeBase(sources, entries, facts, synonyms, _content_hash(root), root)
    _verify(kb, col)
    return kb, col.problems
