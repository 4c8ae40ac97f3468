"""One router per resource under /api/v1."""

from . import health, search, testimonies, themes

__all__ = ["health", "search", "testimonies", "themes"]
