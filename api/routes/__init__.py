"""One router per resource under /api/v1."""

from . import admin, exports, health, jobs, passages, search, testimonies, themes

__all__ = ["admin", "exports", "health", "jobs", "passages", "search", "testimonies", "themes"]
