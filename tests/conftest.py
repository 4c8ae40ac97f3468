from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.nlp import load_nlp
from pipeline import Archive, ThemeTagger, load_taxonomy

from .fakes import FakeWhisper, HashEmbedder

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def voces_home(tmp_path, monkeypatch):
    """Every test gets its own archive folder and model cache; nothing touches ~."""
    home = tmp_path / "home"
    monkeypatch.setenv("VOCES_HOME", str(home))
    monkeypatch.setenv("VOCES_CACHE_DIR", str(tmp_path / "cache"))
    return home


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
        voces_home, embedder=HashEmbedder(), tagger=rule_tagger, whisper=lambda: fake_whisper
    )
    yield a
    a.store.close()


@pytest.fixture(scope="session")
def fixture_clips():
    return json.loads((DATA / "fixtures.json").read_text("utf-8"))


def fake_cli(monkeypatch, whisper, embedder):
    """The voces CLI in-process, with ``embedder`` and ``whisper`` in place of real models."""
    from click.testing import CliRunner

    from api import cli as cli_module
    from api import cli_themes, services

    for module in (services, cli_module, cli_themes):
        monkeypatch.setattr(module, "load_embedder", lambda name, threads=2: embedder)
    monkeypatch.setattr(services, "whisper_loader", lambda settings: lambda: whisper)
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(cli_module.cli, list(args), input=input, catch_exceptions=False)

    return invoke
