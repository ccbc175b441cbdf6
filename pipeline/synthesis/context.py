"""A generative model of the flow's context columns: a latent-class mixture of categoricals.

The context (cancer type, stage, grade, biomarkers, treatment, protected attributes, the event
flag, every ``genomic_variant_*`` flag) used to be drawn as whole rows of the training table,
which replays each training patient's exact combination: whoever knows a patient's mutations
and stage learns that the patient was in the data, and whether the patient died.

Here every row is drawn from a mixture of K latent classes, each a product of independent
categoricals (Lazarsfeld's latent class model, fitted by EM with a symmetric Dirichlet prior).
Conditioning on any subset of columns is exact and needs no rejection: the posterior over the
classes given the conditions is closed-form, ``p(k | c) ~ pi_k prod_j theta_kj(c_j)``, and the
other columns are drawn from the chosen class. K is chosen by 5-fold cross-validated
log-likelihood: the largest K within one standard error of the best (dependencies such as
treatment and event are weak in likelihood terms, and a too-small K erases them), with at least
``MIN_ROWS_PER_CLASS`` patients per class on average, so no class is fitted to a single patient.
State is plain arrays and lists, stored without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CLASS_GRID = (1, 2, 4, 8, 12, 16, 24, 32)
MIN_ROWS_PER_CLASS = 25  # a class must be backed by at least this many patients on average
PRIOR = 1.0  # Dirichlet pseudo-count per level and class (Laplace); keeps every seen level possible
EM_ITERATIONS = 150
TOLERANCE = 1e-6
FOLDS = 5


@dataclass
class LatentClassModel:
    """Mixture weights ``weights`` (K,) and per-column level probabilities ``probabilities[j]`` (K, L_j)."""

    columns: list[str]
    levels: list[list[str]]
    weights: np.ndarray = field(default_factory=lambda: np.ones(1))
    probabilities: list[np.ndarray] = field(default_factory=list)
    validation_log_likelihood: dict[str, float] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return int(self.weights.shape[0])

    # -- fitting ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, codes: np.ndarray, columns: list[str], levels: list[list[str]], *, seed: int) -> LatentClassModel:
        """Fit on integer level ``codes`` (rows x columns); K chosen by cross-validation, then refitted on all rows."""
        rng = np.random.default_rng(seed)
        sizes = [len(v) for v in levels]
        n = codes.shape[0]
        folds = np.array_split(rng.permutation(n), FOLDS)
        candidates = [k for k in CLASS_GRID if k == 1 or n * (FOLDS - 1) / FOLDS / k >= MIN_ROWS_PER_CLASS]
        fold_scores: dict[int, np.ndarray] = {}
        for k in candidates:
            per_fold = []
            for i, held in enumerate(folds):
                kept = np.concatenate([f for j, f in enumerate(folds) if j != i])
                weights, probabilities = _em(codes[kept], sizes, k, np.random.default_rng([seed, k, i]))
                per_fold.append(_log_likelihood(codes[held], weights, probabilities).mean())
            fold_scores[k] = np.asarray(per_fold)
        scores = {k: float(v.mean()) for k, v in fold_scores.items()}
        best = max(scores, key=scores.__getitem__)
        standard_error = float(fold_scores[best].std(ddof=1) / np.sqrt(FOLDS)) if n >= FOLDS else 0.0
        chosen = max(k for k, score in scores.items() if score >= scores[best] - standard_error)
        weights, probabilities = _em(codes, sizes, chosen, np.random.default_rng([seed, chosen]))
        return cls(
            columns=list(columns),
            levels=[list(v) for v in levels],
            weights=weights,
            probabilities=probabilities,
            validation_log_likelihood={str(k): v for k, v in scores.items()},
        )

    # -- sampling --------------------------------------------------------------------------
    def sample_codes(self, n: int, conditions: dict[str, int], rng: np.random.Generator) -> np.ndarray:
        """``n`` rows of level codes; columns named in ``conditions`` take the given code."""
        log_posterior = np.log(self.weights)
        for column, code in conditions.items():
            log_posterior = log_posterior + np.log(self.probabilities[self.columns.index(column)][:, code])
        posterior = np.exp(log_posterior - log_posterior.max())
        posterior /= posterior.sum()
        classes = _draw(np.broadcast_to(posterior, (n, self.n_classes)), rng)
        out = np.empty((n, len(self.columns)), dtype=np.int64)
        for j, column in enumerate(self.columns):
            if column in conditions:
                out[:, j] = conditions[column]
            else:
                out[:, j] = _draw(self.probabilities[j][classes], rng)
        return out


def _draw(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row of a (rows x levels) probability matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random((probabilities.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative < u).sum(axis=1), probabilities.shape[1] - 1)


def _one_hot(codes: np.ndarray, sizes: list[int]) -> np.ndarray:
    """All columns one-hot side by side, shape (rows, sum of levels)."""
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    out = np.zeros((codes.shape[0], int(sum(sizes))))
    out[np.arange(codes.shape[0])[:, None], codes + offsets] = 1.0
    return out


def _log_likelihood(codes: np.ndarray, weights: np.ndarray, probabilities: list[np.ndarray]) -> np.ndarray:
    """Per-row log p(x) under the mixture."""
    joint = _one_hot(codes, [p.shape[1] for p in probabilities]) @ np.log(np.hstack(probabilities)).T
    joint += np.log(weights)
    top = joint.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True)))[:, 0]


def _em(codes: np.ndarray, sizes: list[int], k: int, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """MAP EM for a K-class mixture of categoricals, from random soft assignments."""
    n = codes.shape[0]
    one_hot = _one_hot(codes, sizes)
    edges = np.cumsum(sizes)[:-1]
    responsibilities = rng.dirichlet(np.ones(k), size=n)
    previous = -np.inf
    for _ in range(EM_ITERATIONS):
        weights = (responsibilities.sum(axis=0) + PRIOR) / (n + PRIOR * k)
        counts = (one_hot.T @ responsibilities).T + PRIOR  # (K, sum of levels)
        probabilities = [block / block.sum(axis=1, keepdims=True) for block in np.split(counts, edges, axis=1)]
        joint = one_hot @ np.log(np.hstack(probabilities)).T + np.log(weights)
        top = joint.max(axis=1, keepdims=True)
        normaliser = top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True))
        responsibilities = np.exp(joint - normaliser)
        total = float(normaliser.sum())
        if total - previous < TOLERANCE * abs(total):
            break
        previous = total
    return weights, probabilities
