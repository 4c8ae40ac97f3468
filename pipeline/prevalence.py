"""How common a theme really is in a group of passages, corrected for the tagger's errors.

An advocate reads "land loss: 16 of 40 passages from Cajamarca". When the tagger finds
a third of the land-loss passages, that count is a third of the truth. The correction is
adjusted classify-and-count (Forman 2008, the baseline of the quantification literature,
as in QuaPy's ``ACC``): with the tagger's true-positive rate ``tpr`` (recall) and
false-positive rate ``fpr`` measured on labelled passages, the share ``q`` it tags
relates to the true share ``p`` by ``q = tpr·p + fpr·(1 - p)``, so

    p = (q - fpr) / (tpr - fpr)          (clipped to [0, 1]).

Unlike correcting by precision, this does not assume the labelled set has the same
prevalence as the group being counted: ``tpr`` and ``fpr`` are properties of the tagger,
precision is not. The 90% interval is Monte Carlo over the three uncertain quantities,
each drawn from its Jeffreys Beta posterior: the group's tagged share (a sample of
``n`` passages) and the two rates (estimated from ``tp, fn`` and ``fp, tn`` labelled
passages). With a tagger that barely separates the theme (``tpr - fpr`` below
:data:`MIN_SEPARATION`) no estimate is given: the count says almost nothing.

The rates come from the archive's own reviews when a theme has at least
:data:`MIN_REVIEWED` reviewed passages on each side (reviewers' verdicts against the
machine tags they judged), else from the evaluation bundled with Voces
(``pipeline/data/theme_rates.json``, on held-out EJAtlas passages); each figure says
which. Reviews are not a random sample (reviewers see what the tagger or the review queue
shows them), which is why the bundled rates are the default until there are many.

I wrote the estimator rather than adopting QuaPy: QuaPy's ACC wraps a scikit-learn
classifier and estimates the rates by its own cross-validation, while here the
classifier is the tagger (rules, similarity and a model) and the rates come from
labelled passages and reviews; what remains is the formula and its interval, a dozen
lines of numpy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from corpus import ThemeCell

__all__ = [
    "MIN_REVIEWED",
    "MIN_SEPARATION",
    "ErrorRates",
    "Prevalence",
    "adjusted_share",
    "bundled_rates",
    "choose_rates",
    "estimate_cells",
]

#: below this tpr - fpr the tagger barely separates a theme: no estimate
MIN_SEPARATION = 0.1
#: reviewed passages needed on each side (with and without the theme) to use reviews
MIN_REVIEWED = 20
LEVEL = 0.90


@dataclass(frozen=True)
class ErrorRates:
    """How the tagger fares on one theme, from labelled passages: true and false
    positives and negatives, and where they were counted."""

    tp: int
    fp: int
    fn: int
    tn: int
    basis: str

    @property
    def tpr(self) -> float:
        return self.tp / max(self.tp + self.fn, 1)

    @property
    def fpr(self) -> float:
        return self.fp / max(self.fp + self.tn, 1)


@dataclass(frozen=True)
class Prevalence:
    """A theme in a group: passages, those tagged, and the estimated true share with its
    90% interval (``None`` when the tagger cannot tell the theme apart)."""

    theme: str
    group: str
    passages: int
    tagged: int
    estimate: float | None
    low: float | None
    high: float | None
    basis: str

    @property
    def observed(self) -> float:
        return self.tagged / self.passages if self.passages else 0.0


def adjusted_share(
    tagged: int, total: int, rates: ErrorRates, draws: int = 4000, seed: int = 0
) -> tuple[float | None, float | None, float | None]:
    """(estimate, low, high): the true share of ``total`` passages holding the theme,
    given that the tagger tagged ``tagged`` of them, with a :data:`LEVEL` interval."""
    if total <= 0 or not 0 <= tagged <= total:
        raise ValueError("need 0 <= tagged <= total and total > 0")
    separation = rates.tpr - rates.fpr
    if separation < MIN_SEPARATION:
        return None, None, None
    estimate = float(np.clip((tagged / total - rates.fpr) / separation, 0.0, 1.0))
    rng = np.random.default_rng(seed)
    q = rng.beta(tagged + 0.5, total - tagged + 0.5, draws)
    tpr = rng.beta(rates.tp + 0.5, rates.fn + 0.5, draws)
    fpr = rng.beta(rates.fp + 0.5, rates.tn + 0.5, draws)
    spread = np.maximum(tpr - fpr, 1e-3)
    p = np.clip((q - fpr) / spread, 0.0, 1.0)
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(p, [tail, 100 - tail])
    return estimate, float(min(low, estimate)), float(max(high, estimate))


@lru_cache(maxsize=1)
def bundled_rates() -> Mapping[str, ErrorRates]:
    """The tagger's rates per theme on the held-out evaluation shipped with Voces (read
    once per process: every theme table asks for them)."""
    data = json.loads(
        (resources.files("pipeline") / "data" / "theme_rates.json").read_text("utf-8")
    )
    basis = f"bundled evaluation ({data['source']})"
    return {
        theme: ErrorRates(c["tp"], c["fp"], c["fn"], c["tn"], basis)
        for theme, c in data["themes"].items()
    }


def rates_from_counts(counts: Mapping[str, Mapping[str, Any]], basis: str) -> dict[str, ErrorRates]:
    return {
        theme: ErrorRates(int(c["tp"]), int(c["fp"]), int(c["fn"]), int(c["tn"]), basis)
        for theme, c in counts.items()
    }


def choose_rates(
    reviewed: Mapping[str, Mapping[str, int]], bundled: Mapping[str, ErrorRates]
) -> dict[str, ErrorRates]:
    """Per theme: the archive's reviews when they hold :data:`MIN_REVIEWED` passages
    with the theme and as many without, else the bundled evaluation."""
    out = dict(bundled)
    for theme, c in reviewed.items():
        if c["tp"] + c["fn"] >= MIN_REVIEWED and c["fp"] + c["tn"] >= MIN_REVIEWED:
            n = sum(c.values())
            out[theme] = ErrorRates(
                c["tp"], c["fp"], c["fn"], c["tn"], f"the archive's {n} reviews"
            )
    return out


def estimate_cells(cells: Sequence[ThemeCell], rates: Mapping[str, ErrorRates]) -> list[Prevalence]:
    """Estimated true shares per theme and group. Reviewed passages count as they were
    judged; the correction applies to the passages nobody reviewed."""
    return [_estimate_cell(cell, rates.get(cell.theme)) for cell in cells]


def _estimate_cell(cell: ThemeCell, rate: ErrorRates | None) -> Prevalence:
    tagged = cell.machine_tagged + cell.reviewed_yes
    unreviewed = cell.passages - cell.reviewed_yes - cell.reviewed_no

    def result(shares: tuple[float | None, float | None, float | None], basis: str) -> Prevalence:
        return Prevalence(cell.theme, cell.group, cell.passages, tagged, *shares, basis)

    if rate is None:
        return result((None, None, None), "no measured error rates for this theme")
    if unreviewed <= 0:
        share = cell.reviewed_yes / cell.passages
        return result((share, share, share), "every passage reviewed")
    p, low, high = adjusted_share(min(cell.machine_tagged, unreviewed), unreviewed, rate)
    if p is None or low is None or high is None:
        return result(
            (None, None, None), f"the tagger barely tells this theme apart ({rate.basis})"
        )
    whole = tuple((cell.reviewed_yes + x * unreviewed) / cell.passages for x in (p, low, high))
    return result((whole[0], whole[1], whole[2]), rate.basis)
