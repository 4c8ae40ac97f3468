"""Deterministic stand-ins for the model protocols, for fast tests."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models.embedders import normalise_rows

# A tiny bilingual lexicon so the fake embedder puts "río" and "river" in one dimension:
# enough to exercise cross-language plumbing without a real model.
_SYNONYMS = {
    "rio": "river",
    "rios": "river",
    "rivers": "river",
    "agua": "water",
    "contaminado": "polluted",
    "contaminada": "polluted",
    "contaminacion": "polluted",
    "pollution": "polluted",
    "tierra": "land",
    "tierras": "land",
    "lands": "land",
    "mina": "mine",
    "minera": "mine",
    "ninos": "children",
    "enfermos": "sick",
    "policia": "police",
}
_WORD = re.compile(r"\w+")


def _fold(word: str) -> str:
    import unicodedata

    d = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in d if not unicodedata.combining(c))


class HashEmbedder:
    """Bag of (lightly translated) words hashed into ``dim`` buckets."""

    def __init__(self, dim: int = 64, name: str = "fake-hash") -> None:
        self.dim = dim
        self.name = f"{name}-{dim}"
        self.calls = 0

    def embed(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text):
                w = _fold(word)
                w = _SYNONYMS.get(w, w)
                bucket = int(hashlib.md5(w.encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
            out[row, row % self.dim] += 1e-3  # never an all-zero row
        return normalise_rows(out)


@dataclass
class FakeWhisperWord:
    """Quacks like faster_whisper's Word (its text keeps Whisper's leading space)."""

    start: float
    end: float
    word: str
    probability: float


@dataclass
class FakeWhisperSegment:
    start: float
    end: float
    text: str
    words: list[FakeWhisperWord] | None = None


class FakeWhisper:
    """Quacks like faster_whisper.WhisperModel: fixed segments, a fixed language guess.
    A segment is (start, end, text) or (start, end, text, [(start, end, word, p), ...])."""

    def __init__(self, segments: list[tuple[float, float, str]], probabilities=None) -> None:
        self.segments = segments
        self.probabilities = probabilities or [("ja", 0.5), ("es", 0.3), ("en", 0.2)]
        self.calls: list[dict] = []

    def detect_language(self, audio, vad_filter=False, language_detection_segments=1, **_):
        best = max(self.probabilities, key=lambda lp: lp[1])
        return best[0], best[1], list(self.probabilities)

    def transcribe(self, audio, language=None, **kwargs):
        self.calls.append({"language": language, **kwargs})
        segs = (
            FakeWhisperSegment(
                seg[0],
                seg[1],
                seg[2],
                [FakeWhisperWord(*w) for w in seg[3]] if len(seg) > 3 else None,
            )
            for seg in self.segments
        )
        return segs, None
