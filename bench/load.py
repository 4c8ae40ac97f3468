"""Search under load, with and without uploads, against a real server on loopback.

    .venv/bin/python bench/load.py [--seconds 30] [--clients 20] [--typed-only] [--json]

1. A fresh, temporary VOCES_HOME gets the demo corpus (``voces demo --no-serve``: typed
   testimonies and recordings, real models; ``--typed-only``: ``voces ingest
   demo/testimonies.jsonl --consent public``), a researcher key and an archivist key
   (``voces keys create --json``).
2. ``voces serve`` runs in a subprocess on 127.0.0.1, on a free port, with its in-process
   ingest worker; the bench waits until /api/v1/health answers (models loaded).
3. Warm-up (not counted), then the baseline: ``--clients`` concurrent search clients
   (half anonymous, half with the researcher key; Spanish and English queries from a fixed
   list, in a fixed order per client) for ``--seconds``.
4. The same search load for ``--seconds`` while an uploader POSTs a small typed testimony
   (JSONL, archivist key) every ``--upload-every`` seconds and follows each job at
   /api/v1/jobs/{id} until it is done; after the window, jobs still running get
   ``--drain`` seconds to finish (no search traffic then).

Reported per phase: requests/s (successful searches per second), p50/p95/p99 latency,
errors by status, and the server's RSS (max over the phase); for uploads: accepted,
finished, failed, unfinished, and the end-to-end time from POST to ``done``; and the
ratios loaded/baseline of p50, p95 and throughput, measured in the same run.

Every loop stops by itself (deadlines, a request timeout); traffic goes only to
127.0.0.1. The client runs in one asyncio loop on the same machine as the server, so on
a small machine the two share the CPUs: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from lib.queries import QUERIES as BENCH_QUERIES  # noqa: E402
from lib.servers import (  # noqa: E402
    RSS_SOURCE,
    cpu_seconds,
    load_average,
    rss_mb,
    start_server,
    tail,
    voces,
    voces_env,
)
from lib.timing import ms, pct, ratio, say  # noqa: E402

# the first 16 bench queries: the README's load figures were measured on these
QUERIES = BENCH_QUERIES[:16]

UPLOAD_TEXTS = [
    (
        "es",
        "Desde que abrieron el tajo, el agua del manantial baja turbia y las ovejas ya no "
        "quieren tomarla. Pedimos un análisis y nadie vino.",
    ),  # fmt: skip
    (
        "en",
        "When the company arrived they fenced the pasture where we grazed our llamas. "
        "Nobody asked the community before the machines came.",
    ),  # fmt: skip
    (
        "es",
        "Mi hija tiene plomo en la sangre. En la posta nos dijeron que es por el polvo "
        "de los camiones que pasan todo el día por el pueblo.",
    ),  # fmt: skip
    (
        "en",
        "The river used to be clear. Now after the rains it turns orange and the trout "
        "are gone; my father fished there for forty years.",
    ),  # fmt: skip
]


# -- load -----------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"all": []})
    errors: Counter[str] = field(default_factory=Counter)
    duration: float = 0.0
    rss_max: float = 0.0
    server_cpu_s: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)  # 1-min load average at the start and the end


@dataclass
class Uploads:
    posted: int = 0
    accepted: int = 0
    finished: int = 0
    failed: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    post_latencies: list[float] = field(default_factory=list)
    end_to_end: list[float] = field(default_factory=list)
    pending: set[str] = field(default_factory=set)


def status_key(response: httpx.Response | None, exc: BaseException | None) -> str:
    if exc is not None:
        return type(exc).__name__
    assert response is not None
    return str(response.status_code)


async def search_client(
    client: httpx.AsyncClient,
    n: int,
    headers: dict[str, str],
    role: str,
    until: float,
    phase: Phase,
) -> None:
    rng = random.Random(1000 + n)  # a fixed order of queries per client
    while time.monotonic() < until:
        q = rng.choice(QUERIES)
        t0 = time.perf_counter()
        response, exc = None, None
        try:
            response = await client.get("/api/v1/search", params={"q": q, "k": 10}, headers=headers)
        except httpx.HTTPError as e:
            exc = e
        elapsed = time.perf_counter() - t0
        if response is not None and response.status_code == 200:
            phase.latencies["all"].append(elapsed)
            phase.latencies.setdefault(role, []).append(elapsed)
        else:
            phase.errors[status_key(response, exc)] += 1
            if exc is not None:
                await asyncio.sleep(0.1)  # a refused connection does not spin


async def follow_job(
    client: httpx.AsyncClient, job_id: str, t_post: float, until: float, up: Uploads, auth: dict
) -> None:
    while time.monotonic() < until:
        await asyncio.sleep(0.2)
        try:
            r = await client.get(f"/api/v1/jobs/{job_id}", headers=auth)
        except httpx.HTTPError:
            continue
        state = r.json().get("state") if r.status_code == 200 else None
        if state in ("done", "failed"):
            up.pending.discard(job_id)
            if state == "done":
                up.finished += 1
                up.end_to_end.append(time.perf_counter() - t_post)
            else:
                up.failed += 1
            return


async def uploader(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    every: float,
    until: float,
    drain_until: float,
    run_id: str,
    up: Uploads,
) -> None:
    followers = []
    n = 0
    next_at = time.monotonic()
    while time.monotonic() < until:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        if time.monotonic() >= until:
            break
        next_at += every
        language, text = UPLOAD_TEXTS[n % len(UPLOAD_TEXTS)]
        row = {
            "id": f"bench-{run_id}-{n:04d}",
            "title": f"Bench upload {n}",
            "text": f"{text} (#{n})",
            "language": language,
            "region": "Bench",
        }
        body = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        n += 1
        up.posted += 1
        t0 = time.perf_counter()
        try:
            r = await client.post(
                "/api/v1/testimonies",
                files={"file": (f"{row['id']}.jsonl", body, "application/jsonl")},
                data={"consent": "public"},
                headers=auth,
            )
        except httpx.HTTPError as e:
            up.refused[type(e).__name__] += 1
            continue
        up.post_latencies.append(time.perf_counter() - t0)
        if r.status_code != 202:
            up.refused[str(r.status_code)] += 1
            continue
        up.accepted += 1
        job_id = r.json()["uploads"][0]["job"]["id"]
        up.pending.add(job_id)
        followers.append(asyncio.create_task(follow_job(client, job_id, t0, drain_until, up, auth)))
    await asyncio.gather(*followers)


async def sample_rss(pid: int, until: float, phase: Phase) -> None:
    while time.monotonic() < until:
        phase.rss_max = max(phase.rss_max, rss_mb(pid)[0])
        await asyncio.sleep(0.25)


async def run_phase(
    base: str,
    name: str,
    seconds: float,
    clients: int,
    keys: dict[str, str],
    pid: int,
    upload: dict[str, Any] | None = None,
) -> tuple[Phase, Uploads | None]:
    phase = Phase(name)
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    async with httpx.AsyncClient(
        base_url=base, trust_env=False, timeout=30, limits=limits
    ) as client:
        start = time.monotonic()
        until = start + seconds
        tasks = []
        for n in range(clients):
            role = "researcher" if n % 2 else "anonymous"
            headers = {"Authorization": f"Bearer {keys[role]}"} if role != "anonymous" else {}
            tasks.append(search_client(client, n, headers, role, until, phase))
        up = None
        if upload is not None:
            up = Uploads()
            auth = {"Authorization": f"Bearer {keys['archivist']}"}
            drain_until = until + upload["drain"]
            tasks.append(
                uploader(client, auth, upload["every"], until, drain_until, upload["run"], up)
            )
        tasks.append(sample_rss(pid, until, phase))
        t0, cpu0, load0 = time.perf_counter(), cpu_seconds(pid), load_average()
        searches = asyncio.gather(*tasks[:clients])
        others = asyncio.gather(*tasks[clients:])
        await searches
        phase.duration = time.perf_counter() - t0
        phase.server_cpu_s = cpu_seconds(pid) - cpu0
        phase.load = (load0, load_average())
        await others
    return phase, up


# -- report ---------------------------------------------------------------------------------


def phase_json(phase: Phase) -> dict[str, Any]:
    lat = phase.latencies["all"]
    return {
        "seconds": round(phase.duration, 2),
        "requests": len(lat) + sum(phase.errors.values()),
        "ok": len(lat),
        "rps": round(len(lat) / phase.duration, 2) if phase.duration else 0.0,
        "p50_ms": ms(pct(lat, 50), 1),
        "p95_ms": ms(pct(lat, 95), 1),
        "p99_ms": ms(pct(lat, 99), 1),
        "max_ms": ms(max(lat) if lat else None, 1),
        "p50_ms_by_role": {
            role: ms(pct(xs, 50), 1) for role, xs in phase.latencies.items() if role != "all"
        },
        "errors": dict(sorted(phase.errors.items())),
        "server_rss_max_mib": round(phase.rss_max, 1),
        "server_cpu_s": round(phase.server_cpu_s, 1),
        "server_cpu_ms_per_search": ms(phase.server_cpu_s / len(lat), 1) if lat else None,
        "loadavg_1m_start_end": list(phase.load),
    }


def uploads_json(up: Uploads) -> dict[str, Any]:
    return {
        "posted": up.posted,
        "accepted": up.accepted,
        "finished": up.finished,
        "failed": up.failed,
        "unfinished": len(up.pending),
        "refused": dict(sorted(up.refused.items())),
        "post_p50_ms": ms(pct(up.post_latencies, 50), 1),
        "end_to_end_p50_s": _s(pct(up.end_to_end, 50)),
        "end_to_end_p95_s": _s(pct(up.end_to_end, 95)),
        "end_to_end_max_s": _s(max(up.end_to_end) if up.end_to_end else None),
    }


def _s(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def print_table(r: dict[str, Any]) -> None:
    s = r["setup"]
    print(
        f"Search load on {s['clients']} clients (anonymous + researcher), "
        f"{s['seconds']:.0f} s per phase; server {s['server']}"
    )
    print(
        f"  corpus: {s['corpus']} ({s['testimonies']} testimonies, {s['passages']} passages), "
        f"ingest {s['ingest_s']} s; server ready in {s['startup_s']} s, "
        f"RSS {s['rss_ready_mib']} MiB"
    )
    print()
    rows = [("baseline (search only)", r["baseline"]), ("with uploads", r["with_uploads"])]
    head = f"  {'phase':<24}{'req/s':>8}{'ok':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
    print(head + f"{'max ms':>9}{'RSS MiB':>9}  errors")
    for name, p in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in p["errors"].items()) or "none"
        print(
            f"  {name:<24}{p['rps']:>8.1f}{p['ok']:>7}{_f(p['p50_ms'])}{_f(p['p95_ms'])}"
            f"{_f(p['p99_ms'])}{_f(p['max_ms'])}{p['server_rss_max_mib']:>9.0f}  {errors}"
        )
    for name, p in rows:
        print(
            f"  {name}: server CPU {p['server_cpu_s']} s ({p['server_cpu_ms_per_search']} ms "
            f"per search), load average {p['loadavg_1m_start_end'][0]} -> "
            f"{p['loadavg_1m_start_end'][1]} on {s['cpus']} CPUs"
        )
    for name, p in rows:
        by_role = ", ".join(f"{k} {v} ms" for k, v in p["p50_ms_by_role"].items())
        print(f"  p50 by role, {name}: {by_role}")
    u = r["uploads"]
    print()
    print(
        f"  uploads: {u['posted']} posted, {u['accepted']} accepted, {u['finished']} finished, "
        f"{u['failed']} failed, {u['unfinished']} unfinished"
        + (f", refused {u['refused']}" if u["refused"] else "")
    )
    print(
        f"  upload POST p50 {u['post_p50_ms']} ms; POST to done: p50 {u['end_to_end_p50_s']} s, "
        f"p95 {u['end_to_end_p95_s']} s, max {u['end_to_end_max_s']} s"
    )
    x = r["ratios"]
    print()
    print(
        f"  with uploads / baseline: p50 x{x['p50']}, p95 x{x['p95']}, throughput x{x['rps']}, "
        f"server CPU per search x{x['server_cpu_per_search']}"
    )
    srv = r["server"]
    print(
        f"  server RSS ({srv['rss_source']}) at the end {srv['rss_end_mib']} MiB, "
        f"peak {srv['hwm_mib']} MiB"
    )


def _f(x: float | None) -> str:
    return f"{x:>9.1f}" if x is not None else f"{'-':>9}"


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per phase")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--upload-every", type=float, default=1.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, not counted")
    parser.add_argument("--drain", type=float, default=60.0, help="max seconds for jobs")
    parser.add_argument(
        "--typed-only", action="store_true", help="demo typed testimonies only (no Whisper)"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="voces-load-") as tmpdir:
        tmp = Path(tmpdir)
        env = voces_env(tmp / "home")  # the queue in VOCES_HOME, worker in the server

        t0 = time.perf_counter()
        if args.typed_only:
            corpus = "demo typed testimonies"
            say("ingesting demo/testimonies.jsonl ...")
            voces(env, "ingest", str(ROOT / "demo" / "testimonies.jsonl"), "--consent", "public")
        else:
            corpus = "demo (typed + recordings)"
            say("ingesting the demo corpus (voces demo --no-serve) ...")
            voces(env, "demo", "--no-serve")
        ingest_s = round(time.perf_counter() - t0, 1)
        keys = {}
        for role in ("researcher", "archivist"):
            out = voces(env, "keys", "create", "--role", role, "--name", f"bench {role}", "--json")
            keys[role] = json.loads(out)["key"]

        say("starting voces serve ...")
        server, startup_s = start_server(env, tmp)
        try:
            pid = server.proc.pid
            with httpx.Client(base_url=server.base, trust_env=False, timeout=10) as c:
                health = c.get(
                    "/api/v1/health", headers={"Authorization": f"Bearer {keys['researcher']}"}
                ).json()
            rss_ready = rss_mb(pid)[0]

            async def phases() -> tuple[Phase, Phase, Uploads | None]:
                if args.warmup > 0:
                    say(f"warm-up {args.warmup:.0f} s ...")
                    await run_phase(server.base, "warmup", args.warmup, args.clients, keys, pid)
                say(f"baseline: {args.clients} search clients, {args.seconds:.0f} s ...")
                base, _ = await run_phase(
                    server.base, "baseline", args.seconds, args.clients, keys, pid
                )
                say(f"with uploads every {args.upload_every:g} s, {args.seconds:.0f} s ...")
                upload = {"every": args.upload_every, "drain": args.drain, "run": tmp.name[-8:]}
                loaded, up = await run_phase(
                    server.base, "with_uploads", args.seconds, args.clients, keys, pid, upload
                )
                return base, loaded, up

            base, loaded, up = asyncio.run(phases())
            rss_end, hwm = rss_mb(pid)
            alive = server.proc.poll() is None
        finally:
            server.stop()

        assert up is not None
        b, w = phase_json(base), phase_json(loaded)
        result = {
            "setup": {
                "server": f"voces serve on {server.base}",
                "clients": args.clients,
                "seconds": args.seconds,
                "upload_every_s": args.upload_every,
                "corpus": corpus,
                "testimonies": health["testimonies"],
                "passages": health["passages"],
                "embedder": health["embedder"],
                "ingest_s": ingest_s,
                "startup_s": round(startup_s, 1),
                "rss_ready_mib": round(rss_ready, 1),
                "cpus": os.cpu_count(),
            },
            "baseline": b,
            "with_uploads": w,
            "uploads": uploads_json(up),
            "ratios": {
                "p50": ratio(w["p50_ms"], b["p50_ms"]),
                "p95": ratio(w["p95_ms"], b["p95_ms"]),
                "rps": ratio(w["rps"], b["rps"]),
                "server_cpu_per_search": ratio(
                    w["server_cpu_ms_per_search"], b["server_cpu_ms_per_search"]
                ),
            },
            "server": {
                "rss_end_mib": round(rss_end, 1),
                "hwm_mib": round(hwm, 1),
                "rss_source": RSS_SOURCE,
                "alive_at_end": alive,
                "log_tail": tail(server.log, 2000)
                if not alive or b["errors"] or w["errors"]
                else "",
            },
        }
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print_table(result)
        if result["server"]["log_tail"]:
            print("\nserver log (tail):\n" + result["server"]["log_tail"])


if __name__ == "__main__":
    main()
