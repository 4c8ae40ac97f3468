"""Grouped search with a hit's neighbours found in memory (``corpus.PassagePlaces``)
against found in SQLite (``Store.neighbours``), interleaved in one process.

    .venv/bin/python bench/search.py --sizes 100000 --skip-ingest --keep   # makes an archive
    .venv/bin/python bench/neighbours_ab.py HOME [--rounds 300] [--region REGION]

HOME is an archive folder, e.g. ``/tmp/voces-bench-search-*/tier-100000/home`` kept by
``bench/search.py --keep``. Each round runs five fixed Spanish and English queries, once
per mode and once more with a region filter, alternating the modes so that machine noise
falls on both; the system viewer (not audited). Prints p50 and mean per mode and whether
both modes return the same hits. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "contaminación del agua por la minería",
    "land taken by the mine",
    "desalojo de familias campesinas",
    "protest repression police",
    "pobreza junto a la mina",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--region", default="Brazil: Minas Gerais")
    args = parser.parse_args()
    os.environ["VOCES_HOME"] = str(args.home)

    from api import services
    from api.settings import get_settings
    from corpus import PassageFilter, Viewer

    archive = services.build_archive(get_settings())
    archive.warm_up()
    viewer, region = Viewer.system(), PassageFilter(region=args.region)
    places = archive._search._places  # grouped search's PassagePlaces (pipeline/searching.py)
    in_memory = places.neighbours

    def sqlite_only(ids, consent):  # type: ignore[no-untyped-def]
        return {}, sorted(set(ids))  # every id "unsure": Store.neighbours answers

    modes = {"memory": in_memory, "sqlite": sqlite_only}
    for query in QUERIES:  # warm-up
        archive.search(query, viewer, 10)
        archive.search(query, viewer, 10, region)
    times: dict[str, list[float]] = {}
    same = True
    for n in range(args.rounds):
        query = QUERIES[n % len(QUERIES)]
        hits = {}
        for mode, neighbours in modes.items():
            places.neighbours = neighbours  # type: ignore[method-assign]
            for label, flt in (("", PassageFilter()), (" region", region)):
                t0 = time.perf_counter()
                found = archive.search(query, viewer, 10, flt)
                times.setdefault(mode + label, []).append(time.perf_counter() - t0)
                hits[mode + label] = [h.passage_id for h in found]
        same &= hits["memory"] == hits["sqlite"] and hits["memory region"] == hits["sqlite region"]
    places.neighbours = in_memory  # type: ignore[method-assign]
    for key, values in times.items():
        p50, mean = np.median(values) * 1000, np.mean(values) * 1000
        print(f"{key:15s} p50 {p50:6.1f} ms   mean {mean:6.1f} ms")
    print(f"same hits in both modes: {same}")
    archive.close()


if __name__ == "__main__":
    main()
