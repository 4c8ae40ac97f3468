"""Search requests against a server on loopback: one after another, or many clients at
once for a while; and whether a filtered search's hits kept to the region asked for.

Every request cycles the typed bench queries (``queries.QUERIES``) with k = ``K``; the
server's CPU is read from /proc per request series (``timing.CpuWatch``), its memory
sampled while the clients run.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from .queries import QUERIES, K
from .servers import rss_mb
from .timing import CpuWatch, stats

SEQUENTIAL_CAP_S = 120.0  # a sequential series stops after this long


def region_check(hit_regions: Sequence[Sequence[str]], region: str) -> dict[str, Any]:
    """Filtered-query correctness: every hit in the region, and how many came back."""
    counts = [len(rs) for rs in hit_regions]
    wrong = sum(1 for rs in hit_regions for r in rs if r.lower() != region.lower())
    return {
        "all_in_region": wrong == 0,
        "hits_outside_region": wrong,
        "mean_hits": round(sum(counts) / max(1, len(counts)), 2),
        "queries_with_fewer_than_k": sum(1 for c in counts if c < K),
    }


@dataclass
class Http:
    """One server under test: where it answers, its search path, its region parameter."""

    base: str
    path: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)


def sequential(
    http: Http, params: dict[str, Any], n: int, region: str = "", headers: dict | None = None
) -> dict[str, Any]:
    """``n`` requests one after the other (the queries cycled), or SEQUENTIAL_CAP_S."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    regions: list[list[str]] = []
    deadline = time.monotonic() + SEQUENTIAL_CAP_S
    watch = CpuWatch((http.pid,))
    hdrs = http.headers if headers is None else headers
    with httpx.Client(base_url=http.base, trust_env=False, timeout=60) as client:
        for i in range(n):
            if time.monotonic() > deadline:
                break
            query = {"q": QUERIES[i % len(QUERIES)], "k": K, **params}
            t0 = time.perf_counter()
            try:
                r = client.get(http.path, params=query, headers=hdrs)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] += 1
                time.sleep(0.1)
                continue
            elapsed = time.perf_counter() - t0
            if r.status_code != 200:
                errors[str(r.status_code)] += 1
                continue
            latencies.append(elapsed)
            regions.append([h.get("region", "") for h in r.json().get("hits", [])])
    out = {**stats(latencies), **watch.done(len(latencies)), "errors": dict(errors)}
    if region:
        out["region_check"] = region_check(regions, region)
    return out


async def _client(
    client: httpx.AsyncClient,
    http: Http,
    params: dict[str, Any],
    n: int,
    until: float,
    latencies: list[float],
    errors: Counter[str],
) -> None:
    rng = random.Random(1000 + n)  # a fixed order of queries per client
    while time.monotonic() < until:
        query = {"q": rng.choice(QUERIES), "k": K, **params}
        t0 = time.perf_counter()
        try:
            r = await client.get(http.path, params=query, headers=http.headers)
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        if r.status_code == 200:
            latencies.append(time.perf_counter() - t0)
        else:
            errors[str(r.status_code)] += 1


async def _sample_rss(pid: int, until: float, peak: list[float]) -> None:
    while time.monotonic() < until:
        peak[0] = max(peak[0], rss_mb(pid)[0])
        await asyncio.sleep(0.25)


def throughput(http: Http, params: dict[str, Any], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` concurrent clients for ``seconds``: successful searches per second."""

    async def run() -> dict[str, Any]:
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        peak = [0.0]
        limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
        async with httpx.AsyncClient(
            base_url=http.base, trust_env=False, timeout=60, limits=limits
        ) as client:
            until = time.monotonic() + seconds
            t0 = time.perf_counter()
            tasks = [
                _client(client, http, params, n, until, latencies, errors) for n in range(clients)
            ]
            sampler = asyncio.create_task(_sample_rss(http.pid, until, peak))
            watch = CpuWatch((http.pid,))
            await asyncio.gather(*tasks)
            duration = time.perf_counter() - t0
            cpu = watch.done(len(latencies))
            await sampler
        return {
            "clients": clients,
            "seconds": round(duration, 1),
            "rps": round(len(latencies) / duration, 2) if duration else 0.0,
            **stats(latencies),
            **cpu,
            "errors": dict(errors),
            "rss_max_mib": round(peak[0], 1),
        }

    return asyncio.run(run())
