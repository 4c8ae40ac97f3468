"""Masking of personal data in transcripts, for public views.

What it catches (spans refer to the original text; masks are in the text's language):

- e-mail addresses;
- phones: Peruvian mobiles (``9xx xxx xxx``, with spaces or dashes, optional ``+51``),
  landlines (``(076) 36-1234``, ``01 234 5678``, ``076-361234``, ``+51 84 301662``), and
  seven or more digits said one by one ("nueve siete dos, cuatro cinco uno ...": an ID
  number after an ID cue, else a phone);
- ID numbers after a cue word (DNI, documento, identidad, RUC, carné de extranjería, CE,
  pasaporte, ID, passport, número): 8-digit DNIs (also ``4321 8765``), 11-digit RUCs,
  9-digit carnés, passport-like ``X1234567``, up to ~50 characters after the cue; and eight
  digits with no cue (a DNI's length), unless money or a measure ("12500000 soles", "S/
  12500000") or a round ``...0000``;
- street addresses: Jr./Jirón, Av./Avenida, Calle, Psje./Pasaje + capitalised name + number
  or ``s/n``, ``Mz. B Lt. 7`` (with the Urb./A.H./pueblo joven before it), and English
  ``45 Elm Street`` / ``Ave`` / ``Road``, each with an ``oficina 4`` / ``office 5`` / ``Apt 4B``
  after it;
- personal names, from four sources, the same for passages and titles (titles made from
  file names are lower case: "testimonio ernesto salas apaza"):
  1. name lists (``pipeline.names``: Chilean and Colombian civil-register given names and
     surnames, hand-compiled Quechua, Aymara and rural Andean ones with the usual
     respellings of the surnames, "Sulca", "Kispe", "Waman", and Spanish nicknames): a
     capitalised run holding a listed name ("Conversé con Lucía Paucar", "Quispe no
     quiso", "the Quispes"); in lower case or capitals, two listed names led by a given
     name or one rarely written in lower case ("ernesto salas apaza", "rosa mamani",
     "romualdo ccasa"), or a lone given name ("percy"). A listed name that is also a
     Quechua word counts only capitalised inside a Spanish sentence ("la mamá de Wayra",
     not "la wayra", "Sumaq kawsay dicen" or English "Killa means moon");
  2. word lists (spaCy's ``lexeme_prob`` tables): two or more capitalised words, none an
     ordinary word ("Wilber Ttacca"), and never an ordinary word that is capitalised
     because it opens a sentence or a title ("Testimonio 0008", "Vivimos", "Nosotros");
  3. cue phrases, found with a spaCy ``PhraseMatcher`` ("me llamo", "mi nombre es",
     "soy", "ñoqaqa", "sutiyqa", "señor/doña/compañero/hermano ...", ranks and offices,
     "el teniente/alcalde/presidente ...", "mi esposo/hijo ...", "my name is",
     "Mr./Mrs./Ms.", "I am", "my son ..."): the words after them, past a comma or "...";
     after an honorific also an ordinary word ("la señora Espíritu") or a lower-case word
     that is no known word ("la señora agripina");
     Also nickname cues ("le decían el Chato", "they call him Flaco"), kin words as
     testimonies say them ("su hermanita", "el finado", "mi compadre"; a lower-case Quechua
     given name after one: "su hermanita urpi"), introductions ("ella es Wara") and cues
     after the name ("Inca es mi apellido", "Huancané es mi apellido": the words before
     them, even an ordinary word or a place);
  4. the injected pipeline's NER, if any (PER/PERSON entities, less ordinary words at
     their ends, and no lone word that is an ordinary or Quechua word or a place after
     "from", "en" ...).
  Listed names are also found written with an accent the list lacks ("Wálter"); a family
  after "los"/"las" ("los Chilón"): an unknown capitalised word, singular. A capitalised
  Quechua given name counts inside an English sentence too ("I met Killa"), but not in a
  text that explains words ("Killa means moon", "significa"). Not masked: names found by
  their shape or NER beside an animal word ("Tito, el perro", "our dog Pancho"); a run
  after "en", "hasta" ... not led by a given name ("en Huisa Ccollana"); exclamations
  ("¡Ay, Jesús!"), "Mama Killa", "sumaq kawsay".
  A word of a name found after a cue that names only people, or beside a listed name, is
  masked wherever else the text has it ("Me llamo Killari, nomás Killari").
  None of them masks a place, company, institution or people from the built-in list
  ("Minsa", "Aymara"), nor words right after a place word ("San Martín", "comunidad de
  Ccapacmarca", "Santa Rosa de Yauri", "Virgen de la Candelaria", "Señor de Huanca",
  "Minera Yanacocha", "el tajo Raúl Rojas", "La Vega"), nor a lone capitalised word after
  "en", "hasta", "to" ("vive en Yauri"; but "spoke to Quispe", "at Quispe's house").

What it does not catch: a lone unlisted name with no cue ("Tika llegó", "vio a Tika")
unless NER finds it; an unlisted lower-case name ("y ahí estaba marcusa"); a surname that
is also a listed place with no cue after it; ID numbers of other lengths said
without a cue word; addresses without a street word or a number; nicknames made of
ordinary words and descriptions that identify someone ("el Chato", "la presidenta de la
ronda"). Places, companies, institutions, dates, years and amounts of money are left
alone on purpose, but a place or company that is not in the list and looks like a name
is masked ("Anglogold Ashanti", "Mendoza" alone). A name that is also a place name used
as a nickname ("Doña Juana", a hill) is masked anyway.

The stage reads its lists from pipeline/data/names/ and loads no model: ``nlp(lang)`` is
injected (a spaCy ``Language``, ideally with NER) and may return ``None``; without it a
blank spaCy tokenizer is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from corpus.text import fold

from .names import ANDEAN, GIVEN, LOWER, NAMES, PLACE, PREFIX, STOP, SURNAME, WORD, lexicon

__all__ = ["KINDS", "MASKS", "RedactedSpan", "Redaction", "Redactor", "TextRedactor"]

KINDS = ("name", "phone", "id_number", "email", "address")
MASKS: dict[str, dict[str, str]] = {
    "es": {
        "name": "[nombre]",
        "phone": "[teléfono]",
        "id_number": "[documento]",
        "email": "[correo]",
        "address": "[dirección]",
    },
    "en": {
        "name": "[name]",
        "phone": "[phone]",
        "id_number": "[ID number]",
        "email": "[e-mail]",
        "address": "[address]",
    },
}


@dataclass(frozen=True)
class RedactedSpan:
    start: int
    end: int
    kind: str  # one of KINDS


@dataclass(frozen=True)
class Redaction:
    text: str
    spans: tuple[RedactedSpan, ...]  # over the original text


# ---- structured data: regexes ----------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+51[\s-]?)?9\d{2}[\s-]?\d{3}[\s-]?\d{3}(?![\w-])"  # mobile
    r"|(?<![\w+])(?:\+51[\s-]?)?(?:\(0?\d{1,2}\)\s?|0\d{1,2}[\s-])\d{2,3}[\s-]?\d{4}(?![\w-])"
    # a landline from abroad: +51, the area code without its 0, 6 or 7 digits ("+51 84 301662")
    r"|(?<![\w+])\+51[\s-]?\d{1,2}[\s-]\d{3}[\s-]?\d{3,4}(?![\w-])"
)
#: a number said digit by digit, as a transcript writes speech ("nueve siete dos, cuatro
#: cinco uno ..."): seven or more digit words, a phone, or an ID number after an ID cue
_DIGIT_WORD = (
    r"(?i:cero|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|"
    r"zero|oh|one|two|three|four|five|six|seven|eight|nine)"
)
_SPOKEN_DIGITS = re.compile(rf"(?<!\w){_DIGIT_WORD}(?:[\s,.-]+{_DIGIT_WORD}){{6,}}(?!\w)")
_ID_CUE = re.compile(
    r"\b(?:(?i:D\.?N\.?I|documento|identidad|libreta electoral|R\.?U\.?C|carn[eé]|"
    r"extranjer[ií]a|pasaporte|passport|identity card|resident card|national id|"
    r"n[uú]mero|nro|number)|ID|C\.?E)\b"
)
_ID_NUMBER = re.compile(
    r"(?<![\w-])(?:\d{4}\s\d{4}|\d{8}(?:-\d)?|\d{9}|\d{11}|[A-Z]{1,2}\d{6,8})(?![\w-])"
)
_ID_WINDOW = 50
#: eight digits with no cue are a DNI, unless money or a measure ("12500000 soles")
_BARE_DNI = re.compile(r"(?<![\w$/.,-])\d{4}(?!0000)\d{4}(?![\w-]|[.,]\d)")
_NOT_DNI_BEFORE = re.compile(r"(?i:S/|\$|US\$|USD|PEN|€)\s*$")
_NOT_DNI_AFTER = re.compile(
    r"\s*(?:de\s+)?(?i:soles|sol|nuevos|d[oó]lares|dollars|usd|pen|euros|metros|meters|m|m2|m3|km|"
    r"kil[oó]metros|hect[aá]reas|hectares|ha|toneladas|tons|tonnes|t|tm|kilos|kg|gramos|"
    r"onzas|oz|litros|liters|galones|habitantes|personas|people|cabezas|animales)\b"
)
_STREET = r"(?i:jr\.|jir[oó]n|av\.|avda\.|avenida|calle|psje\.|pje\.|pasaje|prolongaci[oó]n)"
#: a settlement before "Mz. B Lt. 7": urbanización, asentamiento humano, pueblo joven ...
_SETTLEMENT = (
    r"(?i:urb\.|urbanizaci[oó]n|a\.\s?h\.|asentamiento humano|p\.\s?j\.|pueblo joven|"
    r"asoc\.|asociaci[oó]n|coop\.|cooperativa)"
)
_NAME_WORD = r"(?:[A-ZÁÉÍÓÚÑ][\wáéíóúñü'-]*|de|del|la|las|los|el|y)"
#: what may follow the number: an office, flat or floor ("Av. Grau 345 oficina 201")
_UNIT = (
    r"(?:\s*,?\s*(?i:oficina|of\.|dpto\.?|departamento|depto\.?|int\.|interior|piso|apt\.?|"
    r"apartment|suite|office|flat|floor|unit)\s*[A-Z0-9][A-Za-z0-9-]{0,4}\b)?"
)
_ADDRESS = re.compile(
    rf"(?<!\w){_STREET}\s+(?:{_NAME_WORD}\s+){{1,5}}(?:(?i:n[°º]|nro\.?|no\.)\s*)?"
    rf"(?:\d{{1,5}}\b|(?i:s/n)(?!\w)){_UNIT}"
    rf"|(?<!\w)(?:{_SETTLEMENT}\s+(?:{_NAME_WORD}\s+){{1,5}})?"
    r"(?i:mz\.?|manzana)\s*[A-Z0-9]{1,3}\s*,?\s*(?i:lt\.?|lote)\s*\d{1,4}\b"
    r"|(?<![\w-])\d{1,5}\s+(?:[A-Z][\w'-]*\s+){1,3}(?:Street|St\.|Avenue|Ave\b\.?|Road|Rd\.|Lane)"
    rf"{_UNIT}"
)
_MASKED = re.compile("|".join(re.escape(m) for d in MASKS.values() for m in d.values()))

# ---- names: cue phrases, word classes ----------------------------------------------------
_STRONG_CUES = (
    "me llamo", "mi nombre es", "mi nombre completo es", "nombre completo", "se llama",
    "se llamaba", "de nombre", "llamado", "llamada", "apellido", "apellidos", "apellida",
    "my name is", "my name's", "named", "name is", "sutiyqa", "sutiymi",
    # nicknames, which are often ordinary words ("le decían el Chato", "they call him Flaco")
    "le dicen", "le decían", "le dicen el", "le dicen la", "le decían el", "le decían la",
    "le llaman", "le llamaban", "lo llaman", "la llaman", "lo llamaban", "la llamaban",
    "le apodaban", "apodado", "apodada", "alias", "conocido como", "conocida como",
    "they call him", "they call her", "calls him", "calls her", "they called him",
    "they called her", "we call him", "we call her", "nicknamed", "known as",
)  # fmt: skip
#: cues after the name: the capitalised words right before them are a name even when
#: they are also an ordinary word or a place ("Inca es mi apellido", "Huancané es mi
#: apellido", "Cutipa is my surname")
_AFTER_NAME_CUES = (
    "es mi apellido", "es mi nombre", "es mi primer apellido", "es mi segundo apellido",
    "es mi segundo nombre", "son mis apellidos", "es nuestro apellido", "es su apellido",
    "es su nombre", "is my name", "is my surname", "is my last name", "is my family name",
    "is her name", "is his name", "was my name",
)  # fmt: skip
#: honorifics: the capitalised word right after one is a name even when it is also an
#: ordinary word ("la señora Espíritu", "don Justo")
_TITLE_CUES = (
    "señor", "señora", "señorita", "sr.", "sra.", "srta.", "don", "doña", "compañero",
    "compañera", "hermano", "hermana", "tío", "tía", "mr.", "mrs.", "ms.", "mr", "mrs", "ms",
    "miss", "mister", "brother", "sister", "aunt", "uncle", "comrade",
)  # fmt: skip
#: ... and a lower-case word after one of these is a name when it is no known word either
#: ("la señora agripina"), as when it is a listed name
_UNKNOWN_AFTER = frozenset({"señor", "señora", "señorita", "sr.", "sra.", "srta.", "don", "doña"})
_WEAK_CUES = (
    "soy", "yo soy", "ingeniero", "ing.", "doctor", "doctora", "dr.", "dra.", "abogado",
    "abogada", "licenciado", "licenciada", "lic.", "profesor", "profesora", "profe", "fiscal",
    "comandante", "coronel", "capitán", "mayor", "teniente", "alférez", "sargento", "cabo",
    "suboficial", "comisario", "alcalde", "alcaldesa", "regidor", "regidora", "presidente",
    "presidenta", "juez", "jueza", "gobernador", "gobernadora", "prefecto", "subprefecto",
    "monseñor", "padre", "comunero", "comunera", "dirigente", "dirigenta", "vecino", "vecina",
    "esposo", "esposa", "hijo", "hija", "papá", "mamá", "abuelo", "abuela", "nieto", "nieta",
    "sobrino", "sobrina", "cuñado", "cuñada", "suegro", "suegra", "primo", "prima",
    "i am", "i 'm", "i'm", "father", "lawyer", "officer", "engineer", "prosecutor", "nurse",
    "lieutenant", "captain", "sergeant", "colonel", "judge", "governor", "professor",
    "husband", "wife", "son", "daughter", "grandfather", "grandmother", "grandson",
    "granddaughter", "cousin", "neighbour", "neighbor", "called",
    "ñoqaqa", "noqaqa", "ñuqaqa", "nuqaqa",
    # kin as testimonies say them: diminutives, in-laws and godparents, the dead
    "hermanito", "hermanita", "hijito", "hijita", "mamita", "papito", "papacito",
    "abuelito", "abuelita", "nietito", "nietita", "sobrinito", "sobrinita", "yerno",
    "nuera", "compadre", "comadre", "padrino", "madrina", "ahijado", "ahijada", "finado",
    "finada", "difunto", "difunta",
    # introducing someone ("ella es Wara, mi nieta")
    "él es", "ella es", "este es", "esta es", "he is", "she is", "this is",
)  # fmt: skip
#: kin words: a lower-case Quechua or Aymara given name right after one is a name ("su
#: hermanita urpi", "mi hija wayra"), though the word alone is no name ("la wayra")
_KIN = frozenset(
    """hermano hermana hermanito hermanita hijo hija hijito hijita esposo esposa papá mamá
    mamita papito papacito abuelo abuela abuelito abuelita nieto nieta nietito nietita
    sobrino sobrina sobrinito sobrinita primo prima tío tía cuñado cuñada suegro suegra
    yerno nuera compadre comadre padrino madrina ahijado ahijada""".split()
)
#: cues that may name a place or a thing as well as a person ("una comunidad llamada
#: Huancuire"): a name found after them is not spread to the rest of the text
_ANY_NAME_CUES = frozenset(
    {
        "se llama", "se llamaba", "de nombre", "llamado", "llamada", "named", "name is",
        "called", "conocido como", "conocida como", "known as",
    }
)  # fmt: skip
#: words that are part of no name: cue words and titles (besides names.STOP_WORDS)
_CUE_WORDS = tuple(
    sorted(
        {w for c in (*_STRONG_CUES, *_TITLE_CUES, *_WEAK_CUES) for w in c.split()}
        | {"dr", "sr", "sra"}
    )
)
#: what may stand between a cue and the name ("me llamo, Rosa", "yo soy... Eulogia")
_AFTER_CUE = frozenset({",", "...", "…", ":"})
_PROTECTED = re.compile(
    r"(?i:t[ií]a mar[ií]a|las bambas|cerro de pasco|defensor[ií]a del pueblo|inti raymi"
    r"|t[uú]pac amaru|todos los santos"
    # exclamations and beings that are no person ("¡Ay, Jesús!", "Jesús, María y José",
    # "Mama Killa" the moon, "sumaq kawsay" good living)
    r"|\b(?:ay|uy|oh),?\s+jes[uú]s(?:ito)?\b|\bjes[uú]s,?\s+mar[ií]a(?:,?\s+y\s+jos[eé])?"
    r"|\bave mar[ií]a\b|\bmama (?:killa|quilla|qucha|cocha)\b|\bsuma[qk] kawsay\b"
    r"|\bsuma qama[ñn]a\b)"
)
_NER_LABELS = frozenset({"PER", "PERSON"})
_MAX_NAME_TOKENS = 5
_SENTENCE_END = frozenset('.!?:;"«»“”()[]—–-¿¡\n')

Span = tuple[int, int, str]

# token classes: capitalised ("Quispe"), all capitals ("QUISPE"), lower case ("quispe")
_OTHER, _CAP, _UPPER, _LOW = range(4)


@dataclass(frozen=True)
class _Tok:
    """What name finding reads of one token (computed once per token)."""

    shape: int  # _OTHER, _CAP, _UPPER or _LOW
    flags: int  # pipeline.names flags of its lower-case form
    start: int
    end: int
    initial: bool  # opens the text, a line or a sentence

    @property
    def part(self) -> bool:
        """May be part of a name: a word that is no stop word, title, place or prefix."""
        return self.shape != _OTHER and not self.flags & (STOP | PLACE | PREFIX)

    @property
    def name(self) -> bool:
        return bool(self.flags & NAMES)

    @property
    def word(self) -> bool:
        """An ordinary word that is no listed name ("Testimonio", "Vivimos")."""
        return not self.flags & NAMES and bool(self.flags & (WORD | LOWER))

    @property
    def strong(self) -> bool:
        """A listed name that, written this way, is hardly anything else: a Quechua word
        that is also a name only capitalised inside a Spanish sentence ("de Wayra")."""
        if not self.flags & NAMES:
            return False
        if self.flags & ANDEAN:
            return self.shape == _CAP and not self.initial
        if self.flags & WORD:
            return False
        return self.shape == _CAP or not self.flags & LOWER


#: a text that explains words ("Killa means moon", "wayra significa viento", English "...
#: in Quechua"; not Spanish "habló en quechua", which is said of people): there a
#: capitalised Quechua or Aymara word is the word, not the given name
_GLOSS = re.compile(
    r"(?i:\bmeans\b|\bmeaning\b|\bsignifica\b|\bsignificado\b|\bquiere decir\b"
    r"|\bthe word\b|\bla palabra\b|\bin (?:quechua|aymara|aimara)\b)"
)


def _tokens(doc: Any, lex: dict[str, int], gloss: bool = False) -> list[_Tok]:
    out = []
    initial = True
    for tok in doc:
        text = tok.text
        if not tok.is_alpha:
            shape = _OTHER
        elif text.islower():
            shape = _LOW
        elif text.isupper():
            shape = _UPPER if len(text) > 1 else _OTHER
        elif text[0].isupper():
            shape = _CAP
        else:
            shape = _OTHER
        flags = lex.get(tok.lower_, 0)
        if not flags and shape != _OTHER:  # "Wálter", "Édgar": a listed name, accented
            flags = lex.get(fold(tok.lower_), 0) & NAMES
        if not flags and shape == _CAP and tok.lower_.endswith("s"):
            flags = lex.get(tok.lower_[:-1], 0) & SURNAME  # "the Quispes", "los Mamanis"
        if gloss and flags & ANDEAN:
            flags &= ~NAMES
        out.append(_Tok(shape, flags, tok.idx, tok.idx + len(text), initial))
        initial = text in _SENTENCE_END or text in ("...", "…") or tok.is_space
    return out


_OF = frozenset({"de", "del", "of"})
_ARTICLES = frozenset({"El", "La", "Los", "Las", "The"})
_LOWER_ARTICLES = frozenset({"el", "la", "los", "las", "the"})
#: a lone capitalised word after these, with no cue, is a place ("vive en Yauri")
_LOCATIVE = frozenset({"en", "hasta", "desde", "hacia", "in", "to", "at", "from", "near"})
#: a run of capitalised words after these is a place unless a given name leads it ("en
#: Huisa Ccollana", but "en Juan Quispe"); not after "from", "to", "at", "desde", which
#: come before people as often ("a letter from Dionisia Mamani")
_IN_PLACE = frozenset({"en", "hasta", "hacia", "in", "near"})
#: ... but not after "to" that follows these ("I spoke to Quispe", "sold it to Mamani")
_TO_SOMEONE = frozenset(
    "spoke speak speaks speaking talked talk talks talking said say says wrote write writes "
    "gave give gives sent send sends sold sell sells lent lend showed show explained explain "
    "complained complain listened listen listening belonged belongs belong married marry "
    "introduced introduce reported report replied reply answered answer it them him her "
    "this that".split()
)
#: ... and after "de"/"of" that follows these ("soy de Yauri", "los comuneros de Huanca")
_FROM = frozenset(
    "soy somos es son era eran vengo venimos viene vienen vino vinieron natural naturales "
    "gente comuneros comuneras pobladores vecinos familias mujeres hombres jóvenes niños "
    "autoridades dirigentes ronderos people villagers families women men leaders".split()
)


def _after_prefix(doc: Any, toks: list[_Tok], i: int) -> bool:
    """Does the run at ``i`` name a place, body or devotion: right after "San", "Minera",
    "comunidad" ..., or after "de" (or "de la" ...) that follows one ("comunidad de
    Ccapacmarca", "Santa Rosa de Yauri", "Virgen de la Candelaria", "Señor de Huanca")?"""
    if i > 0 and toks[i - 1].flags & (PREFIX | PLACE):
        return True
    if i > 1 and doc[i - 1].text in _ARTICLES and toks[i - 2].shape != _OTHER:
        return True  # "de La Vega", "por El Salvador": a capitalised article inside a sentence
    of = i - 2 if i > 2 and doc[i - 1].lower_ in _LOWER_ARTICLES else i - 1
    if of < 1 or doc[of].lower_ not in _OF:
        return False  # "Virgen de la Candelaria": past "de la" as past "de"
    if doc[of - 1].text == "Señor":
        return True  # a devotion: "Señor de Huanca", "Señor de Qoyllur Rit'i"
    k = of - 1
    while k > 0 and toks[k].shape == _CAP and not toks[k].flags & (PREFIX | PLACE):
        k -= 1  # back over "Santa Rosa" to "Santa"
    return bool(toks[k].flags & (PREFIX | PLACE))


def _lone_place(doc: Any, i: int) -> bool:
    """A lone capitalised word after "en", "hasta", "to" ... or "soy de", "los comuneros
    de" ...: a place ("vive en Yauri", "soy de Yauri"), not "la casa de Quispe", nor one
    before "'s" ("at Quispe's house") or after "to" that follows a verb of saying or
    giving ("I spoke to Quispe")."""
    before = doc[i - 1].lower_ if i > 0 else ""
    if i + 1 < len(doc) and doc[i + 1].lower_ in ("'s", "’s"):
        return False  # "at Quispe's house"
    if before in _LOCATIVE:
        return not (before == "to" and i > 1 and doc[i - 2].lower_ in _TO_SOMEONE)
    return before in _OF and i > 1 and doc[i - 2].lower_ in _FROM


def _family(doc: Any, toks: list[_Tok], i: int, j: int) -> bool:
    """A family named by its surname after a plural article inside a sentence ("los
    Chambi de Sicuani", "las Condorcanqui"): an unknown capitalised word, singular as
    surnames stay, where the plural of a place or people ends in -s ("los Andes")."""
    if j - i != 1 or i == 0 or doc[i - 1].text not in ("los", "las") or toks[i].initial:
        return False
    t = toks[i]
    return not t.flags and not doc[i].lower_.endswith("s") and len(doc[i]) > 2


#: animals people name ("Tito, el perro", "nuestra llama Chaska", "our dog Pancho")
_ANIMALS = frozenset(
    """perro perra perrito perrita can gato gata gatito caballo yegua burro burra mula vaca
    toro torito oveja carnero llama alpaca dog puppy cat horse mare donkey mule cow bull
    sheep""".split()
)
_ARTICLE_OR_MINE = frozenset("el la mi su nuestro nuestra the my our his her their".split())


def _animal(doc: Any, i: int, j: int) -> bool:
    """A name found by its shape or by NER that an animal word stands right before ("el
    perro Tito", "our dog Pancho") or that is followed by one in apposition ("Tito, el
    perro de la casa"): a pet's name, no person's."""
    if i > 0 and doc[i - 1].lower_ in _ANIMALS:
        return True
    k = j + 1 if j < len(doc) and doc[j].text == "," else j
    return k + 1 < len(doc) and doc[k].lower_ in _ARTICLE_OR_MINE and doc[k + 1].lower_ in _ANIMALS


def _runs(toks: list[_Tok]) -> Iterable[tuple[int, int]]:
    """Maximal runs of possible name parts of one shape. Ordinary words end lower-case
    runs; capitalised ones join a capitalised run except at its start ("Aurelio Cruzado
    Díaz"), where they are left out ("Testimonio", "Vivimos")."""
    i = 0
    while i < len(toks):
        t = toks[i]
        if not t.part or t.word:
            i += 1
            continue
        j = i + 1
        while (
            j < len(toks)
            and toks[j].part
            and toks[j].shape == t.shape
            and (t.shape == _CAP or not toks[j].word)
        ):
            j += 1
        yield i, j
        i = j


def _shape_names(doc: Any, toks: list[_Tok]) -> Iterable[tuple[int, int]]:
    """Names told by the words themselves: listed names and name-like capitalised pairs.

    Capitalised ("Lucía Paucar", "Quispe"): a run with a listed name that is not also an
    ordinary word, or two or more capitalised words that are not ordinary words ("Wilber
    Ttacca"); a lone word after "en", "hasta", "to" ... is taken for a place. Lower case or
    all capitals ("ernesto salas apaza", "rosa mamani"): two or more listed names led by a
    given name, or a run of listed and unknown words holding a name rarely written in
    lower case ("romualdo ccasa", "percy"). Never right after "San", "comunidad de" ...
    """
    for i, j in _runs(toks):
        run = toks[i:j]
        if _after_prefix(doc, toks, i):
            continue
        if run[0].shape == _CAP:
            if _family(doc, toks, i, j):
                yield i, j
                continue
            if j - i > 1 and not toks[i].flags & GIVEN and doc[i - 1].lower_ in _IN_PLACE:
                continue  # "vive en Huaylla Grande": a place unless a given name leads
            if any(t.strong for t in run):
                if j - i == 1 and _lone_place(doc, i):
                    continue
                if i > 1 and toks[i - 1].shape == _CAP and toks[i - 1].part:
                    if doc[i - 2].text not in _SENTENCE_END and not doc[i - 2].is_space:
                        i -= 1  # "conoce a Lucho Huamaní": a nickname that is also a word
                yield i, min(j, i + _MAX_NAME_TOKENS)
                continue
            k = i
            while k < j and not toks[k].word:
                k += 1
            if k - i >= 2:  # unlisted capitalised pair: up to the first ordinary word
                yield i, min(k, i + _MAX_NAME_TOKENS)
            continue
        while j > i + 1 and toks[j - 1].flags & WORD and not toks[j - 1].flags & SURNAME:
            j -= 1  # "marcelino said": a trailing ordinary word that is only a given name
        run = toks[i:j]
        names = [t for t in run if t.name]
        if not names:
            continue
        first = next(k for k in range(i, j) if toks[k].name)
        led = bool(toks[first].flags & GIVEN) and not toks[first].flags & WORD
        lone_given = len(run) == 1 and run[0].shape == _LOW and bool(run[0].flags & GIVEN)
        if any(t.strong for t in names) and (lone_given or len(run) >= 2):
            yield i, min(j, i + _MAX_NAME_TOKENS)
        elif len(names) >= 2 and led:
            yield first, min(j, first + _MAX_NAME_TOKENS)


def _cue_names(doc: Any, toks: list[_Tok], matcher: Any) -> Iterable[tuple[int, int, bool]]:
    """The words after a cue phrase ("me llamo", "la señora", "Mr."), as far as they may
    be a name: capitalised ones after any cue, ordinary words too right after a strong cue
    or an honorific ("la señora Espíritu"); lower-case ones after a strong cue, after a
    weak cue or an honorific when the first is a listed name that is no ordinary word
    ("el teniente huallpa"), or after "señora", "don" ... when it is no known word ("la
    señora agripina"). A comma, colon or "..." may stand between ("yo soy... Eulogia").
    Not when a place or body is what is named ("nuestra comunidad se llama Huancuire").
    Each with whether the cue names only people (see _repeated)."""
    for match_id, start, end in matcher(doc):
        kind = doc.vocab.strings[match_id]
        if kind == "after":
            before = _before_cue(doc, toks, start)
            if before is not None:
                yield before, start, True
            continue
        i = end + 1 if end < len(doc) and doc[end].text in _AFTER_CUE else end
        if i >= len(toks) or not toks[i].part or _after_prefix(doc, toks, i):
            continue
        first, cue = toks[i], doc[start:end].text.lower()
        personal = cue not in _ANY_NAME_CUES
        if first.word and not (kind != "weak" and personal and first.shape == _CAP and i == end):
            continue
        if not personal and any(t.flags & PREFIX for t in toks[max(0, start - 3) : start]):
            continue
        listed = first.name and not first.flags & WORD
        if first.shape == _LOW and first.flags & ANDEAN and first.flags & GIVEN:
            listed = doc[end - 1].lower_ in _KIN  # "su hermanita urpi", not "la wayra"
        unknown = cue in _UNKNOWN_AFTER and not first.flags & (WORD | LOWER)
        strong = kind == "strong"
        shape = first.shape
        j = i + 1
        while (
            j < len(toks)
            and j - i < _MAX_NAME_TOKENS
            and toks[j].part
            and toks[j].shape == shape
            and (not toks[j].word or shape == _CAP or strong)
        ):
            j += 1
        if shape == _CAP or strong or listed or unknown:
            yield i, j, personal


def _before_cue(doc: Any, toks: list[_Tok], start: int) -> int | None:
    """Where the name before a cue such as "es mi apellido" starts: the words of one shape
    right before it, even an ordinary word or a place ("Inca", "Huancané"), but no stop
    word, and lower-case ones only when no ordinary word ("quispe es mi apellido")."""
    k = start
    while k > 0 and start - k < _MAX_NAME_TOKENS - 1:
        t = toks[k - 1]
        if t.shape == _OTHER or t.flags & STOP:
            break
        if t.shape == _LOW and t.word:
            break
        if k < start and t.shape != toks[k].shape:
            break
        k -= 1
    return k if k < start else None


def _ner_names(doc: Any, toks: list[_Tok]) -> Iterable[tuple[int, int]]:
    """PER/PERSON entities, less the titles, ordinary words and punctuation at their ends
    ("Testimonio 0008", "Vivimos"), and none that holds a place or organisation."""
    for ent in getattr(doc, "ents", ()):
        if ent.label_ not in _NER_LABELS:
            continue
        i, j = ent.start, ent.end
        while i < j and (not toks[i].part or toks[i].word):
            i += 1
        while j > i and (not toks[j - 1].part or toks[j - 1].word):
            j -= 1
        run = toks[i:j]
        if not run or not all(t.part for t in run) or not any(t.shape == _CAP for t in run):
            continue
        if len(run) == 1 and not run[0].strong:
            if run[0].flags & WORD or _lone_place(doc, i):
                continue  # "Killa means moon", "from Ilave": as for names without NER
        if not _after_prefix(doc, toks, i):
            yield i, j


def _repeated(
    doc: Any, toks: list[_Tok], sure: list[tuple[int, int]], found: list[tuple[int, int]]
) -> Iterable[tuple[int, int]]:
    """A word of a name found surely once (after a cue, or beside a listed name) is the
    same name elsewhere in the text ("Me llamo Killari, nomás Killari"; "yo soy...
    Eulogia, Eulogia Challco Ccoa"), written the same way, unless it is an ordinary word
    opening a sentence or in lower case, or what it names there is a place ("vive en
    Yauri", "San Martín"). Names found only by their shape or by NER are not spread: a
    company or place taken for a name once ("Teck Cominco") would be masked everywhere."""
    covered = {k for i, j in found for k in range(i, j)}
    words = {doc[k].text for i, j in sure for k in range(i, j) if toks[k].part and not toks[k].word}
    if not words:
        return

    def again(k: int) -> bool:
        t = toks[k]
        if k in covered or doc[k].text not in words:
            return False
        return not t.flags & (WORD | LOWER) or (t.shape == _CAP and not t.initial)

    k = 0
    while k < len(toks):
        if not again(k):
            k += 1
            continue
        j = k + 1
        while j < len(toks) and again(j):
            j += 1
        if not _after_prefix(doc, toks, k) and (j - k > 1 or not _lone_place(doc, k)):
            yield k, j
        k = j


class Redactor:
    """Finds personal data in a transcript and masks it (see the module docstring)."""

    def __init__(self, nlp: Callable[[str], Any] | None = None) -> None:
        self._nlp = nlp
        self._pipes: dict[str, tuple[Any, Any, dict[str, int]]] = {}  # lang -> (nlp, ...)

    def find(self, text: str, language: str) -> list[RedactedSpan]:
        nlp, matcher, lex = self._pipe(_lang(language))
        return self._find(text, nlp(_words_apart(text)), matcher, lex)

    def _find(self, text: str, doc: Any, matcher: Any, lex: dict[str, int]) -> list[RedactedSpan]:
        masked = [(m.start(), m.end()) for m in _MASKED.finditer(text)]
        protected = masked + [(m.start(), m.end()) for m in _PROTECTED.finditer(text)]
        structured = _select(_structured(text), masked)
        toks = _tokens(doc, lex, bool(_GLOSS.search(text)))
        cued = [(i, j, sure) for i, j, sure in _cue_names(doc, toks, matcher) if i < j]
        found = [*_shape_names(doc, toks), *_ner_names(doc, toks)]
        found = [(i, j) for i, j in found if i < j and not _animal(doc, i, j)]
        found += [(i, j) for i, j, _ in cued]
        sure = [(i, j) for i, j, sure in cued if sure]
        sure += [(i, j) for i, j in found if any(t.strong for t in toks[i:j])]
        found += _repeated(doc, toks, sure, found)
        names = [(toks[i].start, toks[j - 1].end, "name") for i, j in found]
        taken = [(s, e) for s, e, _ in structured] + protected
        chosen = structured + [n for n in _merge(names) if not _overlaps(n, taken)]
        return [RedactedSpan(s, e, k) for s, e, k in sorted(chosen)]

    def redact(self, text: str, language: str) -> Redaction:
        return self._mask(text, self.find(text, language), language)

    def redact_many(self, texts: Sequence[str], language: str) -> list[Redaction]:
        """``redact`` for many texts of one language, through ``nlp.pipe`` (batched NER)."""
        nlp, matcher, lex = self._pipe(_lang(language))
        docs = nlp.pipe([_words_apart(t) for t in texts], batch_size=256)
        return [
            self._mask(text, self._find(text, doc, matcher, lex), language)
            for text, doc in zip(texts, docs, strict=True)
        ]

    @staticmethod
    def _mask(text: str, spans: Sequence[RedactedSpan], language: str) -> Redaction:
        masks = MASKS[_lang(language)]
        parts, pos = [], 0
        for span in spans:
            parts += [text[pos : span.start], masks[span.kind]]
            pos = span.end
        parts.append(text[pos:])
        return Redaction("".join(parts), tuple(spans))

    def _pipe(self, lang: str) -> tuple[Any, Any, dict[str, int]]:
        if lang not in self._pipes:
            from spacy.matcher import PhraseMatcher

            nlp = self._nlp(lang) if self._nlp is not None else None
            if nlp is None:
                import spacy

                nlp = spacy.blank(lang)  # tokenizer only: no weights
            matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            cues_by_kind = (
                ("strong", _STRONG_CUES),
                ("title", _TITLE_CUES),
                ("weak", _WEAK_CUES),
                ("after", _AFTER_NAME_CUES),
            )
            for label, cues in cues_by_kind:
                matcher.add(label, [nlp.make_doc(c) for c in cues])
            self._pipes[lang] = (nlp, matcher, lexicon(lang, _CUE_WORDS))
        return self._pipes[lang]


def _words_apart(text: str) -> str:
    """The text as name finding reads it: underscores as spaces, so a title made from a
    file name ("testimonio_0012_rufina_ccahuana") has words. Same length: offsets hold."""
    return text.replace("_", " ")


def _lang(language: str) -> str:
    code = (language or "").strip().lower()[:2]
    return code if code in MASKS else "es"


def _structured(text: str) -> Iterable[Span]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end(), "email"
    for m in _PHONE.finditer(text):
        yield m.start(), m.end(), "phone"
    for cue in _ID_CUE.finditer(text):
        window = text[cue.end() : cue.end() + _ID_WINDOW]
        for m in _ID_NUMBER.finditer(window):
            yield cue.end() + m.start(), cue.end() + m.end(), "id_number"
    for m in _BARE_DNI.finditer(text):
        if not _NOT_DNI_BEFORE.search(text, 0, m.start()) and not _NOT_DNI_AFTER.match(
            text, m.end()
        ):
            yield m.start(), m.end(), "id_number"
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "address"
    for m in _SPOKEN_DIGITS.finditer(text):
        digits = re.findall(_DIGIT_WORD, m.group())
        mobile = len(digits) == 9 and digits[0].lower() in ("nueve", "nine")
        cued = _ID_CUE.search(text, max(0, m.start() - _ID_WINDOW), m.start())
        yield m.start(), m.end(), "id_number" if cued and not mobile else "phone"


def _select(candidates: Iterable[Span], blocked: list[tuple[int, int]]) -> list[Span]:
    """Non-overlapping structured spans: kinds in priority order, then longer first."""
    order = {k: i for i, k in enumerate(("email", "phone", "id_number", "address"))}
    chosen: list[Span] = []
    for span in sorted(set(candidates), key=lambda s: (order[s[2]], s[0] - s[1], s[0])):
        if not _overlaps(span, blocked + [(s, e) for s, e, _ in chosen]):
            chosen.append(span)
    return chosen


def _overlaps(span: Span, others: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in others)


def _merge(names: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for s, e, k in sorted(names):
        if merged and s <= merged[-1][1]:
            ps, pe, _ = merged[-1]
            merged[-1] = (ps, max(pe, e), k)
        else:
            merged.append((s, e, k))
    return merged


class TextRedactor:
    """What the archive calls: masked text for one passage or for a batch of them."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, text: str, language: str) -> str:
        return self.redactor.redact(text, language).text

    def many(self, texts: Sequence[str], language: str) -> list[str]:
        return [r.text for r in self.redactor.redact_many(texts, language)]
