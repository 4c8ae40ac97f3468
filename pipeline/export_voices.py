"""Who speaks and when each word was heard, as the export formats write them (issue 29).

An oral historian's transcript names its voices and, for correction and for players that
follow along, times its words. These helpers give :mod:`pipeline.exports` the pieces each
format needs: the name a viewer may see for a voice, where a turn begins, a WebVTT cue
text with a voice span and timestamp tags, and the word list for JSON.

What a viewer may see was settled when the passages and speakers were read for them
(:meth:`pipeline.archive.Archive.passages` gives no words to a viewer who may not see
names, and speakers' names come masked). A redacted passage is still given no words
here: a word list would give back what redaction masked, so the rule holds at both ends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from webvtt.models import Timestamp

from corpus import Passage, Speaker, Word

__all__ = [
    "Voices",
    "exported_words",
    "turn_marks",
    "voice",
    "voice_marks",
    "voice_names",
    "vtt_annotation",
    "vtt_timed_words",
    "words_json",
]

#: A recording's voices: diarization's label ("S1") to the name a viewer may see.
Voices = Mapping[str, str]


def voice_names(speakers: Iterable[Speaker]) -> dict[str, str]:
    """Each label with the name shown for it: the archivist's name as the viewer may
    see it, the label itself where the voice is unnamed. Voices that would read alike
    (two names masked to "[nombre]" for a viewer who may not see names, two namesakes)
    are told apart by their labels: "[nombre] (S1)", "[nombre] (S2)"."""
    shown = {s.label: " ".join(s.name.split()) or s.label for s in speakers}
    counts = Counter(shown.values())
    return {
        label: f"{name} ({label})" if counts[name] > 1 and name != label else name
        for label, name in shown.items()
    }


def voice(p: Passage, names: Voices | None) -> str:
    """The name shown for ``p``'s voice; "" where the recording was not diarized."""
    if not p.speaker:
        return ""
    return (names or {}).get(p.speaker) or p.speaker


def voice_marks(passages: Sequence[Passage], names: Voices | None) -> list[str]:
    """The name to mark on each passage in captions and transcripts: "" throughout where
    the recording was not diarized, or holds one voice nobody named (every recording is
    at least "S1", and a lone "S1:" before every line tells a reader nothing)."""
    labels = dict.fromkeys(p.speaker for p in passages if p.speaker)
    named = any(voice(Passage("", 0, "", speaker=label), names) != label for label in labels)
    if len(labels) < 2 and not named:
        return ["" for _ in passages]
    return [voice(p, names) for p in passages]


def turn_marks(passages: Sequence[Passage], names: Voices | None) -> list[str]:
    """:func:`voice_marks` kept only where a turn begins (the voice differs from the
    passage before), as a transcript names a voice when it changes."""
    marks = voice_marks(passages, names)
    out: list[str] = []
    previous = None
    for p, mark in zip(passages, marks, strict=True):
        out.append(mark if mark and p.speaker != previous else "")
        previous = p.speaker
    return out


def exported_words(p: Passage) -> tuple[Word, ...]:
    """The words an export may carry for ``p``: none for a redacted passage, whatever the
    read gave (see the module's docstring)."""
    return () if p.redacted else p.words


def words_json(words: Sequence[Word]) -> list[dict[str, Any]]:
    """Words as JSON exports write them."""
    return [
        {
            "start": w.start,
            "end": w.end,
            "text": w.text,
            "probability": w.probability,
            "edited": w.edited,
        }
        for w in words
    ]


def _escape(value: str) -> str:
    return " ".join(value.split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_annotation(name: str) -> str:
    """A voice span's annotation: one line, escaped, never empty."""
    return _escape(name) or "?"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def vtt_timed_words(words: Sequence[Word], start: float, end: float) -> str:
    """Cue text with a WebVTT timestamp tag (``<00:00:01.500>``) before each word that
    starts inside the cue: the spec wants each tag after the cue's start, before its end
    and after the tag before it, so the first word (shown with the cue) and a word that
    starts no later than the previous tag (after rounding to milliseconds) go untagged
    and appear with the word before them."""
    first, last = _ms(start), _ms(end)
    shown = first
    parts: list[str] = []
    for w in words:
        text = _escape(w.text)
        if not text:
            continue
        at = _ms(w.start)
        if parts and shown < at < last:
            text = f"<{Timestamp.from_seconds(at / 1000)}>{text}"
            shown = at
        parts.append(text)
    return " ".join(parts)
