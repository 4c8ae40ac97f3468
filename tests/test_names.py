"""A name held by one passage is found, whatever the archive's size (issue 28).

Dense embeddings read a rare name poorly (a model has seldom seen "Huaqamalle"), so the
fake embedder here is blind to every word outside a small vocabulary, as a model is to a
name it never saw: only the keyword side can find the name. The archive has 20, 300 or
5,000 passages (below and above the 500 at which a switch once turned rare words on).
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline import Archive, Metadata
from pipeline.texts import TextItem

from .conftest import LOCAL, pattern_redact
from .fakes import HashEmbedder

VOCABULARY = (
    "agua río tierra chacra ganado mina empresa comunidad familia niños escuela camino cerro "
    "laguna lluvia cosecha papa maíz oveja alpaca mercado trabajo dinero promesa reunión "
    "asamblea dirigente policía protesta carretera polvo ruido casa pueblo marca"
).split()


class BlindEmbedder(HashEmbedder):
    """Embeds only the words of VOCABULARY (and no row-position noise): a name it has
    never seen adds nothing to a vector."""

    def embed(self, texts, kind="passage"):
        known = set(VOCABULARY)
        kept = [" ".join(w for w in t.lower().split() if w.strip(".,;:") in known) for t in texts]
        out = super().embed([k or "agua" for k in kept], kind)
        return out


def _archive(home, tagger, passages: int, target: str) -> Archive:
    archive = Archive(home, BlindEmbedder(), tagger, redact=pattern_redact)
    rng = random.Random(passages)
    items = []
    for i in range(passages - 1):
        words = rng.sample(VOCABULARY, 8)
        items.append(
            TextItem(
                f"f{i:05d}", " ".join(words).capitalize() + ".", Metadata(consent="public"), "x"
            )
        )
    items.insert(passages // 2, TextItem("target", target, Metadata(consent="public"), "x"))
    archive.ingest_texts(items, LOCAL, batch=256)
    assert archive.read.counts(LOCAL)["passages"] == passages
    return archive


@pytest.mark.parametrize("passages", [20, 300, 5000])
@pytest.mark.parametrize(
    "text, query",
    [
        ("La laguna de Huaqamalle quedó seca después de la mina.", "Huaqamalle"),
        ("La laguna de Huaqamalle quedó seca después de la mina.", "huaqamalle"),
        ("La laguna de Huaqamalle quedó seca después de la mina.", "agua de huaqamalle"),
        ("Testimonio Marca0123: la empresa compró la tierra.", "Marca0123"),
    ],
    ids=["capitalised", "typed-lower", "in-a-question", "code"],
)
def test_a_name_held_by_one_passage_is_found(voces_home, rule_tagger, passages, text, query):
    archive = _archive(voces_home, rule_tagger, passages, text)
    try:
        hits = archive.search(query, LOCAL, k=10)
        assert "target" in [h.testimony_id for h in hits], [h.testimony_id for h in hits]
        assert hits[0].testimony_id == "target"
    finally:
        archive.close()


def test_a_rare_ordinary_word_in_a_small_archive_is_not_a_name():
    """In a small archive an ordinary word held by one passage is rare but not a name:
    it would lift that passage above others that mean the same in another language."""
    from pipeline.search import name_terms

    counts = {"contaminado": 1, "huaqamalle": 1, "agua": 12}
    assert name_terms("el río contaminado de Huaqamalle", counts, 40) == ["huaqamalle"]
    assert name_terms("el río contaminado", {"contaminado": 1}, 40, {"huaqamalle"}) == []
    assert name_terms("agua", counts, 40) == []  # in 12 of 40: not rare
    assert np.isclose(len(name_terms("Marca0123", {"marca0123": 1}, 10**6)), 1)
