"""Synthetic archives of any size, made from the real passages of ``collection``.

Used by bench/search.py (its docstring says how the corpus is made), bench/scale.py and
bench/index_codes.py. Nothing here writes into the repository: every archive lives
under /tmp or in the PostgreSQL database it is given.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from corpus import CONSENT_LEVELS, Passage, Store, Testimony, Viewer

from .collection import RealCorpus, Say

PER_TESTIMONY = 20
CONSENT_SHARES = {"public": 0.7, "restricted": 0.2, "private": 0.1}
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2024, 12, 31)


@dataclass
class Synthetic:
    """``n`` synthetic passages: passage i is real passages a[i] and b[i] joined, with the
    vector normalize(v_a + v_b); testimony t holds passages [20 t, 20 t + 20)."""

    real: RealCorpus
    a: np.ndarray  # int32, index into real.texts
    b: np.ndarray
    vectors: np.ndarray  # float32 (n, dim), unit rows
    t_case: np.ndarray  # per testimony: the real case its ``a`` passages come from
    t_consent: list[str]
    t_date: list[str]
    seed: int

    def __len__(self) -> int:
        return len(self.a)

    @property
    def testimonies(self) -> int:
        return len(self.t_case)

    def text(self, i: int) -> str:
        return self.real.texts[self.a[i]] + " " + self.real.texts[self.b[i]]

    def texts(self) -> Iterator[str]:
        for i in range(len(self)):
            yield self.text(i)

    def testimony_of(self, i: int) -> int:
        return i // PER_TESTIMONY

    def row_of(self, t: int) -> dict[str, str]:
        return self.real.rows[int(self.t_case[t])]

    def region_of_passages(self) -> np.ndarray:
        """Region (a string array) of every synthetic passage."""
        regions = np.asarray([r["region"] for r in self.real.rows], dtype=object)
        return np.repeat(regions[self.t_case], PER_TESTIMONY)[: len(self)]

    def consent_of_passages(self) -> np.ndarray:
        return np.repeat(np.asarray(self.t_consent, dtype=object), PER_TESTIMONY)[: len(self)]

    def testimony_id(self, t: int) -> str:
        return f"syn{self.seed}-{len(self)}-{t:07d}"

    def title(self, t: int) -> str:
        return f"Synthetic testimony {t} after {self.row_of(t)['title'][:120]}"


def synthesize(real: RealCorpus, n: int, held_out: np.ndarray, seed: int = 0) -> Synthetic:
    """Draw ``n`` synthetic passages (see :class:`Synthetic`), seeded.

    Each testimony takes a real case (with probability proportional to its passages, so a
    passage's case is as likely as drawing its ``a`` uniformly); its 20 ``a`` passages
    come from that case, each ``b`` from all real passages. ``held_out`` passages are
    never used (they serve as queries). No (a, b) pair repeats and a != b."""
    rng = np.random.default_rng(seed)
    pool_mask = np.ones(len(real.texts), dtype=bool)
    pool_mask[held_out] = False
    pool = np.flatnonzero(pool_mask).astype(np.int32)
    cases = np.unique(real.case[pool]).astype(np.int32)
    members = {int(c): pool[real.case[pool] == c] for c in cases}
    weights = np.asarray([len(members[int(c)]) for c in cases], dtype=np.float64)
    weights /= weights.sum()

    n_testimonies = -(-n // PER_TESTIMONY)
    t_case = rng.choice(cases, size=n_testimonies, p=weights).astype(np.int32)
    a = np.empty(n, dtype=np.int32)
    for t in range(n_testimonies):
        lo, hi = t * PER_TESTIMONY, min(n, (t + 1) * PER_TESTIMONY)
        a[lo:hi] = rng.choice(members[int(t_case[t])], size=hi - lo)
    b = rng.choice(pool, size=n).astype(np.int32)
    width = np.int64(len(real.texts))
    for _ in range(100):  # bounded: each round redraws the few repeats
        keys = a.astype(np.int64) * width + b
        _, first = np.unique(keys, return_index=True)
        bad = np.ones(n, dtype=bool)
        bad[first] = False
        bad |= a == b
        if not bad.any():
            break
        b[bad] = rng.choice(pool, size=int(bad.sum()))
    else:
        raise RuntimeError("could not draw distinct passage pairs; the tier is too large")

    dim = real.vectors.shape[1]
    vectors = np.empty((n, dim), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        v = real.vectors[a[lo:hi]] + real.vectors[b[lo:hi]]
        v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        vectors[lo:hi] = v
    levels = list(CONSENT_LEVELS)
    shares = np.asarray([CONSENT_SHARES[c] for c in levels])
    consent = [levels[i] for i in rng.choice(len(levels), size=n_testimonies, p=shares)]
    span = (LAST_DAY - FIRST_DAY).days
    days = rng.integers(0, span + 1, size=n_testimonies)
    dates = [(FIRST_DAY + timedelta(days=int(d))).isoformat() for d in days]
    return Synthetic(real, a, b, vectors, t_case, consent, dates, seed)


def load_store(
    home: Path, syn: Synthetic, embedder_name: str, say: Say, database: str = ""
) -> tuple[np.ndarray, float]:
    """Write every synthetic testimony through ``Store.add_testimony`` (one transaction per
    testimony, as an ingest does) into ``home`` (or the PostgreSQL ``database``). Returns
    (passage id per synthetic passage, seconds). No model runs: no tags, redacted copy =
    the text itself."""
    home.mkdir(parents=True, exist_ok=True)
    store = Store(database or home / "voces.sqlite3")
    viewer = Viewer.local("bench")
    ids = np.zeros(len(syn), dtype=np.int64)
    t0 = time.perf_counter()
    last = t0
    try:
        for t in range(syn.testimonies):
            lo, hi = t * PER_TESTIMONY, min(len(syn), (t + 1) * PER_TESTIMONY)
            row = syn.row_of(t)
            tid = syn.testimony_id(t)
            texts = [syn.text(i) for i in range(lo, hi)]
            title = syn.title(t)
            testimony = Testimony(
                id=tid,
                title=title,
                region=row["region"],
                community=row.get("community", ""),
                date=syn.t_date[t],
                language=row["language"],
                consent=syn.t_consent[t],  # type: ignore[arg-type]
                source_kind="text",
                source_name="synthetic.jsonl",
                source_hash=hashlib.sha256(tid.encode("utf-8")).hexdigest(),
                illustrative=True,
            )
            passages = [Passage(tid, seq, text) for seq, text in enumerate(texts)]
            ids[lo:hi] = store.add_testimony(
                testimony,
                passages,
                syn.vectors[lo:hi],
                embedder_name,
                viewer,
                redacted=texts,
                title_redacted=title,
            )
            if time.perf_counter() - last > 15:
                last = time.perf_counter()
                say(f"  loaded {hi}/{len(syn)} passages ({hi / (last - t0):.0f}/s)")
    finally:
        store.close()
    return ids, time.perf_counter() - t0
