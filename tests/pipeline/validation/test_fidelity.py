"""Our fidelity metrics equal sdmetrics' on the same data, and C2ST tells alike from unlike."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.single_column import KSComplement, TVComplement

from pipeline.validation import fidelity
from pipeline.validation.columns import column_kinds


def _perturbed(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    """A different sample: rows resampled, numbers jittered, one category shifted, some nulls."""
    rng = np.random.default_rng(seed)
    rows = frame.sample(frame.height, with_replacement=True, seed=seed)
    noise = pl.Series(rng.normal(0, 3, rows.height))
    rows = rows.with_columns(pl.col("age_at_diagnosis") + noise, pl.col("nodes").cast(pl.Float64) * 1.1)
    rows = rows.with_columns(
        pl.when(pl.Series(rng.random(rows.height) < 0.1))
        .then(None)
        .otherwise(pl.col("tumor_grade"))
        .alias("tumor_grade"),
        pl.when(pl.Series(rng.random(rows.height) < 0.05))
        .then(None)
        .otherwise(pl.col("age_at_diagnosis"))
        .alias("age_at_diagnosis"),
    )
    return rows


def test_column_shapes_and_pair_trends_equal_sdmetrics(colon: pl.DataFrame) -> None:
    real, synthetic = colon, _perturbed(colon, 1)
    kinds = column_kinds(real, synthetic)
    real_pd, synthetic_pd = real.to_pandas(), synthetic.to_pandas()
    objects = {c: object for c in kinds.categorical}
    real_pd, synthetic_pd = real_pd.astype(objects), synthetic_pd.astype(objects)
    shapes = fidelity.column_shapes(real, synthetic, kinds)
    assert len(shapes) == len(kinds.all) + 1
    for metric in shapes[:-1]:
        column = metric.target
        reference = (KSComplement if column in kinds.numerical else TVComplement).compute(
            real_pd[column], synthetic_pd[column]
        )
        assert metric.value == pytest.approx(reference, abs=1e-6), column
    pairs = fidelity.pair_trends(real, synthetic, kinds)
    assert {m.metric for m in pairs[:-1]} == {"correlation_similarity", "contingency_similarity"}
    for metric in pairs[:-1]:
        a, b = metric.target.split("|")
        if metric.metric == "correlation_similarity":
            reference = CorrelationSimilarity.compute(real_pd[[a, b]], synthetic_pd[[a, b]])
        else:
            continuous = [c for c in (a, b) if c in kinds.numerical] or None
            reference = ContingencySimilarity.compute(
                real_pd[[a, b]], synthetic_pd[[a, b]], continuous_column_names=continuous
            )
        assert metric.value == pytest.approx(reference, abs=1e-6), metric.target


def test_two_samples_of_one_distribution_pass_c2st_and_a_distorted_one_does_not(
    colon_split: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    train, holdout = colon_split
    kinds = column_kinds(train)
    alike = fidelity.c2st_auc(holdout, train, kinds, seed=0)
    distorted = train.with_columns(pl.col("age_at_diagnosis") + 15, pl.col("survival_months") * 0.5)
    unlike = fidelity.c2st_auc(holdout, distorted, kinds, seed=0)
    assert alike < 0.6, alike
    assert unlike > 0.8, unlike


def test_distances_are_zero_for_identical_frames(colon: pl.DataFrame) -> None:
    kinds = column_kinds(colon)
    assert all(m.value == pytest.approx(0.0, abs=1e-12) for m in fidelity.distances(colon, colon, kinds))
