"""The bench queries: typed Spanish and English questions about mining harms, and real
passages held out of every synthetic archive to serve as queries too.

One list for every bench that times search, so their numbers are over the same
questions. The graded relevance set is another thing: docs/eval/search_queries.jsonl
(64 queries with judged documents, read by search_pool, search_weights and
search_relevance_txtai).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

QUERIES = [
    "el río se volvió naranja",
    "they took our land",
    "contaminación por relaves mineros",
    "children with lead in their blood",
    "nos reasentaron lejos de nuestras chacras",
    "police repression during the strike",
    "nunca hubo consulta previa",
    "no water for irrigation",
    "pobreza al lado de una mina rica",
    "the dust covers our crops",
    "los animales se enferman al tomar el agua",
    "we were never asked for our consent",
    "el humo de la fundición",
    "the company bought the land cheaply",
    "perdimos nuestras tierras",
    "fish died in the lake",
    "derrame de cianuro en la laguna",
    "community leaders were threatened and killed",
    "el tajo abierto secó los manantiales",
    "workers fell ill from asbestos dust",
]
HELD_OUT = 80  # real passages kept out of every synthetic archive, used as queries
K = 10  # results asked of every timed search


def draw_held_out(n_texts: int, seed: int, n: int = HELD_OUT) -> np.ndarray:
    """``n`` of the ``n_texts`` real passages, drawn with ``seed + 1`` (the synthetic
    archive of ``seed`` draws with ``seed``): pass them to ``synthesize`` to keep them out."""
    return np.random.default_rng(seed + 1).choice(n_texts, n, replace=False)


def recall_texts(texts: Sequence[str], held: np.ndarray) -> list[str]:
    """The recall queries: the typed ones, then the held-out passages' texts."""
    return [*QUERIES, *(texts[i] for i in held)]
