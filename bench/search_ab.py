"""Grouped search of two versions of Voces over one archive, side by side: time per search
and whether both return the same results.

    .venv/bin/python bench/search.py --sizes 100000 --skip-ingest --keep   # makes an archive
    .venv/bin/python bench/search_ab.py HOME --base 4c992d7 [--rounds 3] [--searches 300]

HOME is an archive folder, e.g. ``/tmp/voces-bench-search-*/tier-100000/home`` kept by
``bench/search.py --keep``. ``--base`` is a git revision, checked out into a temporary
worktree; it is compared with this working tree (or with ``--other REV``). Each round runs
one subprocess per version and filter, alternating the versions so that machine noise
falls on both: ``--searches`` grouped searches (k=10, the system viewer, not audited)
cycling the 20 typed bench queries (bench/lib/queries.py) after a warm-up. Prints wall
and CPU ms a search per round, their medians and the ratio. Then each version writes its
results for 25 queries x 2 viewers (system, anonymous) x 2 filters x k 10 and 30, and the
script says whether they agree: same testimonies, passages, order, highlights and
context, and scores within 2e-5. Nothing is asserted. Both versions must open the archive as it is
(the same schema and index format).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: run inside each version's tree (its code first on sys.path)
_CHILD = r"""
import json, os, sys, time
tree, home, mode, region, n = sys.argv[1:6]
sys.path[:0] = [tree, os.path.join(tree, "bench")]
os.environ["VOCES_HOME"] = home
try:
    from lib.queries import QUERIES
except ImportError:  # a version from before bench/lib
    from search import QUERIES
from api import services
from api.settings import get_settings
from corpus import PassageFilter, Viewer
archive = services.build_archive(get_settings())
archive.warm_up()
system = Viewer.system()
flt = PassageFilter(region=region) if region else PassageFilter()
if mode == "time":
    for q in QUERIES[:5]:
        archive.search(q, system, 10, flt=flt)
    n = int(n)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        archive.search(QUERIES[i % len(QUERIES)], system, 10, flt=flt)
    print(json.dumps({"wall": (time.perf_counter() - wall) / n * 1000,
                      "cpu": (time.process_time() - cpu) / n * 1000}))
else:
    extra = ["Rosa Quispe", "Yanacocha mercurio", "uranium mine water",
             "nos quitaron la tierra", "Conga lagunas"]
    out = {}
    for vname, viewer in (("system", system), ("anonymous", Viewer.anonymous())):
        for fname, f in (("none", PassageFilter()), ("region", PassageFilter(region=region))):
            for q in QUERIES + extra:
                for k in (10, 30):
                    out[f"{vname}|{fname}|{k}|{q}"] = [
                        [h.testimony_id, h.passage_id, h.score, [list(s) for s in h.highlights],
                         h.context_before, h.context_after, h.matched]
                        for h in archive.search(q, viewer, k, flt=f)
                    ]
    print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--other", help="a second git revision (default: this working tree)")
    parser.add_argument(
        "--other-home",
        type=Path,
        help="the other version's copy of the archive, where the two versions' schemas "
        "differ (copy HOME, open the copy once with the other version to migrate it)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--searches", type=int, default=300)
    parser.add_argument("--region", default="Brazil: Minas Gerais")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="voces-ab-") as tmp:
        trees = {}
        for name, rev in (("base", args.base), ("other", args.other)):
            if rev is None:
                trees[f"{name} (working tree)"] = ROOT
                continue
            tree = Path(tmp) / name
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(tree), rev],
                check=True,
            )
            trees[f"{name} {rev}"] = tree
        try:
            compare(trees, args)
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                        check=False,
                    )


def child(tree: Path, home: Path, mode: str, region: str, n: int) -> str:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(tree), str(home), mode, region, str(n)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return done.stdout.strip().splitlines()[-1]


def compare(trees: dict[str, Path], args: argparse.Namespace) -> None:
    homes = dict(zip(trees, (args.home, args.other_home or args.home), strict=True))
    print(f"archive {args.home}; {args.searches} grouped searches a round, system viewer")
    if args.other_home:
        print(f"  (the other version reads its own copy, {args.other_home})")
    for region in ("", args.region):
        label = f"region {region!r}" if region else "unfiltered"
        walls: dict[str, list[float]] = {name: [] for name in trees}
        for r in range(args.rounds):
            # the order reversed every other round, so drifting load falls on both alike
            order = list(trees.items()) if r % 2 == 0 else list(trees.items())[::-1]
            for name, tree in order:
                got = json.loads(child(tree, homes[name], "time", region, args.searches))
                walls[name].append(got["wall"])
                print(
                    f"  {label}, round {r + 1}: {name:28s} {got['wall']:6.2f} ms wall, "
                    f"{got['cpu']:6.2f} ms CPU a search"
                )
        (a, wa), (b, wb) = ((n, statistics.median(w)) for n, w in walls.items())
        print(f"{label}: median {a} {wa:.2f} ms, {b} {wb:.2f} ms: {wb / wa:.2f}x the time")
    results = {
        name: json.loads(child(tree, homes[name], "results", args.region, 0))
        for name, tree in trees.items()
    }
    (a, ra), (b, rb) = results.items()
    differ = [
        key
        for key in ra
        if [r[:2] + r[3:] for r in ra[key]] != [r[:2] + r[3:] for r in rb.get(key, [])]
        or any(abs(x[2] - y[2]) > 2e-5 for x, y in zip(ra[key], rb[key], strict=False))
    ]
    print(f"results: {len(ra)} lists, {len(differ)} differ between {a} and {b}")
    for key in differ[:5]:
        print(f"  {key}: {[r[:3] for r in ra[key]][:4]} vs {[r[:3] for r in rb[key]][:4]}")


if __name__ == "__main__":
    main()
