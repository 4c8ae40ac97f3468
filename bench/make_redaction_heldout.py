"""Write tests/data/redaction_heldout.jsonl, the held-out redaction test set.

    .venv/bin/python bench/make_redaction_heldout.py

The sentences in bench/redaction_heldout_marked.tsv were written blind to the redaction
rules (pipeline/redact.py, models/ner.py and the fixture tests/data/redaction.jsonl were
never opened), so the set measures how the rules generalise rather than how well they
fit their own examples. Personal data is marked inline as ``{kind:text}``; the character
offsets are computed here from those marks, never counted by hand, and checked before
the file is written. A line is ``andean`` when one of its name spans holds a Quechua or
Aymara name or surname from ANDEAN below. Prints the counts that
tests/data/redaction_heldout.md reports.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench/redaction_heldout_marked.tsv"
OUT = ROOT / "tests/data/redaction_heldout.jsonl"

KINDS = {"n": "name", "p": "phone", "i": "id_number", "e": "email", "a": "address"}
MARK = re.compile(r"\{([npiea]):([^{}]+)\}")

# Quechua and Aymara surnames and given names used in the set (lower case, no accents).
ANDEAN = frozenset(
    """
    ccama huillca mamani quispe condori paucar huaman ccori apaza choquehuanca yupanqui
    huarcaya ticona layme cutipa ayma chambi sullca sulca huanca cusihuaman pari callo
    quispecahuana ccahuana mayta puma inca tito sonco ttito chuquilin tanta huaccha chilon
    chuquiruna huamani jamanca yanac huaynate ricse huaringa naupari ccanto chambilla larico
    mollo huallpa ccolque colque quille achahui huillcahuaman challco ccoa arapa paccori
    cjuro huayhua ccallo tacuri huaylla sacsi llamocca huaraca ccahua choque cjahua coaquira
    ccasa huancane quispes chalco limachi machaca huayta pumacayo ancco yucra quico
    chuctaya huarachi mullisaca cahui yapuchura condorcanqui ayamamani chura jallo supo
    huamantica pillco quispitupa quenta huayllani
    yaku killa killari sumaq wayra wara nina kusi ayar urpi illari amaru tika
    """.split()
)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Line:
    id: str
    language: str
    field: str
    text: str
    spans: tuple[Span, ...]
    andean: bool

    def values(self, kind: str | None = None) -> list[str]:
        return [self.text[s.start : s.end] for s in self.spans if kind in (None, s.kind)]


def fold(word: str) -> str:
    """Lower case without accents, so that 'Huamán' and 'huaman' compare equal."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse(marked: str) -> tuple[str, tuple[Span, ...]]:
    """Strip the {kind:text} marks; return the plain text and the spans they marked."""
    parts: list[str] = []
    spans: list[Span] = []
    length = pos = 0
    for m in MARK.finditer(marked):
        for part, kind in ((marked[pos : m.start()], None), (m.group(2), m.group(1))):
            if kind is not None:
                spans.append(Span(length, length + len(part), KINDS[kind]))
            parts.append(part)
            length += len(part)
        pos = m.end()
    parts.append(marked[pos:])
    plain = "".join(parts)
    if "{" in plain or "}" in plain:
        raise ValueError(f"unbalanced mark in {marked!r}")
    return plain, tuple(spans)


def andean_words(line: Line) -> set[str]:
    words = (w for v in line.values("name") for w in re.findall(r"\w+", v))
    return {fold(w) for w in words if fold(w) in ANDEAN}


def build(source: str) -> list[Line]:
    lines: list[Line] = []
    numbers: Counter[str] = Counter()
    for raw in source.splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        language, field, marked = raw.split("\t")
        if language not in ("es", "en") or field not in ("text", "title"):
            raise ValueError(f"bad language or field in {raw!r}")
        text, spans = parse(marked)
        numbers[language] += 1
        line = Line(f"h-{language}-{numbers[language]:03d}", language, field, text, spans, False)
        lines.append(replace(line, andean=bool(andean_words(line))))
        check(lines[-1], [m.group(2) for m in MARK.finditer(marked)])
    ids = [line.id for line in lines]
    texts = Counter(line.text for line in lines)
    if len(ids) != len(set(ids)) or max(texts.values()) > 1:
        raise ValueError(f"duplicate ids or texts: {[t for t, n in texts.items() if n > 1]}")
    return lines


def check(line: Line, marked_values: list[str]) -> None:
    """Each span holds exactly what was marked, trimmed, and no two spans overlap."""
    if line.values() != marked_values:
        raise ValueError(f"{line.id}: spans {line.values()} != marks {marked_values}")
    for a, b in zip(line.spans, line.spans[1:], strict=False):
        if a.end > b.start:
            raise ValueError(f"{line.id}: overlapping spans")
    for value in line.values():
        if not value or value != value.strip():
            raise ValueError(f"{line.id}: empty or untrimmed span {value!r}")


def report(lines: list[Line]) -> None:
    n = len(lines)
    negatives = sum(not line.spans for line in lines)
    named = sum(bool(line.values("name")) for line in lines)
    andean = sum(line.andean for line in lines)
    kinds = Counter(s.kind for line in lines for s in line.spans)
    words = set().union(*(andean_words(line) for line in lines))
    print(f"lines {n}")
    for (language, field), count in sorted(Counter((x.language, x.field) for x in lines).items()):
        print(f"  {language} {field}: {count}")
    print(f"lines without personal data (negatives): {negatives} ({negatives / n:.0%})")
    print(f"lines with a name: {named}; andean lines: {andean} ({andean / n:.0%})")
    print(f"distinct Quechua/Aymara name words: {len(words)}")
    print("spans by kind: " + ", ".join(f"{k} {c}" for k, c in sorted(kinds.items())))


def main() -> None:
    lines = build(SOURCE.read_text(encoding="utf-8"))
    rows = (json.dumps(asdict(line), ensure_ascii=False) for line in lines)
    OUT.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    report(lines)


if __name__ == "__main__":
    main()
