"""What an archive folder (VOCES_HOME) holds: its size on disk, and the metadata its
vector index wrote (whatever fields that holds)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def size_mib(path: Path) -> float:
    """Apparent size of a file or of everything under a folder, MiB."""
    if path.is_file():
        return round(path.stat().st_size / 2**20, 1)
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 2**20, 1)


def home_sizes(home: Path) -> dict[str, float]:
    sqlite = sum(size_mib(p) for p in home.glob("voces.sqlite3*"))
    return {
        "total_mib": size_mib(home),
        "sqlite_mib": round(sqlite, 1),
        "index_mib": size_mib(home / "index") if (home / "index").exists() else 0.0,
    }


def read_index_meta(home: Path) -> dict[str, Any] | None:
    path = home / "index" / "index.json"
    try:
        meta: dict[str, Any] = json.loads(path.read_text("utf-8"))
        return meta
    except (OSError, ValueError):
        return None
