"""What the stem and label lifts cost a grouped search: default weights against the same
weights without the two lifts, interleaved in one process over one archive.

    .venv/bin/python bench/search.py --sizes 100000 --skip-txtai --skip-http --keep
    .venv/bin/python bench/search_lifts.py /tmp/voces-bench-search-XXXX/tier-100000/home

Prints p50 / p99 ms per configuration, unfiltered and with a region filter (the archive's
region nearest 5% of the passages), for the system viewer (no audit writes), over the 20
typed bench queries (bench/lib/queries.py), cycled ``--rounds`` times after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path, help="an archive's VOCES_HOME")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    os.environ["VOCES_HOME"] = str(args.home)

    from lib.queries import QUERIES

    from api import services
    from api.settings import get_settings
    from corpus import PassageFilter, Viewer
    from pipeline.search import DEFAULT_WEIGHTS

    archive = services.build_archive(get_settings())
    viewer = Viewer.system()
    total = archive.indexed()
    regions = archive.store._query(
        "SELECT t.region, count(*) AS n FROM passages p JOIN testimonies t "
        "ON t.id = p.testimony_id GROUP BY t.region"
    )
    region = min(regions, key=lambda r: abs(r["n"] / total - 0.05))["region"]
    filters = {"unfiltered": PassageFilter(), f"region {region!r}": PassageFilter(region=region)}
    configs = {
        "default (stems + labels)": DEFAULT_WEIGHTS,
        "without the two lifts": replace(DEFAULT_WEIGHTS, keyword=0.0, label=0.0),
    }
    for query in QUERIES[:3]:  # warm-up
        for weights in configs.values():
            archive.search(query, viewer, 10, weights=weights)
    times: dict[tuple[str, str], list[float]] = {(c, f): [] for c in configs for f in filters}
    for _ in range(args.rounds):
        for query in QUERIES:
            for cname, weights in configs.items():
                for fname, flt in filters.items():
                    t0 = time.perf_counter()
                    archive.search(query, viewer, 10, flt, weights=weights)
                    times[(cname, fname)].append(1000 * (time.perf_counter() - t0))
    print(f"{total:,} passages, system viewer, k=10, grouped, {args.rounds} rounds")
    for (cname, fname), series in times.items():
        series.sort()
        p99 = series[max(0, int(0.99 * len(series)) - 1)]
        print(
            f"  {cname:26} {fname:36} n={len(series)} "
            f"p50 {statistics.median(series):6.1f} ms  p99 {p99:6.1f} ms"
        )
    archive.close()


if __name__ == "__main__":
    main()
