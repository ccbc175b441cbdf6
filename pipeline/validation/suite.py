"""Run the validation families on (train, holdout, synthetic) and return the long metric table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.validation import fairness, fidelity, privacy, survival, utility
from pipeline.validation.columns import column_kinds
from pipeline.validation.gates import ValidationConfig, ValidationSettings, apply_gates, describe_failures
from pipeline.validation.metrics import OVERALL, Metric, metrics_frame

Progress = Callable[[str], None]


class ValidationError(OncoBenchError):
    """Validation cannot run on the data given (empty or mismatched cohorts)."""


def _real(train: pl.DataFrame, holdout: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([train, holdout], how="vertical_relaxed")


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


@dataclass(frozen=True)
class ValidationResult:
    """The long metric table with gates applied, and the verdict read from it."""

    table: pl.DataFrame
    config: ValidationConfig

    @property
    def failures(self) -> list[str]:
        """One line per failed gate row (metric, target, value, bound)."""
        return describe_failures(self.table)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def gates(self) -> pl.DataFrame:
        """The gated rows."""
        return self.table.filter(pl.col("gate")).select(
            "family", "metric", "target", "value", "threshold", "bound", "passed"
        )

    def verdict(self) -> str:
        """One sentence, then one line per failed gate."""
        if self.passed:
            return f"all {self.gates.height} gated values within bounds (config {self.config.version})"
        return f"{len(self.failures)} gate(s) failed (config {self.config.version}):\n" + "\n".join(
            f"- {f}" for f in self.failures
        )


def validate_cohort(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    *,
    protected: list[str],
    config: ValidationConfig,
    cohort: str,
    synthesizer: str,
    run_id: str,
    progress: Progress | None = None,
) -> ValidationResult:
    """The validation stage: every metric once, then the cohort's gates applied to that table."""
    for name, frame in (("training", train), ("holdout", holdout), ("synthetic", synthetic)):
        if frame.is_empty():
            raise ValidationError(f"{cohort}: the {name} cohort has no rows; nothing to validate")
    metrics = run_validation(
        train, holdout, synthetic, protected=protected, settings=config.settings, progress=progress
    )
    table = metric_table(metrics, config, cohort=cohort, synthesizer=synthesizer, run_id=run_id)
    return ValidationResult(table, config)


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
