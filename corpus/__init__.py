"""Records, the SQLite store and the FAISS vector index. Knows nothing of models."""

from .access import ROLES, Role, Viewer, allowed, require
from .errors import (
    ConflictError,
    CorpusError,
    DuplicateError,
    ForbiddenError,
    IndexMismatchError,
    MediaUnavailable,
    NotFoundError,
)
from .index import EXACT_BELOW, IdSet, VectorIndex
from .jobs import JobTable
from .keys import KEY_ROLES, KeyRing
from .places import MeanVectors, PassagePlaces
from .records import (
    CONSENT_LEVELS,
    VERDICTS,
    ApiKey,
    AuditEntry,
    Consent,
    Hit,
    Job,
    Passage,
    PassageEdit,
    Review,
    Segment,
    Speaker,
    Testimony,
    ThemeCell,
    ThemeCount,
    ThemeTag,
    Word,
)
from .store import WITHHELD, PassageFilter, Store
from .vectors import PG_EXACT_BELOW, VectorSearch, open_vectors

__all__ = [
    "WITHHELD",
    "MeanVectors",
    "PassagePlaces",
    "CONSENT_LEVELS",
    "KEY_ROLES",
    "JobTable",
    "KeyRing",
    "ROLES",
    "ApiKey",
    "AuditEntry",
    "ConflictError",
    "Consent",
    "CorpusError",
    "DuplicateError",
    "ForbiddenError",
    "Hit",
    "IndexMismatchError",
    "Job",
    "MediaUnavailable",
    "NotFoundError",
    "Passage",
    "PassageEdit",
    "PassageFilter",
    "Review",
    "Role",
    "Segment",
    "Speaker",
    "Store",
    "Testimony",
    "ThemeCell",
    "ThemeCount",
    "ThemeTag",
    "VERDICTS",
    "Word",
    "VectorIndex",
    "EXACT_BELOW",
    "PG_EXACT_BELOW",
    "VectorSearch",
    "open_vectors",
    "IdSet",
    "Viewer",
    "allowed",
    "require",
]
