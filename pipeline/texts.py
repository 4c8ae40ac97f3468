"""Reading typed testimonies: a ``.txt`` file, or many in ``.jsonl`` / ``.csv``.

Each row of a collection may carry ``id, title, text, region, community, date, language,
consent``; other columns are kept as extra metadata. A row's ``id`` becomes the
testimony id, so external collections can be cross-referenced. Every row is checked
before anything is stored: one malformed row rejects the file with its line number,
rather than half-ingesting it.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus import CONSENT_LEVELS

from .errors import InputError

__all__ = [
    "TEXT_EXTENSIONS",
    "Metadata",
    "TextItem",
    "check_date",
    "jsonl_rows",
    "read_text_items",
]

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".jsonl", ".csv"})
_KNOWN = ("id", "title", "text", "region", "community", "date", "language", "consent")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_ID = re.compile(r"^[\w.:-]{1,128}$")


@dataclass(frozen=True)
class Metadata:
    """What an archivist says about a recording or text (defaults for every row)."""

    title: str = ""
    region: str = ""
    community: str = ""
    date: str = ""
    language: str = ""  # "" or "auto" means detect
    consent: str = "restricted"
    illustrative: bool = False
    extra: Mapping[str, str] | None = None


@dataclass(frozen=True)
class TextItem:
    """One typed testimony read from a file, not yet stored."""

    id: str  # "" when the row gave none (a content hash is used)
    text: str
    meta: Metadata
    source: str  # "file.jsonl:12", for messages


def check_date(value: str, where: str = "") -> str:
    value = value.strip()
    if value and not _DATE.match(value):
        raise InputError(f"{where}date {value!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    if value:
        parts = [int(p) for p in value.split("-")]
        if len(parts) > 1 and not 1 <= parts[1] <= 12 or len(parts) > 2 and not 1 <= parts[2] <= 31:
            raise InputError(f"{where}date {value!r} is not a real date")
    return value


def _row_item(row: Mapping[str, Any], defaults: Metadata, source: str) -> TextItem:
    where = f"{source}: "
    text = str(row.get("text") or "").strip()
    if not text:
        raise InputError(f"{where}a testimony needs a non-empty 'text'")
    testimony_id = str(row.get("id") or "").strip()
    if testimony_id and not _ID.match(testimony_id):
        raise InputError(
            f"{where}id {testimony_id!r} may only hold letters, digits and . _ : - (max 128)"
        )
    consent = str(row.get("consent") or defaults.consent).strip()
    if consent not in CONSENT_LEVELS:
        raise InputError(f"{where}consent {consent!r} is not one of {', '.join(CONSENT_LEVELS)}")
    illustrative = row.get("illustrative", defaults.illustrative)
    if isinstance(illustrative, str):
        illustrative = illustrative.strip().lower() in ("1", "true", "yes")
    extra = {k: str(v) for k, v in row.items() if k not in _KNOWN and k != "illustrative"}
    meta = replace(
        defaults,
        title=str(row.get("title") or defaults.title).strip(),
        region=str(row.get("region") or defaults.region).strip(),
        community=str(row.get("community") or defaults.community).strip(),
        date=check_date(str(row.get("date") or defaults.date), where),
        language=str(row.get("language") or defaults.language).strip().lower(),
        consent=consent,
        illustrative=bool(illustrative),
        extra={**(defaults.extra or {}), **extra},
    )
    return TextItem(id=testimony_id, text=text, meta=meta, source=source)


def jsonl_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """("file.jsonl:N", object) for each non-blank line; a bad line names itself."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise InputError(f"{path.name}:{number}: each line must be a JSON object")
        yield f"{path.name}:{number}", row


def _csv_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames or "text" not in reader.fieldnames:
        raise InputError(f"{path.name}: a CSV collection needs a header with a 'text' column")
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(f"{path.name}:{number}: more fields than the header has")
        yield f"{path.name}:{number}", {k: v for k, v in row.items() if v not in (None, "")}


def read_text_items(path: Path, defaults: Metadata) -> list[TextItem]:
    """All testimonies in a typed file, validated. Raises InputError naming the bad row."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text") from exc
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = list(jsonl_rows(path, text))
    elif suffix == ".csv":
        rows = list(_csv_rows(path, text))
    else:
        title = defaults.title or path.stem.replace("_", " ").replace("-", " ")
        return [_row_item({"text": text, "title": title}, defaults, path.name)]
    if not rows:
        raise InputError(f"{path.name} holds no testimonies")
    items = [_row_item(row, defaults, source) for source, row in rows]
    seen: dict[str, str] = {}
    for item in items:
        if item.id and item.id in seen:
            raise InputError(f"{item.source}: id {item.id!r} repeats {seen[item.id]}")
        seen[item.id] = item.source
    return items
