"""The outer layer: settings, the ``voces`` command line and the HTTP app."""

from .settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]
