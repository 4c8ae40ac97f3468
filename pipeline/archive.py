"""The archive: the front door the CLI, the API and the job worker all go through.

Every read takes the caller's :class:`~corpus.Viewer`, and every write goes through here
under one write lock. The work is done by collaborators with one job each:

- :class:`~pipeline.ingest.Ingest`: recordings and typed testimonies in, whole or not at
  all (models first, then one transaction under the lock);
- :class:`~pipeline.searching.Searcher`: grouped and passage search, similar stories;
- :class:`~pipeline.theme_work.ThemeWork`: theme shares, the review queue, emergent
  themes, re-tagging;
- the store (:class:`corpus.Store`: the source of truth, read through a viewer) and the
  vector search (:func:`corpus.open_vectors`: FAISS beside SQLite, or pgvector), which
  also holds the write lock (a file lock, or an advisory lock across machines).

The archive opens the vector search, embeds what has no stored vector, withdraws
testimonies (everything, everywhere), and hands every other call to the collaborator
that does it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from corpus import (
    EXACT_BELOW,
    Hit,
    JobTable,
    KeyRing,
    Passage,
    PassageEdit,
    PassageFilter,
    Review,
    Speaker,
    Store,
    Testimony,
    VectorIndex,
    Viewer,
    open_vectors,
    require,
)
from corpus.media import FolderMedia, MediaStore
from models.speakers import SpeakerEncoder

from . import partial
from .discover import MIN_CLUSTER_SIZE, EmergentTheme
from .embedding import Embedding
from .errors import PipelineError
from .evaluate_search import keyword_ranker
from .ingest import (
    MIN_SECONDS,
    Ingest,
    IngestResult,
    Progress,
    Redact,
    _consent,
    check_spoken_language,
    sha256_file,
)
from .passages import PassageOptions
from .prevalence import Prevalence
from .reading import Reading
from .review_queue import ReviewCandidate
from .search import DEFAULT_WEIGHTS, ContextWeights
from .searching import Searcher, SimilarTestimony
from .speakers import check_label, check_name
from .tagger import ThemeTagger
from .texts import Metadata, TextItem
from .theme_work import EMERGENT_FILE, TAXONOMY_FILE, TestimonyTheme, ThemeWork
from .transcribe import TranscribeOptions

__all__ = [
    "EMERGENT_FILE",
    "MIN_SECONDS",
    "TAXONOMY_FILE",
    "Archive",
    "IngestResult",
    "Progress",
    "Redact",
    "SimilarTestimony",
    "TestimonyTheme",
    "check_spoken_language",
    "default_database",
    "sha256_file",
]

logger = logging.getLogger(__name__)


def default_database(home: Path) -> Path | str:
    """Where an archive in ``home`` keeps its database unless told otherwise: a SQLite
    file beside its media (the laptop default)."""
    return home / "voces.sqlite3"


class Archive:
    """A Voces archive in ``home``: its store, vector search, media files, and models.

    The store is SQLite in ``home`` with a FAISS index beside it (the default), or
    PostgreSQL + pgvector when ``database`` is a ``postgresql://`` URL. ``shared`` holds
    recordings (``media/``) and staged uploads (``uploads/``): ``home`` by default, a
    folder every machine mounts when workers run on several.

    ``embedder=None`` opens the archive for reading metadata, counts and reviews without
    loading a model; searching and ingesting then raise :class:`PipelineError`.
    ``speaker_encoder`` loads the voice encoder diarization uses, on the first recording
    that needs it; without one every recording is one voice ("S1")."""

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
        speaker_encoder: Callable[[], SpeakerEncoder] | None = None,
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
        home.mkdir(parents=True, exist_ok=True)
        self.store = Store(database or default_database(home))
        self.embedder = embedder
        self.tagger = tagger
        self.redact = redact
        self.vectors = open_vectors(
            self.store,
            home,
            embedder.name if embedder is not None else "",
            embedder.dim if embedder is not None else 0,
            exact_below,
            snapshot_every,
        )
        self._ingest = Ingest(
            home,
            self.store,
            self.vectors,
            media or FolderMedia(self.shared),
            self.writing,
            embedder,
            tagger,
            whisper,
            transcribe_options,
            passage_options,
            redact,
            ingest_workers,
            speaker_encoder,
        )
        self._search = Searcher(self.store, self.vectors, embedder, tagger)
        self._themes = ThemeWork(home, self.store, embedder, tagger)
        self._read = Reading(self.store)
        self._embedding = Embedding(self.store, self.vectors, embedder, self.writing)
        #: passages embedded (or adopted from an old index) when the archive was opened
        self.rebuilt = self._embedding.open(fresh_index) if embedder is not None else 0
        if redact is not None:
            self.fill_redactions()

    # -- what the collaborators share ---------------------------------------------------------

    @property
    def media(self) -> MediaStore:
        """Recordings and staged uploads: the ``shared`` folder, or an S3 bucket."""
        return self._ingest.media

    @media.setter
    def media(self, value: MediaStore) -> None:
        self._ingest.media = value

    @property
    def index(self) -> VectorIndex | None:
        """The FAISS index, where there is one (tests and benches look inside it)."""
        return self.vectors.index

    @property
    def snapshot_every(self) -> int:
        """Vector changes after which the FAISS index is written to disk again."""
        return int(getattr(self.vectors, "snapshot_every", 0))

    @snapshot_every.setter
    def snapshot_every(self, value: int) -> None:
        self.vectors.snapshot_every = value  # type: ignore[attr-defined]

    @contextmanager
    def writing(self) -> Iterator[None]:
        """One writer at a time, across threads, processes and machines."""
        with self.vectors.writing():
            yield

    def _require_embedder(self) -> Any:
        if self.embedder is None:
            raise PipelineError("this archive was opened without an embedder")
        return self.embedder

    # -- the vectors ---------------------------------------------------------------------

    def _embed_passages(self, passage_ids: Sequence[int] | None) -> int:
        """Embed and store these passages' vectors (``voces check --repair``)."""
        return self._embedding.embed(passage_ids)

    def reindex(self, progress: Progress | None = None) -> int:
        """Re-embed every passage with the configured embedder and rebuild the index."""
        self._require_embedder()
        count = self._embedding.reembed_all()
        if progress:
            progress(f"re-embedded {count} passages with {self.embedder.name}")
        return count

    def rebuild_index(self) -> int:
        """Rebuild what the vector search derives from the stored vectors (no model
        needed): the FAISS index, its kind chosen by the archive's size
        (:mod:`corpus.index`); pgvector keeps its own."""
        self._require_embedder()
        return self.vectors.rebuild()

    def refresh(self) -> None:
        """Catch up with vector changes written since (by this process or another)."""
        self.vectors.refresh()

    def snapshot(self) -> None:
        """Keep the index on disk, so the next open replays less."""
        self.vectors.snapshot()

    def indexed(self) -> int:
        """How many passage vectors search can find."""
        self._require_embedder()
        return self.vectors.count()

    def warm_up(self) -> None:
        """Load every model, and the passages' places, now (before serving), not on the
        first request."""
        if self.embedder is not None:
            self.embedder.embed(["agua"], kind="query")
            self._search.warm_up()
        for language in ("es", "en"):
            self.tagger.tag(["el río"], language)
            if self.redact is not None:
                self.redact("Me llamo Ana.", language)

    def close(self) -> None:
        self.vectors.close()
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
        speakers: int | None = None,
    ) -> list[IngestResult]:
        """Ingest recordings and typed files. Every path is checked before any is read.
        ``speakers``: how many voices each recording holds (None: estimated)."""
        return self._ingest.ingest_paths(paths, meta, viewer, progress, speakers)

    def ingest_audio(
        self,
        path: Path,
        meta: Metadata,
        viewer: Viewer,
        progress: Progress | None = None,
        speakers: int | None = None,
    ) -> IngestResult:
        return self._ingest.ingest_audio(path, meta, viewer, progress, speakers)

    def check_speakers(self, speakers: object) -> int | None:
        """The number of speakers given for a recording, checked before it is queued."""
        return self._ingest.voices.check(speakers)

    def speaker_encoder(self) -> SpeakerEncoder | None:
        """The voice encoder (loaded on first use), None where the archive has none."""
        return self._ingest.voices.encoder()

    def ingest_texts(
        self,
        items: Sequence[TextItem],
        viewer: Viewer,
        progress: Progress | None = None,
        batch: int = 32,
    ) -> list[IngestResult]:
        return self._ingest.ingest_texts(items, viewer, progress, batch)

    def check_conflicts(self, items: Sequence[TextItem]) -> None:
        """Refuse ids already used by a testimony with other text or another consent."""
        self._ingest.check_conflicts(items)

    def check_recording(self, path: Path, consent: str, source: str) -> str | None:
        """Before queueing a recording: the id it is stored under (None if it is not), or
        ConflictError if it is stored with another consent."""
        return self._ingest.check_recording(path, consent, source)

    def fill_redactions(self) -> int:
        """Redact passages and titles stored without a redacted copy."""
        return self._ingest.fill_redactions()

    def correct_passage(
        self, passage_id: int, text: str, viewer: Viewer, editor: str = "", note: str = ""
    ) -> tuple[Passage, PassageEdit | None]:
        """Correct a passage's transcript (archivists): see :meth:`Ingest.correct_passage`."""
        return self._ingest.correct_passage(passage_id, text, viewer, editor, note)

    # -- speakers ---------------------------------------------------------------------------

    def speakers(self, testimony_id: str, viewer: Viewer) -> list[Speaker]:
        """A testimony's voices, names masked for viewers who may not see names."""
        return self.store.speakers(testimony_id, viewer)

    def rename_speaker(self, testimony_id: str, label: str, name: str, viewer: Viewer) -> Speaker:
        """Name a voice of a testimony (archivists; "" takes the name away)."""
        require(viewer, "name speakers")  # before the input is judged: refused is refused
        label, name = check_label(label), check_name(name)
        with self.writing():
            return self.store.rename_speaker(testimony_id, label, name, viewer)

    def set_speaker(self, passage_id: int, label: str, viewer: Viewer) -> Passage:
        """Fix a turn: the passage is this voice's (archivists). ``label`` is one of its
        testimony's voices or a new "S<n>". Returns the passage as the viewer sees it."""
        require(viewer, "fix turns")
        label = check_label(label)
        with self.writing():
            self.store.set_speaker(passage_id, label, viewer)
        return self.store.passage(passage_id, viewer)

    # -- consent and withdrawal ----------------------------------------------------------------

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
            self._themes.forget_discovery(deleted.passage_ids)
        self.vectors.refresh()
        self.vectors.snapshot()  # the old snapshot file held the deleted passages' vectors
        return len(deleted.passage_ids)

    # -- reading (every read through the viewer; see corpus.Store for each) ----------------

    @property
    def keys(self) -> KeyRing:
        """API keys: created, listed and revoked by admins (each call takes the viewer)."""
        return self.store.keys

    @property
    def jobs(self) -> JobTable:
        """Upload jobs as archivists follow them (each read takes the viewer)."""
        return self.store.jobs

    @property
    def read(self) -> Reading:
        """The reads the API and the CLI make of stored testimonies, each through the
        caller's viewer (:class:`~pipeline.reading.Reading`): no writes, no SQL."""
        return self._read

    def testimony(self, testimony_id: str, viewer: Viewer) -> Testimony:
        return self.store.get_testimony(testimony_id, viewer)

    def review(
        self,
        passage_id: int,
        theme: str,
        verdict: str,
        viewer: Viewer,
        reviewer: str = "",
        note: str = "",
    ) -> Review:
        """Record a person's verdict on a passage's theme: a write like any other,
        under the write lock."""
        with self.writing():
            return self.store.review(passage_id, theme, verdict, viewer, reviewer, note)

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
        ``viewer`` may see: ``k`` distinct testimonies, or with ``group=False`` the
        ``k`` closest passages (:meth:`Searcher.search`)."""
        return self._search.search(query, viewer, k, flt, group, weights)

    def _nearest(
        self, vector: Any, k: int, flt: PassageFilter, viewer: Viewer
    ) -> list[tuple[int, float]]:
        """The ``k`` passages closest to ``vector`` that ``viewer`` may see within ``flt``
        (for tests and benches of the vector search alone)."""
        self._require_embedder()
        return self.vectors.nearest(vector, k, viewer, flt)

    def similar(
        self, testimony_id: str, viewer: Viewer, k: int = 10, other_regions: bool = False
    ) -> list[SimilarTestimony]:
        """Testimonies the viewer may see telling similar stories; with ``other_regions``,
        "the same story elsewhere" (:meth:`Searcher.similar`)."""
        return self._search.similar(testimony_id, viewer, k, other_regions)

    # -- themes ---------------------------------------------------------------------------

    def theme_prevalence(self, viewer: Viewer, by: str = "") -> list[Prevalence]:
        """Estimated true theme shares among what ``viewer`` may see, with 90% intervals
        (:meth:`ThemeWork.theme_prevalence`)."""
        return self._themes.theme_prevalence(viewer, by)

    def testimony_themes(
        self, testimony_id: str, viewer: Viewer, passages: Sequence[Passage] | None = None
    ) -> list[TestimonyTheme]:
        return self._themes.testimony_themes(testimony_id, viewer, passages)

    def review_queue(
        self, viewer: Viewer, limit: int = 10, theme: str = "", pool: int = 300
    ) -> list[ReviewCandidate]:
        return self._themes.review_queue(viewer, limit, theme, pool)

    def discover_themes(
        self, viewer: Viewer, min_size: int = MIN_CLUSTER_SIZE, most: int = 50_000
    ) -> list[EmergentTheme]:
        return self._themes.discover_themes(viewer, min_size, most)

    def promote_emergent(
        self,
        viewer: Viewer,
        number: int,
        theme_id: str,
        labels: dict[str, str],
        parent: str = "",
        examples: int = 6,
    ) -> str:
        return self._themes.promote_emergent(viewer, number, theme_id, labels, parent, examples)

    def keyword_ranker(self, viewer: Viewer) -> Callable[[str], list[str]]:
        """The keyword baseline of ``voces eval search`` (testimony ids best first)."""
        return keyword_ranker(self.store, viewer)

    def review_totals(self, viewer: Viewer) -> dict[str, int]:
        """Current reviews per theme (archivists: counts only)."""
        require(viewer, "review")
        return self.store.review_totals()

    def retag(self, progress: Progress | None = None, batch: int = 256) -> int:
        """Recompute every passage's machine tags with the current tagger; reviews stay."""
        return self._themes.retag(progress, batch)
