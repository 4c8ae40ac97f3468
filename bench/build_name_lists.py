"""Rebuild the data files of pipeline/data/names/ that come from other packages.

    pip download --no-deps -d /tmp/faker faker==40.63.0
    .venv/bin/python bench/build_name_lists.py --faker-wheel /tmp/faker/faker-40.63.0-*.whl

Not a benchmark: it lives beside them because, like them, it is run by hand and never
by Voces. It writes

- ``faker_given_names.txt`` and ``faker_surnames.txt``: the first names and surnames of
  Faker's ``es_CL`` provider (Chile's civil register, Servicio de Registro Civil e
  Identificación, the 500 most frequent of each, obtained through a transparency request)
  and ``es_CO`` provider (Colombia's open-data "Ciudadanía Digital" set, 300 of each).
  Faker is MIT-licensed; its copyright notice is copied into the files' headers. Only
  the wheel is read (unzipped in memory): Faker is not a dependency of Voces.
- ``words_es.txt.gz`` and ``words_en.txt.gz``: lower-case words with how they are
  usually written, from spaCy's ``lexeme_prob`` tables (spacy-lookups-data, MIT, already a
  Voces dependency): ``w`` for an ordinary word, written lower-case at least as often as
  capitalised ("testimonio", "vivimos", "julio", "flores"), and ``l`` for a word more
  often capitalised that is still common in lower case ("rosa", "juan"). Redaction reads
  the first to tell an ordinary capitalised word at the start of a sentence from a name,
  and the second to leave a lower-case "rosa" alone unless it sits beside another name.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "pipeline" / "data" / "names"
#: a lower-case form rarer than this (natural log probability) is not counted as a word
MIN_LOGPROB = -17.0
#: a lower-case form more frequent than this is a common word even if more often capitalised
COMMON_LOWER_LOGPROB = -13.5

_ENTRY = re.compile(r'^\s*\(?"([^"]+)",')
#: words of compound surnames that are no name by themselves ("San Martín", "De La Fuente")
_PARTICLES = frozenset({"San", "Santa", "Del", "Las", "Los"})


def _names(source: str, attribute: str) -> list[str]:
    """The quoted names of ``attribute = OrderedDict([...])`` in a Faker provider file."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"\s*{attribute}\b.*=", line))
    names: list[str] = []
    for line in lines[start + 1 :]:
        if line.strip() in (")", "]", "])", "]),", "),"):
            break
        match = _ENTRY.match(line)
        if match:
            names.append(match.group(1))
    return names


def faker_lists(wheel: Path) -> tuple[list[str], list[str], str]:
    with zipfile.ZipFile(wheel) as zf:
        read = lambda name: zf.read(name).decode("utf-8")  # noqa: E731
        licence = read(next(n for n in zf.namelist() if n.endswith("LICENSE.txt")))
        cl = read("faker/providers/person/es_CL/__init__.py")
        co = read("faker/providers/person/es_CO/__init__.py")
    given = _names(cl, "first_names_male") + _names(cl, "first_names_female")
    given += _names(co, "first_names_female") + _names(co, "first_names_male")
    surnames = _names(cl, "last_names") + _names(co, "last_names")
    return _unique_words(given), _unique_words(surnames), licence


def _unique_words(names: list[str]) -> list[str]:
    """Each word of each name once ("San Martín" gives "Martín"; particles are dropped)."""
    seen: dict[str, None] = {}
    for name in names:
        for word in name.replace("-", " ").split():
            if len(word) > 2 and word[0].isupper() and word not in _PARTICLES:
                seen.setdefault(word, None)
    return sorted(seen)


def word_lists(lang: str) -> list[str]:
    spec = importlib.util.find_spec("spacy_lookups_data")
    assert spec is not None and spec.origin is not None, "spacy-lookups-data is not installed"
    path = Path(spec.origin).parent / "data" / f"{lang}_lexeme_prob.json.gz"
    probs: dict[str, float] = json.loads(gzip.decompress(path.read_bytes()))
    rows = []
    for word, p in probs.items():
        if not (word.isalpha() and word.islower()) or p <= MIN_LOGPROB:
            continue
        cap = probs.get(word[:1].upper() + word[1:], -99.0)
        if p >= cap:
            rows.append(f"{word}\tw")
        elif p > COMMON_LOWER_LOGPROB:
            rows.append(f"{word}\tl")
    return sorted(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faker-wheel", type=Path, required=True)
    args = parser.parse_args()
    given, surnames, licence = faker_lists(args.faker_wheel)
    notice = "".join(f"# {line}".rstrip() + "\n" for line in licence.strip().splitlines())
    version = args.faker_wheel.name.split("-")[1]
    for name, words, what in (
        ("faker_given_names.txt", given, "first names"),
        ("faker_surnames.txt", surnames, "surnames"),
    ):
        header = (
            f"# The {what} of Faker {version}'s es_CL provider (Chile's civil register, the 500\n"
            "# most frequent, through a transparency request) and es_CO provider (Colombia's\n"
            '# open-data "Ciudadanía Digital" set, 300), one word a line. Made by\n'
            "# bench/build_name_lists.py; see README.md. Faker's licence:\n#\n"
        )
        (OUT / name).write_text(header + notice + "\n".join(words) + "\n", encoding="utf-8")
    for lang in ("es", "en"):
        rows = word_lists(lang)
        data = ("\n".join(rows) + "\n").encode("utf-8")
        (OUT / f"words_{lang}.txt.gz").write_bytes(gzip.compress(data, mtime=0))
        print(f"words_{lang}: {len(rows)}")
    print(f"given names {len(given)}, surnames {len(surnames)}")


if __name__ == "__main__":
    main()
