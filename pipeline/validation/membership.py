"""Membership inference: can an attacker tell training patients from unseen ones by the synthetic rows?

By density, DOMIAS (van Breugel et al. 2023), and by distance: distance to closest record, its
share closer to training than to holdout, nearest-neighbour distance ratio and a distance MIA.
Distances are Euclidean in the :class:`MixedEncoder` space (numbers scaled by the training
range, categories one-hot) and found with scikit-learn's nearest-neighbour index. Rows are
subsampled to ``max_rows`` per role, with a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from pipeline.intervals import auc_interval, wilson
from pipeline.validation.adversary import FAMILY, sample_rows
from pipeline.validation.columns import ColumnKinds
from pipeline.validation.encoding import MixedEncoder
from pipeline.validation.metrics import Metric

DOMIAS_COMPONENTS = 8
DCR_DRAWS = 5  # draws of holdout-sized training rows the DCR share averages over


@dataclass(frozen=True)
class DomiasSets:
    """The four row sets of a DOMIAS attack, projected to the same whitened principal components."""

    reference: np.ndarray  # unseen real patients: the population density
    synthetic: np.ndarray
    members: np.ndarray  # training patients
    non_members: np.ndarray  # unseen patients (members are sampled to as many)


def domias_sets(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 5_000,
) -> DomiasSets:
    """The rows a DOMIAS attack compares, in the first whitened principal components of the mixed encoding.

    Half of the holdout is the reference, the other half the non-members (each at most ``max_rows``);
    as many training patients are the members."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    order = rng.permutation(holdout.height)
    reference, non_members = holdout[order[: holdout.height // 2]], holdout[order[holdout.height // 2 :]]
    # at most max_rows each: the kernel densities cost (reference rows) x (scored rows), quadratic in a registry
    reference, non_members = sample_rows(reference, max_rows, seed + 2), sample_rows(non_members, max_rows, seed + 3)
    members = sample_rows(train, non_members.height, seed)
    synthetic = sample_rows(synthetic, max_rows, seed + 1)
    encoder = MixedEncoder.fit(kinds, train, holdout, synthetic)
    x_train = encoder.transform(train)
    components = min(DOMIAS_COMPONENTS, x_train.shape[1], x_train.shape[0] - 1)
    pca = PCA(n_components=components, whiten=True, random_state=seed).fit(x_train)
    return DomiasSets(*(pca.transform(encoder.transform(f)) for f in (reference, synthetic, members, non_members)))


def domias_scores(sets: DomiasSets) -> np.ndarray:
    """log p_synthetic(x) - log p_reference(x) for members then non-members (Gaussian KDEs, Scott's bandwidth)."""
    from sklearn.neighbors import KernelDensity

    def density(rows: np.ndarray) -> KernelDensity:
        return KernelDensity(bandwidth="scott").fit(rows)

    test = np.vstack([sets.members, sets.non_members])
    return density(sets.synthetic).score_samples(test) - density(sets.reference).score_samples(test)


def domias_auc(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 5_000,
) -> list[Metric]:
    """DOMIAS (van Breugel et al., AISTATS 2023): membership score p_synthetic(x) / p_reference(x).

    A generator that memorises puts density on its training patients beyond what the population
    has; dividing by a reference density (unseen real patients) removes what is merely typical.
    Densities are Gaussian kernel estimates in the first principal components of the mixed
    encoding (:func:`domias_sets`). AUC 0.5 is no leakage. ``bench/privacy.py`` compares it with
    the ``domias`` package on the same rows.
    """
    sets = domias_sets(train, holdout, synthetic, kinds, seed=seed, max_rows=max_rows)
    n_members, n_non_members = len(sets.members), len(sets.non_members)
    labels = np.r_[np.ones(n_members), np.zeros(n_non_members)]
    auc = float(roc_auc_score(labels, domias_scores(sets)))
    low, high = auc_interval(auc, n_members, n_non_members)
    return [Metric(FAMILY, "domias_auc", auc, lower=low, upper=high, rows=min(n_members, n_non_members))]


def _nearest(index_rows: np.ndarray, query_rows: np.ndarray, k: int) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest index rows, shape (queries, k)."""
    index = NearestNeighbors(n_neighbors=k, algorithm="auto", n_jobs=-1).fit(index_rows)
    distances, _ = index.kneighbors(query_rows)
    return distances


def distance_metrics(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    seed: int = 0,
    max_rows: int = 10_000,
) -> list[Metric]:
    """Distance to closest record (DCR), DCR share, nearest-neighbour distance ratio, MIA AUC."""
    holdout = sample_rows(holdout, max_rows, seed)
    synthetic = sample_rows(synthetic, max_rows, seed + 1)
    encoder = MixedEncoder.fit(kinds, train, holdout, synthetic)
    x_train, x_holdout, x_synthetic = (encoder.transform(f) for f in (train, holdout, synthetic))
    # train rows the size of the holdout, so "closer to train than to holdout" is 50% when private;
    # averaged over several such draws, so that which training rows were drawn does not move the share
    rng, size = np.random.default_rng(seed), min(len(x_train), len(x_holdout))
    draws = [rng.choice(len(x_train), size=size, replace=False) for _ in range(DCR_DRAWS if size < len(x_train) else 1)]
    x_train_same = x_train[draws[0]]

    synthetic_to_train = _nearest(x_train, x_synthetic, 2)
    holdout_to_train = _nearest(x_train, x_holdout, 2)
    synthetic_to_holdout = _nearest(x_holdout, x_synthetic, 1)[:, 0]
    to_train = [_nearest(x_train[draw], x_synthetic, 1)[:, 0] for draw in draws]
    closer = np.mean([(d < synthetic_to_holdout) + 0.5 * (d == synthetic_to_holdout) for d in to_train], axis=0)

    def nndr(distances: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(distances[:, 1] > 0, distances[:, 0] / distances[:, 1], 0.0)
        return float(np.median(ratio))

    # membership inference: training rows lie closer to the synthetic rows than unseen rows do
    to_synthetic = _nearest(x_synthetic, np.vstack([x_train_same, x_holdout]), 1)[:, 0]
    membership = np.r_[np.ones(len(x_train_same)), np.zeros(len(x_holdout))]
    n_closer = len(closer)
    compared = min(n_closer, len(x_holdout))  # the holdout side bounds the evidence, not the synthetic rows
    share_low, share_high = wilson(float(closer.mean()) * compared, compared)
    mia = float(roc_auc_score(membership, -to_synthetic))
    mia_low, mia_high = auc_interval(mia, len(x_train_same), len(x_holdout))
    return [
        Metric(
            FAMILY,
            "dcr_median",
            float(np.median(synthetic_to_train[:, 0])),
            baseline=float(np.median(holdout_to_train[:, 0])),
        ),
        Metric(FAMILY, "dcr_share", float(closer.mean()), lower=share_low, upper=share_high, rows=compared),
        Metric(FAMILY, "nndr_median", nndr(synthetic_to_train), baseline=nndr(holdout_to_train)),
        Metric(FAMILY, "mia_auc", mia, lower=mia_low, upper=mia_high, rows=min(len(x_train_same), len(x_holdout))),
    ]
