"""Privacy: how much the synthetic rows reveal about the patients they were trained on.

Distances are Euclidean in the :class:`MixedEncoder` space (numbers scaled by the training
range, categories one-hot) and found with scikit-learn's nearest-neighbour index. Rows are
subsampled to ``max_rows`` per role, with a seed; exact copies are counted on every row.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from pipeline.validation.columns import ColumnKinds
from pipeline.validation.encoding import MixedEncoder
from pipeline.validation.metrics import Metric

FAMILY = "privacy"


def _sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    return frame if frame.height <= rows else frame.sample(rows, seed=seed)


def exact_copies(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Synthetic rows equal to a training row on every compared column.

    ``unique_record_copies`` counts synthetic rows equal to a training record no other
    training patient shares: each such row may disclose one patient. In coarse cohorts
    (few categorical columns) an honest sample hits such records by chance, so the same rate
    for unseen holdout patients is the baseline of ``unique_record_copy_rate``, and
    ``unique_record_copy_excess`` is the rate above that chance level.
    """
    columns = list(kinds.all)
    training_rows = train.select(columns)
    unique_train = training_rows.group_by(columns).len().filter(pl.col("len") == 1).drop("len")
    distinct_train = training_rows.unique()

    def matches(rows: pl.DataFrame, records: pl.DataFrame) -> int:
        return rows.select(columns).join(records, on=columns, how="semi", nulls_equal=True).height

    copies = matches(synthetic, unique_train)
    rate = copies / max(synthetic.height, 1)
    chance = matches(holdout, unique_train) / max(holdout.height, 1)
    return [
        Metric(
            FAMILY,
            "exact_copy_share",
            matches(synthetic, distinct_train) / max(synthetic.height, 1),
            baseline=matches(holdout, distinct_train) / max(holdout.height, 1),
        ),
        Metric(FAMILY, "unique_record_copies", float(copies)),
        Metric(FAMILY, "unique_record_copy_rate", rate, baseline=chance),
        Metric(FAMILY, "unique_record_copy_excess", rate - chance),
    ]


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
    holdout = _sample(holdout, max_rows, seed)
    synthetic = _sample(synthetic, max_rows, seed + 1)
    encoder = MixedEncoder.fit(kinds, train, holdout, synthetic)
    x_train, x_holdout, x_synthetic = (encoder.transform(f) for f in (train, holdout, synthetic))
    # train rows the size of the holdout, so "closer to train than to holdout" is 50% when private
    same_size = np.random.default_rng(seed).choice(len(x_train), size=min(len(x_train), len(x_holdout)), replace=False)
    x_train_same = x_train[same_size]

    synthetic_to_train = _nearest(x_train, x_synthetic, 2)
    holdout_to_train = _nearest(x_train, x_holdout, 2)
    synthetic_to_train_same = _nearest(x_train_same, x_synthetic, 1)[:, 0]
    synthetic_to_holdout = _nearest(x_holdout, x_synthetic, 1)[:, 0]
    closer = (synthetic_to_train_same < synthetic_to_holdout) + 0.5 * (synthetic_to_train_same == synthetic_to_holdout)

    def nndr(distances: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(distances[:, 1] > 0, distances[:, 0] / distances[:, 1], 0.0)
        return float(np.median(ratio))

    # membership inference: training rows lie closer to the synthetic rows than unseen rows do
    to_synthetic = _nearest(x_synthetic, np.vstack([x_train_same, x_holdout]), 1)[:, 0]
    membership = np.r_[np.ones(len(x_train_same)), np.zeros(len(x_holdout))]
    return [
        Metric(
            FAMILY,
            "dcr_median",
            float(np.median(synthetic_to_train[:, 0])),
            baseline=float(np.median(holdout_to_train[:, 0])),
        ),
        Metric(FAMILY, "dcr_share", float(closer.mean())),
        Metric(FAMILY, "nndr_median", nndr(synthetic_to_train), baseline=nndr(holdout_to_train)),
        Metric(FAMILY, "mia_auc", float(roc_auc_score(membership, -to_synthetic))),
    ]


def anonymeter_risks(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    secrets: list[str],
    seed: int = 0,
    attacks: int = 300,
    max_rows: int = 5_000,
) -> list[Metric]:
    """Singling-out, linkability and attribute-inference risks with anonymeter (Giomi et al. 2023).

    Targets are drawn with ``seed`` before anonymeter sees them, so the risks are reproducible.
    """
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    logging.getLogger("anonymeter").setLevel(logging.ERROR)
    columns = list(kinds.all)
    attacks = min(attacks, holdout.height, train.height)

    def frame(rows: pl.DataFrame, n: int, offset: int):
        return (
            _sample(rows.select(columns), n, seed + offset)
            .with_columns(pl.col(c).cast(pl.String) for c in kinds.categorical)
            .to_pandas()
        )

    ori, control = frame(train, attacks, 0), frame(holdout, attacks, 1)
    syn = frame(synthetic, max_rows, 2)
    metrics = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        singling = SinglingOutEvaluator(ori, syn, n_attacks=attacks, control=control, seed=seed).evaluate("univariate")
        metrics.append(Metric(FAMILY, "singling_out_risk", singling.risk().value))
        half = len(columns) // 2
        linkability = LinkabilityEvaluator(
            ori, syn, aux_cols=(columns[:half], columns[half:]), n_attacks=attacks, control=control, n_neighbors=10
        ).evaluate(n_jobs=1)
        metrics.append(Metric(FAMILY, "linkability_risk", linkability.risk(n_neighbors=10).value))
        for secret in secrets:
            inference = InferenceEvaluator(
                ori,
                syn,
                aux_cols=[c for c in columns if c != secret],
                secret=secret,
                regression=secret in kinds.numerical,
                n_attacks=attacks,
                control=control,
            ).evaluate(n_jobs=1)
            metrics.append(Metric(FAMILY, "inference_risk", inference.risk().value, target=secret))
    return metrics
