"""The theme rules through spaCy's ``Matcher`` against the tagger's own matcher.

    .venv/bin/python bench/rule_matcher.py [--ejatlas ../shared/data/ejatlas_dev.jsonl]

Issue 9 asks for spaCy's ``Matcher`` in place of hand-written matching unless the
hand-written one does something the ``Matcher`` cannot. This is the port, measured: every
taxonomy pattern becomes one ``Matcher`` pattern over the same tokens (sentences without
punctuation, as the tagger cuts them). A term must match the folded surface form *or* the
folded lemma, exactly or, for ``stem*``, as a prefix; a token pattern tests one attribute,
so each token carries a custom extension with its forms and every prefix of them, and each
term is an ``INTERSECTS`` test on it. A lone ``*`` is ``{"OP": "{,2}"}``. The shortest
match per (pattern, start) is kept and negation stays a post-filter, as in the tagger.

It prints how many passages get the same spans from both and the time each takes for the
matching alone (tokens and spaCy docs are made once, outside both timings).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spacy.matcher import Matcher  # noqa: E402
from spacy.tokens import Doc, Token  # noqa: E402
from spacy.vocab import Vocab  # noqa: E402

from models.nlp import load_nlp  # noqa: E402
from pipeline import Metadata, ThemeTagger, load_taxonomy, read_text_items, split_text  # noqa: E402

KEYS = "voces_rule_keys"


class SpacyRules:
    """The tagger's rules as one spaCy ``Matcher``."""

    def __init__(self, tagger: ThemeTagger) -> None:
        if not Token.has_extension(KEYS):
            Token.set_extension(KEYS, default=None)
        self.tagger = tagger
        self.vocab = Vocab()
        self.matcher = Matcher(self.vocab)
        for n, (_theme, _lang, _weak, terms) in enumerate(tagger._patterns):
            spec: list[dict[str, Any]] = [
                {"OP": "{,2}"} if term == "*" else {"_": {KEYS: {"INTERSECTS": [term]}}}
                for term in terms
            ]
            self.matcher.add(str(n), [spec])
        self.number = {self.vocab.strings[str(n)]: n for n in range(len(tagger._patterns))}

    def matches(self, sentences: list[list[Any]]) -> dict[str, list[tuple[str, bool]]]:
        found: dict[str, list[tuple[str, bool]]] = {}
        for sentence in sentences:
            doc = Doc(self.vocab, words=[t.text for t in sentence])
            for token, ours in zip(doc, sentence, strict=True):
                keys = set(ours.forms)
                for form in ours.forms:
                    keys.update(form[:k] + "*" for k in range(1, len(form) + 1))
                token._.set(KEYS, keys)
            shortest: dict[tuple[int, int], int] = {}
            for match_id, start, end in self.matcher(doc):
                key = (self.number[match_id], start)
                shortest[key] = min(end, shortest.get(key, end))
            for (n, i), end in sorted(shortest.items(), key=lambda kv: (kv[0][1], kv[0][0])):
                self.tagger._keep_match(found, sentence, n, i, end)
        return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    args = parser.parse_args()
    items = read_text_items(ROOT / "demo" / "testimonies.jsonl", Metadata())
    passages = [(p, i.meta.language) for i in items for p in split_text(i.text)]
    if args.ejatlas.exists():
        for line in args.ejatlas.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            passages += [(p, "en") for p in split_text(case.get("text") or "")]
    texts, languages = [p for p, _ in passages], [lang for _, lang in passages]

    tagger = ThemeTagger(load_taxonomy(), load_nlp, None)
    docs = tagger._docs(texts, languages)
    sentences = [
        tagger._tokens(t, lang, d) for t, lang, d in zip(texts, languages, docs, strict=True)
    ]
    port = SpacyRules(tagger)

    t0 = time.perf_counter()
    ours = [tagger._match_sentences(s) for s in sentences]
    t1 = time.perf_counter()
    theirs = [port.matches(s) for s in sentences]
    t2 = time.perf_counter()

    same = sum(
        {k: sorted(v) for k, v in a.items()} == {k: sorted(v) for k, v in b.items()}
        for a, b in zip(ours, theirs, strict=True)
    )
    spans = sum(len(v) for found in ours for v in found.values())
    print(f"{len(texts)} passages, {len(tagger._patterns)} patterns, {spans} spans found")
    print(f"same spans from both: {same} of {len(texts)} passages")
    print(f"tagger's matcher: {1000 * (t1 - t0) / len(texts):.3f} ms per passage")
    print(f"spaCy Matcher:    {1000 * (t2 - t1) / len(texts):.3f} ms per passage")
    print(f"ratio: {(t2 - t1) / (t1 - t0):.0f}x")


if __name__ == "__main__":
    main()
