"""Run the validation families on (train, holdout, synthetic) and return the long metric table."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from pipeline.validation import fairness, fidelity, privacy, survival, utility
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import ValidationConfig, ValidationSettings, apply_gates
from pipeline.validation.metrics import OVERALL, Metric, metrics_frame

Progress = Callable[[str], None]


def _real(train: pl.DataFrame, holdout: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([train, holdout], how="vertical_relaxed")


def gated_metrics(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    *,
    protected: list[str],
    settings: ValidationSettings,
) -> list[Metric]:
    """Just the metrics the default gates need: copies, distances, MIA, representation, C2ST."""
    kinds = column_kinds(train, synthetic)
    return [
        *privacy.exact_copies(train, holdout, synthetic, kinds),
        *privacy.distance_metrics(
            train, holdout, synthetic, kinds, seed=settings.seed, max_rows=settings.privacy_max_rows
        ),
        *fairness.representation(
            _real(train, holdout), synthetic, protected, min_rows=settings.min_representation_rows
        ),
        Metric(
            fidelity.FAMILY,
            "c2st_auc",
            fidelity.c2st_auc(holdout, synthetic, kinds, seed=settings.seed, max_rows=settings.c2st_max_rows),
        ),
    ]


def run_validation(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    *,
    protected: list[str],
    settings: ValidationSettings,
    progress: Progress | None = None,
) -> list[Metric]:
    """Every family: fidelity, utility, survival, privacy and fairness."""
    say = progress or (lambda _: None)
    kinds = column_kinds(train, synthetic)
    s = settings
    say("fidelity: column shapes, pair trends, distances")
    metrics = [
        *fidelity.column_shapes(holdout, synthetic, kinds),
        *fidelity.pair_trends(holdout, synthetic, kinds),
        *fidelity.distances(holdout, synthetic, kinds),
    ]
    say("fidelity: classifier two-sample test")
    metrics.append(
        Metric(
            fidelity.FAMILY,
            "c2st_auc",
            fidelity.c2st_auc(holdout, synthetic, kinds, seed=s.seed, max_rows=s.c2st_max_rows),
        )
    )
    say("utility: train on synthetic, test on real")
    utility_metrics, predictions = utility.mortality_auc(
        train, holdout, synthetic, kinds, horizon_months=s.horizon_months, seed=s.seed
    )
    metrics += utility_metrics
    metrics += utility.survival_concordance(train, holdout, synthetic, kinds, max_rows=s.utility_max_rows, seed=s.seed)
    say("survival: Kaplan-Meier gaps and Cox hazard ratios")
    metrics += survival.km_metrics(holdout, synthetic, kinds, protected, min_rows=s.min_subgroup_rows)
    metrics += survival.hazard_ratio_metrics(holdout, synthetic, kinds)
    say("privacy: exact copies, distances to closest records, membership inference")
    metrics += privacy.exact_copies(train, holdout, synthetic, kinds)
    metrics += privacy.distance_metrics(train, holdout, synthetic, kinds, seed=s.seed, max_rows=s.privacy_max_rows)
    if s.anonymeter_attacks > 0:
        say("privacy: Anonymeter singling-out, linkability and inference risks")
        metrics += privacy.anonymeter_risks(
            train,
            holdout,
            synthetic,
            kinds,
            secrets=fairness.protected_present(train, protected),
            seed=s.seed,
            attacks=s.anonymeter_attacks,
        )
    say("fairness: representation, subgroup fidelity, parity of a reference model")
    metrics += fairness.representation(_real(train, holdout), synthetic, protected, min_rows=s.min_representation_rows)
    metrics += fairness.subgroup_fidelity(holdout, synthetic, kinds, protected, min_rows=s.min_subgroup_rows)
    if predictions is not None:
        metrics += fairness.model_fairness(holdout, predictions, protected)
    return metrics


def metric_table(
    metrics: list[Metric], config: ValidationConfig, *, cohort: str, synthesizer: str, run_id: str
) -> pl.DataFrame:
    """Metrics as the long table with the cohort's gates applied."""
    frame = metrics_frame(metrics, cohort=cohort, synthesizer=synthesizer, run_id=run_id, config_version=config.version)
    return apply_gates(frame, config.gates_for(cohort))


HEADLINE = (
    ("fidelity", "column_shapes"),
    ("fidelity", "pair_trends"),
    ("fidelity", "c2st_auc"),
    ("utility", "tstr_auc"),
    ("utility", "tstr_c_index"),
    ("survival", "km_max_gap"),
    ("survival", "hazard_ratio_agreement"),
    ("privacy", "dcr_share"),
    ("privacy", "mia_auc"),
    ("privacy", "unique_record_copies"),
)


def headline_scores(table: pl.DataFrame) -> dict[str, float | None]:
    """The overall value of each headline metric (and its real baseline where there is one)."""
    scores: dict[str, float | None] = {}
    for family, metric in HEADLINE:
        rows = table.filter((pl.col("family") == family) & (pl.col("metric") == metric))
        overall = rows.filter(pl.col("target") == OVERALL)
        row = (overall if not overall.is_empty() else rows).head(1)
        if row.is_empty():
            continue
        scores[metric] = row["value"][0]
        if row["baseline"][0] is not None:
            scores[f"{metric}_real"] = row["baseline"][0]
    ratios = table.filter(pl.col("metric") == "representation_ratio")["value"]
    if ratios.len():
        scores["worst_representation_ratio"] = ratios.min()
    gated = table.filter(pl.col("gate"))
    scores["gates_passed"] = float(gated["passed"].all()) if gated.height else None
    return scores
