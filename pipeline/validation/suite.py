"""Run the validation families on (train, holdout, synthetic) and return the long metric table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipeline.errors import OncoBenchError
from pipeline.intervals import auc_interval
from pipeline.rules import Rule, load_rules
from pipeline.validation import fairness, fidelity, plausibility, privacy, survival, utility
from pipeline.validation.columns import ColumnKinds, column_kinds, not_synthesized
from pipeline.validation.gates import ValidationConfig, ValidationSettings
from pipeline.validation.metrics import OVERALL, Metric, metrics_frame
from pipeline.validation.verdicts import apply_gates, describe_failures, describe_inconclusive

Progress = Callable[[str], None]


class ValidationError(OncoBenchError):
    """Validation cannot run on the data given (empty or mismatched cohorts)."""


def _real(train: pl.DataFrame, holdout: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([train, holdout], how="vertical_relaxed")


def _fidelity(
    holdout: pl.DataFrame, synthetic: pl.DataFrame, kinds: ColumnKinds, s: ValidationSettings
) -> list[Metric]:
    n = min(holdout.height, synthetic.height, s.c2st_max_rows)
    auc = fidelity.c2st_auc(holdout, synthetic, kinds, seed=s.seed, max_rows=s.c2st_max_rows)
    low, high = auc_interval(auc, n, n)
    return [
        *fidelity.column_shapes(holdout, synthetic, kinds),
        *fidelity.pair_trends(holdout, synthetic, kinds),
        *fidelity.distances(holdout, synthetic, kinds),
        Metric(fidelity.FAMILY, "c2st_auc", auc, lower=low, upper=high, rows=n),
    ]


def _privacy(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    kinds: ColumnKinds,
    protected: list[str],
    s: ValidationSettings,
    say: Progress,
) -> list[Metric]:
    say("privacy: quasi-identifier, rare-value and identifier replay; exact copies")
    metrics = privacy.qi_replay(train, holdout, synthetic, kinds, protected=protected, min_rows=s.min_gate_rows)
    metrics += privacy.rare_value_replay(train, holdout, synthetic, kinds)
    metrics += privacy.identifier_copies(train, holdout, synthetic, kinds)
    metrics += privacy.exact_copies(train, holdout, synthetic, kinds)
    say("privacy: membership inference by density (DOMIAS) and by distance")
    metrics += privacy.domias_auc(train, holdout, synthetic, kinds, seed=s.seed, max_rows=s.privacy_max_rows)
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
    return metrics


def noise_floor(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    kinds: ColumnKinds,
    *,
    protected: list[str],
    settings: ValidationSettings,
    progress: Progress | None = None,
) -> dict[tuple[str, str, str], float]:
    """Every fidelity, survival and privacy metric with real patients in the synthetic role: the best
    any generator can do on this cohort and split.

    Fidelity and survival score training patients against the holdout; privacy scores one half of
    the holdout (unseen patients, so nothing can leak) against training, with the other half as
    the chance reference.
    """
    say = progress or (lambda _: None)
    say("noise floor: real training patients against the holdout, unseen patients against training")
    metrics = _fidelity(holdout, train, kinds, settings)
    metrics += survival.km_metrics(
        holdout, train, kinds, protected, min_rows=settings.min_subgroup_rows, seed=settings.seed
    )
    half = holdout.sample(fraction=1.0, shuffle=True, seed=settings.seed)
    unseen, chance = half.head(half.height // 2), half.tail(half.height - half.height // 2)
    metrics += _privacy(train, chance, unseen, kinds, protected, settings, lambda _: None)
    return {(m.family, m.metric, m.target): m.value for m in metrics}


def run_validation(
    train: pl.DataFrame,
    holdout: pl.DataFrame,
    synthetic: pl.DataFrame,
    *,
    protected: list[str],
    settings: ValidationSettings,
    rules: list[Rule] | None = None,
    progress: Progress | None = None,
) -> list[Metric]:
    """Every family: fidelity (with clinical plausibility), utility, survival, privacy and fairness."""
    say = progress or (lambda _: None)
    kinds = column_kinds(train, synthetic)
    s = settings
    say("fidelity: column shapes, pair trends, distances, classifier two-sample test")
    left_out = not_synthesized(train, synthetic)
    metrics = [Metric(fidelity.FAMILY, "columns_not_synthesized", float(len(left_out)), ", ".join(left_out) or OVERALL)]
    metrics += _fidelity(holdout, synthetic, kinds, s)
    metrics += plausibility.implausible_rows(holdout, synthetic, load_rules() if rules is None else rules)
    say("utility: train on synthetic, test on real")
    utility_metrics, predictions = utility.mortality_auc(
        train, holdout, synthetic, kinds, horizon_months=s.horizon_months, seed=s.seed
    )
    metrics += utility_metrics
    metrics += utility.survival_concordance(train, holdout, synthetic, kinds, max_rows=s.utility_max_rows, seed=s.seed)
    say("survival: Kaplan-Meier gaps, optimism, short-sightedness and Cox hazard ratios")
    metrics += survival.km_metrics(holdout, synthetic, kinds, protected, min_rows=s.min_subgroup_rows, seed=s.seed)
    metrics += survival.hazard_ratio_metrics(holdout, synthetic, kinds)
    metrics += survival.treatment_effect_metrics(_real(train, holdout), synthetic, kinds)
    metrics += _privacy(train, holdout, synthetic, kinds, protected, s, say)
    say("fairness: representation, subgroup fidelity, parity of a reference model")
    metrics += fairness.representation(_real(train, holdout), synthetic, protected, min_rows=s.min_representation_rows)
    metrics += fairness.subgroup_fidelity(holdout, synthetic, kinds, protected, min_rows=s.min_subgroup_rows)
    if predictions is not None:
        metrics += fairness.model_fairness(holdout, predictions, protected)
    return metrics


def metric_table(
    metrics: list[Metric],
    config: ValidationConfig,
    *,
    cohort: str,
    synthesizer: str,
    run_id: str,
    rows: int | None = None,
    floor: dict[tuple[str, str, str], float] | None = None,
) -> pl.DataFrame:
    """Metrics as the long table (with their noise floor) and the cohort's gates applied."""
    frame = metrics_frame(
        metrics, cohort=cohort, synthesizer=synthesizer, run_id=run_id, config_version=config.version,
        rows=rows, noise_floor=floor,
    )  # fmt: skip
    return apply_gates(frame, config.gates_for(cohort), alpha=config.settings.family_alpha)


@dataclass(frozen=True)
class ValidationResult:
    """The long metric table with gates applied, and the verdict read from it."""

    table: pl.DataFrame
    config: ValidationConfig

    @property
    def failures(self) -> list[str]:
        """One line per blocking gate row (metric, target, value, why it blocks)."""
        return describe_failures(self.table)

    @property
    def inconclusive(self) -> list[str]:
        """One line per inconclusive gate row that does not block (too few rows or within noise)."""
        return describe_inconclusive(self.table)

    @property
    def verdicts(self) -> dict[str, int]:
        """How many gated rows passed, failed and were inconclusive."""
        counts = self.table.filter(pl.col("gate"))["verdict"].value_counts()
        return {verdict: int(n) for verdict, n in counts.iter_rows()}

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def gates(self) -> pl.DataFrame:
        """The gated rows."""
        return self.table.filter(pl.col("gate")).select(
            "family", "metric", "target", "value", "noise_floor", "ci_lower", "ci_upper", "rows",
            "threshold", "bound", "min_rows", "judged", "p_value", "verdict", "blocking", "passed",
        )  # fmt: skip

    def verdict(self) -> str:
        """One sentence, then one line per failed gate."""
        counts = ", ".join(f"{n} {v}" for v, n in sorted(self.verdicts.items()))
        listed = "".join(f"\n- inconclusive: {line}" for line in self.inconclusive)
        if self.passed:
            return f"released: no gate blocks ({counts}; config {self.config.version})" + listed
        blocking = "".join(f"\n- blocks: {line}" for line in self.failures)
        head = f"withheld: {len(self.failures)} gate(s) block ({counts}; config {self.config.version})"
        return head + blocking + listed


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
    rules: list[Rule] | None = None,
    progress: Progress | None = None,
) -> ValidationResult:
    """The validation stage: every metric once, then the cohort's gates applied to that table.

    ``rules`` are the clinical plausibility rules (default: ``config/plausibility_rules.yaml``)."""
    for name, frame in (("training", train), ("holdout", holdout), ("synthetic", synthetic)):
        if frame.is_empty():
            raise ValidationError(f"{cohort}: the {name} cohort has no rows; nothing to validate")
    metrics = run_validation(
        train, holdout, synthetic, protected=protected, settings=config.settings, rules=rules, progress=progress
    )
    floor = (
        noise_floor(
            train,
            holdout,
            column_kinds(train, synthetic),
            protected=protected,
            settings=config.settings,
            progress=progress,
        )
        if config.settings.noise_floor
        else None
    )
    table = metric_table(
        metrics, config, cohort=cohort, synthesizer=synthesizer, run_id=run_id,
        rows=min(holdout.height, synthetic.height), floor=floor,
    )  # fmt: skip
    return ValidationResult(table, config)


HEADLINE = (
    ("fidelity", "column_shapes"),
    ("fidelity", "pair_trends"),
    ("fidelity", "c2st_auc"),
    ("utility", "tstr_auc"),
    ("utility", "tstr_c_index"),
    ("survival", "km_max_gap"),
    ("survival", "hazard_ratio_agreement"),
    ("privacy", "qi_replay_excess"),
    ("privacy", "domias_auc"),
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
        if row["noise_floor"][0] is not None:
            scores[f"{metric}_floor"] = row["noise_floor"][0]
    ratios = table.filter(pl.col("metric") == "representation_ratio")["value"]
    if ratios.len():
        scores["worst_representation_ratio"] = ratios.min()
    gated = table.filter(pl.col("gate"))
    scores["gates_passed"] = float(not gated["blocking"].any()) if gated.height else None
    return scores
