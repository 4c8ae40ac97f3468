"""Records, the SQLite store and the FAISS vector index. Knows nothing of models."""

from .errors import CorpusError, DuplicateError, IndexMismatchError, NotFoundError
from .index import VectorIndex
from .records import CONSENT_LEVELS, Consent, Hit, Passage, Segment, Testimony, ThemeTag
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
    "Segment",
    "Store",
    "Testimony",
    "ThemeTag",
    "VectorIndex",
]
