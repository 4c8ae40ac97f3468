"""Make an exact-name question set by rule, so that it cannot be tuned to a search.

    .venv/bin/python bench/names_set.py --corpus /tmp/topical/corpus.jsonl \\
        --out /tmp/topical/names_topical.json

The rule (issue 28): every capitalised word of a collection (first letter upper-case, at
least ``--min-letters`` (5) letters, letters only once the punctuation around it is
stripped) that is not the first word of its sentence, and that exactly one passage of the
collection holds as a whole word, accent- and case-folded ("Andalgalá", "ANDALGALA" and
"andalgala" are one word, wherever it stands in the sentence). Each such word is a
question whose one right answer is that passage; the measure is hit@10 (the passage is
among the first ten results).

A "passage" is a line of the collection (JSON lines with ``id`` and ``text``, such as
bench/topical_corpus.py writes, or any archive's import file); only its text is read, not
its title or place. Sentences are cut with the archive's own splitter (pipeline.passages).
The output is deterministic: the names sorted by passage (file order), then by their first
place in it; each name keeps the spelling of its first capitalised occurrence. It holds words
from the collection's text, so it is written outside the repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.topical import fold, plain_sentences, read_jsonl, words_of  # noqa: E402

#: what is stripped from around a token before it must be letters only
_PUNCT = "\"'«»“”‘’()[]{}¿?¡!.,;:…-–—/*"


def capitalised(text: str, min_letters: int) -> list[str]:
    """The capitalised words of ``text`` that do not start a sentence, in order."""
    found = []
    for sentence in plain_sentences(text):
        for token in sentence.split()[1:]:
            word = token.strip(_PUNCT)
            if len(word) >= min_letters and word.isalpha() and word[0].isupper():
                found.append(word)
    return found


def names_set(rows: list[dict[str, object]], min_letters: int = 5) -> list[dict[str, str]]:
    """(word, passage id) for every word the rule keeps."""
    held = Counter(w for row in rows for w in set(words_of(str(row.get("text") or ""))))
    out = []
    for row in rows:
        text = str(row.get("text") or "")
        seen: set[str] = set()
        for word in capitalised(text, min_letters):
            key = fold(word)
            if key in seen:
                continue
            seen.add(key)
            # words_of folds the same way; a word with a letter it would split on is skipped
            if words_of(word) == [key] and held[key] == 1:
                out.append({"word": word, "id": str(row["id"])})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--min-letters", type=int, default=5)
    args = parser.parse_args()

    if args.out.resolve().is_relative_to(ROOT):
        raise SystemExit("write the names set outside the repository (it quotes the collection)")
    rows = read_jsonl(args.corpus)
    ids = [str(r["id"]) for r in rows]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{args.corpus}: duplicate ids; the rule needs one id per passage")
    names = names_set(rows, args.min_letters)
    doc = {
        "collection": str(args.corpus),
        "collection_md5": hashlib.md5(args.corpus.read_bytes()).hexdigest(),
        "rule": (
            f"capitalised words of {args.min_letters}+ letters, letters only, not first in "
            "their sentence, held (whole word, accent- and case-folded) by exactly one passage"
        ),
        "metric": "hit@10",
        "count": len(names),
        "names": names,
    }
    data = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    passages = len({n["id"] for n in names})
    print(
        f"{args.out}: {len(names)} names in {passages} of {len(rows)} passages, "
        f"md5 {hashlib.md5(data).hexdigest()}"
    )


if __name__ == "__main__":
    main()
