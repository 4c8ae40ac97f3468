"""One router per resource under /api/v1."""

from . import admin, health, jobs, passages, search, testimonies, themes

__all__ = ["admin", "health", "jobs", "passages", "search", "testimonies", "themes"]
