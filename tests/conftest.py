from __future__ import annotations

import json
from pathlib import Path

import pytest

from corpus import Viewer
from models.nlp import load_nlp
from pipeline import Archive, ThemeTagger, load_taxonomy
from pipeline import archive as archive_module
from pipeline.redact import Redactor, TextRedactor

from . import backends
from .fakes import FakeWhisper, HashEmbedder

DATA = Path(__file__).parent / "data"

#: The operator at the archive machine (an admin), and the other roles, for tests.
LOCAL = Viewer.local("tester")
ANON = Viewer.anonymous()
RESEARCHER = Viewer("researcher", "key:test-researcher")
ARCHIVIST = Viewer("archivist", "key:test-archivist")


#: Redaction by patterns alone (no NER model): fast and deterministic.
pattern_redact = TextRedactor(Redactor(None))


@pytest.fixture(scope="session", autouse=True)
def _backend():
    """With VOCES_TEST_BACKEND=postgresql, every archive folder a test (or a module's
    shared fixture) opens gets its own PostgreSQL database (see tests/backends.py)."""
    if not backends.POSTGRES:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(archive_module, "default_database", backends.database_for)
        yield


@pytest.fixture(autouse=True)
def voces_home(tmp_path, monkeypatch):
    """Every test gets its own archive folder and model cache; nothing touches ~.

    With VOCES_TEST_BACKEND=postgresql each archive folder gets its own PostgreSQL
    database instead of a SQLite file (see tests/backends.py)."""
    home = tmp_path / "home"
    monkeypatch.setenv("VOCES_HOME", str(home))
    monkeypatch.setenv("VOCES_CACHE_DIR", str(tmp_path / "cache"))
    yield home
    backends.forget(tmp_path)  # the test's PostgreSQL databases, if it made any


@pytest.fixture(scope="session")
def taxonomy():
    return load_taxonomy()


@pytest.fixture(scope="session")
def rule_tagger(taxonomy):
    """Rules only: spaCy blank + lookups (fast, deterministic)."""
    return ThemeTagger(taxonomy, lambda lang: load_nlp(lang, prefer_packaged=False), None)


@pytest.fixture
def fake_whisper():
    return FakeWhisper(
        [
            (0.0, 3.2, "El río está contaminado por la mina."),
            (3.2, 6.0, "Los animales se mueren y los niños están enfermos."),
            (6.5, 9.0, "Perdimos nuestras tierras cuando llegó la empresa."),
        ]
    )


@pytest.fixture
def archive(voces_home, rule_tagger, fake_whisper):
    a = Archive(
        voces_home,
        embedder=HashEmbedder(),
        tagger=rule_tagger,
        whisper=lambda: fake_whisper,
        redact=pattern_redact,
    )
    yield a
    a.close()


@pytest.fixture(scope="session")
def fixture_clips():
    return json.loads((DATA / "fixtures.json").read_text("utf-8"))


def fake_cli(monkeypatch, whisper, embedder):
    """The voces CLI in-process, with ``embedder`` and ``whisper`` in place of real models."""
    from click.testing import CliRunner

    from api import cli as cli_module
    from api import services

    monkeypatch.setattr(services, "load_embedder", lambda name, threads=2: embedder)
    monkeypatch.setattr(services, "whisper_loader", lambda settings: lambda: whisper)
    monkeypatch.setattr(services, "redactor", lambda settings: pattern_redact)
    # no voice encoder: each recording is one voice (tests/test_speakers.py gives one)
    monkeypatch.setattr(services, "speaker_loader", lambda settings: None)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli_module.cli, list(args), input=input, catch_exceptions=False)

    return invoke
