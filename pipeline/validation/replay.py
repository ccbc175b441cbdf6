"""Replay attacks: what an adversary who knows a patient's quasi-identifiers or one rare value learns.

Every rate is set against the chance rate of unseen real patients (the holdout) and carries a
95% interval: quasi-identifier replay (overall and per protected subgroup), rare-value replay,
identifier-column copies, and exact copies of training records.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.dtypes import as_labels
from pipeline.intervals import rate_difference, wilson
from pipeline.schema import IDENTITY_COLUMNS
from pipeline.subgroups import subgroup_labels
from pipeline.validation.adversary import FAMILY, qi_labels, quasi_identifiers
from pipeline.validation.columns import ColumnKinds
from pipeline.validation.metrics import OVERALL, Metric

IDENTIFIER_DISTINCT_SHARE = 0.9  # a column whose training values are this unique identifies patients
MIN_IDENTIFIER_VALUES = 20


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
    return [
        Metric(
            FAMILY,
            "exact_copy_share",
            matches(synthetic, distinct_train) / max(synthetic.height, 1),
            baseline=matches(holdout, distinct_train) / max(holdout.height, 1),
        ),
        Metric(FAMILY, "unique_record_copies", float(copies)),
        *_rate_metrics(
            "unique_record_copy", copies, synthetic.height, matches(holdout, unique_train), holdout.height, OVERALL
        ),
    ]


def _rate_metrics(name: str, hits: int, n: int, chance_hits: int, n_chance: int, target: str) -> list[Metric]:
    """A synthetic rate beside the holdout's chance rate, and their difference (the gated excess)."""
    rate, chance = hits / max(n, 1), chance_hits / max(n_chance, 1)
    low, high = wilson(hits, n)
    d_low, d_high = rate_difference(hits, n, chance_hits, n_chance)
    rows = min(n, n_chance)
    return [
        Metric(FAMILY, f"{name}_rate", rate, target, baseline=chance, lower=low, upper=high, rows=rows),
        Metric(FAMILY, f"{name}_excess", rate - chance, target, lower=d_low, upper=d_high, rows=rows),
    ]


def qi_replay(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    protected: list[str] = (),
    min_rows: int = 30,
) -> list[Metric]:
    """Share of synthetic rows whose quasi-identifiers equal those of a training patient no other
    training patient shares, against the same share for unseen holdout patients (chance).

    A match singles that patient out: the adversary learns the patient was in the training data
    and the rest of the row (the event among it). The excess over chance is the disclosure.
    Computed overall and inside every protected subgroup with ``min_rows`` rows on both sides.
    """
    demographic, clinical = quasi_identifiers(kinds)
    columns = demographic + clinical
    if not columns:
        return []
    keys = [qi_labels(f, columns, train) for f in (train, holdout, synthetic)]
    unique = keys[0].group_by(columns).len().filter(pl.col("len") == 1).drop("len").with_columns(hit=pl.lit(True))

    def hits(frame: pl.DataFrame) -> pl.Series:
        return frame.join(unique, on=columns, how="left").get_column("hit").fill_null(False)

    holdout_hits, synthetic_hits = hits(keys[1]), hits(keys[2])
    metrics = _rate_metrics(
        "qi_replay", int(synthetic_hits.sum()), synthetic.height, int(holdout_hits.sum()), holdout.height, "(all)"
    )
    metrics.append(Metric(FAMILY, "qi_columns", float(len(columns)), ", ".join(columns)))
    for column in [c for c in protected if c in kinds.all]:
        real_groups = subgroup_labels(holdout, column, train)
        synthetic_groups = subgroup_labels(synthetic, column, train)
        for level in real_groups.drop_nulls().unique().sort().to_list():
            in_real, in_synthetic = (
                (real_groups == level).fill_null(False),
                (synthetic_groups == level).fill_null(False),
            )
            if in_real.sum() < min_rows or in_synthetic.sum() < min_rows:
                continue
            metrics += _rate_metrics(
                "qi_replay", int(synthetic_hits.filter(in_synthetic).sum()), int(in_synthetic.sum()),
                int(holdout_hits.filter(in_real).sum()), int(in_real.sum()), f"{column}={level}",
            )  # fmt: skip
    return metrics


def rare_value_replay(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Per categorical column: synthetic rows carrying a value seen exactly once in training,
    against the holdout's rate (a rare value reappearing points at its one patient)."""
    metrics = []
    for column in kinds.categorical:
        counts = as_labels(train[column]).drop_nulls().value_counts()
        once = counts.filter(pl.col("count") == 1).get_column(column)
        if once.is_empty():
            continue
        synthetic_hits = int(as_labels(synthetic[column]).is_in(once.implode()).sum())
        holdout_hits = int(as_labels(holdout[column]).is_in(once.implode()).sum())
        metrics += _rate_metrics(
            "rare_value_replay", synthetic_hits, synthetic.height, holdout_hits, holdout.height, column
        )
    if not metrics:  # no value seen once: record that the check ran
        metrics.append(Metric(FAMILY, "rare_value_replay_excess", 0.0, "(no value seen once in training)"))
    return metrics


def identifier_like(train: pl.DataFrame, kinds: ColumnKinds, extra: Sequence[str] = ()) -> list[str]:
    """Columns (of ``extra`` and the compared ones) whose training values (nearly) identify patients;
    measurements are left out: equal values are chance, rare-value replay and distances cover them."""
    found = []
    for column in [*extra, *kinds.all]:
        values = train[column].drop_nulls()
        if column in kinds.numerical and not values.dtype.is_integer():
            continue
        distinct = values.n_unique()
        if distinct >= MIN_IDENTIFIER_VALUES and distinct >= IDENTIFIER_DISTINCT_SHARE * values.len():
            found.append(column)
    return found


def identifier_copies(
    train: pl.DataFrame, holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds
) -> list[Metric]:
    """Columns whose training values (nearly) identify patients: the share of synthetic rows that
    carry a training value verbatim, against the holdout's share (a real identifier: 0).

    One copied identifier column (a patient code let through at ingestion) discloses every row
    it appears in, whatever the distances of the other columns say.
    """
    metrics = []
    # the patient key is an identifier by definition (the pipeline gives synthetic rows fresh ones;
    # a synthetic set built elsewhere may not): judged like any identifier-like column
    keys = [c for c in IDENTITY_COLUMNS if c != "cohort" and all(c in f.columns for f in (train, holdout, synthetic))]
    for column in identifier_like(train, kinds, extra=keys):
        known = as_labels(train[column].drop_nulls()).unique().implode()
        synthetic_hits = int(as_labels(synthetic[column]).is_in(known).sum())
        holdout_hits = int(as_labels(holdout[column]).is_in(known).sum())
        metrics += _rate_metrics(
            "identifier_copy", synthetic_hits, synthetic.height, holdout_hits, holdout.height, column
        )
    if not metrics:  # nothing identifier-like: record that the check ran
        metrics.append(Metric(FAMILY, "identifier_copy_excess", 0.0, "(no identifier-like column)"))
    return metrics
