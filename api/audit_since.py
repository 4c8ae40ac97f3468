"""The ``since`` of an audit log query, checked where it enters (HTTP or the CLI).

The log's times are stored as UTC ISO 8601 text (``2026-01-01T12:00:00+00:00``) and
compared as text, so anything but a date or time in that form would compare as some
string, silently: ``since=garbage`` listed nothing, ``since=yesterday`` everything after
``y``. A date or time is parsed and written back in the stored form; anything else is
refused.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from pipeline import InputError

__all__ = ["audit_since"]

_REDUCED = re.compile(r"\d{4}(-\d{2})?")  # ISO 8601 reduced precision: a year, a month


def audit_since(value: str, name: str = "since") -> str:
    """``value`` as the log's own time text: a date (``2026-01-01``; ``2026`` or
    ``2026-03`` for the start of a year or month) or a date and time, with an offset or
    ``Z`` (a time without one is read as UTC). Empty stays empty (no bound). Raises
    InputError naming ``name`` (``--since`` on the command line)."""
    text = value.strip()
    if not text:
        return ""
    try:
        if _REDUCED.fullmatch(text):
            return date.fromisoformat((text + "-01-01")[:10]).isoformat()
        if len(text) <= 10:
            return date.fromisoformat(text).isoformat()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        raise InputError(
            f"{name}: {text[:40]!r} is not an ISO 8601 date or time "
            "(e.g. 2026-01-01 or 2026-01-01T12:00:00Z)"
        ) from None
