"""recommender_scores: every registered treatment recommender (``recommenders:`` in config/models.yaml)
scored on the release, one partition each, one check per finding of config/recommender_evaluation.yaml
(partitioned by recommender, so each verdict names its recommender)."""

from pathlib import Path

import dagster as dg

from assets.energy import measured
from assets.evaluation import EVALUATION, finding_result
from assets.metadata import png, readable, table
from assets.release import RELEASE_KEY
from assets.resources import ReleaseStoreResource, WarehouseResource
from pipeline.evaluation.plots import flip_rate_png
from pipeline.recommenders.config import RecommenderConfig, load_recommender_config
from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.records import record_recommender_evaluation
from pipeline.recommenders.registry import RecommenderEntry, load_recommenders_registry
from pipeline.recommenders.report import headline_frame
from pipeline.recommenders.stage import evaluate_recommender_release
from pipeline.settings import Settings

RECOMMENDER_SCORES = "recommender_scores"
TASK = "next_line"  # what a recommender is scored on: the therapy of each patient's next line


def recommender_check(finding_id: str) -> str:
    return f"recommender_passes_{finding_id}"


class RecommendersResource(dg.ConfigurableResource):
    """The registered recommenders (``models`` file), their config and the therapy table they are judged by."""

    models: str
    config: str
    guidelines: str

    def entry(self, name: str) -> RecommenderEntry:
        entries = {e.name: e for e in load_recommenders_registry(self.models)}
        return entries[name]

    def load_config(self) -> RecommenderConfig:
        return load_recommender_config(self.config)


class RecommenderEvaluationConfig(dg.Config):
    """Which release to score (empty: the release that ``benchmark_release`` wrote last)."""

    version: str = ""


def build_recommender_evaluation(settings: Settings, guidelines: Path, config: Path) -> dg.AssetsDefinition | None:
    """The ``recommender_scores`` asset over the recommenders of ``settings.models`` (None when it lists none)."""
    entries = load_recommenders_registry(settings.models)
    if not entries:
        return None
    partitions = dg.StaticPartitionsDefinition([e.name for e in entries])
    findings = load_recommender_config(config).findings

    @dg.asset(
        name=RECOMMENDER_SCORES,
        partitions_def=partitions,
        group_name=EVALUATION,  # beside model_evaluation: the same release, the other kind of model
        kinds={"duckdb"},
        ins={"release": dg.AssetIn(key=RELEASE_KEY)},
        check_specs=[
            dg.AssetCheckSpec(
                recommender_check(rule.id),
                asset=RECOMMENDER_SCORES,
                description=rule.why,
                partitions_def=partitions,
            )
            for rule in findings
        ],
    )
    @measured
    def recommender_scores(
        context: dg.AssetExecutionContext,
        config: RecommenderEvaluationConfig,
        recommenders: RecommendersResource,
        warehouse: WarehouseResource,
        releases: ReleaseStoreResource,
        release: dict[str, str],
    ) -> dg.MaterializeResult:
        """One registered recommender asked for the next line of every test patient and stress-suite row of the
        verified release, scored against the cited therapy table: guideline concordance, contraindications,
        flip rates across counterfactual twins, rare cells and subgroups (one check per finding). Recorded in
        the DuckDB table `recommender_evaluations`, the answer cache and the audit chain."""
        entry = recommenders.entry(context.partition_key)
        version = config.version or release["version"]
        store, settings = warehouse.get(), recommenders.load_config()
        evaluation = evaluate_recommender_release(
            Path(releases.root) / version, entry.recommender, config=settings,
            table=load_guidelines(recommenders.guidelines), store=store,
            progress=lambda step: context.log.info(f"{entry.name}: {step}"),
        )  # fmt: skip
        audit_entry = record_recommender_evaluation(store, evaluation)
        result = evaluation.result
        blocks = [(TASK, cohort, block) for cohort, block in result["cohorts"].items()]
        plots = {
            f"flip_rates_{cohort}": png(flip_rate_png(block["counterfactual"], f"{cohort}: flip rate ({entry.name})"),
                                        "flip rates across counterfactual twins")
            for cohort, block in result["cohorts"].items()
        }  # fmt: skip
        return dg.MaterializeResult(
            metadata=readable(
                {
                    **plots,
                    "recommender": entry.recommender,
                    "release": version,
                    "fingerprint": result["recommender"]["fingerprint"],
                    "guidelines": f"{result['guidelines']['version']} ({result['guidelines']['sha256'][:12]})",
                    "config_version": settings.version,
                    "headline": table(headline_frame(result)),
                    "audit_entry": audit_entry["seq"],
                    "evaluation_kwh": evaluation.emissions.kwh or 0.0,
                    "evaluation_kg_co2e": evaluation.emissions.kg_co2e or 0.0,
                }
            ),
            check_results=[
                finding_result(recommender_check(rule.id), rule.id, rule.why, entry.recommender, blocks)
                for rule in findings
            ],
        )

    return recommender_scores
