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
- personal names, from three sources: the injected pipeline's NER (PER/PERSON entities,
  filtered against known places, companies, institutions and months); cue phrases found with
  a spaCy ``Matcher`` ("me llamo", "mi nombre es", "soy", "señor/doña/compañero/hermano ...",
  "mi esposo/hijo ...", "my name is", "Mr./Mrs./Ms.", "I am", "my son ..."); and a short list
  of common Andean and Spanish surnames (Quispe, Mamani, Huamán, ...), extended to the
  capitalised words around them.

What it does not catch: names with no cue that neither NER nor the surname list know,
especially lower-cased in transcripts ("y entonces percy me dijo"); ID numbers said without a
cue word; addresses without a street word or a number; nicknames and descriptions that
identify someone ("la presidenta de la ronda"). Places, companies, institutions, dates,
years and amounts of money are left alone on purpose. A name that is also a place name
used as a nickname ("Doña Juana", a hill) is masked anyway.

The stage loads nothing: ``nlp(lang)`` is injected (a spaCy ``Language``, ideally with NER)
and may return ``None``; without it a blank spaCy tokenizer is used for the cue patterns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .taxonomy import fold

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


def _words(text: str) -> frozenset[str]:
    return frozenset(fold(text).split())


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

# ---- names: cue phrases, stop words, non-names -----------------------------------------
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
_STOP = _words(
    "a al ante con contra de del desde e el en entre era es esta este fue ha hay la las le lo "
    "los me mi mis muy ni no nos o para pero por porque pues que se si sin sobre su sus también "
    "tengo un una uno y ya yo él ella ellos usted vivo soy estoy eh bueno entonces ahí allí aquí "
    "cuando donde como todo todos nada dice dijo decía a an and as at but by for from he her "
    "his i in is it my of on or our she so the their then they this to was we were who with "
    "you yes no oh well not"
)
_NON_NAME = _words(
    "perú peru lima cajamarca yanacocha celendín puno bambas cerro pasco conga bambamarca "
    "hualgayoc huasmín sorochuco espinar tintaya antapaccay cotabambas challhuahuacho "
    "fuerabamba chumbivilcas cusco arequipa islay tambo moquegua piura apurímac áncash "
    "antamina huancavelica junín oroya llaucano jequetepeque perol quellaveco huancané "
    "otuzco newmont mmg glencore southern buenaventura minera minería mina oefa ana dinoes "
    "defensoría pueblo ministerio policía fiscalía estado gobierno municipalidad ronda "
    "comisión corte tribunal juzgado autoridad dirección oficina asociación federación "
    "frente consejo interamericana nacional regional provincial distrital "
    "comunidad grufides ong virgen dios jesús santa san santo río laguna lagoon river "
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre lunes martes miércoles jueves viernes sábado domingo january february march "
    "april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday soles dólares"
)
_PROTECTED = re.compile(r"(?i:tía maría|tia maria|las bambas|cerro de pasco|defensoría del pueblo)")
_SURNAMES = _words(
    "quispe mamani huamán huamaní condori apaza ccori choque ticona cusi ccahuana carhuapoma "
    "yupanqui huanca chambi coaquira cutipa layme machaca chura sullca vilca huarca ccama "
    "huillca taipe chuquimango soncco huaraca cahuana huallpa chalco larico cjuro ccallo "
    "garcía rodríguez sánchez ramírez pérez gómez díaz chávez vásquez "
    "mendoza gutiérrez fernández hernández lópez martínez gonzález torres rojas"
)
_TITLES = _words(" ".join(_WEAK_CUES) + " " + " ".join(_STRONG_CUES)) | _words(
    "el la the dr mr mrs ms sr sra don doña"
)
_NOT_LOW_NAME = _STOP | _NON_NAME | _TITLES
_NER_LABELS = frozenset({"PER", "PERSON"})
_MAX_NAME_TOKENS = 4

Span = tuple[int, int, str]


class Redactor:
    """Finds personal data in a transcript and masks it (see the module docstring)."""

    def __init__(self, nlp: Callable[[str], Any] | None = None) -> None:
        self._nlp = nlp
        self._pipes: dict[str, tuple[Any, Any]] = {}  # lang -> (Language, Matcher)

    def find(self, text: str, language: str) -> list[RedactedSpan]:
        lang = _lang(language)
        nlp, matcher = self._pipe(lang)
        return self._find(text, nlp(text), matcher)

    def _find(self, text: str, doc: Any, matcher: Any) -> list[RedactedSpan]:
        masked = [(m.start(), m.end()) for m in _MASKED.finditer(text)]
        protected = masked + [(m.start(), m.end()) for m in _PROTECTED.finditer(text)]
        structured = _select(_structured(text), masked)
        names = [*_ner_names(doc), *_cue_names(doc, matcher), *_surname_names(doc)]
        taken = [(s, e) for s, e, _ in structured] + protected
        chosen = structured + [n for n in _merge(names) if not _overlaps(n, taken)]
        return [RedactedSpan(s, e, k) for s, e, k in sorted(chosen)]

    def redact(self, text: str, language: str) -> Redaction:
        return self._mask(text, self.find(text, language), language)

    def redact_many(self, texts: Sequence[str], language: str) -> list[Redaction]:
        """``redact`` for many texts of one language, through ``nlp.pipe`` (batched NER)."""
        nlp, matcher = self._pipe(_lang(language))
        docs = nlp.pipe(list(texts), batch_size=64)
        return [
            self._mask(text, self._find(text, doc, matcher), language)
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

    def _pipe(self, lang: str) -> tuple[Any, Any]:
        if lang not in self._pipes:
            from spacy.matcher import Matcher

            nlp = self._nlp(lang) if self._nlp is not None else None
            if nlp is None:
                import spacy

                nlp = spacy.blank(lang)  # tokenizer only: no weights
            matcher = Matcher(nlp.vocab)
            for label, cues in (("strong", _STRONG_CUES), ("weak", _WEAK_CUES)):
                forms = {_cue_tokens(nlp, v) for c in cues for v in (c, c.capitalize())}
                matcher.add(label, [[{"LOWER": w} for w in form] for form in sorted(forms)])
            self._pipes[lang] = (nlp, matcher)
        return self._pipes[lang]


def _lang(language: str) -> str:
    code = (language or "").strip().lower()[:2]
    return code if code in MASKS else "es"


def _cue_tokens(nlp: Any, cue: str) -> tuple[str, ...]:
    """The cue as the tokenizer splits it ("Mrs." is one token, "mrs." two)."""
    return tuple(t.lower_ for t in nlp.tokenizer(cue))


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


def _is_cap(tok: Any) -> bool:
    t = tok.text
    f = fold(t)
    return (
        t[:1].isupper()
        and tok.is_alpha
        and not (t.isupper() and len(t) > 1)
        and f not in _STOP
        and f not in _NON_NAME
        and f not in _TITLES
    )


def _is_low(tok: Any) -> bool:
    t = tok.text
    f = fold(t)
    return t.islower() and tok.is_alpha and len(t) > 1 and f not in _NOT_LOW_NAME


def _span(doc: Any, i: int, j: int) -> Span:
    return doc[i].idx, doc[j - 1].idx + len(doc[j - 1].text), "name"


def _ner_names(doc: Any) -> Iterable[Span]:
    for ent in getattr(doc, "ents", ()):
        if ent.label_ not in _NER_LABELS:
            continue
        i, j = ent.start, ent.end
        while i < j and (fold(doc[i].text).rstrip(".") in _TITLES or not doc[i].is_alpha):
            i += 1
        while j > i and not doc[j - 1].is_alpha:
            j -= 1
        toks = doc[i:j]
        if i < j and all(_is_cap(t) or _is_low(t) for t in toks) and any(_is_cap(t) for t in toks):
            yield _span(doc, i, j)


def _cue_names(doc: Any, matcher: Any) -> Iterable[Span]:
    for match_id, _, end in matcher(doc):
        strong = doc.vocab.strings[match_id] == "strong"
        i = end + 1 if end < len(doc) and doc[end].text == "," else end
        j = i
        while j < len(doc) and j - i < _MAX_NAME_TOKENS and (_is_cap(doc[j]) or _is_low(doc[j])):
            j += 1
        if j == i:
            continue
        run = doc[i:j]
        if all(_is_cap(t) for t in run):
            yield _span(doc, i, j)
        elif strong:
            caps = [k for k in range(i, j) if _is_cap(doc[k])]
            # "mi nombre es juan carlos huamán": lower case only when the whole run is
            if not caps:
                yield _span(doc, i, j)
            elif caps[0] == i:
                k = i
                while k < j and _is_cap(doc[k]):
                    k += 1
                yield _span(doc, i, k)
        else:
            last = [k for k in range(i, j) if fold(doc[k].text) in _SURNAMES]
            if last:  # "la señora rosa mamani lloraba": up to the last known surname
                yield _span(doc, i, last[-1] + 1)
            elif _is_cap(doc[i]):
                k = i
                while k < j and _is_cap(doc[k]):
                    k += 1
                yield _span(doc, i, k)


def _surname_names(doc: Any) -> Iterable[Span]:
    for k, tok in enumerate(doc):
        if fold(tok.text) in _SURNAMES and _is_cap(tok):
            i, j = k, k + 1
            while i > 0 and k - i < _MAX_NAME_TOKENS - 1 and _is_cap(doc[i - 1]):
                i -= 1
            while j < len(doc) and j - i < _MAX_NAME_TOKENS and _is_cap(doc[j]):
                j += 1
            yield _span(doc, i, j)


class TextRedactor:
    """What the archive calls: masked text for one passage or for a batch of them."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor

    def __call__(self, text: str, language: str) -> str:
        return self.redactor.redact(text, language).text

    def many(self, texts: Sequence[str], language: str) -> list[str]:
        return [r.text for r in self.redactor.redact_many(texts, language)]
