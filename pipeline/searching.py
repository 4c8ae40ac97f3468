"""Search orchestration: what answers a question, in any language, among what the
caller may see.

A question is embedded once; the vector search (:mod:`corpus.vectors`) finds the closest
passages the viewer may find within the filter; keyword searches beside it
(:mod:`corpus.keywords`) find exact names and shared word stems; :mod:`pipeline.search`
ranks whole stories from those signals; the store gives each hit as the viewer may read
it, with the passages around it and the query's words highlighted. Every statistic the
ranking takes (how many passages, how many hold a word) is of what the viewer may read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from corpus import Hit, PassageFilter, PassagePlaces, Store, VectorSearch, Viewer

from .errors import InputError, PipelineError
from .search import (
    COMMON_SHARE,
    DEFAULT_WEIGHTS,
    KEYWORD_DEPTH,
    RARE_MIN_PASSAGES,
    STEM,
    ContextWeights,
    PassageVectors,
    capitalised_inside,
    highlight,
    label_shares,
    name_candidates,
    name_terms,
    query_terms,
    rank_stories,
    rare_terms,
    stem_terms,
    theme_agreement,
    window_ids,
)
from .tagger import ThemeTagger

__all__ = ["Searcher", "SimilarTestimony"]


@dataclass(frozen=True)
class SimilarTestimony:
    testimony_id: str
    title: str
    region: str
    community: str
    language: str
    score: float
    passage: Hit  # the passage closest to the testimony asked about


class Searcher:
    """Grouped and passage search, and similar testimonies."""

    def __init__(
        self, store: Store, vectors: VectorSearch, embedder: Any, tagger: ThemeTagger
    ) -> None:
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self.tagger = tagger
        self._places = PassagePlaces()  # for grouped search's neighbour lookups

    def require_embedder(self) -> Any:
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.embedder

    def warm_up(self) -> None:
        """Load the passages' places now, not on the first search."""
        self._places.sync(self.store)

    def search(
        self,
        query: str,
        viewer: Viewer,
        k: int = 10,
        flt: PassageFilter = PassageFilter(),
        group: bool = True,
        weights: ContextWeights = DEFAULT_WEIGHTS,
    ) -> list[Hit]:
        """What answers ``query`` best, in any language, within ``flt`` and what
        ``viewer`` may see: ``k`` distinct testimonies (each with its best passage, the
        passages around it and the query's words highlighted), or with ``group=False``
        the ``k`` closest passages."""
        query = query.strip()
        if not query:
            raise InputError("the search query is empty")
        if k < 1:
            raise InputError("k must be at least 1")
        if flt.theme:
            self.tagger.taxonomy.check_theme(flt.theme)
        self.require_embedder()
        self.vectors.refresh()
        vector = self.embedder.embed([query], kind="query")[0]
        depth = k if not group else max(20 * k, 200)
        scored = self.vectors.nearest(vector, depth, viewer, flt)
        if not group:
            return [
                replace(h, highlights=highlight(query, h.text))
                for h in self.store.hits(scored, viewer)
            ]
        return self._stories(query, vector, scored, viewer, k, weights, flt)

    def _uncommon(self, stems: list[str], total: int, viewer: Viewer) -> list[str]:
        """The stems held by at most :data:`COMMON_SHARE` of the passages: a common stem
        ("miner", "agua", "nuestra") says little in BM25 and makes the keyword search
        score a large share of the archive on every query. Below
        :data:`RARE_MIN_PASSAGES` passages no stem is uncommon (one passage in twenty is
        5%): there, "nuestra" would lift a Spanish story above the English one that
        answers a Spanish question. ``total`` is the number of passages ``viewer`` may
        read, and the shares are of those alone."""
        if total < RARE_MIN_PASSAGES:
            return []
        cap = int(total * COMMON_SHARE) + 1
        counts = self.store.stem_passages(stems, cap, viewer)
        return [s for s in stems if counts.get(s, 0) < cap]

    def _stories(
        self,
        query: str,
        vector: np.ndarray,
        scored: Sequence[tuple[int, float]],
        viewer: Viewer,
        k: int,
        weights: ContextWeights,
        flt: PassageFilter,
    ) -> list[Hit]:
        rare: dict[int, set[str]] = {}
        folded = query_terms(query)
        # every statistic ranking uses is of what this viewer may read (issue 26)
        total = self.vectors.visible_count(viewer)
        counts = self.store.term_passages(folded if weights.rare or weights.name else [], viewer)
        visible = self.vectors.visible(flt, viewer)
        # names and codes (rare words written as names): the stories holding them first,
        # at any archive size; and the other rare words of a large archive (rare_terms)
        holding = {
            term: self.store.keyword_passages([term], viewer, flt, limit=50, visible=visible)
            for term in name_candidates(counts, total) + rare_terms(counts, total)
        }
        names = name_terms(query, counts, total, self._capitalised(holding, viewer))
        rarest = rare_terms(counts, total)
        named: dict[int, set[str]] = {}
        for term, passages in holding.items():
            for pid, _ in passages:
                if term in names:
                    named.setdefault(pid, set()).add(term)
                if term in rarest:
                    rare.setdefault(pid, set()).add(term)
        # the query's word stems in the text (BM25): names, places and shared cognates
        kept = (
            self._uncommon(stem_terms(folded), total, viewer)
            if weights.keyword or weights.label
            else []
        )
        stemmed = (
            self.store.keyword_passages(
                kept, viewer, flt, limit=KEYWORD_DEPTH, prefix=True, visible=visible
            )
            if weights.keyword and kept
            else []
        )
        candidates = {pid: score for pid, score in scored}
        self._places.sync(self.store)
        found = [*rare, *named, *(pid for pid, _ in stemmed)]
        where, unsure = self._places.neighbours([*candidates, *found], viewer.consent)
        if unsure:
            where.update(self.store.neighbours(unsure, viewer))
        for pid, value in self._vectors(sorted(set(found) - set(candidates))).items():
            candidates[pid] = float(value @ vector)
        keyword: dict[str, float] = {}
        for pid, bm25 in stemmed:
            if pid in where:
                tid = where[pid][0]
                keyword[tid] = max(keyword.get(tid, 0.0), bm25 / stemmed[0][1])
        # the query's uncommon words (as for the stems): "nos" or "agua" in a title says
        # nothing about the story
        query_words = [w for w in folded if w[:STEM] in kept]
        stories = sorted({tid for tid, _, _ in where.values()})
        labels: dict[str, str] = {}
        if weights.label and query_words:
            labels, unknown = self._places.labels(stories, viewer)
            if unknown:  # testimonies added since the sync above
                labels.update(self.store.testimony_labels(unknown, viewer))
        label = label_shares(query_words, labels)
        themes = self._theme_agreement(query, vector, candidates, where, viewer, weights)
        # a story is scored by its best passage, that passage's neighbours and the whole
        # testimony: read those vectors, not every passage of every candidate story
        vectors = self._vectors(sorted(window_ids(candidates.items(), where)))
        whole = self.vectors.testimony_vectors(stories)
        text = self.vectors.text_vectors(stories) if weights.text else {}
        shares = _shares(rare, where, len(rarest))
        name_shares = _shares(named, where, len(names))
        ranked = rank_stories(
            vector,
            list(candidates.items()),
            where,
            vectors,
            whole,
            weights,
            shares,
            keyword,
            label,
            limit=k,
            name_hits=name_shares,
            theme_hits=themes,
            text=text,
        )
        # show the passage that holds the name (or rare word) searched for, not a
        # passage that merely means something close
        exact = {**rare, **named}
        for n, story in enumerate(ranked):
            held = [p for p in exact if p in where and where[p][0] == story.testimony_id]
            if held and story.passage_id not in exact:
                pid = max(held, key=lambda p: candidates.get(p, 0.0))
                _, before, after = where[pid]
                ranked[n] = replace(story, passage_id=pid, neighbours=(pid, before, after))
        hits = {
            h.passage_id: h
            for h in self.store.hits([(s.passage_id, s.score) for s in ranked], viewer)
        }
        around = [p for s in ranked for p in s.neighbours[1:] if p is not None]
        texts = self.store.texts(around, viewer)
        out = []
        for story in ranked:
            hit = hits.get(story.passage_id)
            if hit is None:
                continue
            _, before, after = story.neighbours
            out.append(
                replace(
                    hit,
                    context_before=texts.get(before, "") if before is not None else "",
                    context_after=texts.get(after, "") if after is not None else "",
                    matched=story.matched,
                    highlights=highlight(query, hit.text),
                )
            )
        return out

    def _theme_agreement(
        self,
        query: str,
        vector: np.ndarray,
        candidates: Mapping[int, float],
        where: Mapping[int, tuple[str, Any, Any]],
        viewer: Viewer,
        weights: ContextWeights,
    ) -> dict[str, float]:
        """Per candidate story, the best :func:`theme_agreement` of its candidate
        passages' tags (reviews applied) with the themes the tagger finds in the query
        (scored as Spanish and as English, the higher kept)."""
        if not weights.theme:
            return {}
        scores = [self.tagger.score([query], lang, vector[None, :]) for lang in ("es", "en")]
        asked = {
            theme: float(max(s.final[0, col] for s in scores))
            for col, theme in enumerate(scores[0].themes)
        }
        pids = [pid for pid in candidates if pid in where]
        tags = self.store.tags_for(pids, viewer)
        out: dict[str, float] = {}
        for pid in pids:
            agreement = theme_agreement(asked, {t.theme: t.score for t in tags.get(pid, [])})
            tid = where[pid][0]
            if agreement > out.get(tid, 0.0):
                out[tid] = agreement
        return out

    def _capitalised(
        self, holding: Mapping[str, Sequence[tuple[int, float]]], viewer: Viewer
    ) -> set[str]:
        """Which rare words the archive writes as names (:func:`capitalised_inside` the
        passages holding them, as the viewer reads them)."""
        ids = sorted({pid for passages in holding.values() for pid, _ in passages})
        texts = self.store.texts(ids, viewer) if ids else {}
        return {
            term
            for term, passages in holding.items()
            if capitalised_inside(term, (texts.get(pid, "") for pid, _ in passages))
        }

    def _vectors(self, ids: Sequence[int]) -> PassageVectors:
        """Vectors of passages for ranking, as the vector search keeps them."""
        return PassageVectors(*self.vectors.vectors(ids))

    def similar(
        self, testimony_id: str, viewer: Viewer, k: int = 10, other_regions: bool = False
    ) -> list[SimilarTestimony]:
        """Testimonies the viewer may see telling similar stories. With ``other_regions``:
        "the same story elsewhere", the closest testimony of each other region, regions
        ordered by how close their best one is."""
        testimony = self.store.get_testimony(testimony_id, viewer)
        embedder = self.require_embedder()
        self.vectors.refresh()
        passage_ids = [p.id for p in self.store.passages(testimony_id, viewer) if p.id]
        _, vectors = self.store.vectors(passage_ids, embedder.dim)
        if not len(vectors):
            return []
        centroid = vectors.mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        flt = PassageFilter(
            exclude_testimony=testimony_id,
            exclude_region=testimony.region if other_regions and testimony.region else "",
        )
        scored = self.vectors.nearest(centroid, max(k * 50, 400), viewer, flt)
        best: dict[str, Hit] = {}
        for hit in self.store.hits(scored, viewer):
            key = hit.region.strip().lower() if other_regions else hit.testimony_id
            if key not in best:
                best[key] = hit
            if len(best) == k:
                break
        return [
            SimilarTestimony(
                testimony_id=h.testimony_id,
                title=h.title,
                region=h.region,
                community=h.community,
                language=h.language,
                score=h.score,
                passage=h,
            )
            for h in best.values()
        ]


def _shares(
    holding: Mapping[int, set[str]], where: Mapping[int, tuple[str, Any, Any]], of: int
) -> dict[str, float]:
    """Per testimony, the share of ``of`` words its passages in ``holding`` hold."""
    held: dict[str, set[str]] = {}
    for pid, words in holding.items():
        if pid in where:
            held.setdefault(where[pid][0], set()).update(words)
    return {tid: len(words) / of for tid, words in held.items()} if of else {}
