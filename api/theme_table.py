"""The theme table advocates cite: per theme and group, counts, the corrected share with
its 90% interval and basis, and quotes. Shared by `voces themes` and `/api/v1/themes`."""

from __future__ import annotations

import csv
import io
from typing import Any

from corpus import Hit, Viewer
from pipeline import Archive

__all__ = ["CSV_COLUMNS", "theme_rows", "to_csv"]

CSV_COLUMNS = (
    "theme",
    "group",
    "testimonies",
    "passages",
    "passages_in_group",
    "tagged_share",
    "estimated_share",
    "low90",
    "high90",
    "basis",
)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _quote(hit: Hit) -> dict[str, Any]:
    return {
        "testimony_id": hit.testimony_id,
        "passage_id": hit.passage_id,
        "text": hit.text,
        "start": hit.start,
        "end": hit.end,
        "score": hit.score,
        "has_audio": hit.has_audio,
    }


def theme_rows(archive: Archive, viewer: Viewer, by: str, quotes: int = 0) -> list[dict[str, Any]]:
    """One row per theme and group among what ``viewer`` may see."""
    counts = archive.read.theme_counts(viewer, by)
    shares = {(p.theme, p.group): p for p in archive.theme_prevalence(viewer, by)}
    quoted = archive.read.theme_quotes(viewer, by, quotes)
    rows = []
    for c in counts:
        share = shares.get((c.theme, c.group))
        row: dict[str, Any] = {
            "theme": c.theme,
            "group": c.group,
            "testimonies": c.testimonies,
            "passages": c.passages,
            "passages_in_group": share.passages if share else None,
            "tagged_share": _round(share.observed) if share else None,
            "estimated_share": _round(share.estimate) if share else None,
            "interval90": None
            if share is None or share.low is None or share.high is None
            else [_round(share.low), _round(share.high)],
            "basis": share.basis if share else None,
        }
        if quotes:
            row["quotes"] = [_quote(h) for h in quoted.get((c.theme, c.group), [])]
        rows.append(row)
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (quotes left out: one line per theme and group)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        low, high = row["interval90"] or (None, None)
        values = {**row, "low90": low, "high90": high}
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()
