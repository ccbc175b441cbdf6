"""Bradley–Terry plausibility scores from clinicians' pairwise judgements, and the next pair to ask.

A judgement says which of two synthetic patients is more clinically plausible, or that both are
implausible. Scores are a Bradley–Terry model fitted by ``choix`` (iterative Luce spectral ranking,
regularized); "both implausible" counts as a loss of each patient to a virtual typical patient
(the anchor, tied once with everyone), so such patients sink without a partner winning.
Intervals come from a bootstrap over judgements; reliability from split halves (Spearman–Brown
corrected); agreement between reviewers from the pairs both judged. The next pair alternates
between the least-judged patient and the least-judged of the bottom of the ranking, each against
the unmet patient whose score is closest (a win probability near 1/2 tells the most).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import choix
import numpy as np
import polars as pl

LEFT, RIGHT, BOTH = "left", "right", "both_implausible"
CHOICES = (LEFT, RIGHT, BOTH)
REGULARIZATION = 0.05  # choix's alpha: keeps scores finite for a patient who never lost (or won)
BOOTSTRAP_ROUNDS = 100
BOTTOM_FOCUS = 0.15  # every other pair starts from this lowest-scored share of patients


@dataclass(frozen=True)
class Judgement:
    reviewer: str
    left: str
    right: str
    choice: str


def _comparisons(judgements: Sequence[Judgement], index: dict[str, int]) -> list[tuple[int, int]]:
    """(winner, loser) index pairs. The anchor (index ``len(index)``), a typical patient, ties once
    with every patient (a win and a loss: before any judgement all are alike, and it pins the
    anchor to the middle) and beats both patients of a "both implausible"."""
    anchor = len(index)
    pairs = [pair for i in range(anchor) for pair in ((anchor, i), (i, anchor))]
    for j in judgements:
        left, right = index[j.left], index[j.right]
        if j.choice == LEFT:
            pairs.append((left, right))
        elif j.choice == RIGHT:
            pairs.append((right, left))
        else:
            pairs += [(anchor, left), (anchor, right)]
    return pairs


def bradley_terry(patients: Sequence[str], judgements: Sequence[Judgement]) -> np.ndarray:
    """One plausibility score per patient (log-strength, mean 0 over patients; 0 without judgements)."""
    index = {p: i for i, p in enumerate(patients)}
    if not judgements:
        return np.zeros(len(patients))
    pairs = _comparisons(judgements, index)
    strengths = choix.ilsr_pairwise(len(patients) + 1, pairs, alpha=REGULARIZATION)[: len(patients)]
    return strengths - strengths.mean()


def scores(patients: Sequence[str], judgements: Sequence[Judgement], *, seed: int = 0) -> pl.DataFrame:
    """Per patient: score, 95% bootstrap interval, judgements, rank (1 = least plausible)."""
    point = bradley_terry(patients, judgements)
    rng, n = np.random.default_rng(seed), len(judgements)
    draws = np.array([bradley_terry(patients, [judgements[i] for i in rng.integers(0, n, n)])
                      for _ in range(BOOTSTRAP_ROUNDS if n else 0)]).reshape(-1, len(patients))  # fmt: skip
    counts = dict.fromkeys(patients, 0)
    for j in judgements:
        counts[j.left] += 1
        counts[j.right] += 1
    frame = pl.DataFrame({
        "patient_id": list(patients), "score": point,
        "ci_low": np.quantile(draws, 0.025, axis=0) if n else point,
        "ci_high": np.quantile(draws, 0.975, axis=0) if n else point,
        "judgements": [counts[p] for p in patients],
    })  # fmt: skip
    return frame.sort("score").with_row_index("rank", offset=1)


def split_half_reliability(patients: Sequence[str], judgements: Sequence[Judgement], *, seed: int = 0) -> float:
    """Correlation of the scores fitted on two random halves of the judgements, Spearman–Brown
    corrected to the whole set (NaN with fewer than 20 judgements)."""
    if len(judgements) < 20:
        return float("nan")
    order = np.random.default_rng(seed).permutation(len(judgements))
    halves = [[judgements[i] for i in part] for part in np.array_split(order, 2)]
    a, b = (bradley_terry(patients, half) for half in halves)
    r = float(np.corrcoef(a, b)[0, 1])
    return 2 * r / (1 + r) if r > -1 else float("nan")


def reviewer_agreement(judgements: Sequence[Judgement]) -> tuple[float, int]:
    """Share of pairs judged by two reviewers on which they chose alike, and how many pairs that is."""
    by_pair: dict[frozenset[str], dict[str, str]] = {}
    for j in judgements:
        winner = j.left if j.choice == LEFT else j.right if j.choice == RIGHT else BOTH
        by_pair.setdefault(frozenset((j.left, j.right)), {})[j.reviewer] = winner
    agreements = []
    for choices in by_pair.values():
        picked = list(choices.values())
        agreements += [picked[i] == picked[k] for i in range(len(picked)) for k in range(i + 1, len(picked))]
    return (float(np.mean(agreements)) if agreements else float("nan")), len(agreements)


def next_pair(patients: Sequence[str], judgements: Sequence[Judgement], *, seed: int = 0) -> tuple[str, str]:
    """The next pair to ask, in turns: the least-judged patient overall (every patient gets seen),
    then the least-judged of the lowest-scored 15% (the bottom of the ranking is what a review must
    get right); each against the patient it has not met whose current score is closest to its own
    (a win probability near 1/2 tells the most). Sides at random."""
    if len(patients) < 2:
        raise ValueError("a review needs at least two patients")
    current = dict(zip(patients, bradley_terry(patients, judgements), strict=True))
    counts = dict.fromkeys(patients, 0)
    met: dict[str, set[str]] = {p: set() for p in patients}
    for j in judgements:
        counts[j.left] += 1
        counts[j.right] += 1
        met[j.left].add(j.right)
        met[j.right].add(j.left)
    rng = np.random.default_rng(seed + len(judgements))
    pool = list(patients)
    if len(judgements) % 2 == 1:
        pool = sorted(patients, key=lambda p: current[p])[: max(2, math.ceil(BOTTOM_FOCUS * len(patients)))]
    for first in sorted(pool, key=lambda p: (counts[p], rng.random())):
        others = [p for p in patients if p != first and p not in met[first]]
        if others:
            second = min(others, key=lambda p: (abs(current[p] - current[first]), counts[p], p))
            return (first, second) if rng.random() < 0.5 else (second, first)
    order = sorted(patients, key=lambda p: (counts[p], rng.random()))  # every pair met: the least judged again
    return order[0], order[1]
