"""Progress lines, percentiles, and latency series with the CPU they cost.

Latencies are wall-clock; percentiles are nearest-rank. Beside a series, the CPU that
whoever searched spent per call and the cores that anything else on the machine kept
busy meanwhile: on a busy machine a series' latencies are not the system's alone, and
this says so instead of hiding it.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .servers import cpu_seconds

NOISY = 0.25  # cores used by others above which a series' latencies are suspect


def say(msg: str) -> None:
    """A progress line, on standard error (the results go to standard output)."""
    print(msg, file=sys.stderr, flush=True)


def pct(xs: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile, nearest rank (None for no values)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def ms(x: float | None, digits: int = 2) -> float | None:
    """Seconds as milliseconds, rounded."""
    return None if x is None else round(x * 1000, digits)


def stats(latencies: Sequence[float]) -> dict[str, Any]:
    xs = list(latencies)
    return {
        "n": len(xs),
        "p50_ms": ms(pct(xs, 50)),
        "p99_ms": ms(pct(xs, 99)),
        "mean_ms": ms(sum(xs) / len(xs)) if xs else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


# -- CPU accounting and in-process timing ---------------------------------------------------


def _busy_s() -> float:
    """CPU-seconds the whole machine has been busy (all cores; steal included)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    v = [int(x) for x in fields]
    return (sum(v[:3]) + sum(v[5:8])) / os.sysconf("SC_CLK_TCK")


def _self_s() -> float:
    t = os.times()
    return t.user + t.system


class CpuWatch:
    """CPU used during a series of calls: by whoever searches (this process, or the
    server's pids) per call, and by everything else on the machine (other processes,
    hypervisor steal), in cores on average. A busy machine shows up in ``other_cores``:
    the latencies of that series are then not the system's alone."""

    def __init__(self, pids: Sequence[int] = ()) -> None:
        self.pids = tuple(pids)
        self.t0 = time.monotonic()
        self.busy0, self.self0, self.pids0 = _busy_s(), _self_s(), self._pids_s()

    def _pids_s(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def done(self, calls: int) -> dict[str, Any]:
        wall = time.monotonic() - self.t0
        d_self, d_pids = _self_s() - self.self0, self._pids_s() - self.pids0
        other = max(0.0, _busy_s() - self.busy0 - d_self - d_pids)
        worker = d_pids if self.pids else d_self
        return {
            "cpu_ms_per_call": round(worker / calls * 1000, 2) if calls else None,
            "other_cores": round(other / wall, 2) if wall > 0 else None,
        }


def machine_noise(seconds: float = 3.0) -> float | None:
    """Cores busy with other processes while this one sleeps: 0 on a quiet machine."""
    watch = CpuWatch()
    time.sleep(seconds)
    other: float | None = watch.done(1)["other_cores"]
    return other


def timed(
    fn: Callable[[str], Any], queries: Sequence[str], n: int
) -> tuple[dict[str, Any], list[Any]]:
    """``n`` calls (the queries cycled): latency stats and CPU, and every result."""
    latencies, results = [], []
    watch = CpuWatch()
    for i in range(n):
        q = queries[i % len(queries)]
        t0 = time.perf_counter()
        out = fn(q)
        latencies.append(time.perf_counter() - t0)
        results.append(out)
    return {**stats(latencies), **watch.done(n)}, results
