"""Theme work: what advocates read (theme shares by group, a testimony's themes) and what
archivists do to the themes (the review queue, discovering and promoting emergent themes,
re-tagging).

Shares are estimated from the passages the viewer may see and corrected with error rates
measured on the reviews of those passages (:mod:`pipeline.prevalence`). Discovery writes
what it found to ``emergent.json`` in the archive's folder (passage ids and keywords);
promoting a cluster writes a new taxonomy version to ``taxonomy.json``, whose examples
come from what the public may read.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from corpus import WITHHELD, Passage, Store, Viewer, require
from corpus.media import replace_durably

from .discover import (
    MIN_CLUSTER_SIZE,
    EmergentTheme,
    cluster_passages,
    describe,
    keywords_by_cluster,
    promote_theme,
)
from .errors import InputError, PipelineError
from .ingest import Progress
from .prevalence import Prevalence, bundled_rates, choose_rates, estimate_cells
from .review_queue import ReviewCandidate, pick_for_review
from .tagger import ThemeTagger
from .taxonomy import parse_taxonomy, taxonomy_data

__all__ = ["EMERGENT_FILE", "TAXONOMY_FILE", "TestimonyTheme", "ThemeWork"]

#: what the last ``discover_themes`` found, and the taxonomy ``promote_emergent`` grows
EMERGENT_FILE = "emergent.json"
TAXONOMY_FILE = "taxonomy.json"


@dataclass(frozen=True)
class TestimonyTheme:
    theme: str
    score: float
    passages: tuple[int, ...]  # supporting passage ids, strongest first
    reviewed: bool  # at least one supporting tag comes from a person


def _write_json(target: Path, data: Any) -> None:
    """Write JSON durably (see :func:`corpus.media.replace_durably`)."""
    text = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    replace_durably(target, lambda dst: dst.write(text))


class ThemeWork:
    def __init__(self, home: Path, store: Store, embedder: Any, tagger: ThemeTagger) -> None:
        self.home = home
        self.store = store
        self.embedder = embedder
        self.tagger = tagger

    def require_embedder(self) -> Any:
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.embedder

    def theme_prevalence(self, viewer: Viewer, by: str = "") -> list[Prevalence]:
        """Per theme (and region, community, language or year): the passages ``viewer``
        may see, those tagged, and the estimated true share with a 90% interval, corrected
        for the tagger's measured error rates (see :mod:`pipeline.prevalence`)."""
        rates = choose_rates(self.store.review_confusion(viewer), bundled_rates())
        return estimate_cells(self.store.theme_cells(viewer, by), rates)

    def review_queue(
        self, viewer: Viewer, limit: int = 10, theme: str = "", pool: int = 300
    ) -> list[ReviewCandidate]:
        """The passages whose review would teach the tagger most (archivists): a pool of
        up to ``pool`` unreviewed passages scored by the current tagger, ranked by
        :func:`pipeline.review_queue.pick_for_review`; ``theme`` asks about one theme."""
        require(viewer, "review")
        if limit < 1 or pool < 1:
            raise InputError("limit and pool must be at least 1")
        if theme:
            self.tagger.taxonomy.check_theme(theme)
        rows = self.store.review_pool(viewer, pool, theme)
        if not rows:
            return []
        dim = self.require_embedder().dim
        by_id = self.store.vector_map([p.id for p, _ in rows if p.id is not None], dim)
        rows = [r for r in rows if r[0].id in by_id]  # a passage mid-reindex has no vector yet
        if not rows:
            return []
        scores = self.tagger.score(
            [p.text for p, _ in rows],
            [lang or "es" for _, lang in rows],
            np.stack([by_id[p.id] for p, _ in rows if p.id is not None]),
        )
        picks = pick_for_review(
            scores, self.store.review_totals(), limit, [theme] if theme else None
        )
        min_score = self.tagger.options.min_score
        out = []
        for pick in picks:
            passage, language = rows[pick.row]
            assert passage.id is not None
            out.append(
                ReviewCandidate(
                    passage_id=passage.id,
                    testimony_id=passage.testimony_id,
                    text=passage.text,
                    language=language,
                    start=passage.start,
                    end=passage.end,
                    theme=pick.theme,
                    score=round(pick.score, 4),
                    tagged=pick.score >= min_score,
                    priority=round(pick.priority, 4),
                    reason=pick.reason,
                )
            )
        return out

    def discover_themes(
        self, viewer: Viewer, min_size: int = MIN_CLUSTER_SIZE, most: int = 50_000
    ) -> list[EmergentTheme]:
        """Clusters of the passages ``viewer`` may see that no theme tags (see
        :mod:`pipeline.discover`), largest first; written to ``emergent.json`` in the
        archive's folder (passage ids and keywords only) for ``promote_emergent``."""
        if min_size < 2:
            raise InputError("a cluster needs at least 2 passages")
        dim = self.require_embedder().dim
        rows = self.store.untagged_passages(viewer, self.tagger.options.min_score, most)
        by_id = self.store.vector_map([r[0] for r in rows], dim)
        rows = [r for r in rows if r[0] in by_id]  # a passage mid-reindex has no vector yet
        vectors = np.stack([by_id[r[0]] for r in rows]) if rows else np.zeros((0, dim))
        clusters = cluster_passages(vectors, min_size)
        out = describe(
            clusters,
            [r[0] for r in rows],
            [r[1] for r in rows],
            [r[2] or "es" for r in rows],
            [r[3] for r in rows],
            vectors,
            self.tagger.prototypes(),
        )
        record = {
            "taxonomy_version": self.tagger.taxonomy.version,
            "min_size": min_size,
            "untagged": len(rows),
            "clusters": [
                {"number": e.number, "passage_ids": list(e.passage_ids), "keywords": e.keywords}
                for e in out
            ],
        }
        _write_json(self.home / EMERGENT_FILE, record)
        return out

    def promote_emergent(
        self,
        viewer: Viewer,
        number: int,
        theme_id: str,
        labels: dict[str, str],
        parent: str = "",
        examples: int = 6,
    ) -> str:
        """Make cluster ``number`` of the last ``discover_themes`` a theme: a new taxonomy
        version (``taxonomy.json`` in the archive's folder, used from then on) whose new
        theme's examples are the cluster's most central public passages, as the public reads
        them (up to ``examples`` per language). Returns the new version; re-tag to apply it
        (archivists)."""
        require(viewer, "promote theme")
        try:
            record = json.loads((self.home / EMERGENT_FILE).read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError("no emergent themes found yet: run `voces themes discover`") from exc
        if record.get("taxonomy_version") != self.tagger.taxonomy.version:
            raise InputError("the taxonomy changed since the last discovery: discover again")
        cluster = next((c for c in record["clusters"] if c["number"] == number), None)
        if cluster is None:
            raise InputError(f"no emergent cluster {number}; there are {len(record['clusters'])}")
        # A theme's examples are shown to anyone as tag evidence ("similar to: ...") and
        # its description in the taxonomy: both come from what the public may read (public
        # testimonies, names masked), never from restricted or private ones.
        public = self.store.passage_texts(Viewer.anonymous(), cluster["passage_ids"])
        texts = {pid: (text, lang) for pid, text, lang in public if text != WITHHELD}
        chosen: dict[str, list[str]] = {}
        for pid in cluster["passage_ids"]:  # most central first
            if pid in texts:
                text, lang = texts[pid]
                picked = chosen.setdefault(lang or "es", [])
                if len(picked) < examples:
                    picked.append(text)
        if not chosen:
            raise InputError(
                f"emergent cluster {number} holds no passage the public may read: a theme's "
                "examples are shown as tag evidence to anyone, so they come from public "
                "testimonies only"
            )
        members = list(texts.values())
        [keywords] = keywords_by_cluster(
            [t for t, _ in members],
            [lang or "es" for _, lang in members],
            [np.arange(len(members))],
        )
        taxonomy = self.tagger.taxonomy
        data = promote_theme(
            taxonomy,
            taxonomy_data(None if taxonomy.source == "bundled" else Path(taxonomy.source)),
            theme_id,
            labels,
            chosen,
            keywords,
            parent,
        )
        parse_taxonomy(data, "promoted")  # refuse to write a taxonomy that does not load
        _write_json(self.home / TAXONOMY_FILE, data)
        self.store.audit(viewer, "promote theme", theme_id, f"cluster {number}; {data['version']}")
        return str(data["version"])

    def forget_discovery(self, passage_ids: Sequence[int]) -> None:
        """Remove the last theme discovery (``emergent.json``) when it drew on these
        passages: its keywords are words of theirs."""
        path = self.home / EMERGENT_FILE
        try:
            record = json.loads(path.read_text("utf-8"))
            held = {pid for c in record.get("clusters", []) for pid in c.get("passage_ids", [])}
        except (OSError, ValueError, AttributeError, TypeError):
            held = set() if not path.exists() else {-1}
        if held and (-1 in held or not held.isdisjoint(passage_ids)):
            path.unlink(missing_ok=True)

    def testimony_themes(
        self, testimony_id: str, viewer: Viewer, passages: Sequence[Passage] | None = None
    ) -> list[TestimonyTheme]:
        """A testimony's themes, derived from its passages (pass them if already read):
        the best passage score and the passages that support each theme, strongest first."""
        support: dict[str, list[tuple[float, int, str]]] = {}
        if passages is None:
            passages = self.store.passages(testimony_id, viewer)
        for p in passages:
            for tag in p.tags:
                if tag.score >= self.tagger.options.min_score and p.id is not None:
                    support.setdefault(tag.theme, []).append((tag.score, p.id, tag.source))
        out = [
            TestimonyTheme(
                theme=theme,
                score=max(s for s, _, _ in rows),
                passages=tuple(pid for _, pid, _ in sorted(rows, key=lambda r: -r[0])),
                reviewed=any(src == "human" for _, _, src in rows),
            )
            for theme, rows in support.items()
        ]
        return sorted(out, key=lambda t: (-t.score, -len(t.passages)))

    def retag(self, progress: Progress | None = None, batch: int = 256) -> int:
        """Recompute every passage's machine tags with the current tagger; reviews stay.

        Passage vectors come from the store, so nothing is embedded again."""
        index = self.require_embedder()
        rows = self.store.passage_texts(Viewer.system())
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            by_id = self.store.vector_map([pid for pid, _, _ in chunk], index.dim)
            tags = self.tagger.tag(
                [text for _, text, _ in chunk],
                [lang or "es" for _, _, lang in chunk],
                np.stack([by_id[pid] for pid, _, _ in chunk]),
            )
            self.store.replace_machine_tags(
                dict(zip([pid for pid, _, _ in chunk], tags, strict=True))
            )
            if progress:
                progress(f"re-tagged {min(start + batch, len(rows))}/{len(rows)} passages")
        return len(rows)
