"""The bundled demo corpus: illustrative testimonies written for the demo from public facts.

``demo/testimonies.jsonl`` holds typed testimonies; ``demo/audio/NAME.ogg`` are recorded
ones (synthesised speech) with their metadata in ``demo/audio/NAME.json``. Every item is
marked ``illustrative``: none of it is a real person's testimony.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpus import Viewer
from pipeline import Archive, InputError, Metadata, read_text_items
from pipeline.archive import Progress

__all__ = ["ingest_demo"]


def ingest_demo(
    archive: Archive, demo_dir: Path, viewer: Viewer, progress: Progress | None = None
) -> tuple[int, int]:
    """Ingest the demo corpus; returns (added, already present)."""
    collection = demo_dir / "testimonies.jsonl"
    if not collection.is_file():
        raise InputError(f"the demo corpus is missing: {collection}")
    # illustrative: no real person is named, so names (and recordings) may be shown
    defaults = Metadata(consent="public", illustrative=True, allow_names=True)
    results = archive.ingest_texts(read_text_items(collection, defaults), viewer, progress)
    for sidecar in sorted((demo_dir / "audio").glob("*.json")):
        info = json.loads(sidecar.read_text("utf-8"))
        recording = sidecar.with_suffix(".ogg")
        meta = Metadata(
            title=info.get("title", ""),
            region=info.get("region", ""),
            community=info.get("community", ""),
            date=info.get("date", ""),
            language=info.get("language", ""),
            consent=info.get("consent", "public"),
            illustrative=True,
            allow_names=True,
            extra={"basis": info.get("basis", ""), "demo_id": info.get("id", "")},
        )
        results.append(archive.ingest_audio(recording, meta, viewer, progress))
    added = sum(r.status == "added" for r in results)
    return added, len(results) - added
