"""Reading typed testimonies: a ``.txt`` file, or many in ``.jsonl`` / ``.csv``.

Each row of a collection may carry ``id, title, text, region, community, date, language,
consent``; other columns are kept as extra metadata. A row's ``id`` becomes the
testimony id, so external collections can be cross-referenced. Every row is checked
before anything is stored: one malformed row rejects the file with its line number,
rather than half-ingesting it.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from corpus import CONSENT_LEVELS, PassageFilter

from .errors import InputError
from .language import known_languages

__all__ = [
    "TEXT_EXTENSIONS",
    "Metadata",
    "TextItem",
    "LIMITS",
    "check_date",
    "check_id",
    "check_language",
    "check_metadata",
    "check_text",
    "filter_from",
    "manifest_rows",
    "row_metadata",
    "jsonl_rows",
    "read_text_items",
]

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".jsonl", ".csv"})
_KNOWN = (
    "id",
    "title",
    "text",
    "region",
    "community",
    "date",
    "language",
    "consent",
    "illustrative",
    "allow_names",
)
# ASCII digits only: \d would take Arabic-Indic or Devanagari digits, which int() reads
_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
#: A letter or a digit in any script: a testimony holds at least one word.
_WORDLIKE = re.compile(r"[^\W_]")
#: Longest accepted metadata values, in characters (a testimony's text has its own limit).
LIMITS = {"title": 500, "region": 500, "community": 500, "extra": 2000, "text": 2_000_000}
_MAX_EXTRA_FIELDS = 50


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
    allow_names: bool = False  # the witness agreed to be named in public views
    extra: Mapping[str, str] | None = None


@dataclass(frozen=True)
class TextItem:
    """One typed testimony read from a file, not yet stored."""

    id: str  # "" when the row gave none (a content hash is used)
    text: str
    meta: Metadata
    source: str  # "file.jsonl:12", for messages


def check_date(value: str, where: str = "") -> str:
    """A date as YYYY, YYYY-MM or YYYY-MM-DD that exists on the calendar."""
    value = value.strip()
    if value and not _DATE.fullmatch(value):
        raise InputError(
            f"{where}date {value[:40]!r} is not YYYY, YYYY-MM or YYYY-MM-DD (digits 0-9)"
        )
    if value:
        parts = [int(p) for p in value.split("-")] + [1, 1]
        try:
            datetime.date(parts[0], parts[1], parts[2])
        except ValueError:
            raise InputError(f"{where}date {value!r} is not a real date") from None
    return value


def filter_from(
    region: str = "",
    community: str = "",
    theme: str = "",
    language: str = "",
    since: str = "",
    until: str = "",
    names: tuple[str, str] = ("since", "until"),
) -> PassageFilter:
    """The filters a search or an export is given, its dates checked; ``names`` are what
    the caller calls the two dates, for the error (``--since`` on the command line)."""
    return PassageFilter(
        region=region,
        community=community,
        theme=theme,
        language=language,
        date_from=check_date(since, f"{names[0]}: "),
        date_to=check_date(until, f"{names[1]}: "),
    )


def check_text(value: object, field: str, where: str = "", required: bool = False) -> str:
    """A metadata value as clean text: a string (numbers allowed), valid Unicode, no
    control characters, within its length limit."""
    if value is None:
        value = ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{where}{field} must be text, not {type(value).__name__}")
    text = str(value).strip()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}{field} is not valid Unicode (a lone surrogate)") from None
    if any((ord(c) < 32 and c not in "\n\r\t") or 0x7F <= ord(c) <= 0x9F for c in text):
        raise InputError(f"{where}{field} holds control characters")
    limit = LIMITS.get(field, LIMITS["extra"])
    if len(text) > limit:
        raise InputError(f"{where}{field} is {len(text)} characters long; the limit is {limit}")
    if required and not text:
        raise InputError(f"{where}a testimony needs a non-empty {field!r}")
    return text


def check_language(value: str, where: str = "") -> str:
    """A language Voces knows (pipeline.language.known_languages), "auto" or "" (detect)."""
    value = value.strip().lower()
    if value in ("", "auto") or value in known_languages():
        return value
    raise InputError(
        f"{where}language {value[:20]!r} is not one Voces knows: es, en or another ISO "
        "639-1 code Whisper transcribes (pt, fr, de, ...), qu or ay (Quechua, Aymara: typed "
        "testimonies only), or auto"
    )


def _flag(value: object, field: str, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes"):
        return True
    if text in ("", "0", "false", "no"):
        return False
    raise InputError(f"{where}{field} must be true or false, not {text[:20]!r}")


def check_id(value: str, where: str = "") -> str:
    if value and not _ID.match(value):
        raise InputError(
            f"{where}id {value[:40]!r} must start with a letter or digit and hold only "
            "letters, digits and . _ : - (max 128)"
        )
    return value


def row_metadata(row: Mapping[str, Any], defaults: Metadata, source: str) -> Metadata:
    """A row's metadata over ``defaults``, every value checked."""
    where = f"{source}: "

    def field(name: str) -> str:
        value = row.get(name)
        return check_text(value, name, where) if value not in (None, "") else ""

    consent = field("consent") or defaults.consent
    if consent not in CONSENT_LEVELS:
        raise InputError(
            f"{where}consent {consent[:40]!r} is not one of {', '.join(CONSENT_LEVELS)}"
        )
    extra_keys = [k for k in row if k not in _KNOWN and k != "file"]
    if len(extra_keys) > _MAX_EXTRA_FIELDS:
        raise InputError(f"{where}more than {_MAX_EXTRA_FIELDS} extra metadata fields")
    extra = {check_text(k, "field name", where): field(k) for k in extra_keys}
    return replace(
        defaults,
        title=field("title") or defaults.title,
        region=field("region") or defaults.region,
        community=field("community") or defaults.community,
        date=check_date(field("date") or defaults.date, where),
        language=check_language(field("language") or defaults.language, where),
        consent=consent,
        illustrative=_flag(row.get("illustrative", defaults.illustrative), "illustrative", where),
        allow_names=_flag(row.get("allow_names", defaults.allow_names), "allow_names", where),
        extra={**(defaults.extra or {}), **extra},
    )


def check_metadata(meta: Metadata, source: str = "metadata") -> Metadata:
    """The same checks a collection's rows get, for metadata given as options or form
    fields: clean text within its limits, a real date, a language code, a consent level."""
    fields = {
        "title": meta.title,
        "region": meta.region,
        "community": meta.community,
        "date": meta.date,
        "language": meta.language,
        "consent": meta.consent,
    }
    return row_metadata(fields, replace(meta, consent=meta.consent or "restricted"), source)


def _row_item(row: Mapping[str, Any], defaults: Metadata, source: str) -> TextItem:
    where = f"{source}: "
    text = check_text(row.get("text"), "text", where, required=True)
    if not _WORDLIKE.search(text):
        raise InputError(
            f"{where}the text holds no letter or digit (only punctuation, symbols or "
            "emoji); a testimony needs words"
        )
    raw_id = row.get("id")
    testimony_id = check_id(
        check_text(raw_id, "id", where) if raw_id not in (None, "") else "", where
    )
    meta = row_metadata(row, defaults, source)
    return TextItem(id=testimony_id, text=text, meta=meta, source=source)


def jsonl_rows(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """("file.jsonl:N", object) for each non-blank line; a bad line names itself. Lines end
    at a line feed (or CR LF), as JSON Lines says: ``str.splitlines`` would also cut at
    U+2028, U+0085 and others, which a JSON string may hold as they are."""
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path.name}:{number}: not valid JSON ({exc.msg})") from exc
        except RecursionError:
            raise InputError(f"{path.name}:{number}: JSON nested too deeply") from None
        if not isinstance(row, dict):
            raise InputError(f"{path.name}:{number}: each line must be a JSON object")
        yield f"{path.name}:{number}", row


def manifest_rows(path: Path, name: str) -> list[tuple[str, Mapping[str, Any]]]:
    """Rows of a bulk upload's manifest (``.csv`` or ``.jsonl`` by ``name``)."""
    label = Path(name)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{label.name} is not UTF-8 text") from exc
    if label.suffix.lower() == ".jsonl":
        return list(jsonl_rows(label, text))
    if label.suffix.lower() == ".csv":
        return list(_csv_rows(label, text, required="file"))
    raise InputError(f"{label.name}: a manifest is .csv or .jsonl")


def _csv_rows(
    path: Path, text: str, required: str = "text"
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Rows of a CSV file. ``strict`` makes an unterminated quote an error instead of a
    field that silently swallows the rows after it."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        if not reader.fieldnames or required not in reader.fieldnames:
            raise InputError(
                f"{path.name}: a CSV file here needs a header with a {required!r} column"
            )
        if len(set(reader.fieldnames)) != len(reader.fieldnames):
            raise InputError(f"{path.name}: the header repeats a column name")
        for row in reader:
            number = reader.line_num
            if None in row:
                raise InputError(f"{path.name}:{number}: more fields than the header has")
            if any(v is None for v in row.values()):
                raise InputError(f"{path.name}:{number}: fewer fields than the header has")
            yield f"{path.name}:{number}", {k: v for k, v in row.items() if v != ""}
    except csv.Error as exc:
        raise InputError(f"{path.name}:{reader.line_num}: malformed CSV ({exc})") from exc


def read_text_items(path: Path, defaults: Metadata, name: str = "") -> list[TextItem]:
    """All testimonies in a typed file, validated. Raises InputError naming the bad row.

    ``name`` (default: the file's) decides the format by its extension and names rows in
    messages, for uploads stored under another name."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path.name} is not UTF-8 text") from exc
    if "\x00" in text:
        raise InputError(f"{path.name} is binary, not text")
    label = Path(name) if name else path
    suffix = label.suffix.lower()
    if suffix == ".jsonl":
        rows = list(jsonl_rows(label, text))
    elif suffix == ".csv":
        rows = list(_csv_rows(label, text))
    else:
        title = defaults.title or label.stem.replace("_", " ").replace("-", " ")[:200]
        return [_row_item({"text": text, "title": title}, defaults, label.name)]
    if not rows:
        raise InputError(f"{label.name} holds no testimonies")
    items = [_row_item(row, defaults, source) for source, row in rows]
    seen: dict[str, str] = {}
    for item in items:
        if item.id and item.id in seen:
            raise InputError(f"{item.source}: id {item.id!r} repeats {seen[item.id]}")
        seen[item.id] = item.source
    return items
