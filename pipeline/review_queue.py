"""Which passages to review next: the ones whose verdict would teach the tagger most.

Pool-based active learning (Settles, *Active Learning Literature Survey*, 2009, §3):
score a pool of unreviewed passages with the current tagger and offer, per passage, the
theme whose verdict is least predictable:

- **uncertainty**: how close the theme's final score is to the decision threshold (the
  tagger's scores are rescaled so every theme's threshold is 0.5): ``1 - |s - 0.5| * 2``;
- **disagreement**: the tagger's parts (rules, similarity to the theme's examples, the
  trained classifier) vote on opposite sides of 0.5, a query-by-committee signal: a
  verdict there settles which part is wrong;
- **scarcity**: themes with fewer reviews come first (a theme needs
  ``theme_model.MIN_PER_CLASS`` labels of each kind before it gets a classifier at all),
  weighting by ``1 / sqrt(1 + reviews of the theme)``.

``priority = (uncertainty + DISAGREEMENT_BONUS * disagreement) * scarcity``. Each passage
is offered once, for its highest-priority theme, and the themes take turns among the open
questions (a batch teaches every theme a little rather than one theme a lot; it removed
an early dip in ``bench/learning_curve.py``); pairs the tagger is sure of come last.
``bench/learning_curve.py`` measures this order against random review order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .tagger import ThemeScores

__all__ = [
    "DISAGREEMENT_BONUS",
    "SETTLED_BELOW",
    "ReviewCandidate",
    "ReviewPick",
    "pick_for_review",
]

#: weight of a committee disagreement against full uncertainty (1.0): a passage where
#: rules and classifier disagree outranks one merely near the threshold.
DISAGREEMENT_BONUS = 0.5
#: below this uncertainty (a score outside 0.4-0.6) with its parts agreeing, a pair is
#: settled: offered only after every open question, whatever its theme
SETTLED_BELOW = 0.2


@dataclass(frozen=True)
class ReviewPick:
    """One row of a scored pool chosen for review, and why."""

    row: int
    theme: str
    score: float  # the tagger's final score (0.5 = its threshold)
    priority: float
    reason: str
    settled: bool = False  # the tagger is nearly sure and its parts agree


@dataclass(frozen=True)
class ReviewCandidate:
    """A passage offered for review, with the theme to decide on."""

    passage_id: int
    testimony_id: str
    text: str
    language: str
    start: float | None
    end: float | None
    theme: str
    score: float
    tagged: bool  # whether the machine currently tags the theme
    priority: float
    reason: str


_PART_NAMES = {"rules": "the rules", "similarity": "similarity", "classifier": "the classifier"}


def _say(votes: Mapping[str, bool], side: bool) -> str:
    """'the rules say yes', 'similarity and the classifier say no', ..."""
    names = [_PART_NAMES[n] for n, v in votes.items() if v == side]
    verb = "say" if len(names) > 1 or names == ["the rules"] else "says"
    return f"{' and '.join(names)} {verb} {'yes' if side else 'no'}"


def _votes(scores: ThemeScores, row: int, col: int) -> dict[str, bool]:
    parts = {"rules": scores.rule, "similarity": scores.similarity, "classifier": scores.classifier}
    votes: dict[str, bool] = {}
    for name, matrix in parts.items():
        if matrix is None or np.isnan(matrix[row, col]):
            continue
        if name == "rules" and matrix[row, col] == 0:
            votes[name] = False  # no rule matched: a "no" vote
        else:
            votes[name] = bool(matrix[row, col] >= 0.5)
    return votes


def pick_for_review(
    scores: ThemeScores,
    reviews_per_theme: Mapping[str, int],
    limit: int,
    themes: Sequence[str] | None = None,
    spread: bool = True,
) -> list[ReviewPick]:
    """The ``limit`` most informative (passage, theme) pairs of a scored pool, one per
    passage, best first (see the module docstring). ``themes`` limits the choice;
    ``spread`` takes the themes in turns (``_spread``) instead of by priority alone."""
    wanted = set(themes) if themes else set(scores.themes)
    best: dict[int, ReviewPick] = {}
    for col, theme in enumerate(scores.themes):
        if theme not in wanted:
            continue
        scarcity = 1.0 / math.sqrt(1.0 + reviews_per_theme.get(theme, 0))
        for row in range(scores.final.shape[0]):
            score = float(scores.final[row, col])
            uncertainty = max(0.0, 1.0 - abs(score - 0.5) * 2.0)
            votes = _votes(scores, row, col)
            split = len(set(votes.values())) > 1
            priority = (uncertainty + DISAGREEMENT_BONUS * split) * scarcity
            if priority <= 0:
                continue
            if row in best and best[row].priority >= priority:
                continue
            if split:
                reason = f"{_say(votes, True)}, {_say(votes, False)}"
            else:
                reason = f"score {score:.2f}, near the threshold 0.50"
            settled = uncertainty < SETTLED_BELOW and not split
            best[row] = ReviewPick(row, theme, score, priority, reason, settled)
    ranked = sorted(best.values(), key=lambda p: (-p.priority, p.row))
    if spread:  # themes in turns among the open questions; the settled ones after
        ranked = _spread([p for p in ranked if not p.settled]) + [p for p in ranked if p.settled]
    return ranked[:limit]


def _spread(ranked: list[ReviewPick]) -> list[ReviewPick]:
    """Take the themes in turns (each theme's picks in priority order, the themes in the
    order of their best pick), so that a batch of verdicts teaches every theme a little
    instead of one theme a lot."""
    by_theme: dict[str, list[ReviewPick]] = {}
    for pick in ranked:
        by_theme.setdefault(pick.theme, []).append(pick)
    queues = list(by_theme.values())
    out: list[ReviewPick] = []
    while queues:
        out += [q.pop(0) for q in queues]
        queues = [q for q in queues if q]
    return out
