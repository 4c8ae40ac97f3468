"""Masking of personal data in transcripts, for public views.

What it catches (spans refer to the original text; masks are in the text's language):

- e-mail addresses;
- phones: Peruvian mobiles (``9xx xxx xxx``, with spaces or dashes, optional ``+51``),
  landlines (``(076) 36-1234``, ``01 234 5678``, ``076-361234``);
- ID numbers *after a cue word* (DNI, documento, identidad, RUC, carné de extranjería, CE,
  pasaporte, ID, passport): 8-digit DNIs (also ``4321 8765``), 11-digit RUCs, 9-digit
  carnés, passport-like ``X1234567``, up to ~50 characters after the cue;
- street addresses: Jr./Jirón, Av./Avenida, Calle, Psje./Pasaje + capitalised name + number,
  ``Mz. B Lt. 7``, and English ``45 Elm Street`` / ``Ave`` / ``Road``;
- personal names, from four sources, the same for passages and titles (titles made from
  file names are lower case: "testimonio ernesto salas apaza"):
  1. name lists (``pipeline.names``: Chilean and Colombian civil-register given names and
     surnames, and hand-compiled Quechua, Aymara and rural Andean ones): a capitalised run
     holding a listed name ("Conversé con Lucía Paucar", "Quispe no quiso"); in lower case
     or capitals, two listed names led by a given name or one rarely written in lower case
     ("ernesto salas apaza", "rosa mamani", "romualdo ccasa"), or a lone given name
     ("percy");
  2. word lists (spaCy's ``lexeme_prob`` tables): two or more capitalised words, none an
     ordinary word ("Wilber Ttacca"), and never an ordinary word that is capitalised
     because it opens a sentence or a title ("Testimonio 0008", "Vivimos", "Nosotros");
  3. cue phrases, found with a spaCy ``PhraseMatcher`` ("me llamo", "mi nombre es",
     "soy", "señor/doña/compañero/hermano ...", "mi esposo/hijo ...", "my name is",
     "Mr./Mrs./Ms.", "I am", "my son ..."): the words after them;
  4. the injected pipeline's NER, if any (PER/PERSON entities, less ordinary words at
     their ends).
  None of them masks a place, company or institution from the built-in list, nor words
  right after a place word ("San Martín", "comunidad de Ccapacmarca", "Santa Rosa de
  Yauri", "Minera Yanacocha", "La Vega"), nor a lone capitalised word after "en",
  "hasta", "to" ("vive en Yauri").

What it does not catch: a lone unlisted name with no cue ("Nicasio llegó") unless NER
finds it; an unlisted lower-case name ("y ahí estaba marcusa"); ID numbers said without a
cue word; addresses without a street word or a number; nicknames and descriptions that
identify someone ("la presidenta de la ronda"). Places, companies, institutions, dates,
years and amounts of money are left alone on purpose, but a place or company that is
not in the list and looks like a name is masked ("Anglogold Ashanti", "Mendoza" alone).
A name that is also a place name used as a nickname ("Doña Juana", a hill) is masked
anyway.

The stage reads its lists from pipeline/data/names/ and loads no model: ``nlp(lang)`` is
injected (a spaCy ``Language``, ideally with NER) and may return ``None``; without it a
blank spaCy tokenizer is used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .names import GIVEN, LOWER, NAMES, PLACE, PREFIX, STOP, SURNAME, WORD, lexicon

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
)
_ID_CUE = re.compile(
    r"\b(?:(?i:D\.?N\.?I|documento|identidad|libreta electoral|R\.?U\.?C|carn[eé]|"
    r"extranjer[ií]a|pasaporte|passport|identity card|resident card|national id)|ID|C\.?E)\b"
)
_ID_NUMBER = re.compile(
    r"(?<![\w-])(?:\d{4}\s\d{4}|\d{8}(?:-\d)?|\d{9}|\d{11}|[A-Z]{1,2}\d{6,8})(?![\w-])"
)
_ID_WINDOW = 50
_STREET = r"(?i:jr\.|jir[oó]n|av\.|avda\.|avenida|calle|psje\.|pje\.|pasaje|prolongaci[oó]n)"
_NAME_WORD = r"(?:[A-ZÁÉÍÓÚÑ][\wáéíóúñü'-]*|de|del|la|las|los|el|y)"
_ADDRESS = re.compile(
    rf"(?<!\w){_STREET}\s+(?:{_NAME_WORD}\s+){{1,5}}(?:(?i:n[°º]|nro\.?|no\.)\s*)?\d{{1,5}}\b"
    r"|(?<!\w)(?i:mz\.?|manzana)\s*[A-Z0-9]{1,3}\s*,?\s*(?i:lt\.?|lote)\s*\d{1,4}\b"
    r"|(?<![\w-])\d{1,5}\s+(?:[A-Z][\w'-]*\s+){1,3}(?:Street|St\.|Avenue|Ave\b\.?|Road|Rd\.|Lane)"
)
_MASKED = re.compile("|".join(re.escape(m) for d in MASKS.values() for m in d.values()))

# ---- names: cue phrases, word classes ----------------------------------------------------
_STRONG_CUES = (
    "me llamo", "mi nombre es", "mi nombre completo es", "nombre completo", "se llama",
    "se llamaba", "de nombre", "llamado", "llamada", "apellido", "apellidos", "apellida",
    "my name is", "my name's", "named", "name is",
)  # fmt: skip
_WEAK_CUES = (
    "soy", "yo soy", "señor", "señora", "señorita", "sr.", "sra.", "srta.", "don", "doña",
    "compañero", "compañera", "hermano", "hermana", "tío", "tía", "ingeniero", "ing.",
    "doctor", "doctora", "dr.", "dra.", "abogado", "abogada", "licenciado", "licenciada",
    "lic.", "profesor", "profesora", "fiscal", "comandante", "coronel", "capitán", "sargento",
    "suboficial", "padre", "comunero", "comunera", "dirigente", "dirigenta", "vecino", "vecina",
    "esposo", "esposa", "hijo", "hija", "papá", "mamá", "abuelo", "abuela", "nieto", "nieta",
    "sobrino", "sobrina", "cuñado", "cuñada", "suegro", "suegra", "primo", "prima",
    "i am", "i 'm", "i'm", "mr.", "mrs.", "ms.", "mr", "mrs", "ms", "miss", "mister", "brother",
    "sister", "father", "aunt", "uncle", "lawyer", "officer", "engineer", "prosecutor", "nurse",
    "husband", "wife", "son", "daughter", "grandfather", "grandmother", "grandson",
    "granddaughter", "cousin", "neighbour", "neighbor", "comrade", "called",
)  # fmt: skip
#: words that are part of no name: cue words and titles (besides names.STOP_WORDS)
_CUE_WORDS = tuple(
    sorted({w for c in (*_STRONG_CUES, *_WEAK_CUES) for w in c.split()} | {"dr", "sr", "sra"})
)
_PROTECTED = re.compile(
    r"(?i:t[ií]a mar[ií]a|las bambas|cerro de pasco|defensor[ií]a del pueblo|inti raymi"
    r"|t[uú]pac amaru|todos los santos)"
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
        """A listed name that, written this way, is hardly anything else."""
        if not self.flags & NAMES or self.flags & WORD:
            return False
        return self.shape == _CAP or not self.flags & LOWER


def _tokens(doc: Any, lex: dict[str, int]) -> list[_Tok]:
    out = []
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
        out.append(_Tok(shape, lex.get(tok.lower_, 0), tok.idx, tok.idx + len(text)))
    return out


_OF = frozenset({"de", "del", "of"})
_ARTICLES = frozenset({"El", "La", "Los", "Las", "The"})
#: a lone capitalised word after these, with no cue, is a place ("vive en Yauri")
_LOCATIVE = frozenset({"en", "hasta", "desde", "hacia", "in", "to", "at", "from", "near"})
#: ... and after "de"/"of" that follows these ("soy de Yauri", "los comuneros de Huanca")
_FROM = frozenset(
    "soy somos es son era eran vengo venimos viene vienen vino vinieron natural naturales "
    "gente comuneros comuneras pobladores vecinos familias mujeres hombres jóvenes niños "
    "autoridades dirigentes ronderos people villagers families women men leaders".split()
)


def _after_prefix(doc: Any, toks: list[_Tok], i: int) -> bool:
    """Does the run at ``i`` name a place or body: right after "San", "Minera", "comunidad"
    ..., or after "de" that follows one ("comunidad de Ccapacmarca", "Santa Rosa de Yauri")?"""
    if i > 0 and toks[i - 1].flags & (PREFIX | PLACE):
        return True
    if i > 1 and doc[i - 1].text in _ARTICLES and toks[i - 2].shape != _OTHER:
        return True  # "de La Vega", "por El Salvador": a capitalised article inside a sentence
    if i < 2 or doc[i - 1].lower_ not in _OF:
        return False
    k = i - 2
    while k > 0 and toks[k].shape == _CAP and not toks[k].flags & (PREFIX | PLACE):
        k -= 1  # back over "Santa Rosa" to "Santa"
    return bool(toks[k].flags & (PREFIX | PLACE))


def _lone_place(doc: Any, i: int) -> bool:
    """A lone capitalised word after "en", "hasta", "to" ... or "soy de", "los comuneros
    de" ...: a place ("vive en Yauri", "soy de Yauri"), not "la casa de Quispe"."""
    before = doc[i - 1].lower_ if i > 0 else ""
    if before in _LOCATIVE:
        return True
    return before in _OF and i > 1 and doc[i - 2].lower_ in _FROM


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


def _cue_names(doc: Any, toks: list[_Tok], matcher: Any) -> Iterable[tuple[int, int]]:
    """The words after a cue phrase ("me llamo", "la señora", "Mr."), as far as they may
    be a name: capitalised ones after any cue; lower-case ones after a strong cue, or
    after a weak cue when the first is a listed name ("la señora rosa mamani"). Not when
    a place or body is what is named ("nuestra comunidad se llama Huancuire")."""
    for match_id, start, end in matcher(doc):
        strong = doc.vocab.strings[match_id] == "strong"
        i = end + 1 if end < len(doc) and doc[end].text == "," else end
        if i >= len(toks) or not toks[i].part or toks[i].word or _after_prefix(doc, toks, i):
            continue
        if any(t.flags & PREFIX for t in toks[max(0, start - 3) : start]):
            continue
        shape = toks[i].shape
        j = i + 1
        while (
            j < len(toks)
            and j - i < _MAX_NAME_TOKENS
            and toks[j].part
            and toks[j].shape == shape
            and (not toks[j].word or shape == _CAP or strong)
        ):
            j += 1
        if shape == _CAP or strong or toks[i].name:
            yield i, j


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
        if run and all(t.part for t in run) and any(t.shape == _CAP for t in run):
            if not _after_prefix(doc, toks, i):
                yield i, j


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
        toks = _tokens(doc, lex)
        found = [*_shape_names(doc, toks), *_cue_names(doc, toks, matcher), *_ner_names(doc, toks)]
        names = [(toks[i].start, toks[j - 1].end, "name") for i, j in found if i < j]
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
            for label, cues in (("strong", _STRONG_CUES), ("weak", _WEAK_CUES)):
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
    for m in _ADDRESS.finditer(text):
        yield m.start(), m.end(), "address"


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
