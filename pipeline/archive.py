"""The archive: joins the stages to storage. The CLI, the API and the job worker all go
through here, and every read takes the caller's :class:`~corpus.Viewer`.

Ingest order keeps the archive whole. Every model stage (decode, transcribe, passages,
embeddings, tags, redaction) runs in memory first, outside any lock. Then, holding the
archive's write lock (a file lock, so a CLI ingest and a running server take turns), the
archive checks again that the source is not stored (a concurrent ingest of the same bytes
ends as "present" and touches nothing), copies the recording into ``VOCES_HOME/media``
(temporary name, fsync, rename) and writes the testimony, passages, tags and vectors in
one SQLite transaction. The FAISS index follows SQLite's log of vector changes (see
corpus/index.py); a crash at any point leaves either the whole testimony or none of it,
at worst with an orphan media file that ``voces check`` removes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from filelock import FileLock

from corpus import (
    CONSENT_LEVELS,
    EXACT_BELOW,
    PG_EXACT_BELOW,
    WITHHELD,
    ConflictError,
    Consent,
    ForbiddenError,
    Hit,
    IdSet,
    IndexMismatchError,
    MeanVectors,
    Passage,
    PassageEdit,
    PassageFilter,
    PassagePlaces,
    Segment,
    Store,
    Testimony,
    VectorIndex,
    Viewer,
)
from corpus.media import FolderMedia, MediaStore, replace_durably
from corpus.text import clock

from . import partial
from .audio import SpooledAudio, is_audio, spool_audio
from .discover import (
    MIN_CLUSTER_SIZE,
    EmergentTheme,
    cluster_passages,
    describe,
    keywords_by_cluster,
    promote_theme,
)
from .errors import InputError, PipelineError
from .language import TYPED_ONLY, guess_language
from .passages import PassageOptions, group_segments, split_text
from .prevalence import Prevalence, bundled_rates, choose_rates, estimate_cells
from .review_queue import ReviewCandidate, pick_for_review
from .search import (
    COMMON_SHARE,
    DEFAULT_WEIGHTS,
    KEYWORD_DEPTH,
    RARE_MIN_PASSAGES,
    STEM,
    ContextWeights,
    PassageVectors,
    highlight,
    label_shares,
    query_terms,
    rank_stories,
    rare_terms,
    stem_terms,
    window_ids,
)
from .tagger import ThemeTagger
from .taxonomy import parse_taxonomy, taxonomy_data
from .texts import TEXT_EXTENSIONS, Metadata, TextItem, check_metadata, read_text_items
from .transcribe import Checkpoint, TranscribeOptions, transcribe
from .uploads import check_complete

__all__ = [
    "Archive",
    "IngestResult",
    "Progress",
    "Redact",
    "SimilarTestimony",
    "TestimonyTheme",
]

logger = logging.getLogger(__name__)

#: Shorter recordings hold no speech worth a testimony (uploads use the same floor).
MIN_SECONDS = 0.2


#: filters whose allowed passage ids are kept between searches
ALLOWED_CACHE_SIZE = 64
#: what the last ``discover_themes`` found, and the taxonomy ``promote_emergent`` grows
EMERGENT_FILE = "emergent.json"
TAXONOMY_FILE = "taxonomy.json"


class Progress(Protocol):
    """Told what is happening, and how far along (0..1) when that is known."""

    def __call__(self, message: str, fraction: float | None = None) -> None: ...


class Redact(Protocol):
    """Masks what identifies a person (pipeline.redact.TextRedactor)."""

    def __call__(self, text: str, language: str) -> str: ...

    def many(self, texts: Sequence[str], language: str) -> list[str]: ...


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


@dataclass(frozen=True)
class _Prepared:
    """A testimony with everything the models computed, ready to be written."""

    testimony: Testimony
    passages: list[Passage]
    vectors: np.ndarray
    redacted: list[str]
    title_redacted: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _write_json(target: Path, data: Any) -> None:
    """Write JSON durably (see :func:`corpus.media.replace_durably`)."""
    text = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    replace_durably(target, lambda dst: dst.write(text))


def default_database(home: Path) -> Path | str:
    """Where an archive in ``home`` keeps its database unless told otherwise: a SQLite
    file beside its media (the laptop default)."""
    return home / "voces.sqlite3"


#: The PostgreSQL advisory lock that makes one writer at a time across machines.
WRITE_LOCK_KEY = 7406114


class Archive:
    """A Voces archive in ``home``: its store, vector index, media files, and models.

    The store is SQLite in ``home`` with a FAISS index beside it (the default), or
    PostgreSQL + pgvector when ``database`` is a ``postgresql://`` URL: vectors are then
    searched in SQL and there is no index file. ``shared`` holds recordings (``media/``)
    and staged uploads (``uploads/``): ``home`` by default, a folder every machine mounts
    when workers run on several.

    ``embedder=None`` opens the archive for reading metadata, counts and reviews without
    loading a model; searching and ingesting then raise :class:`PipelineError`."""

    def __init__(
        self,
        home: Path,
        embedder: Any,
        tagger: ThemeTagger,
        whisper: Callable[[], Any] | None = None,
        transcribe_options: TranscribeOptions = TranscribeOptions(),
        passage_options: PassageOptions = PassageOptions(),
        redact: Redact | None = None,
        fresh_index: bool = False,
        snapshot_every: int = 5000,
        exact_below: int = EXACT_BELOW,
        ingest_workers: int = 1,
        database: Path | str = "",
        shared: Path | None = None,
        media: MediaStore | None = None,
    ) -> None:
        if (home / ".restore" / "ready.json").exists():
            # a restore was swapping pieces in when it stopped: opening now would make
            # an empty database where the restored one is about to go
            raise PipelineError(
                f"a restore into {home} was interrupted half-way: run the same "
                "`voces restore` again to finish it before using the archive"
            )
        self.home = home
        self.shared = shared or home
        # recordings transcribed at once by ingest_paths (Whisper must be loaded with as
        # many workers, each on its share of the cores: see api.services.whisper_loader)
        self.ingest_workers = max(1, ingest_workers)
        home.mkdir(parents=True, exist_ok=True)
        #: recordings and staged uploads: the ``shared`` folder, or an S3 bucket
        self.media: MediaStore = media or FolderMedia(self.shared)
        self.store = Store(database or default_database(home))
        self.embedder = embedder
        self.tagger = tagger
        self.redact = redact
        self._whisper = whisper
        self.transcribe_options = transcribe_options
        self.passage_options = passage_options
        self.snapshot_every = snapshot_every
        self.exact_below = exact_below
        self._file_lock = FileLock(str(home / ".write.lock"), thread_local=False)
        self._thread_lock = threading.RLock()
        self._index_lock = threading.RLock()
        # snapshots take their own lock (never the write lock): writers hold the write
        # lock, then may refresh the index; a snapshot is taken under the index lock
        self._snapshot_file_lock = FileLock(str(home / ".snapshot.lock"), thread_local=False)
        self._snapshot_thread_lock = threading.Lock()
        self._snapshot_seq = 0
        self._allowed_lock = threading.Lock()
        self._count_cache: dict[tuple[str, ...], tuple[tuple[int, int], int]] = {}
        self._allowed_cache: OrderedDict[
            tuple[PassageFilter, tuple[str, ...]], tuple[int, int, IdSet]
        ] = OrderedDict()
        self._places = PassagePlaces()  # for grouped search's neighbour lookups
        self._means = MeanVectors()  # and its testimonies' mean vectors
        self.rebuilt = 0
        self.index: VectorIndex | None = None
        if embedder is not None:
            self._open_index(fresh_index)
        if redact is not None:
            self.fill_redactions()

    # -- locking and the index ---------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, across threads and processes."""
        if self.store.searches_vectors:  # PostgreSQL: one writer across every machine
            with self._thread_lock, self.store.db.advisory_lock(WRITE_LOCK_KEY):  # type: ignore[union-attr]
                yield
            return
        with self._thread_lock, self._file_lock:
            yield

    def _require_embedder(self) -> Any:
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.embedder

    def _require_index(self) -> VectorIndex:
        if self.index is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.index

    def _open_index(self, fresh: bool) -> None:
        folder, name, dim = self.home / "index", self.embedder.name, self.embedder.dim
        embedders = self.store.vector_embedders()
        if self.store.searches_vectors:
            self._open_sql_vectors(fresh, embedders)
            return
        if fresh or (embedders and embedders != {name}):
            if embedders and embedders != {name} and not fresh:
                raise IndexMismatchError(
                    f"the archive's vectors were made with {', '.join(sorted(embedders))}, "
                    f"but {name!r} is configured; set VOCES_EMBEDDER back or run "
                    "`voces reindex` to re-embed every passage"
                )
            self.index = VectorIndex(folder, name, dim, self.exact_below)
            self.rebuilt = self._reembed_all()
            return
        try:
            self.index = VectorIndex.open(folder, name, dim, self.exact_below)
        except IndexMismatchError:
            if not embedders:
                raise  # a legacy index of another embedder: the user must choose
            logger.warning("the index snapshot was made by another embedder; rebuilding it")
            self.index = VectorIndex(folder, name, dim, self.exact_below)
        except Exception as exc:  # a damaged snapshot: SQLite holds every vector
            logger.warning("rebuilding the vector index from SQLite (%s)", exc)
            self.index = VectorIndex(folder, name, dim, self.exact_below)
        self._backfill_vectors()
        if self.store.needs_testimony_vectors():
            with self.writing():
                self.store.fill_testimony_vectors()
        self._snapshot_seq = self.index.log_seq
        self.refresh()
        if len(self.index) != len(self.store.vector_ids()) or self.index.wants_rebuild():
            self.rebuild_index()

    def _open_sql_vectors(self, fresh: bool, embedders: set[str]) -> None:
        """PostgreSQL + pgvector: the vectors are searched where they are stored, so
        there is no index to open, snapshot or replay; only its HNSW index to make."""
        name = self.embedder.name
        if embedders and embedders != {name}:
            if not fresh:
                raise IndexMismatchError(
                    f"the archive's vectors were made with {', '.join(sorted(embedders))}, "
                    f"but {name!r} is configured; set VOCES_EMBEDDER back or run "
                    "`voces reindex` to re-embed every passage"
                )
            self.rebuilt = self._reembed_all()
        missing = sorted(self.store.all_passage_ids() - self.store.vector_ids())
        if missing:
            with self.writing():
                self._embed_passages(missing)
        if self.store.needs_testimony_vectors():
            with self.writing():
                self.store.fill_testimony_vectors()
        self.store.ensure_vector_index(self.embedder.dim)

    def _backfill_vectors(self) -> None:
        """Archives made before vectors lived in SQLite: take them from the old index
        (or embed the passages the old index lacked)."""
        index = self._require_index()
        missing = sorted(self.store.all_passage_ids() - self.store.vector_ids())
        if not missing:
            return
        with self.writing():
            missing = sorted(self.store.all_passage_ids() - self.store.vector_ids())
            held = index.ids() if index.legacy else set()
            from_index = [pid for pid in missing if pid in held]
            if from_index:
                self.store.put_vectors(from_index, index.vectors(from_index), self.embedder.name)
            to_embed = [pid for pid in missing if pid not in held]
            if to_embed:
                logger.warning("embedding %d passages that have no stored vector", len(to_embed))
                self._embed_passages(to_embed)
            index.clear()  # rebuilt from SQLite by the replay that follows
            self.rebuilt = len(missing)

    def _embed_passages(self, passage_ids: Sequence[int] | None, batch: int = 256) -> int:
        rows = self.store.passage_texts(Viewer.system(), passage_ids)
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            vectors = self.embedder.embed([text for _, text, _ in chunk], kind="passage")
            self.store.put_vectors([pid for pid, _, _ in chunk], vectors, self.embedder.name)
        return len(rows)

    def _reembed_all(self) -> int:
        with self.writing():
            count = self._embed_passages(None)
        self.rebuild_index()
        return count

    def rebuild_index(self) -> int:
        """Rebuild the FAISS index from the vectors in SQLite (no model needed), choosing
        its kind by the archive's size (see :mod:`corpus.index`). On PostgreSQL the
        HNSW index is kept by the database: nothing to rebuild."""
        if self.store.searches_vectors:
            self._require_embedder()
            return self.store.vector_count()
        index = self._require_index()
        with self._index_lock:
            head = self.store.index_log_head()
            ids = sorted(self.store.vector_ids())

            def sample(m: int) -> np.ndarray:
                rng = np.random.default_rng(len(ids))
                chosen = sorted(rng.choice(ids, size=min(m, len(ids)), replace=False).tolist())
                return self.store.vectors(chosen, index.dim)[1]

            def batches() -> Iterator[tuple[list[int], np.ndarray]]:
                for start in range(0, len(ids), 20_000):
                    yield self.store.vectors(ids[start : start + 20_000], index.dim)

            index.build(len(ids), sample, batches)
            index.log_seq = head
            self.snapshot()
            if index.recall_at_10 is not None:
                logger.info(
                    "built an IVF index over %d passages: %d cells, nprobe %d, recall@10 %.3f",
                    len(index),
                    index.plan.nlist,
                    index.nprobe,
                    index.recall_at_10,
                )
            return len(index)

    def refresh(self) -> None:
        """Bring the in-memory index up to date with SQLite's log of vector changes
        (and rebuild it when the archive has outgrown its kind of index)."""
        if self.store.searches_vectors:
            return
        index = self._require_index()
        with self._index_lock:
            changes = self.store.index_log(index.log_seq)
            if not changes:
                return
            touched = {pid for _, pid, _ in changes}
            last = {pid: op for _, pid, op in changes}
            index.remove(sorted(touched))
            added = sorted(pid for pid, op in last.items() if op == "add")
            found, vectors = self.store.vectors(added, index.dim)
            index.add(found, vectors)
            index.log_seq = changes[-1][0]
            if index.wants_rebuild():
                self.rebuild_index()
            elif index.log_seq - self._snapshot_seq >= self.snapshot_every:
                self.snapshot()

    def snapshot(self) -> None:
        """Write the index to disk (atomically) so the next open replays less. Temporary
        files left by a snapshot that was interrupted (a crash) are removed first."""
        if self.store.searches_vectors:
            return
        index = self._require_index()
        with self._index_lock, self._snapshot_thread_lock, self._snapshot_file_lock:
            for leftover in index.folder.glob(".index-*"):
                leftover.unlink(missing_ok=True)
            try:
                index.save()
                self._snapshot_seq = index.log_seq
            except OSError as exc:  # the log still holds every change
                logger.error("could not save the vector index snapshot (%s)", exc)

    def reindex(self, progress: Progress | None = None) -> int:
        """Re-embed every passage with the configured embedder and rebuild the index."""
        self._require_embedder()
        with self.writing():
            count = self._embed_passages(None)
        self.rebuild_index()
        if progress:
            progress(f"re-embedded {count} passages with {self.embedder.name}")
        return count

    def fill_redactions(self) -> int:
        """Redact passages and titles stored without a redacted copy."""
        if self.redact is None:
            return 0
        passages, titles = self.store.unredacted(Viewer.system())
        if not passages and not titles:
            return 0
        redact = self.redact
        with self.writing():
            by_language: dict[str, list[tuple[int, str]]] = {}
            for pid, text, lang in passages:
                by_language.setdefault(lang or "es", []).append((pid, text))
            masked = {
                pid: text
                for lang, rows in by_language.items()
                for pid, text in zip(
                    [p for p, _ in rows], redact.many([t for _, t in rows], lang), strict=True
                )
            }
            self.store.set_redactions(
                masked,
                {tid: redact(title, lang or "es") for tid, title, lang in titles},
            )
        return len(passages)

    def warm_up(self) -> None:
        """Load every model, and the passages' places, now (before serving), not on the
        first request."""
        if self.embedder is not None:
            self.embedder.embed(["agua"], kind="query")
            self._places.sync(self.store)
        for language in ("es", "en"):
            self.tagger.tag(["el río"], language)
            if self.redact is not None:
                self.redact("Me llamo Ana.", language)

    def close(self) -> None:
        if self.index is not None and self.index.log_seq != self._snapshot_seq:
            self.snapshot()
        self.store.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- ingest ---------------------------------------------------------------------------

    def ingest_paths(
        self,
        paths: Sequence[Path],
        meta: Metadata,
        viewer: Viewer,
        progress: Progress | None = None,
    ) -> list[IngestResult]:
        """Ingest recordings and typed files. Every path is checked before any is read."""
        meta = check_metadata(meta)
        for path in paths:
            if not path.exists():
                raise InputError(f"no such file: {path}")
            if path.is_symlink():
                raise InputError(f"{path} is a symbolic link; pass the file it points to")
            if path.is_dir():
                raise InputError(f"{path} is a folder; pass the files in it")
            if not path.is_file():
                raise InputError(f"{path} is not a regular file")
            if not is_audio(path) and path.suffix.lower() not in TEXT_EXTENSIONS:
                raise InputError(
                    f"{path.name}: unsupported file type {path.suffix or '(none)'}; "
                    "use audio/video (wav, mp3, m4a, ogg, opus, flac, mp4, webm) or "
                    "text (.txt, .jsonl, .csv)"
                )
        texts = {p: read_text_items(p, meta) for p in paths if not is_audio(p)}
        for items in texts.values():
            self.check_conflicts(items)
        recordings = [p for p in paths if is_audio(p)]
        heard: dict[Path, IngestResult] = {}
        if self.ingest_workers > 1 and len(recordings) > 1:
            # decode, transcribe, embed and store several recordings at once: CTranslate2
            # and PyAV release the GIL, and writes still take the archive's lock one by one
            with ThreadPoolExecutor(self.ingest_workers, thread_name_prefix="ingest") as pool:
                futures = {
                    p: pool.submit(self.ingest_audio, p, meta, viewer, progress) for p in recordings
                }
                heard = {p: f.result() for p, f in futures.items()}
        results: list[IngestResult] = []
        for path in paths:
            if is_audio(path):
                results.append(heard.get(path) or self.ingest_audio(path, meta, viewer, progress))
            else:
                results.extend(self.ingest_texts(texts[path], viewer, progress))
        return results

    def check_conflicts(self, items: Sequence[TextItem]) -> None:
        """Refuse ids already used by a testimony with other text or another consent."""
        for item in items:
            if item.id:
                self._present(item.id, _text_hash(item), item.meta.consent, item.source)

    def check_recording(self, path: Path, consent: str, source: str) -> str | None:
        """Before queueing a recording: the id it is stored under (None if it is not), or
        ConflictError if it is stored with another consent."""
        source_hash = sha256_file(path)
        return self._present(_audio_id(source_hash), source_hash, consent, source)

    def _present(
        self, testimony_id: str, source_hash: str, consent: str, source: str
    ) -> str | None:
        """The id under which this source is stored, None if it is not; ConflictError if
        the id holds other content or the source is stored with another consent."""
        found = self.store.find_by_hash(source_hash)
        if found is not None:
            existing, stored_consent = found
            if stored_consent != consent:
                raise ConflictError(
                    f"{source}: already stored as {existing} with consent {stored_consent!r}, "
                    f"not {consent!r}; change it with `voces consent {existing} {consent}`"
                )
            return existing
        if self.store.source_of(testimony_id) is not None:
            raise ConflictError(
                f"{source}: id {testimony_id!r} is already used by a testimony with other "
                "content; choose another id"
            )
        return None

    def ingest_audio(
        self, path: Path, meta: Metadata, viewer: Viewer, progress: Progress | None = None
    ) -> IngestResult:
        if not viewer.can_write:
            raise PipelineError("ingesting needs an archivist")
        meta = check_metadata(meta, path.name)
        check_spoken_language(meta.language, path.name)
        consent = _consent(meta.consent)
        source_hash = sha256_file(path)
        testimony_id = _audio_id(source_hash)
        existing = self._present(testimony_id, source_hash, consent, path.name)
        if existing:
            # a process killed between storing it and cleaning up left these behind
            for leftover in (self.home / "partial").glob(f"{source_hash}.*"):
                leftover.unlink(missing_ok=True)
            return IngestResult(existing, "present", path.name)
        if self._whisper is None:
            raise PipelineError("no speech recogniser is configured for this archive")
        # an ingest of these bytes killed mid-way (which this one resumes) left its
        # decoded audio: the whole recording, in a file nobody will remove otherwise
        partial.remove_dead_spools(self.home, source_hash)
        # the decoded audio is spooled to disk (16-bit, 115 MB an hour) and read back a
        # chunk at a time: two hours held as float32 would be 460 MB of the peak
        audio = spool_audio(path, partial.spool_path(self.home, source_hash))
        try:
            return self._ingest_spooled(path, meta, consent, source_hash, audio, progress, viewer)
        finally:
            audio.remove()

    def _ingest_spooled(
        self,
        path: Path,
        meta: Metadata,
        consent: Consent,
        source_hash: str,
        audio: SpooledAudio,
        progress: Progress | None,
        viewer: Viewer,
    ) -> IngestResult:
        testimony_id = _audio_id(source_hash)
        check_complete(path, len(audio) / 16_000)
        if len(audio) < MIN_SECONDS * 16_000:
            raise InputError(
                f"{path.name} holds {len(audio) / 16_000:.2f} s of audio; nothing to transcribe"
            )
        language = meta.language if meta.language not in ("", "auto") else None
        options = replace(self.transcribe_options, language=language)
        # finished chunks of a long recording are kept here, so an interrupted ingest
        # (a crash, a killed worker) resumes after its last finished chunk
        checkpoint = Checkpoint(partial.checkpoint_path(self.home, source_hash))
        assert self._whisper is not None
        began = time.monotonic()
        transcript = transcribe(self._whisper(), audio, options, checkpoint)
        segments: list[Segment] = []
        started = time.monotonic()
        first: float | None = None  # where this run started decoding (after resumed chunks)
        for segment in transcript.segments:
            segments.append(segment)
            if progress:
                total = max(transcript.duration, 1e-6)
                left = ""
                if first is None:
                    first = segment.end
                elif segment.end > first:
                    rate = (segment.end - first) / max(time.monotonic() - started, 1e-6)
                    left = f"  (about {clock((total - segment.end) / rate)} left)"
                progress(
                    f"{path.name}: {clock(segment.end)}/{clock(total)}{left}  {segment.text}",
                    0.95 * min(1.0, segment.end / total),
                )
        language, probability, duration = (
            transcript.language,
            transcript.language_probability,
            transcript.duration,
        )
        del transcript
        audio.remove()  # transcribed: 115 MB an hour of disk not needed to store
        grouped = list(group_segments(segments, self.passage_options))
        testimony = Testimony(
            id=testimony_id,
            title=meta.title or path.stem.replace("_", " ").replace("-", " "),
            region=meta.region,
            community=meta.community,
            date=meta.date,
            language=language,
            language_probability=probability,
            duration=round(duration, 2),
            consent=consent,
            source_kind="audio",
            source_name=path.name,
            source_hash=source_hash,
            media_path=f"media/{testimony_id}{path.suffix.lower()}",
            illustrative=meta.illustrative,
            allow_names=meta.allow_names,
            extra=dict(meta.extra or {}),
        )
        passages = [
            Passage(testimony_id, seq, g.text, start=g.start, end=g.end)
            for seq, g in enumerate(grouped)
        ]
        transcribed = time.monotonic()
        prepared = self._prepare(testimony, passages)
        models_done = time.monotonic()
        status = self._store(prepared, viewer, media_source=path)
        checkpoint.remove()
        # where an ingest's time went (bench/ingest_long.py reads this line)
        logger.info(
            "ingest stages %s",
            json.dumps(
                {
                    "file": path.name,
                    "audio_s": testimony.duration,
                    "transcribe_s": round(transcribed - began, 2),
                    "models_s": round(models_done - transcribed, 2),
                    "store_s": round(time.monotonic() - models_done, 2),
                    "passages": len(passages),
                }
            ),
        )
        return IngestResult(
            testimony_id,
            status,
            path.name,
            len(passages) if status == "added" else 0,
            language,
            testimony.duration,
        )

    def ingest_texts(
        self,
        items: Sequence[TextItem],
        viewer: Viewer,
        progress: Progress | None = None,
        batch: int = 32,
    ) -> list[IngestResult]:
        """Store typed testimonies, ``batch`` at a time through the models (one embedding,
        tagging and redaction call per batch); each testimony is still written in its own
        transaction, so an interruption keeps every testimony whole."""
        if not viewer.can_write:
            raise PipelineError("ingesting needs an archivist")
        self.check_conflicts(items)
        results: list[IngestResult] = []
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            new: list[tuple[TextItem, Testimony, list[Passage]]] = []
            for item in chunk:
                source_hash = _text_hash(item)
                testimony_id = item.id or "t-" + source_hash[:16]
                existing = self._present(testimony_id, source_hash, item.meta.consent, item.source)
                if existing:
                    results.append(IngestResult(existing, "present", item.source))
                    continue
                testimony = self._typed_testimony(item, testimony_id, source_hash)
                passages = [
                    Passage(testimony.id, seq, text)
                    for seq, text in enumerate(split_text(item.text, self.passage_options))
                ]
                new.append((item, testimony, passages))
            prepared = self._prepare_many([(t, p) for _, t, p in new])
            for (item, testimony, passages), ready in zip(new, prepared, strict=True):
                status = self._store(ready, viewer)
                results.append(
                    IngestResult(
                        testimony.id,
                        status,
                        item.source,
                        len(passages) if status == "added" else 0,
                        testimony.language,
                    )
                )
            if progress:
                done = min(start + batch, len(items))
                progress(f"[{done}/{len(items)}] typed testimonies", done / len(items))
        return results

    def _typed_testimony(self, item: TextItem, testimony_id: str, source_hash: str) -> Testimony:
        language = item.meta.language
        probability = None
        if language in ("", "auto"):
            language, probability = guess_language(item.text)
        return Testimony(
            id=testimony_id,
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
            allow_names=item.meta.allow_names,
            extra=dict(item.meta.extra or {}),
        )

    def _prepare(self, testimony: Testimony, passages: list[Passage]) -> _Prepared:
        return self._prepare_many([(testimony, passages)])[0]

    def _prepare_many(self, stories: Sequence[tuple[Testimony, list[Passage]]]) -> list[_Prepared]:
        """Run the models over several testimonies at once: embeddings, theme tags and
        redactions (no lock held)."""
        for testimony, passages in stories:
            if not passages:
                raise InputError(
                    f"{testimony.source_name}: no speech or text found, nothing to archive"
                )
        if not stories:
            return []
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        texts = [p.text for _, passages in stories for p in passages]
        languages = [t.language or "es" for t, passages in stories for _ in passages]
        titles = [(t.title, t.language or "es") for t, _ in stories]
        vectors = self.embedder.embed(texts, kind="passage")
        tags = self.tagger.tag(texts, languages, vectors)
        # titles go through NER in the same batches as the passages. (Running redaction
        # in a thread beside embedding and tagging was slower: 66 against 76 passages/s.)
        redacted, titles_redacted = (
            self._redact_all(texts, languages, titles)
            if self.redact is not None
            else (list(texts), [""] * len(titles))
        )
        out: list[_Prepared] = []
        at = 0
        for testimony, passages in stories:
            n = len(passages)
            tagged = [
                replace(p, tags=tuple(t)) for p, t in zip(passages, tags[at : at + n], strict=True)
            ]
            out.append(
                _Prepared(
                    testimony,
                    tagged,
                    vectors[at : at + n],
                    redacted=redacted[at : at + n] if self.redact else [],
                    title_redacted=titles_redacted[len(out)],
                )
            )
            at += n
        return out

    def _redact_all(
        self, texts: Sequence[str], languages: Sequence[str], titles: Sequence[tuple[str, str]]
    ) -> tuple[list[str], list[str]]:
        """Redacted copies of passages and titles, each language in one batch."""
        assert self.redact is not None
        redacted = list(texts)
        titled = [title for title, _ in titles]
        items = [
            (t, lang, "p", n) for n, (t, lang) in enumerate(zip(texts, languages, strict=True))
        ]
        items += [(t, lang, "t", n) for n, (t, lang) in enumerate(titles)]
        by_language: dict[str, list[tuple[str, str, int]]] = {}
        for text, lang, kind, n in items:
            by_language.setdefault(lang, []).append((text, kind, n))
        for lang, rows in by_language.items():
            masked = self.redact.many([text for text, _, _ in rows], lang)
            for (_, kind, n), text in zip(rows, masked, strict=True):
                if kind == "p":
                    redacted[n] = text
                else:
                    titled[n] = text
        return redacted, titled

    def _store(self, prepared: _Prepared, viewer: Viewer, media_source: Path | None = None) -> str:
        """Write one prepared testimony, all or nothing; "present" if it raced another."""
        testimony = prepared.testimony
        with self.writing():
            if self._present(
                testimony.id, testimony.source_hash, testimony.consent, testimony.source_name
            ):
                return "present"  # a concurrent ingest of the same source won
            media_target = testimony.media_path if media_source else None
            if media_source is not None and media_target:
                self.media.put(media_target, media_source)
            try:
                self.store.add_testimony(
                    testimony,
                    prepared.passages,
                    prepared.vectors,
                    self.embedder.name,
                    viewer,
                    redacted=prepared.redacted if self.redact else None,
                    title_redacted=prepared.title_redacted if self.redact else None,
                )
            except BaseException:
                # the source was not stored when we took the lock: the file is ours
                if media_target:
                    self.media.delete(media_target)
                raise
        if self.index is not None:
            self.refresh()
        return "added"

    def retag(self, progress: Progress | None = None, batch: int = 256) -> int:
        """Recompute every passage's machine tags with the current tagger; reviews stay.

        Passage vectors come from the store, so nothing is embedded again."""
        index = self._require_embedder()
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

    def correct_passage(
        self, passage_id: int, text: str, viewer: Viewer, editor: str = "", note: str = ""
    ) -> tuple[Passage, PassageEdit | None]:
        """Correct a passage's transcript (archivists). Its times stay; the new text is
        embedded, tagged and redacted again, and the edit is kept in its history. Returns
        the passage as the viewer now sees it, and the edit (None if nothing changed)."""
        self._require_embedder()
        if not viewer.can_write:
            raise ForbiddenError("correcting a transcript needs an archivist's key")
        text = " ".join(text.split())
        if not text:
            raise InputError("a corrected passage cannot be empty")
        before = self.store.passage(passage_id, viewer)
        language = self.store.get_testimony(before.testimony_id, viewer).language or "es"
        vector = self.embedder.embed([text], kind="passage")
        tags = self.tagger.tag([text], [language], vector)[0]
        redacted = self.redact.many([text], language)[0] if self.redact is not None else None
        with self.writing():
            edit = self.store.correct_passage(
                passage_id,
                text,
                viewer,
                redacted=redacted,
                vector=vector[0],
                embedder=self.embedder.name,
                tags=tags,
                editor=editor,
                note=note,
            )
        if edit is not None:
            self.refresh()
        return self.store.passage(passage_id, viewer), edit

    # -- consent and deletion -----------------------------------------------------------------

    def set_consent(self, testimony_id: str, consent: str, viewer: Viewer) -> Testimony:
        with self.writing():
            return self.store.set_consent(testimony_id, _consent(consent), viewer)

    def delete(self, testimony_id: str, viewer: Viewer) -> int:
        """Withdraw a testimony everywhere (issue 26): passages, tags, reviews, edits and
        vectors in one transaction, the names its upload jobs and their audit entries
        held, the deleted bytes purged from the database files
        (:meth:`corpus.Store.delete_testimony`); then its recording, staged uploads,
        what a transcription left under ``partial/``, its vectors in the index snapshot,
        and the last theme discovery if it drew on its passages. Returns passages removed."""
        with self.writing():
            deleted = self.store.delete_testimony(testimony_id, viewer)
            testimony = deleted.testimony
            if testimony.media_path:
                self.media.delete(testimony.media_path)
            for job in deleted.jobs:
                self.media.delete_under(f"uploads/{job}/")
            if testimony.source_kind == "audio":
                partial.remove_recording(self.home, testimony.source_hash)
            self._forget_discovery(deleted.passage_ids)
        if self.index is not None:
            self.refresh()
            self.snapshot()  # the old snapshot file held the deleted passages' vectors
        return len(deleted.passage_ids)

    def _forget_discovery(self, passage_ids: Sequence[int]) -> None:
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

    # -- reading --------------------------------------------------------------------------

    def testimony(self, testimony_id: str, viewer: Viewer) -> Testimony:
        return self.store.get_testimony(testimony_id, viewer)

    def passages(self, testimony_id: str, viewer: Viewer) -> list[Passage]:
        return self.store.passages(testimony_id, viewer)

    def recording(self, testimony_id: str, viewer: Viewer) -> str | None:
        """The media name of the recording of a testimony the viewer may see, if it has
        one and it is stored (read it through :attr:`media`)."""
        t = self.store.get_testimony(testimony_id, viewer)
        return t.media_path if t.media_path and self.media.exists(t.media_path) else None

    def media_file(self, testimony_id: str, viewer: Viewer) -> Path | None:
        """The recording as a local file, when the media store is a folder."""
        name = self.recording(testimony_id, viewer)
        return self.media.local_path(name) if name else None

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
        if not viewer.can_write:
            raise ForbiddenError("reviewing needs an archivist's key")
        if limit < 1 or pool < 1:
            raise InputError("limit and pool must be at least 1")
        if theme:
            self.tagger.taxonomy.check_theme(theme)
        rows = self.store.review_pool(viewer, pool, theme)
        if not rows:
            return []
        dim = self._require_embedder().dim
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
        dim = self._require_embedder().dim
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
        if not viewer.can_write:
            raise ForbiddenError("promoting a theme needs an archivist's key")
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

    def _allowed(self, flt: PassageFilter, viewer: Viewer) -> IdSet | None:
        """The passages ``viewer`` may find within ``flt`` (``None``: every passage).

        Cached per (filter, consent levels). The store's filter generation, which every
        write that could change the answer bumps (in SQLite, so writes by other processes
        count too), invalidates an entry; passages added since it was made (ids above
        the largest it saw) are checked and added alone. A repeated filter costs one
        counter read, also while an ingest is adding testimonies."""
        consent = tuple(sorted(viewer.consent))
        if flt == PassageFilter() and set(consent) == set(CONSENT_LEVELS):
            return None  # everything stored is allowed
        generation, top = self.store.filter_generation()
        key = (flt, consent)
        with self._allowed_lock:
            cached = self._allowed_cache.get(key)
        if cached is not None and cached[0] == generation and cached[1] == top:
            with self._allowed_lock:
                self._allowed_cache.move_to_end(key)
            return cached[2]
        if cached is not None and cached[0] == generation and cached[1] < top:
            new = self.store.passage_ids(viewer, flt, after=cached[1])
            ids = IdSet(np.concatenate([cached[2].ids, new])) if len(new) else cached[2]
        else:
            ids = IdSet(self.store.passage_ids(viewer, flt))
        with self._allowed_lock:
            self._allowed_cache[key] = (generation, top, ids)
            self._allowed_cache.move_to_end(key)
            while len(self._allowed_cache) > ALLOWED_CACHE_SIZE:
                self._allowed_cache.popitem(last=False)
        return ids

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
        self._require_embedder()
        self.refresh()
        vector = self.embedder.embed([query], kind="query")[0]
        depth = k if not group else max(20 * k, 200)
        scored = self._nearest(vector, depth, flt, viewer)
        if not group:
            return [
                replace(h, highlights=highlight(query, h.text))
                for h in self.store.hits(scored, viewer)
            ]
        return self._stories(query, vector, scored, viewer, k, weights, flt)

    def _nearest(
        self, vector: np.ndarray, k: int, flt: PassageFilter, viewer: Viewer
    ) -> list[tuple[int, float]]:
        """The ``k`` passages closest to ``vector`` that ``viewer`` may see within ``flt``:
        in SQL on PostgreSQL, else in the FAISS index restricted to the allowed ids."""
        if self.store.searches_vectors:
            exact = self._searched_count(viewer) < PG_EXACT_BELOW
            return self.store.nearest(vector, k, viewer, flt, self.embedder.name, exact)
        index = self._require_index()
        allowed = self._allowed(flt, viewer)
        with self._index_lock:
            return index.search(vector, k, allowed)

    def _visible(
        self, flt: PassageFilter, viewer: Viewer
    ) -> Callable[[np.ndarray], np.ndarray] | None:
        """Which of some passage ids ``viewer`` may find within ``flt``, tested against
        the id set the vector search uses (:meth:`_allowed`, cached), for the keyword
        searches beside it; ``None`` on PostgreSQL, where SQL tests it."""
        if self.store.searches_vectors:
            return None
        allowed = self._allowed(flt, viewer)
        if allowed is None:  # every stored passage
            return lambda ids: np.ones(len(ids), dtype=bool)
        return allowed.holds

    def indexed(self) -> int:
        """How many passage vectors search can find (the FAISS index's size, or the
        vectors in PostgreSQL)."""
        if self.store.searches_vectors:
            return self.store.vector_count()
        return len(self._require_index())

    def _searched_count(self, viewer: Viewer) -> int:
        """How many passages ``viewer`` may read, for ranking's thresholds (a share of
        what the caller searches: hidden passages never count, or adding one would move
        public scores). On SQLite, the size of the id set search already keeps per
        consent level (:meth:`_allowed`, the index's size for those who read everything);
        on PostgreSQL a count made again only when the store's filter generation or its
        largest passage id has moved, which a write that adds or removes passages or
        changes a consent does."""
        if not self.store.searches_vectors:
            allowed = self._allowed(PassageFilter(), viewer)
            return self.indexed() if allowed is None else len(allowed)
        key = (self.store.filter_generation(), tuple(sorted(viewer.consent)))
        with self._allowed_lock:
            cached = self._count_cache.get(key[1])
        if cached is None or cached[0] != key[0]:
            cached = (key[0], self.store.passage_count(viewer))
            with self._allowed_lock:
                self._count_cache[key[1]] = cached
        return cached[1]

    def _vectors(self, ids: Sequence[int]) -> PassageVectors:
        """Vectors of passages for ranking: from the index (in memory; reading 600 blobs
        from SQLite cost 4 ms a search at 100k passages), SQLite for any it lacks."""
        if self.store.searches_vectors:
            return PassageVectors(*self.store.vectors(ids, self.embedder.dim))
        index = self._require_index()
        with self._index_lock:
            found, array = index.lookup(ids)
        held = set(found)
        missing = [pid for pid in ids if pid not in held]
        if missing:
            more, extra = self.store.vectors(missing, index.dim)
            found, array = [*found, *more], np.concatenate([array, extra])
        return PassageVectors(found, array)

    def _testimony_vectors(self, testimony_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Mean passage vectors of testimonies, for ranking: kept in memory
        (:class:`~corpus.MeanVectors`) under the vector log position the index has
        reached, which this search's :meth:`refresh` brought up to date; from
        PostgreSQL as they are."""
        dim = self.embedder.dim
        if self.store.searches_vectors:
            return self.store.testimony_vectors(testimony_ids, dim)
        stamp = self._require_index().log_seq
        return self._means.get(self.store, testimony_ids, dim, stamp)

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
        total = self._searched_count(viewer)
        counts = self.store.term_passages(folded if weights.rare else [], viewer)
        rarest = rare_terms(counts, total)
        visible = self._visible(flt, viewer)
        for term in rarest:  # exact names and codes: found even where meaning is not
            for pid, _ in self.store.keyword_passages(
                [term], viewer, flt, limit=50, visible=visible
            ):
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
        found = [*rare, *(pid for pid, _ in stemmed)]
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
        # a story is scored by its best passage, that passage's neighbours and the whole
        # testimony: read those vectors, not every passage of every candidate story
        vectors = self._vectors(sorted(window_ids(candidates.items(), where)))
        whole = self._testimony_vectors(stories)
        held: dict[str, set[str]] = {}
        for pid, words in rare.items():
            if pid in where:
                held.setdefault(where[pid][0], set()).update(words)
        shares = {tid: len(words) / len(rarest) for tid, words in held.items()}
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
        )
        # show the passage that holds the rare word (the name searched for), not a
        # passage that merely means something close
        for n, story in enumerate(ranked):
            holding = [p for p in rare if p in where and where[p][0] == story.testimony_id]
            if holding and story.passage_id not in rare:
                pid = max(holding, key=lambda p: candidates.get(p, 0.0))
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

    def similar(
        self, testimony_id: str, viewer: Viewer, k: int = 10, other_regions: bool = False
    ) -> list[SimilarTestimony]:
        """Testimonies the viewer may see telling similar stories. With ``other_regions``:
        "the same story elsewhere", the closest testimony of each other region, regions
        ordered by how close their best one is."""
        testimony = self.store.get_testimony(testimony_id, viewer)
        embedder = self._require_embedder()
        self.refresh()
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
        scored = self._nearest(centroid, max(k * 50, 400), flt, viewer)
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


def check_spoken_language(language: str, source: str) -> None:
    """Refuse a recording declared in a language Whisper cannot transcribe (Quechua,
    Aymara): it would fail in the worker, after the upload was accepted."""
    if language in TYPED_ONLY:
        raise InputError(
            f"{source}: Whisper cannot transcribe {TYPED_ONLY[language]}; upload a typed "
            "transcription of the recording, or declare the language spoken in it "
            "(es, en, or auto)"
        )


def _text_hash(item: TextItem) -> str:
    return hashlib.sha256(item.text.encode("utf-8")).hexdigest()


def _audio_id(source_hash: str) -> str:
    """A recording's testimony id: from its content, so the same file is found again."""
    return "a-" + source_hash[:16]


def _consent(value: str) -> Consent:
    if value not in CONSENT_LEVELS:
        raise InputError(f"consent {value!r} is not one of {', '.join(CONSENT_LEVELS)}")
    return value  # type: ignore[return-value]
