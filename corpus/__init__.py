"""Records, the SQLite store and the FAISS vector index. Knows nothing of models."""

from .errors import CorpusError, DuplicateError, IndexMismatchError, NotFoundError
from .index import VectorIndex
from .records import (
    CONSENT_LEVELS,
    VERDICTS,
    Consent,
    Hit,
    Passage,
    Review,
    Segment,
    Testimony,
    ThemeTag,
)
from .store import PassageFilter, Store

__all__ = [
    "CONSENT_LEVELS",
    "Consent",
    "CorpusError",
    "DuplicateError",
    "Hit",
    "IndexMismatchError",
    "NotFoundError",
    "Passage",
    "PassageFilter",
    "Review",
    "VERDICTS",
    "Segment",
    "Store",
    "Testimony",
    "ThemeTag",
    "VectorIndex",
]
