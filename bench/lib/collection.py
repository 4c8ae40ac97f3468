"""The search-evaluation collection (EJAtlas cases + demo testimonies) and its real
passages, each embedded once.

bench/search_corpus.py writes the collection to a file, bench/search.py and the benches
built on it (scale, index codes, ingest stages) read it from here. Nothing is written
into the repository: the EJAtlas licence does not let us copy case text into it, so the
vector cache lives under /tmp.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import split_text

from .accents import restore_accents

CACHE_DIR = Path("/tmp/voces-bench")

Say = Callable[[str], None]


# -- the collection, in the archive's import format -------------------------------------------


def case_id(raw: str) -> str:
    return raw if raw.startswith("ejatlas-") else f"ejatlas-{raw}"


def ejatlas_rows(path: Path) -> list[dict[str, str]]:
    """EJAtlas cases: Spanish title, text, region and location with their accents repaired,
    region "Country: Region", community = the case's location."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        lang = case["lang"]

        def fix(text: str, lang: str = lang) -> str:
            return restore_accents(text) if lang == "es" else text

        country, region = case.get("country") or "", case.get("region") or ""
        place = f"{country}: {restore_accents(region)}" if region else country
        rows.append(
            {
                "id": case_id(case["id"]),
                "title": fix(case["title"]),
                "text": fix(case["text"]),
                "region": place,
                "community": restore_accents(case.get("location") or ""),
                "date": "",
                "language": lang,
                "consent": "public",
            }
        )
    return rows


def demo_rows(path: Path) -> list[dict[str, str]]:
    """The demo testimonies with their own ids and fields; date blank like the cases."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        t = json.loads(line)
        rows.append(
            {
                "id": t["id"],
                "title": t.get("title", ""),
                "text": t["text"],
                "region": t.get("region", ""),
                "community": t.get("community", ""),
                "date": "",
                "language": t["language"],
                "consent": "public",
            }
        )
    return rows


def real_rows(ejatlas: Path, demo: Path) -> list[dict[str, str]]:
    """The search-evaluation collection of bench/search_corpus.py (accents repaired)."""
    return ejatlas_rows(ejatlas) + demo_rows(demo)


# -- the real passages ----------------------------------------------------------------------


@dataclass
class RealCorpus:
    """Unique real passages, the case (testimony row) each first came from, their vectors."""

    rows: list[dict[str, str]]  # EJAtlas cases + demo testimonies, import format
    texts: list[str]
    case: np.ndarray  # int32: index into ``rows`` per passage
    vectors: np.ndarray  # float32 unit rows, the embedder's "passage" embeddings
    embedder: str
    embed_s: float  # 0.0 when the vectors came from the cache
    cache_path: Path


def real_corpus(rows: list[dict[str, str]], embedder: Any, say: Say) -> RealCorpus:
    """Split every row with the archive's own splitter; embed each distinct passage once."""
    texts: list[str] = []
    case: list[int] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        for passage in split_text(row["text"]):
            if passage not in seen:
                seen.add(passage)
                texts.append(passage)
                case.append(n)
    vectors, embed_s, path = cached_vectors(texts, embedder, say)
    return RealCorpus(
        rows, texts, np.asarray(case, dtype=np.int32), vectors, embedder.name, embed_s, path
    )


def cached_vectors(texts: list[str], embedder: Any, say: Say) -> tuple[np.ndarray, float, Path]:
    """Passage vectors of ``texts``, from /tmp/voces-bench when these exact texts were
    embedded by this embedder before. Returns (vectors, seconds spent embedding, path)."""
    digest = hashlib.sha256(embedder.name.encode("utf-8"))
    for text in texts:
        digest.update(b"\x00" + text.encode("utf-8"))
    path = CACHE_DIR / f"vectors-{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        vectors = np.load(path)
        if vectors.shape == (len(texts), embedder.dim) and vectors.dtype == np.float32:
            return vectors, 0.0, path
    say(f"embedding {len(texts)} real passages with {embedder.name} (cached afterwards) ...")
    t0 = time.perf_counter()
    parts = []
    for start in range(0, len(texts), 512):
        parts.append(embedder.embed(texts[start : start + 512], kind="passage"))
        say(f"  {min(start + 512, len(texts))}/{len(texts)}")
    vectors = np.ascontiguousarray(np.vstack(parts), dtype=np.float32)
    embed_s = time.perf_counter() - t0
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors, embed_s, path
