"""One router per resource under /api/v1."""

from . import health, passages, search, testimonies, themes

__all__ = ["health", "passages", "search", "testimonies", "themes"]
