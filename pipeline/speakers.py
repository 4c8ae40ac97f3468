"""Speaker turns at ingest (issue 29): each transcribed segment gets the voice heard
longest in it, and what an archivist says about voices is checked here.

Diarization (:func:`pipeline.diarize.diarize`) runs over the segments Whisper found, so
it costs a few windows per segment (bench/diarization.py measured 3 % of transcription's
time); a recording of one voice, or one declared to hold one voice, is "S1" throughout
without loading the encoder.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from corpus import Segment
from models.speakers import SpeakerEncoder

from .diarize import DiarizeOptions, Samples, diarize
from .errors import InputError, PipelineError

__all__ = [
    "MAX_SPEAKERS",
    "Voices",
    "check_label",
    "check_name",
    "check_speakers",
    "label_segments",
]

logger = logging.getLogger(__name__)

#: The most voices an archivist may declare (and an estimate may find).
MAX_SPEAKERS = 8
#: The longest name a voice may be given (as corpus.writes.NAME_MAX).
NAME_MAX = 200


def check_speakers(value: object) -> int | None:
    """The number of speakers given for a recording: None (estimate it) or a whole
    number from 1 to :data:`MAX_SPEAKERS`; anything else is an InputError."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 1 <= number <= MAX_SPEAKERS:
        raise InputError(
            f"speakers must be a whole number from 1 to {MAX_SPEAKERS} (how many voices the "
            f"recording holds), or left out to estimate it; got {str(value)[:20]!r}"
        )
    return number


class Voices:
    """An archive's speaker encoder, loaded once, on the first recording that needs it
    (none where the archive was opened without one: a recording is then one voice)."""

    def __init__(self, loader: Callable[[], SpeakerEncoder] | None) -> None:
        self._loader = loader
        self._encoder: SpeakerEncoder | None = None
        self._lock = threading.Lock()

    def encoder(self) -> SpeakerEncoder | None:
        if self._loader is None:
            return None
        with self._lock:
            if self._encoder is None:
                self._encoder = self._loader()
            return self._encoder

    def check(self, speakers: object) -> int | None:
        """The number of speakers given for a recording (None: estimate it), checked,
        and refused where the archive cannot tell voices apart."""
        number = check_speakers(speakers)
        if number is not None and number > 1 and self._loader is None:
            raise PipelineError(
                "this archive was opened without a speaker encoder: it cannot tell "
                f"{number} voices apart"
            )
        return number


def check_label(label: str) -> str:
    """A speaker label as diarization makes them: S1, S2, ..."""
    label = label.strip()
    number = label[1:]
    if label[:1] != "S" or not number.isdigit() or number.startswith("0") or len(number) > 3:
        raise InputError(f"a speaker label is S1, S2, ... (got {label[:20]!r})")
    return label


def check_name(name: str) -> str:
    """A name for a voice: one line of text of at most :data:`NAME_MAX` characters ("":
    no name)."""
    name = " ".join(name.split())
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InputError(f"a speaker's name is one line of at most {NAME_MAX} characters")
    return name


def label_segments(
    audio: Samples,
    segments: Sequence[Segment],
    encoder: SpeakerEncoder | None,
    speakers: int | None = None,
) -> list[Segment]:
    """``segments`` with their speaker labels: diarization over the spans of those that
    hold text (the others are dropped by passage grouping and get "S1"). With
    ``speakers=1``, or without an encoder and no number given, every segment is "S1"."""
    spoken = [n for n, s in enumerate(segments) if s.text.strip()]
    if speakers == 1 or not spoken or (encoder is None and speakers is None):
        return [replace(s, speaker="S1") for s in segments]
    if encoder is None:
        raise PipelineError("this archive was opened without a speaker encoder")
    spans = [(segments[n].start, max(segments[n].start, segments[n].end)) for n in spoken]
    options = DiarizeOptions(speakers=speakers, max_speakers=MAX_SPEAKERS)
    found = diarize(audio, spans, encoder, options)
    labels = {n: span.speaker for n, span in zip(spoken, found.spans, strict=True)}
    logger.info("%d segments, %d voices", len(spoken), len(found.speakers))
    return [replace(s, speaker=labels.get(n, "S1")) for n, s in enumerate(segments)]
