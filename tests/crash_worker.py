"""Test helper, not product code: a job worker that tests/test_crash.py kills with SIGKILL.

    python tests/crash_worker.py HOME

(cwd: the repository root, PYTHONPATH holding it). Prints ``ready`` once its imports are
done, then opens the archive in HOME and runs the product's job loop
(:meth:`pipeline.jobs.JobRunner.run`) until no job is queued or running, and exits 0; exit
3 if that takes longer than ``VOCES_CRASH_MAX_SECONDS``.

The models are fast, deterministic stand-ins, so a kill lands in the archive's own code
(SQLite transactions, index snapshots, media copies): the fake embedder of tests/fakes.py,
slowed by ``VOCES_CRASH_EMBED_DELAY`` seconds a call so that kills land mid-job; the
theme rules over a regular-expression tokenizer (spaCy takes seconds to import, and the
worker is started dozens of times); a pattern redaction; a fake Whisper.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from huey import RedisHuey, SqliteHuey

from pipeline import Archive, ThemeTagger, load_taxonomy
from pipeline.jobs import JobRunner
from tests.fakes import FakeWhisper, HashEmbedder

SNAPSHOT_EVERY = 3  # write an index snapshot every few changes: kills land in those too
SEGMENTS = [
    (0.0, 3.2, "El río está contaminado por la mina."),
    (3.2, 6.0, "Los animales se mueren y los niños están enfermos."),
    (6.5, 9.0, "Perdimos nuestras tierras cuando llegó la empresa."),
]


@dataclass(frozen=True)
class _Token:
    """The parts of a spaCy token that the theme rules read."""

    text: str
    is_space: bool = False
    is_punct: bool = False
    lemma_: str = ""


_TOKEN = re.compile(r"\w+|[^\w\s]")


class _LightNlp:
    """Quacks like a spaCy Language for the theme rules: call it, or pipe texts."""

    def __call__(self, text: str) -> list[_Token]:
        return [_Token(t, is_punct=not t[0].isalnum()) for t in _TOKEN.findall(text)]

    def pipe(self, texts, batch_size: int = 64):
        return (self(t) for t in texts)


light_nlp = _LightNlp()


def rule_tagger() -> ThemeTagger:
    """The taxonomy's rules, tokenized by a regular expression instead of spaCy."""
    return ThemeTagger(load_taxonomy(), lambda lang: light_nlp, None)


_PHONE = re.compile(r"\+?\d[\d -]{6,}\d")
_NAME = re.compile(r"\b(me llamo|my name is|soy)\s+[A-ZÁÉÍÓÚÑ]\w+", re.IGNORECASE)


class _Redact:
    """Pattern redaction of phone numbers and self-introductions (deterministic)."""

    def __call__(self, text: str, language: str) -> str:
        phone, name = ("[teléfono]", "[nombre]") if language == "es" else ("[phone]", "[name]")
        text = _PHONE.sub(phone, text)
        return _NAME.sub(lambda m: f"{m.group(1)} {name}", text)

    def many(self, texts: list[str], language: str) -> list[str]:
        return [self(t, language) for t in texts]


redact = _Redact()


class SlowEmbedder(HashEmbedder):
    """The fake embedder (same name, same vectors), taking ``delay`` seconds a call."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def embed(self, texts: Sequence[str], kind: str = "passage") -> np.ndarray:
        time.sleep(self.delay)
        return super().embed(texts, kind)


def main(argv: list[str]) -> int:
    home = Path(argv[1])
    delay = float(os.environ.get("VOCES_CRASH_EMBED_DELAY", "0.03"))
    max_seconds = float(os.environ.get("VOCES_CRASH_MAX_SECONDS", "120"))
    logging.basicConfig(
        level=logging.INFO, format="%(process)d %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("huey").setLevel(logging.WARNING)
    print("ready", flush=True)
    whisper = FakeWhisper(SEGMENTS, probabilities=[("es", 0.9), ("en", 0.1)])
    archive = Archive(
        home,
        SlowEmbedder(delay),
        rule_tagger(),
        whisper=lambda: whisper,
        redact=redact,
        snapshot_every=SNAPSHOT_EVERY,
        database=os.environ.get("VOCES_TEST_DATABASE", ""),
        shared=Path(os.environ["VOCES_TEST_SHARED"])
        if os.environ.get("VOCES_TEST_SHARED")
        else None,
    )
    # the queue: huey's SQLite file in HOME, or a shared Redis (workers on several machines)
    queue_url = os.environ.get("VOCES_TEST_QUEUE_URL", "")
    if queue_url:
        queue = RedisHuey("voces", url=queue_url)
    else:
        queue = SqliteHuey("voces", filename=str(home / "queue.sqlite3"))
    runner = JobRunner(archive, queue, stale_after=1.0, poll_seconds=0.05)
    stop = threading.Event()
    late = threading.Event()

    def watch() -> None:
        deadline = time.monotonic() + max_seconds
        while not stop.wait(0.1):
            counts = archive.store.jobs.counts()
            if not counts.get("queued") and not counts.get("running"):
                stop.set()
            elif time.monotonic() > deadline:
                late.set()
                stop.set()

    threading.Thread(target=watch, daemon=True).start()
    runner.run(stop, recover_every=1.0)
    archive.close()
    return 3 if late.is_set() else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
