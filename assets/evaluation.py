"""model_evaluation: every registered model scored on the release, one partition per model (its checks
partitioned the same way); leaderboard: every model's verdict on the release, a short table inline in the UI."""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.metadata import png, readable, rounded, table
from assets.release import RELEASE_KEY
from assets.resources import ReleaseStoreResource, RulesResource, WarehouseResource
from pipeline.evaluation.config import EvaluationConfig, FindingRule, load_evaluation_config
from pipeline.evaluation.plots import calibration_png, explanation_png, flip_rate_png, subgroup_png
from pipeline.evaluation.records import evaluation_frame, record_evaluation, verdicts
from pipeline.evaluation.registry import ModelsRegistry, load_models_registry
from pipeline.evaluation.report import verdict_markdown
from pipeline.evaluation.stage import Evaluation, declared_task_names, evaluate_release
from pipeline.settings import Settings

EVALUATION = "evaluation"


def finding_check(finding_id: str) -> str:
    return f"model_passes_{finding_id}"


class EvaluationConfigResource(dg.ConfigurableResource):
    """Evaluation settings and finding thresholds (``config/evaluation.yaml`` by default)."""

    path: str

    def load(self) -> EvaluationConfig:
        return load_evaluation_config(self.path)


class ModelsRegistryResource(dg.ConfigurableResource):
    """The models the `model_evaluation` asset scores (``config/models.yaml`` by default)."""

    path: str

    def load(self) -> ModelsRegistry:
        return load_models_registry(self.path)


class ModelEvaluationConfig(dg.Config):
    """Which release to score (empty: the release that ``benchmark_release`` wrote last)."""

    version: str = ""


def _headline(evaluations: list[Evaluation]) -> pl.DataFrame:
    frames = [evaluation_frame(e).with_columns(pl.lit(e.result["task"]).alias("task")) for e in evaluations]
    columns = ["task", "cohort", "metric", "value", "ci_low", "ci_high", "n", "worst_group", "max_flip_attribute",
               "max_flip_rate", "max_flip_ci_low", "max_flip_ci_high", "adversarial_change",
               "findings_failed", "findings_inconclusive", "top_features", "faithfulness"]  # fmt: skip
    return pl.concat(frames, how="vertical").select(columns)


Blocks = list[tuple[str, str, dict]]  # (task, cohort, the cohort's result block with its findings)


def task_blocks(evaluations: list[Evaluation]) -> Blocks:
    """Every (task, cohort, block) of a model's evaluations."""
    return [(e.result["task"], c, b) for e in evaluations for c, b in e.result["cohorts"].items()]


def _rows(blocks: Blocks, finding_id: str, key: str) -> list[dict]:
    """The candidates under ``key`` ("breaches" or "inconclusive") of one finding, per task and cohort."""
    return [
        {"task": task, "cohort": cohort, "target": b["target"], "value": b["value"],
         "ci_low": b["ci_low"], "ci_high": b["ci_high"],
         "judged_low": b["interval"][0] if b.get("interval") else None,
         "judged_high": b["interval"][1] if b.get("interval") else None, "cases": len(b["cases"])}
        for task, cohort, block in blocks
        for f in block["findings"] if f["id"] == finding_id for b in f.get(key, [])
    ]  # fmt: skip


def finding_result(check_name: str, finding_id: str, why: str, model: str, blocks: Blocks) -> dg.AssetCheckResult:
    """One finding over every task and cohort of the partition's model: fails (WARN) when a verdict is
    "fail"; passes otherwise, the description starting with "inconclusive:" when the evidence cannot
    decide a candidate (listed in the metadata) or "not applicable:" when no task has the score, so a
    failed check always means evidence of a problem. The check is partitioned by model (the UI lists its
    result under the partition); its description and metadata name the model too."""
    judged = [(task, cohort, f) for task, cohort, block in blocks
              for f in block["findings"] if f["id"] == finding_id]  # fmt: skip
    if not judged:  # no cohort scored, or a finding absent from the config the run used
        return dg.AssetCheckResult(
            check_name=check_name,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{finding_id}: {model}: not judged ("
            + ("the evaluation config of this run has no such finding)" if blocks else "no cohort was scored)"),
            metadata={"model": model, "verdict": "not judged"},
        )
    breaches, unclear = _rows(blocks, finding_id, "breaches"), _rows(blocks, finding_id, "inconclusive")
    verdicts = [f.get("verdict", "pass" if f["passed"] else "fail") for _, _, f in judged]
    applicable = [v for v in verdicts if v != "not applicable"]
    verdict = "fail" if "fail" in applicable else "inconclusive" if "inconclusive" in applicable else "pass"
    verdict = verdict if applicable or not verdicts else "not applicable"
    rule = judged[0][2]["rule"] if judged else finding_id
    detail = {
        "fail": f" ({len(breaches)} breaches; cases in the evaluation JSON)",
        "inconclusive": f" ({len(unclear)} scores the evidence cannot decide, none beyond the bound)"
        if unclear
        else " (nothing could be judged: too few rows, events or pairs)",
        "pass": "",
        "not applicable": " (no such score for the tasks of this model)",
    }[verdict]
    empty = dg.MetadataValue.md("_none_")
    per_cohort = [{"task": t, "cohort": c, "verdict": v, "checked": f["checked"]}
                  for (t, c, f), v in zip(judged, verdicts, strict=True)]  # fmt: skip
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=verdict != "fail",
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{verdict}: {model}: {rule}: {why}{detail}",
        metadata={
            "model": model,
            "tasks": ", ".join(sorted({t for t, _, _ in judged})),
            "verdict": verdict,
            "verdicts": table(pl.DataFrame(per_cohort)) if per_cohort else empty,
            "breaches": table(pl.DataFrame(breaches)) if breaches else empty,
            "inconclusive": table(pl.DataFrame(unclear)) if unclear else empty,
        },
    )


def build_model_evaluation(settings: Settings) -> dg.AssetsDefinition:
    """The ``model_evaluation`` asset: one partition per model of ``settings.models``, one check per
    finding of ``settings.evaluation`` (partitioned by model, so each verdict names its model)."""
    models = load_models_registry(settings.models)
    rules = load_evaluation_config(settings.evaluation).findings
    return _model_evaluation_asset(dg.StaticPartitionsDefinition(models.names), rules)


def _model_evaluation_asset(
    partitions: dg.PartitionsDefinition, findings: tuple[FindingRule, ...]
) -> dg.AssetsDefinition:
    @dg.asset(
        name="model_evaluation",
        partitions_def=partitions,
        group_name=EVALUATION,
        kinds={"duckdb", "scikitlearn"},
        ins={"release": dg.AssetIn(key=RELEASE_KEY)},
        check_specs=[
            dg.AssetCheckSpec(
                finding_check(rule.id), asset="model_evaluation", description=rule.why, partitions_def=partitions
            )
            for rule in findings
        ],
    )
    @measured
    def model_evaluation(
        context: dg.AssetExecutionContext,
        config: ModelEvaluationConfig,
        models: ModelsRegistryResource,
        evaluation_config: EvaluationConfigResource,
        rules: RulesResource,
        warehouse: WarehouseResource,
        releases: ReleaseStoreResource,
        release: dict[str, str],
    ) -> dg.MaterializeResult:
        """One registered model (config/models.yaml) scored on every task it lists (none: every task the
        release declares), on the verified release:
        performance with intervals, subgroups and intersections, counterfactual flip rates, adversarial search,
        stress cells, attributions (a bar plot per task and cohort) and findings (one check each). Recorded in
        the DuckDB table `evaluations` (the leaderboard) and the audit chain."""
        entry = models.load().get(context.partition_key)
        version = config.version or release["version"]
        directory = Path(releases.root) / version
        store, settings = warehouse.get(), evaluation_config.load()
        evaluations = []
        for task in entry.tasks or declared_task_names(directory, store):
            evaluation = evaluate_release(
                directory, entry.model, task, config=settings, rules=rules.load(), store=store,
                progress=lambda step: context.log.info(f"{entry.name}: {step}"),
            )  # fmt: skip
            record_evaluation(store, evaluation)
            evaluations.append(evaluation)
        headline = _headline(evaluations)
        plots = {}
        for evaluation in evaluations:
            task = evaluation.result["task"]
            cohorts = evaluation.result["cohorts"]
            plots[f"calibration_{task}"] = png(
                calibration_png({c: b["performance"].get("calibration_curve", []) for c, b in cohorts.items()},
                                f"{entry.name}: calibration ({task})"), "calibration curves")  # fmt: skip
            for cohort, block in cohorts.items():
                plots[f"flip_rates_{task}_{cohort}"] = png(
                    flip_rate_png(block["counterfactual"], f"{cohort}: flip rate ({task})"), "flip rates"
                )
                plots[f"subgroups_{task}_{cohort}"] = png(
                    subgroup_png(block["subgroups"], f"{cohort}: per subgroup ({task})"), "subgroup scores"
                )
                plots[f"explanations_{task}_{cohort}"] = png(
                    explanation_png(block.get("explanations"), f"{cohort}: attributions ({task})"), "attributions"
                )
        return dg.MaterializeResult(
            metadata=readable(
                {
                    **plots,
                    "model": entry.model,
                    "release": version,
                    "fingerprint": evaluations[0].result["model"]["fingerprint"] if evaluations else "",
                    "config_version": settings.version,
                    "headline": table(headline),
                    "seconds": dg.MetadataValue.json(
                        {e.result["task"]: {step: rounded(t) for step, t in e.seconds.items()} for e in evaluations}
                    ),
                    "evaluation_kwh": sum(e.emissions.kwh or 0.0 for e in evaluations),
                    "evaluation_kg_co2e": sum(e.emissions.kg_co2e or 0.0 for e in evaluations),
                }
            ),
            check_results=[
                finding_result(finding_check(rule.id), rule.id, rule.why, entry.model, task_blocks(evaluations))
                for rule in findings
            ],
        )

    return model_evaluation


class LeaderboardConfig(dg.Config):
    """Which release's leaderboard (empty: the release that ``benchmark_release`` wrote last)."""

    version: str = ""


@dg.asset(
    group_name=EVALUATION,
    kinds={"duckdb"},
    ins={"release": dg.AssetIn(key=RELEASE_KEY)},
    deps=[dg.AssetDep("model_evaluation")],  # every model partition (unpartitioned downstream: all of them)
)
@measured
def leaderboard(
    config: LeaderboardConfig, warehouse: WarehouseResource, release: dict[str, str]
) -> dg.MaterializeResult:
    """The release's leaderboard from the DuckDB table `evaluations`: per model, cohort and task the headline
    score with its interval, how many findings passed, failed and were inconclusive, and the verdict (fail
    when any finding failed). The metadata `verdicts` is a short table the UI shows inline; `leaderboard`
    holds every row with the ids of the failed and inconclusive findings. Models evaluated on the same
    release outside Dagster (`oncobench evaluate`) are on it too."""
    version = config.version or release["version"]
    board = verdicts(warehouse.get(), version)
    failing = board.filter(pl.col("verdict") == "fail")["model"].unique().sort().to_list()
    return dg.MaterializeResult(
        metadata={
            "verdicts": dg.MetadataValue.md(verdict_markdown(board)),
            "release": version,
            "models": board["model"].n_unique(),
            "failing_models": ", ".join(failing) or "none",
            "leaderboard": table(board, first=("model", "cohort", "task", "verdict")),
            "dagster/row_count": board.height,
        }
    )
