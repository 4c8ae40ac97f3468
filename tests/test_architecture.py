"""The house plan (issue 27, docs/architecture.md), kept true by tests where import-linter
cannot see: attribute access, backend branches, and the size of rooms.

- The API and the CLI reach stored testimonies only through the front door
  (``pipeline.Archive``, its reading room and its viewer-checked key ring and job
  table): no ``.store`` or ``.db`` reached from ``api/``.
- No backend branch outside the factories: which engine an archive runs on is decided
  once (``corpus.db.open_database``, ``corpus.keywords.keyword_search``,
  ``corpus.vectors.open_vectors``); everything else calls an interface.
- No class over about 450 lines, no module over about 800.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("api", "pipeline", "corpus", "models")
#: where the engine is chosen: the only modules that may ask which one it is
FACTORIES = {"corpus/db.py", "corpus/keywords.py", "corpus/vectors.py"}
#: spellings of "which backend is this?"
BRANCHES = re.compile(
    r"searches_vectors|\.engine\s*[!=]=|isinstance\([^)]*(?:Postgres)?Database\)"
    r"|store\.path is (?:not )?None|archive\.index is (?:not )?None"
)
MAX_CLASS, MAX_MODULE = 460, 800


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def test_the_edges_reach_storage_only_through_the_front_door():
    reached = []
    for path in _sources("api"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("store", "db", "_store"):
                reached.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert reached == []


def test_no_backend_branch_outside_the_factories():
    found = []
    for path in _sources(*PACKAGES):
        name = path.relative_to(ROOT).as_posix()
        if name in FACTORIES:
            continue
        for line in path.read_text("utf-8").splitlines():
            code = line.split("#", 1)[0]
            if BRANCHES.search(code) and "def searches_vectors" not in code:
                found.append(f"{name}: {line.strip()}")
    # the store's own answer to "which engine?" (tests read it): its definition only
    assert found == ['corpus/store.py: return self.db.engine == "postgresql"'], found


def test_no_room_too_big_to_keep_in_your_head():
    big = []
    for path in _sources(*PACKAGES):
        text = path.read_text("utf-8")
        name = path.relative_to(ROOT).as_posix()
        if len(text.splitlines()) > MAX_MODULE:
            big.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_CLASS:
                    big.append(f"{name}: class {node.name} {size} lines")
    assert big == []
