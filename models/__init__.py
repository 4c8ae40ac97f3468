"""Loading and wrapping ML models behind small protocols. Nothing here downloads."""

from .embedders import EMBEDDERS, Embedder, load_embedder
from .errors import MissingDependencyError, ModelError
from .whisper import WhisperSpec, assemble_base_model, load_whisper

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "MissingDependencyError",
    "ModelError",
    "WhisperSpec",
    "assemble_base_model",
    "load_embedder",
    "load_whisper",
]
