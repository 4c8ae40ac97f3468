"""Who spoke when: a speaker label for each span of speech in a recording (diarization).

The stage takes the spans the pipeline already has (Whisper's segments: start and end
in seconds), embeds sliding windows of each span with a speaker encoder (a voice
vector every ``hop`` seconds, ``window`` seconds long), clusters the vectors into voices
and labels every span by the voice heard longest in it. A span whose windows change
voice for at least ``min_turn`` seconds is cut into finer turns, since a Whisper
segment can hold a question and the first words of its answer.

The number of voices is given (``speakers``) or estimated: average-linkage clustering
of the voice vectors (cosine distance) stops merging at ``threshold``, which
bench/diarization.py tuned on one half of its conversations and reports on the other.
Voices are named "S1", "S2", ... in the order they are first heard.

Audio is read one block (``read_seconds``) at a time and embedded ``batch`` windows at a
time, so a spooled two-hour recording is never in memory whole.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from models.speakers import SpeakerEncoder

from .audio import SAMPLE_RATE, SpooledAudio
from .errors import PipelineError

__all__ = [
    "DiarizeOptions",
    "Diarization",
    "SpanSpeakers",
    "SpeakerTurn",
    "assign_voices",
    "cluster_voices",
    "diarize",
]

logger = logging.getLogger(__name__)

#: 16 kHz mono audio: in memory, or spooled to disk and read a slice at a time.
Samples = np.ndarray | SpooledAudio


@dataclass(frozen=True)
class DiarizeOptions:
    window: float = 1.5  # seconds of speech behind each voice vector
    hop: float = 0.75  # seconds between the starts of consecutive windows
    speakers: int | None = None  # the number of voices when known; None: estimate it
    # cosine distance at which clustering stops merging voices (estimation only); tuned
    # by bench/diarization.py on its dev conversations
    threshold: float = 0.4
    max_speakers: int = 8  # an estimate never exceeds this
    # a voice must hold at least this many seconds of windows to stand on its own when the
    # number is estimated (else its windows join the nearest voice): one odd window is noise
    min_speaker: float = 3.0
    min_turn: float = 1.0  # a change of voice inside a span shorter than this is not a turn
    batch: int = 128  # windows per call of the encoder
    cluster_sample: int = 2000  # estimating: windows clustered at most (see cluster_voices)
    read_seconds: float = 60.0  # audio read from disk at a time

    def check(self) -> None:
        if not self.window > 0 or not 0 < self.hop <= self.window:
            raise PipelineError(
                f"diarization windows need window > 0 and 0 < hop <= window "
                f"(got window={self.window}, hop={self.hop})"
            )
        if self.speakers is not None and self.speakers < 1:
            raise PipelineError(f"the number of speakers must be at least 1 (got {self.speakers})")
        if self.max_speakers < 1:
            raise PipelineError(f"max_speakers must be at least 1 (got {self.max_speakers})")


@dataclass(frozen=True)
class SpeakerTurn:
    """A stretch of one voice, times in seconds from the start of the recording."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class SpanSpeakers:
    """The voices of one span given to :func:`diarize`."""

    start: float
    end: float
    speaker: str  # the voice heard longest in the span
    turns: tuple[SpeakerTurn, ...]  # in time order; one turn unless the voice changes


@dataclass(frozen=True)
class Diarization:
    spans: tuple[SpanSpeakers, ...]  # one per span given, in the order given
    speakers: tuple[str, ...]  # "S1", "S2", ... in the order first heard

    def turns(self) -> list[SpeakerTurn]:
        """Every span's turns in time order, touching turns of one voice joined."""
        out: list[SpeakerTurn] = []
        for turn in sorted((t for s in self.spans for t in s.turns), key=lambda t: t.start):
            last = out[-1] if out else None
            if last and last.speaker == turn.speaker and turn.start - last.end < 1e-6:
                out[-1] = SpeakerTurn(last.start, max(last.end, turn.end), turn.speaker)
            else:
                out.append(turn)
        return out


@dataclass(frozen=True)
class _Window:
    span: int
    start: float
    end: float


def _window_times(start: float, end: float, options: DiarizeOptions) -> list[tuple[float, float]]:
    """Windows covering ``[start, end]``: one (the whole span) if it is shorter than a
    window, else every ``hop`` seconds plus one ending at ``end``."""
    if end - start <= options.window:
        return [(start, end)]
    times = []
    at = start
    while at + options.window <= end + 1e-9:
        times.append((at, at + options.window))
        at += options.hop
    if end - times[-1][1] > 0.25 * options.hop:
        times.append((end - options.window, end))
    return times


def _windows(
    audio: Samples, spans: Sequence[tuple[float, float]], options: DiarizeOptions
) -> Iterator[tuple[_Window, np.ndarray]]:
    """Each span's windows and their samples, reading a block of audio at a time."""
    total = len(audio)
    for n, (start, end) in enumerate(spans):
        a = min(max(0, int(round(start * SAMPLE_RATE))), total)
        b = min(max(a, int(round(end * SAMPLE_RATE))), total)
        if b <= a:
            continue
        block_at, block = a, np.zeros(0, dtype=np.float32)
        for t0, t1 in _window_times(a / SAMPLE_RATE, b / SAMPLE_RATE, options):
            w0 = max(a, int(round(t0 * SAMPLE_RATE)))
            w1 = min(b, max(w0 + 1, int(round(t1 * SAMPLE_RATE))))
            if w0 < block_at or w1 > block_at + len(block):
                block_at = w0
                stop = min(b, w0 + max(w1 - w0, int(options.read_seconds * SAMPLE_RATE)))
                block = np.asarray(audio[w0:stop], dtype=np.float32)
            yield (
                _Window(n, w0 / SAMPLE_RATE, w1 / SAMPLE_RATE),
                block[w0 - block_at : w1 - block_at],
            )


def _embed(
    audio: Samples,
    spans: Sequence[tuple[float, float]],
    encoder: SpeakerEncoder,
    options: DiarizeOptions,
) -> tuple[list[_Window], np.ndarray]:
    windows: list[_Window] = []
    rows: list[np.ndarray] = [np.zeros((0, encoder.dim), dtype=np.float32)]
    pending: list[np.ndarray] = []
    for window, samples in _windows(audio, spans, options):
        windows.append(window)
        pending.append(samples)
        if len(pending) >= options.batch:
            rows.append(encoder.embed(pending))
            pending = []
    if pending:
        rows.append(encoder.embed(pending))
    return windows, np.vstack(rows)


def _centroids(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((k, vectors.shape[1]), dtype=np.float32)
    for c in range(k):
        members = vectors[labels == c]
        if len(members):
            mean = members.mean(axis=0)
            out[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def cluster_voices(
    vectors: np.ndarray,
    weights: np.ndarray,
    options: DiarizeOptions,
) -> np.ndarray:
    """Voice centroids (k, dim) for unit-length ``vectors`` (one per window; ``weights``:
    seconds each covers).

    A known number of voices: k-means (10 starts; on unit vectors, nearest by Euclidean
    distance is nearest by cosine). Average linkage to N clusters split off a few odd
    windows as a "voice" and left two similar voices merged: 16.1 % DER against 9.9 %
    for k-means on bench/diarization.py's two-speaker conversations.
    Estimated: average-linkage clustering on cosine distance until ``threshold``; a
    cluster under ``min_speaker`` seconds joins its nearest. (k-means for k = 2, 3...
    until two centres come closer than a threshold estimated worse: 19.5 % against
    14.8 %.) Then a few rounds of nearest-centroid reassignment (k-means on the sphere)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    n = len(vectors)
    if n == 0:
        return np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0), dtype=np.float32)
    wanted = options.speakers
    if n == 1 or wanted == 1:
        return _centroids(vectors, np.zeros(n, dtype=int), 1)
    if wanted is not None:
        k = min(wanted, n)
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
        return _refine(vectors, weights, _centroids(vectors, labels, k), drop_empty=False)
    # average linkage holds all pairwise distances: n = 9,600 windows (two hours) would
    # be 370 MB, so a long recording is clustered on evenly spaced windows, and every
    # window then goes to its nearest centre
    sample = np.linspace(0, n - 1, min(n, options.cluster_sample)).round().astype(int)
    part = vectors[sample]
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=options.threshold
    ).fit_predict(part)
    k = int(labels.max()) + 1
    if k > options.max_speakers:
        labels = AgglomerativeClustering(
            n_clusters=options.max_speakers, metric="cosine", linkage="average"
        ).fit_predict(part)
        k = options.max_speakers
    centroids = _drop_small(vectors, weights, _centroids(part, labels, k), options.min_speaker)
    return _refine(vectors, weights, centroids, drop_empty=True)


def _refine(
    vectors: np.ndarray, weights: np.ndarray, centroids: np.ndarray, drop_empty: bool
) -> np.ndarray:
    """A few rounds of k-means on the sphere: every vector to its nearest centre (by
    cosine), every centre to its vectors' mean direction."""
    for _ in range(5):
        labels = np.argmax(vectors @ centroids.T, axis=1)
        if drop_empty:
            keep = np.bincount(labels, weights=weights, minlength=len(centroids)) > 0
            centroids = centroids[keep]
            labels = np.argmax(vectors @ centroids.T, axis=1)
        updated = _centroids(vectors, labels, len(centroids))
        empty = ~updated.any(axis=1)
        updated[empty] = centroids[empty]  # a voice that lost all windows keeps its centre
        if np.allclose(updated, centroids, atol=1e-5):
            break
        centroids = updated
    return centroids


def _drop_small(
    vectors: np.ndarray, weights: np.ndarray, centroids: np.ndarray, min_seconds: float
) -> np.ndarray:
    """Remove the smallest cluster under ``min_seconds`` until none is left (one stays)."""
    while len(centroids) > 1:
        labels = np.argmax(vectors @ centroids.T, axis=1)
        mass = np.bincount(labels, weights=weights, minlength=len(centroids))
        smallest = int(np.argmin(mass))
        if mass[smallest] >= min_seconds:
            break
        centroids = np.delete(centroids, smallest, axis=0)
    return centroids


def assign_voices(
    spans: Sequence[tuple[float, float]],
    windows: Sequence[tuple[int, float, float]],
    scores: np.ndarray,
    options: DiarizeOptions,
) -> Diarization:
    """Label ``spans`` from their windows' ``scores`` (one row a window, one column a
    voice: similarity to that voice's centroid). ``windows`` are (span index, start,
    end). Each window takes the voice its score and its neighbours' (in the same span)
    favour; runs of one voice shorter than ``min_turn`` join a neighbour; a span with
    no window takes the voice of the nearest span that has one."""
    by_span: dict[int, list[int]] = {}
    for i, (span, _, _) in enumerate(windows):
        by_span.setdefault(span, []).append(i)
    k = scores.shape[1] if scores.ndim == 2 else 0
    raw: list[list[tuple[float, float, int]]] = []
    for n, (start, end) in enumerate(spans):
        rows = by_span.get(n, [])
        if not rows or k == 0:
            raw.append([])
            continue
        smoothed = _smooth(scores[rows])
        labels = np.argmax(smoothed, axis=1)
        centres = [(windows[i][1] + windows[i][2]) / 2 for i in rows]
        runs: list[list[float]] = []  # [start, end, voice]
        for j, voice in enumerate(labels):
            if runs and runs[-1][2] == voice:
                continue
            at = start if not runs else (centres[j - 1] + centres[j]) / 2
            if runs:
                runs[-1][1] = at
            runs.append([at, end, float(voice)])
        runs = _absorb_short(runs, options.min_turn)
        raw.append([(r[0], r[1], int(r[2])) for r in runs])
    _fill_empty(spans, raw)
    names = _first_heard(spans, raw)
    out = []
    for (start, end), voiced in zip(spans, raw, strict=True):
        if not voiced:  # nothing was heard anywhere
            out.append(SpanSpeakers(start, end, "S1", (SpeakerTurn(start, end, "S1"),)))
            continue
        turns = tuple(SpeakerTurn(round(a, 2), round(b, 2), names[v]) for a, b, v in voiced)
        out.append(SpanSpeakers(start, end, _longest(turns), turns))
    ordered = sorted(set(names.values()), key=lambda s: int(s[1:]))
    return Diarization(tuple(out), tuple(ordered) if ordered else ("S1",))


def _smooth(scores: np.ndarray) -> np.ndarray:
    """Each window's scores averaged with its neighbours' (a voice does not change
    every 0.75 s), the window itself counting double."""
    if len(scores) < 3:
        return scores
    padded = np.vstack([scores[:1], scores, scores[-1:]])
    return (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4


def _absorb_short(runs: list[list[float]], min_turn: float) -> list[list[float]]:
    """Join the shortest run under ``min_turn`` to its longer neighbour until none is
    left (a span with a single run keeps it whatever its length)."""
    while len(runs) > 1:
        lengths = [r[1] - r[0] for r in runs]
        j = int(np.argmin(lengths))
        if lengths[j] >= min_turn:
            break
        if j == 0:
            into = 1
        elif j == len(runs) - 1:
            into = j - 1
        else:
            into = j - 1 if lengths[j - 1] >= lengths[j + 1] else j + 1
        runs[into][0] = min(runs[into][0], runs[j][0])
        runs[into][1] = max(runs[into][1], runs[j][1])
        del runs[j]
        merged: list[list[float]] = []
        for r in runs:
            if merged and merged[-1][2] == r[2]:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        runs = merged
    return runs


def _fill_empty(
    spans: Sequence[tuple[float, float]], raw: list[list[tuple[float, float, int]]]
) -> None:
    """A span with no audio (past the end, or empty) takes its nearest labelled span's
    voice."""
    labelled = [n for n, runs in enumerate(raw) if runs]
    if not labelled:
        return
    for n, runs in enumerate(raw):
        if runs:
            continue
        start, end = spans[n]
        near = min(labelled, key=lambda m: abs(spans[m][0] - start))
        voice = raw[near][0][2] if spans[near][0] >= start else raw[near][-1][2]
        raw[n] = [(start, end, voice)]


def _first_heard(
    spans: Sequence[tuple[float, float]], raw: list[list[tuple[float, float, int]]]
) -> dict[int, str]:
    names: dict[int, str] = {}
    for n in sorted(range(len(spans)), key=lambda m: spans[m][0]):
        for _, _, voice in raw[n]:
            if voice not in names:
                names[voice] = f"S{len(names) + 1}"
    return names


def diarize(
    audio: Samples,
    spans: Sequence[tuple[float, float]],
    encoder: SpeakerEncoder,
    options: DiarizeOptions = DiarizeOptions(),
) -> Diarization:
    """Speaker labels for ``spans`` ((start, end) in seconds) of 16 kHz mono ``audio``
    (an array or :class:`~pipeline.audio.SpooledAudio`), one per span in the order
    given, with finer turns where a span holds several voices."""
    options.check()
    spans = [(float(a), float(b)) for a, b in spans]
    if any(not b >= a for a, b in spans):
        raise PipelineError("each diarization span needs start <= end")
    if options.speakers == 1:
        windows_1 = [(n, a, b) for n, (a, b) in enumerate(spans) if b > a]
        return assign_voices(spans, windows_1, np.ones((len(windows_1), 1)), options)
    windows, vectors = _embed(audio, spans, encoder, options)
    weights = np.array([w.end - w.start for w in windows], dtype=np.float64)
    # whole windows decide the voices; shorter ones (short spans) are only labelled
    whole = weights >= min(options.window, 1.0) - 1e-6
    basis = whole if whole.sum() >= 2 else np.ones(len(windows), dtype=bool)
    centroids = cluster_voices(vectors[basis], weights[basis], options)
    logger.info(
        "diarization: %d windows over %d spans, %d voices", len(windows), len(spans), len(centroids)
    )
    scores = vectors @ centroids.T if len(centroids) else np.zeros((len(windows), 0))
    return assign_voices(spans, [(w.span, w.start, w.end) for w in windows], scores, options)


def _longest(turns: Sequence[SpeakerTurn]) -> str:
    held: dict[str, float] = {}
    for t in turns:
        held[t.speaker] = held.get(t.speaker, 0.0) + (t.end - t.start)
    return max(held, key=lambda s: (held[s], -int(s[1:])))
