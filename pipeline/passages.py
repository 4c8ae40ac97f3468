"""Cut testimonies into passages of roughly one to three sentences.

Recorded testimonies: Whisper segments are joined in order until the passage ends a
sentence and is long enough, so each passage keeps the exact time span of the speech it
came from (start of its first segment, end of its last). A passage is one voice: a
segment of another speaker than the one before it starts a new passage. Typed
testimonies: sentences are grouped the same way, without times.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from corpus import Segment

__all__ = ["PassageOptions", "group_segments", "split_sentences", "split_text"]

# A sentence ends at . ! ? … followed by space and an upper-case letter, ¿ ¡ or a digit.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"»”')\]]*\s+(?=[¿¡\"«“(\[]?[A-ZÁÉÍÓÚÑÜ0-9])")
_ENDS_SENTENCE = re.compile(r"[.!?…][\"»”')\]]*\s*$")


@dataclass(frozen=True)
class PassageOptions:
    min_chars: int = 80  # keep adding sentences until a passage has at least this much text
    max_chars: int = 400  # never add a sentence that would take it past this
    max_sentences: int = 3


def split_sentences(text: str) -> list[str]:
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        return []
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def split_text(text: str, options: PassageOptions = PassageOptions()) -> list[str]:
    """Group the sentences of ``text`` into passages."""
    passages: list[str] = []
    current: list[str] = []
    for sentence in split_sentences(text):
        length = sum(len(s) + 1 for s in current)
        if current and (
            length >= options.min_chars
            or len(current) >= options.max_sentences
            or length + len(sentence) > options.max_chars
        ):
            passages.append(" ".join(current))
            current = []
        current.append(sentence)
    if current:
        # a short tail joins the previous passage rather than standing alone
        tail = " ".join(current)
        if (
            passages
            and len(tail) < options.min_chars / 2
            and (len(passages[-1]) + len(tail) <= options.max_chars)
        ):
            passages[-1] = passages[-1] + " " + tail
        else:
            passages.append(tail)
    return passages


def group_segments(
    segments: Iterable[Segment], options: PassageOptions = PassageOptions()
) -> Iterator[Segment]:
    """Join consecutive segments of one speaker into passages that keep their time span,
    their segments' words, in order (so a passage's words are timed inside it), and
    their speaker; a change of speaker ends a passage, however short. Streams."""
    buffer: list[Segment] = []

    def flush() -> Segment:
        text = " ".join(s.text.strip() for s in buffer if s.text.strip())
        words = tuple(w for s in buffer for w in s.words)
        return Segment(
            start=buffer[0].start,
            end=buffer[-1].end,
            text=text,
            words=words,
            speaker=buffer[0].speaker,
        )

    for segment in segments:
        if not segment.text.strip():
            continue
        if buffer and segment.speaker != buffer[-1].speaker:
            yield flush()  # a passage is one voice
            buffer = []
        buffer.append(segment)
        text = " ".join(s.text.strip() for s in buffer)
        sentences = len(split_sentences(text))
        complete = bool(_ENDS_SENTENCE.search(text))
        if (complete and len(text) >= options.min_chars) or (
            len(text) >= options.max_chars or sentences > options.max_sentences
        ):
            yield flush()
            buffer = []
    if buffer:
        yield flush()
