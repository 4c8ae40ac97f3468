"""The archive: joins the stages to storage. The CLI and the API both go through here.

Ingest order keeps the archive whole: every model stage (decode, transcribe, passages,
embeddings, tags) runs in memory first; then the original recording is copied into
``VOCES_HOME/media`` under a temporary name and renamed; then the testimony, passages and
tags are written in one SQLite transaction; then the vectors are added to the FAISS index
and it is saved atomically. If anything fails before the transaction commits, nothing is
left behind. If the index cannot be saved after it, SQLite still holds the truth and the
next open adds the missing vectors (:meth:`Archive.sync_index`).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from corpus import (
    CONSENT_LEVELS,
    Consent,
    Hit,
    Passage,
    PassageFilter,
    Segment,
    Store,
    Testimony,
    VectorIndex,
)

from .audio import decode_audio, is_audio
from .errors import InputError, PipelineError
from .language import guess_language
from .passages import PassageOptions, group_segments, split_text
from .tagger import ThemeTagger
from .texts import TEXT_EXTENSIONS, Metadata, TextItem, read_text_items
from .transcribe import TranscribeOptions, transcribe

__all__ = ["Archive", "IngestResult", "SimilarTestimony", "TestimonyTheme"]

logger = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class IngestResult:
    id: str
    status: str  # "added" or "present"
    source: str
    passages: int = 0
    language: str = ""
    duration: float | None = None


@dataclass(frozen=True)
class TestimonyTheme:
    theme: str
    score: float
    passages: tuple[int, ...]  # supporting passage ids, strongest first
    reviewed: bool  # at least one supporting tag comes from a person


@dataclass(frozen=True)
class SimilarTestimony:
    testimony_id: str
    title: str
    region: str
    community: str
    language: str
    score: float
    passage: Hit  # the passage closest to the testimony asked about


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


class Archive:
    """A Voces archive in ``home``: SQLite store, FAISS index, media files, and models."""

    def __init__(
        self,
        home: Path,
        embedder: Any,
        tagger: ThemeTagger,
        whisper: Callable[[], Any] | None = None,
        transcribe_options: TranscribeOptions = TranscribeOptions(),
        passage_options: PassageOptions = PassageOptions(),
        fresh_index: bool = False,
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        (home / "media").mkdir(exist_ok=True)
        self.store = Store(home / "voces.sqlite3")
        self.embedder = embedder
        self.tagger = tagger
        self._whisper = whisper
        self.transcribe_options = transcribe_options
        self.passage_options = passage_options
        if fresh_index:  # rebuild: ignore (and replace) whatever index is on disk
            self.index = VectorIndex(home / "index", embedder.name, embedder.dim)
        else:
            self.index = VectorIndex.open(home / "index", embedder.name, embedder.dim)
        self._index_mtime = self._mtime()
        self.rebuilt = self.sync_index(force=fresh_index)

    # -- locking and index freshness -------------------------------------------------------

    @contextmanager
    def _writer(self) -> Iterator[None]:
        """One writer at a time across processes (CLI ingest while the server runs)."""
        with (self.home / ".write.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self.refresh()
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _mtime(self) -> int:
        try:
            return self.index.index_path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def refresh(self) -> None:
        """Reload the vector index if another process saved a newer one."""
        if self._mtime() != self._index_mtime:
            self.index = VectorIndex.open(
                self.home / "index", self.embedder.name, self.embedder.dim
            )
            self._index_mtime = self._mtime()

    def _save_index(self) -> None:
        self.index.save()
        self._index_mtime = self._mtime()

    def sync_index(self, progress: Progress | None = None, force: bool = False) -> int:
        """Make the index hold exactly the stored passages; returns vectors added."""
        stored = set(self.store.passage_ids())
        indexed = self.index.ids()
        missing = sorted(stored - indexed)
        stale = sorted(indexed - stored)
        if not missing and not stale and not force:
            return 0
        with (self.home / ".write.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if stale:
                self.index.remove(stale)
            if missing:
                logger.warning("adding %d passages missing from the vector index", len(missing))
                self._embed_into_index(missing, progress)
            self._save_index()
        return len(missing)

    def _embed_into_index(
        self, passage_ids: Sequence[int] | None, progress: Progress | None, batch: int = 256
    ) -> int:
        rows = list(self.store.passage_texts(passage_ids))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            vectors = self.embedder.embed([t for _, t in chunk], kind="passage")
            self.index.add([i for i, _ in chunk], vectors)
            if progress:
                progress(f"embedded {min(start + batch, len(rows))}/{len(rows)} passages")
        return len(rows)

    def reindex(self, progress: Progress | None = None) -> int:
        """Rebuild the vector index from SQLite with the configured embedder."""
        with (self.home / ".write.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.index = VectorIndex(self.home / "index", self.embedder.name, self.embedder.dim)
            count = self._embed_into_index(None, progress)
            self._save_index()
        return count

    # -- ingest ---------------------------------------------------------------------------

    def ingest_paths(
        self, paths: Sequence[Path], meta: Metadata, progress: Progress | None = None
    ) -> list[IngestResult]:
        """Ingest recordings and typed files. Every path is checked before any is read."""
        for path in paths:
            if not path.exists():
                raise InputError(f"no such file: {path}")
            if path.is_dir():
                raise InputError(f"{path} is a folder; pass the files in it")
            if not is_audio(path) and path.suffix.lower() not in TEXT_EXTENSIONS:
                raise InputError(
                    f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                    "use audio/video (wav, mp3, m4a, ogg, opus, flac, mp4, webm) or "
                    "text (.txt, .jsonl, .csv)"
                )
        results: list[IngestResult] = []
        for path in paths:
            if is_audio(path):
                results.append(self.ingest_audio(path, meta, progress))
            else:
                results.extend(self.ingest_texts(read_text_items(path, meta), progress))
        return results

    def ingest_audio(
        self, path: Path, meta: Metadata, progress: Progress | None = None
    ) -> IngestResult:
        source_hash = _sha256_file(path)
        existing = self.store.find_by_hash(source_hash)
        if existing:
            return IngestResult(existing, "present", path.name)
        if self._whisper is None:
            raise PipelineError("no speech recogniser is configured for this archive")
        audio = decode_audio(path)
        language = meta.language if meta.language not in ("", "auto") else None
        options = replace(self.transcribe_options, language=language)
        transcript = transcribe(self._whisper(), audio, options)
        segments: list[Segment] = []
        for segment in transcript.segments:
            segments.append(segment)
            if progress:
                progress(
                    f"{path.name}: {segment.end:6.1f}/{transcript.duration:.1f} s  {segment.text}"
                )
        grouped = list(group_segments(segments, self.passage_options))
        testimony_id = "a-" + source_hash[:16]
        testimony = Testimony(
            id=testimony_id,
            title=meta.title or path.stem.replace("_", " ").replace("-", " "),
            region=meta.region,
            community=meta.community,
            date=meta.date,
            language=transcript.language,
            language_probability=transcript.language_probability,
            duration=round(transcript.duration, 2),
            consent=_consent(meta.consent),
            source_kind="audio",
            source_name=path.name,
            source_hash=source_hash,
            media_path=f"media/{testimony_id}{path.suffix.lower()}",
            illustrative=meta.illustrative,
            extra=dict(meta.extra or {}),
        )
        passages = [
            Passage(testimony_id, seq, g.text, start=g.start, end=g.end)
            for seq, g in enumerate(grouped)
        ]
        with self._writer():
            self._store(testimony, passages, media_source=path)
        return IngestResult(
            testimony_id,
            "added",
            path.name,
            len(passages),
            transcript.language,
            testimony.duration,
        )

    def ingest_texts(
        self, items: Sequence[TextItem], progress: Progress | None = None
    ) -> list[IngestResult]:
        results = []
        for n, item in enumerate(items, start=1):
            source_hash = hashlib.sha256(item.text.encode("utf-8")).hexdigest()
            existing = (
                item.id if item.id and self.store.has_testimony(item.id) else None
            ) or self.store.find_by_hash(source_hash)
            if existing:
                results.append(IngestResult(existing, "present", item.source))
                continue
            language = item.meta.language
            probability = None
            if language in ("", "auto"):
                language, probability = guess_language(item.text)
            testimony = Testimony(
                id=item.id or "t-" + source_hash[:16],
                title=item.meta.title,
                region=item.meta.region,
                community=item.meta.community,
                date=item.meta.date,
                language=language,
                language_probability=probability,
                consent=_consent(item.meta.consent),
                source_kind="text",
                source_name=item.source.split(":")[0],
                source_hash=source_hash,
                illustrative=item.meta.illustrative,
                extra=dict(item.meta.extra or {}),
            )
            passages = [
                Passage(testimony.id, seq, text)
                for seq, text in enumerate(split_text(item.text, self.passage_options))
            ]
            with self._writer():
                self._store(testimony, passages)
            results.append(
                IngestResult(testimony.id, "added", item.source, len(passages), language)
            )
            if progress:
                progress(f"[{n}/{len(items)}] {testimony.id}: {len(passages)} passages")
        return results

    def _store(
        self, testimony: Testimony, passages: list[Passage], media_source: Path | None = None
    ) -> None:
        """Embed, tag and write one testimony; all of it or none of it."""
        if not passages:
            raise InputError(
                f"{testimony.source_name}: no speech or text found, nothing to archive"
            )
        vectors = self.embedder.embed([p.text for p in passages], kind="passage")
        tags = self.tagger.tag([p.text for p in passages], testimony.language, vectors)
        passages = [replace(p, tags=tuple(t)) for p, t in zip(passages, tags, strict=True)]
        media_target = self.home / testimony.media_path if media_source else None
        if media_source is not None and media_target is not None:
            fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=media_target.parent)
            os.close(fd)
            try:
                shutil.copyfile(media_source, tmp)
                os.replace(tmp, media_target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        try:
            ids = self.store.add_testimony(testimony, passages)
        except BaseException:
            if media_target is not None and media_target.exists():
                media_target.unlink()
            raise
        self.index.add(ids, vectors)
        try:
            self._save_index()
        except OSError as exc:  # SQLite holds the truth; the next open re-adds the vectors
            logger.error("could not save the vector index (%s); it will be repaired", exc)

    def retag(self, progress: Progress | None = None, batch: int = 256) -> int:
        """Recompute every passage's machine tags with the current tagger; reviews stay.

        Passage vectors come from the index, so nothing is embedded again."""
        ids = self.store.passage_ids()
        rows = self.store.passage_rows(ids)  # text and the testimony's language
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            vectors = self.index.vectors(chunk)
            tags = self.tagger.tag(
                [rows[i]["text"] for i in chunk],
                [rows[i]["language"] or "es" for i in chunk],
                vectors,
            )
            self.store.replace_machine_tags(dict(zip(chunk, tags, strict=True)))
            if progress:
                progress(f"re-tagged {min(start + batch, len(ids))}/{len(ids)} passages")
        return len(ids)

    def testimony_themes(
        self, testimony_id: str, passages: Sequence[Passage] | None = None
    ) -> list[TestimonyTheme]:
        """A testimony's themes, derived from its passages (pass them if already read):
        the best passage score and the passages that support each theme, strongest first."""
        support: dict[str, list[tuple[float, int, str]]] = {}
        if passages is None:
            passages = self.store.passages(testimony_id)
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

    def delete(self, testimony_id: str) -> None:
        with self._writer():
            testimony = self.store.get_testimony(testimony_id)
            removed = self.store.delete_testimony(testimony_id)
            self.index.remove(removed)
            self._save_index()
        if testimony.media_path:
            (self.home / testimony.media_path).unlink(missing_ok=True)

    # -- reading --------------------------------------------------------------------------

    def _hits(self, scored: Sequence[tuple[int, float]]) -> list[Hit]:
        rows = self.store.passage_rows([pid for pid, _ in scored])
        tags = self.store.tags_for([pid for pid, _ in scored])
        hits = []
        for pid, score in scored:
            row = rows.get(pid)
            if row is None:  # index ahead of the store (deleted meanwhile)
                continue
            hits.append(
                Hit(
                    testimony_id=row["testimony_id"],
                    passage_id=pid,
                    text=row["text"],
                    score=round(score, 4),
                    start=row["start"],
                    end=row["end"],
                    region=row["region"],
                    community=row["community"],
                    language=row["language"],
                    date=row["date"],
                    title=row["title"],
                    consent=row["consent"],
                    themes=tuple(dict.fromkeys(t.theme for t in tags.get(pid, []))),
                    has_audio=bool(row["has_audio"]),
                )
            )
        return hits

    def _allowed(self, flt: PassageFilter) -> list[int] | None:
        return None if flt == PassageFilter() else self.store.passage_ids(flt)

    def search(self, query: str, k: int = 10, flt: PassageFilter = PassageFilter()) -> list[Hit]:
        """Passages closest in meaning to ``query``, in any language, within ``flt``."""
        query = query.strip()
        if not query:
            raise InputError("the search query is empty")
        if k < 1:
            raise InputError("k must be at least 1")
        if flt.theme:
            self.tagger.taxonomy.check_theme(flt.theme)
        self.refresh()
        vector = self.embedder.embed([query], kind="query")[0]
        return self._hits(self.index.search(vector, k, self._allowed(flt)))

    def similar(
        self,
        testimony_id: str,
        k: int = 10,
        other_regions: bool = False,
        consent: tuple[Consent, ...] = CONSENT_LEVELS,
    ) -> list[SimilarTestimony]:
        """Testimonies telling similar stories (optionally only from other regions)."""
        testimony = self.store.get_testimony(testimony_id)
        self.refresh()
        passage_ids = [p.id for p in self.store.passages(testimony_id) if p.id is not None]
        if not passage_ids:
            return []
        centroid = self.index.vectors(passage_ids).mean(axis=0)
        centroid /= max(float(np.linalg.norm(centroid)), 1e-12)
        flt = PassageFilter(
            consent=consent,
            exclude_testimony=testimony_id,
            exclude_region=testimony.region if other_regions and testimony.region else "",
        )
        allowed = self.store.passage_ids(flt)
        best: dict[str, Hit] = {}
        for hit in self._hits(self.index.search(centroid, max(k * 8, 50), allowed)):
            if hit.testimony_id not in best:
                best[hit.testimony_id] = hit
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


def _consent(value: str) -> Consent:
    if value not in CONSENT_LEVELS:
        raise InputError(f"consent {value!r} is not one of {', '.join(CONSENT_LEVELS)}")
    return value  # type: ignore[return-value]
