"""Nothing a caller can observe depends on material it may not see (issue 26, finding 1).

Grouped search ranks with statistics of the collection: how many passages are searched
(thresholds switch the lexical lifts on), how many hold each query word (rarity, the
common-stem cut), BM25's document frequencies and lengths, and the theme shares are
corrected with error rates measured on the archive's reviews. If any of them counted
passages the caller may not read, adding or deleting a hidden testimony would move a
public score: one bit per query about hidden text ("Yanaquihua" scored 0.7854 before a
private testimony naming it was uploaded, 0.5854 after).

One archive, above every threshold at which a ranking signal switches on (at least
:data:`pipeline.search.RARE_MIN_PASSAGES` passages visible to the anonymous caller), is
asked the same questions by an anonymous caller and a researcher, over HTTP, before and
after hidden testimonies are added (private ones; then restricted ones, which only the
anonymous caller may not see) and after they are deleted again. The hidden testimonies
repeat the queries' words many times over (so that counted, they would make a rare name
common, push a stem over the common-stem cut and move BM25's statistics), and carry
reviews (so that counted, they would change the theme shares' error rates). Every answer
must be byte-for-byte the same, scores included.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import get_settings
from pipeline import Metadata
from pipeline.search import RARE_MIN_PASSAGES
from pipeline.texts import TextItem

from .conftest import ANON, LOCAL

_PLACES = ["Huasmín", "Celendín", "Bambamarca", "Espinar", "Chumbivilcas", "Yauli", "Coata"]
_WORDS = (
    "agua río tierra chacra ganado mina empresa comunidad familia niños escuela camino "
    "cerro laguna lluvia cosecha papa maíz oveja alpaca mercado trabajo dinero promesa "
    "reunión asamblea dirigente policía protesta carretera polvo ruido casa pueblo "
    "water river land cattle company community family children school road hill lake "
    "harvest market work money promise meeting leader police protest dust noise house"
).split()
#: what the questions ask for, and the hidden testimonies repeat
RARE = "Yanaquihua"  # one public passage holds it
STEM_WORD = "contaminación"  # in about 1.5% of the public passages (under the 2% cut)
QUERIES = [
    RARE,
    f"el río de {RARE} contaminado",
    STEM_WORD,
    "contaminación del agua y la tierra",
    "the company took our land",
    "ganado enfermo por el agua contaminada",
    "Ccarhuayo",  # a word only hidden testimonies hold
    "reunión con la policía",
]


def _sentence(rng: random.Random) -> str:
    words = rng.sample(_WORDS, 7)
    return f"{words[0].capitalize()} {' '.join(words[1:])} en {rng.choice(_PLACES)}."


def _public_items(n: int) -> list[TextItem]:
    rng = random.Random(26)
    items = []
    for i in range(n):
        sentences = [_sentence(rng) for _ in range(6)]
        if i % 60 == 7:  # about 1.5% of the passages
            sentences[1] = f"Hubo {STEM_WORD} del agua y de la chacra en {rng.choice(_PLACES)}."
        if i == 11:
            sentences[4] = f"Mi tío vivía en {RARE} antes de la mina."
        consent = "restricted" if i % 10 == 3 else "public"
        meta = Metadata(
            title=f"Testimonio {i:04d}",
            region=_PLACES[i % len(_PLACES)],
            community=f"Comunidad {i % 13}",
            date=f"{2005 + i % 15}-0{1 + i % 9}",
            language="es",
            consent=consent,
        )
        items.append(TextItem(f"pub-{i:04d}", " ".join(sentences), meta, f"public:{i}"))
    return items


def _hidden_items(consent: str, n: int) -> list[TextItem]:
    rng = random.Random(len(consent))
    items = []
    for i in range(n):
        text = (
            f"Mi primo vive en {RARE}. Hubo {STEM_WORD} del río y {STEM_WORD} de la tierra. "
            f"En Ccarhuayo la empresa contaminó el agua. {_sentence(rng)} {_sentence(rng)}"
        )
        meta = Metadata(
            title=f"Oculto {consent} {i} {RARE}",
            region=_PLACES[i % len(_PLACES)],
            community="Ccarhuayo",
            date="2019",
            language="es",
            consent=consent,
        )
        items.append(TextItem(f"hid-{consent}-{i:03d}", text, meta, f"hidden:{i}"))
    return items


def _observe(client: TestClient, headers: dict[str, str], probe_id: str) -> dict[str, Any]:
    """Everything these questions let a caller see, as the raw answers."""
    seen: dict[str, Any] = {}
    for q in QUERIES:
        for params in (
            {"q": q, "k": 10},
            {"q": q, "k": 10, "group": "false"},
            {"q": q, "k": 5, "region": "Espinar"},
        ):
            r = client.get("/api/v1/search", params=params, headers=headers)
            assert r.status_code == 200, r.text
            seen[json.dumps(params, sort_keys=True)] = r.json()
    for path in (
        "/api/v1/health",
        "/api/v1/themes?by=region&quotes=2",
        "/api/v1/themes.csv",
        "/api/v1/testimonies?limit=50",
        f"/api/v1/testimonies/{probe_id}/similar?k=5",
        f"/api/v1/testimonies/{probe_id}/similar?k=5&other_regions=true",
    ):
        r = client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        seen[path] = r.text
    return seen


def _review_hidden(archive, items: list[TextItem]) -> None:
    """Reviews on hidden passages, enough (MIN_REVIEWED) to replace the bundled error
    rates of a theme if they were counted for a caller who may not see them."""
    for item in items:
        for passage in archive.store.passages(item.id, LOCAL):
            assert passage.id is not None
            archive.store.review(passage.id, "water_contamination", "accept", LOCAL)
            archive.store.review(passage.id, "land_loss", "reject", LOCAL)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [key for key in before if before[key] != after[key]]


@pytest.fixture
def served(archive):
    archive.ingest_texts(_public_items(330), LOCAL)
    settings = get_settings()
    with TestClient(create_app(settings, archive=archive)) as client:
        keys = {"anonymous": {}}
        _, key = archive.store.keys.create("researcher", "test researcher", LOCAL)
        keys["researcher"] = {"Authorization": f"Bearer {key}"}
        yield client, keys


def test_hidden_testimonies_change_nothing_a_caller_sees(archive, served):
    client, keys = served
    anonymous_passages = archive.store.counts(ANON)["passages"]
    assert anonymous_passages >= RARE_MIN_PASSAGES, "every ranking signal must be on"
    probe = "pub-0011"  # holds the rare name
    # the rare name is found, and by the lexical lift, not by chance
    found = client.get("/api/v1/search", params={"q": RARE, "k": 3}).json()["hits"]
    assert found and found[0]["testimony_id"] == probe

    before = {role: _observe(client, h, probe) for role, h in keys.items()}

    private = _hidden_items("private", 40)
    archive.ingest_texts(private, LOCAL)
    _review_hidden(archive, private)
    with_private = {role: _observe(client, h, probe) for role, h in keys.items()}
    for role in keys:
        assert _diff(before[role], with_private[role]) == [], role

    restricted = _hidden_items("restricted", 40)
    archive.ingest_texts(restricted, LOCAL)
    _review_hidden(archive, restricted)
    assert _diff(before["anonymous"], _observe(client, keys["anonymous"], probe)) == []

    for item in [*private, *restricted]:
        archive.delete(item.id, LOCAL)
    after = {role: _observe(client, h, probe) for role, h in keys.items()}
    for role in keys:
        assert _diff(before[role], after[role]) == [], role
