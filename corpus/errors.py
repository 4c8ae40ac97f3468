"""Errors raised by the store and the vector index."""


class CorpusError(Exception):
    """Base class for storage errors."""


class NotFoundError(CorpusError):
    """A testimony or passage that was asked for does not exist."""


class DuplicateError(CorpusError):
    """A testimony with this id is already stored."""


class IndexMismatchError(CorpusError):
    """The vector index was built by another embedder (name or dimension differ)."""


class ForbiddenError(CorpusError):
    """The viewer's role does not allow this action."""


class ConflictError(CorpusError):
    """An id is already used by a testimony with other content."""


class MediaUnavailable(CorpusError):
    """The media store (a shared folder, an S3 bucket) cannot be reached or refused us."""
