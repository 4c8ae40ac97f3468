"""What redaction knows about words: given names, surnames, ordinary words, places.

Every entry is keyed by its lower-case form (as spaCy's ``Token.lower_`` gives it), with
and without accents, and carries bit flags:

- ``GIVEN`` / ``SURNAME``: listed as a given name / surname in pipeline/data/names/ (the
  Chilean and Colombian civil-register lists packaged by Faker, and hand-compiled Quechua,
  Aymara and rural Andean lists; the README there says where each comes from). Andean
  surnames are written many ways ("Sullca"/"Sulca", "Huamán"/"Waman", "Quispe"/"Kispe",
  "Ttito"/"Tito"), so their usual respellings are listed too, where they are no known word;
- ``WORD``: an ordinary word of the text's language, written lower-case at least as often
  as capitalised ("testimonio", "vivimos", "julio", "flores"), a Quechua or Aymara word of
  Andean text ("wayra", "killa", "ayllu": andean_words.txt), or a feast that is also a
  given name ("Candelaria"), in either language;
- ``ANDEAN``: in Spanish text, one of those Quechua or Aymara words (redaction masks such
  a word that is also a listed name when it is capitalised inside a sentence: Spanish
  writes the word in lower case, "la wayra", but the name capitalised, "de Wayra");
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
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from corpus.text import fold

__all__ = [
    "ANDEAN",
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

GIVEN, SURNAME, WORD, LOWER, STOP, PLACE, PREFIX, ANDEAN = (1 << i for i in range(8))
NAMES = GIVEN | SURNAME

_GIVEN_FILES = ("faker_given_names.txt", "andean_given_names.txt", "nicknames.txt")
_SURNAME_FILES = ("faker_surnames.txt", "andean_surnames.txt")
_ANDEAN_SURNAMES = "andean_surnames.txt"
_ANDEAN_WORDS = "andean_words.txt"
#: how one Andean surname is also written: doubled consonants single ("Ccama"/"Cama",
#: "Sullca"/"Sulca", "Ttito"/"Tito"), "hua"/"wa" and "hui"/"wi" ("Huamán"/"Waman"), a
#: first "qu"/"c" as "k" ("Quispe"/"Kispe", "Condori"/"Kondori"), "ay"/"ai" ("Mayta"/"Maita")
_RESPELLINGS = (
    (r"([cptkq])\1", r"\1"),
    (r"ll", "l"),
    (r"ph", "p"),
    (r"hu([aáií])", r"w\1"),
    (r"gu([aá])", r"hu\1"),
    (r"w([aáií])", r"hu\1"),
    (r"^qu([ei])", r"k\1"),
    (r"^c([aou])", r"k\1"),
    (r"^k([aou])", r"c\1"),
    (r"([aeo])y(?=[^aeiouáéíóú]|$)", r"\1i"),
    (r"([aeo])i(?=[^aeiouáéíóú]|$)", r"\1y"),
)

#: feasts and Marian titles of Andean text that are also given names
FEAST_WORDS = "candelaria"
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
    "bolivia ecuador chile colombia argentina ayacucho huánuco ancash apurimac "
    # peoples and languages, never a person ("We are Aymara", "the Aymara communities")
    "quechua quechuas aymara aymaras aimara aimaras asháninka awajún shipibo machiguenga "
    "matsigenka uros kichwa quichua "
    # Peruvian state bodies by their acronyms ("Minsa never came back")
    "minsa minem minam midagri minagri minedu minjus mininter senace osinergmin ingemmet "
    "digesa diresa sunat reniec sernanp essalud sucamec ugel onpe indecopi devida pnp "
    "sunarp cofopri"
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
    # pits, works and buildings named after people ("el tajo Raúl Rojas")
    "tajo socavón bocamina relavera represa reservorio canal estadio coliseo mercado "
    "instituto institución feria "
    "saint st mount mt lake river province district region company mine project school "
    "street avenue valley community village town city pit dam stadium market"
)


def _lines(name: str) -> list[str]:
    text = resources.files("pipeline.data").joinpath("names").joinpath(name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def _forms(word: str) -> set[str]:
    return {word.lower(), fold(word)}


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """Lower-case given names and surnames (accented and plain), and the respellings of
    the Andean surnames that are no known word, name or place word."""
    given = {f for n in _GIVEN_FILES for w in _lines(n) for f in _forms(w)}
    surnames = {f for n in _SURNAME_FILES for w in _lines(n) for f in _forms(w)}
    known = given | surnames | set(_words("es")) | set(_words("en")) | _fixed_words()
    for name in _lines(_ANDEAN_SURNAMES):
        surnames |= {f for r in respellings(name) for f in _forms(r) if f not in known}
    return frozenset(given), frozenset(surnames)


def respellings(name: str) -> set[str]:
    """Other usual spellings of an Andean surname, lower case: each of _RESPELLINGS, and
    any two of them ("Ccahuana" -> "cahuana", "ccawana", "cawana")."""
    out = {name.lower()}
    for _ in range(2):
        out |= {re.sub(p, r, w) for w in out for p, r in _RESPELLINGS}
    return out - {name.lower()}


def _fixed_words() -> set[str]:
    words = [*STOP_WORDS.split(), *PLACE_WORDS.split(), *PREFIX_WORDS.split(), *FEAST_WORDS.split()]
    return {f for w in [*words, *_lines(_ANDEAN_WORDS)] for f in _forms(w)}


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
    andean = _lines(_ANDEAN_WORDS)
    if lang != "es":  # English capitalises "Inca" and "Puma" but not "killa": given names only
        _add(flags, [w for w in andean if not _forms(w) & given], WORD)
        andean = [w for w in andean if _forms(w) & given]
    _add(flags, andean, WORD | ANDEAN)
    _add(flags, FEAST_WORDS.split(), WORD)
    _add(flags, STOP_WORDS.split() + list(extra_stop), STOP)
    _add(flags, PLACE_WORDS.split(), PLACE)
    _add(flags, PREFIX_WORDS.split(), PREFIX)
    return flags
