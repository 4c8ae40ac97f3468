"""What redaction knows about words: given names, surnames, ordinary words, places.

Every entry is keyed by its lower-case form (as spaCy's ``Token.lower_`` gives it), with
and without accents, and carries bit flags:

- ``GIVEN`` / ``SURNAME``: listed as a given name / surname in pipeline/data/names/ (the
  Chilean and Colombian civil-register lists packaged by Faker, and hand-compiled Quechua,
  Aymara and rural Andean lists; the README there says where each comes from);
- ``WORD``: an ordinary word of the text's language, written lower-case at least as often
  as capitalised ("testimonio", "vivimos", "julio", "flores");
- ``LOWER``: more often capitalised, yet common in lower case ("rosa", "juan");
- ``STOP``: function words, titles and cue words, which never belong to a name;
- ``PLACE``: places, companies, institutions and words that name them, never a person;
- ``PREFIX``: words after which a capitalised word names a place or an organisation
  ("San Martín", "Santa Rosa", "comunidad de Huaylla", "Minera Yanacocha").

Word lists exist for Spanish and English (spaCy's ``lexeme_prob`` tables from
spacy-lookups-data, see bench/build_name_lists.py); other languages use the Spanish one.
English ordinary words count as ordinary words in Spanish text too (company names in
English); not the reverse, where "Julio" or "Rosa" in English text is a name.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from corpus.text import fold

__all__ = [
    "GIVEN",
    "LOWER",
    "PLACE",
    "PREFIX",
    "STOP",
    "SURNAME",
    "WORD",
    "lexicon",
    "name_lists",
]

GIVEN, SURNAME, WORD, LOWER, STOP, PLACE, PREFIX = (1 << i for i in range(7))
NAMES = GIVEN | SURNAME

_GIVEN_FILES = ("faker_given_names.txt", "andean_given_names.txt")
_SURNAME_FILES = ("faker_surnames.txt", "andean_surnames.txt")

STOP_WORDS = (
    "a al ante con contra de del desde e el en entre era es esta este fue ha hay la las le lo "
    "los me mi mis muy ni no nos o para pero por porque pues que se si sin sobre su sus también "
    "tengo un una uno y ya yo él ella ellos usted vivo soy estoy eh bueno entonces ahí allí aquí "
    "cuando donde como todo todos nada dice dijo decía a an and as at but by for from he her "
    "his i in is it my of on or our she so the their then they this to was we were who with "
    "you yes no oh well not"
)
PLACE_WORDS = (
    "perú peru lima cajamarca yanacocha celendín puno bambas cerro pasco conga bambamarca "
    "hualgayoc huasmín sorochuco espinar tintaya antapaccay cotabambas challhuahuacho "
    "fuerabamba chumbivilcas cusco arequipa islay tambo moquegua piura apurímac áncash "
    "antamina huancavelica junín oroya llaucano jequetepeque perol quellaveco huancané "
    "otuzco newmont mmg glencore southern buenaventura minera minería mina oefa dinoes "
    "defensoría pueblo ministerio policía fiscalía estado gobierno municipalidad ronda "
    "comisión corte tribunal juzgado autoridad dirección oficina asociación federación "
    "frente consejo interamericana nacional regional provincial distrital "
    "comunidad grufides ong virgen dios santa san santo río laguna lagoon river "
    "bolivia ecuador chile colombia argentina ayacucho huánuco ancash apurimac"
)
#: a capitalised word right after these (or after these + "de"/"del") names a place or body
PREFIX_WORDS = (
    "san santa santo sta sto virgen villa puerto cerro río rio laguna lago nevado volcán "
    "distrito provincia región departamento comunidad caserío anexo centro hacienda fundo "
    "mina minera proyecto empresa compañía cía colegio escuela universidad hospital posta "
    "plaza barrio urbanización calle jirón avenida av jr pasaje valle cuenca quebrada "
    "comisaría parroquia iglesia capilla puente carretera pampa municipio ciudad localidad "
    "zona área sector sur norte este oeste aldea pueblo comuna cantón resguardo ejido vereda "
    "corregimiento estado país paraje cordillera sierra isla reserva parque cooperativa "
    "saint st mount mt lake river province district region company mine project school "
    "street avenue valley community village town city"
)


def _lines(name: str) -> list[str]:
    text = resources.files("pipeline.data").joinpath("names").joinpath(name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _forms(word: str) -> set[str]:
    return {word.lower(), fold(word)}


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-case given names and surnames (accented and plain)."""
    given = {f for n in _GIVEN_FILES for w in _lines(n) for f in _forms(w)}
    surnames = {f for n in _SURNAME_FILES for w in _lines(n) for f in _forms(w)}
    return frozenset(given), frozenset(surnames)


@lru_cache(maxsize=4)
def _words(lang: str) -> dict[str, int]:
    raw = (
        resources.files("pipeline.data")
        .joinpath("names")
        .joinpath(f"words_{lang}.txt.gz")
        .read_bytes()
    )
    out: dict[str, int] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        word, _, kind = line.partition("\t")
        out[word] = WORD if kind == "w" else LOWER
    return out


def _add(flags: dict[str, int], words: Iterable[str], flag: int) -> None:
    for word in words:
        for form in _forms(word):
            flags[form] = flags.get(form, 0) | flag


@lru_cache(maxsize=4)
def lexicon(lang: str, extra_stop: tuple[str, ...] = ()) -> dict[str, int]:
    """Flags of every known lower-case form for texts in ``lang`` ("es" or "en")."""
    lang = lang if lang in ("es", "en") else "es"
    flags = dict(_words(lang))
    if lang == "es":  # company names in English: "Pacific Rim", "Skye Resources"
        for word, flag in _words("en").items():
            if flag == WORD:
                flags[word] = flags.get(word, 0) | WORD
    given, surnames = name_lists()
    _add(flags, given, GIVEN)
    _add(flags, surnames, SURNAME)
    _add(flags, STOP_WORDS.split() + list(extra_stop), STOP)
    _add(flags, PLACE_WORDS.split(), PLACE)
    _add(flags, PREFIX_WORDS.split(), PREFIX)
    return flags
