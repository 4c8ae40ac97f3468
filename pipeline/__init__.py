"""Ingestion stages (decode, transcribe, passages, tags) and the archive that joins them."""

from .archive import Archive, IngestResult, SimilarTestimony
from .audio import AUDIO_EXTENSIONS, SpooledAudio, decode_audio, spool_audio
from .errors import InputError, PipelineError
from .passages import PassageOptions, group_segments, split_text
from .tagger import TaggerOptions, ThemeTagger
from .taxonomy import Taxonomy, load_taxonomy
from .texts import Metadata, TextItem, read_text_items
from .transcribe import TranscribeOptions, Transcript, transcribe

__all__ = [
    "AUDIO_EXTENSIONS",
    "Archive",
    "IngestResult",
    "InputError",
    "Metadata",
    "PassageOptions",
    "PipelineError",
    "SimilarTestimony",
    "TaggerOptions",
    "Taxonomy",
    "TextItem",
    "ThemeTagger",
    "TranscribeOptions",
    "Transcript",
    "decode_audio",
    "spool_audio",
    "SpooledAudio",
    "group_segments",
    "load_taxonomy",
    "read_text_items",
    "split_text",
    "transcribe",
]
