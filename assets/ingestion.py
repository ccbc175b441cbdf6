"""Ingestion assets: raw_cohort -> harmonized_cohort -> cohort_profile and cohort_journeys, one partition per cohort."""

import dagster as dg
import polars as pl

from assets.energy import measured
from assets.metadata import markdown_preview, table
from assets.partitions import cohort_partitions
from assets.resources import CohortRegistryResource, ValidationConfigResource, WarehouseResource
from pipeline import audit
from pipeline.cohorts.load import describe_source, harmonize_entry, read_raw
from pipeline.cohorts.records import record_ingest_report
from pipeline.cohorts.report import IngestReport
from pipeline.fingerprint import frame_fingerprint
from pipeline.journeys.ingest import ingest_journeys
from pipeline.journeys.report import JourneyReport
from pipeline.profile import (
    cohort_summary,
    column_profiles,
    subgroup_attributes,
    subgroup_counts,
)
from pipeline.split import split_cohort

INGESTION = "ingestion"


@dg.asset(partitions_def=cohort_partitions, group_name=INGESTION, kinds={"polars"})
@measured
def raw_cohort(
    context: dg.AssetExecutionContext, registry: CohortRegistryResource, warehouse: WarehouseResource
) -> pl.DataFrame:
    """The cohort exactly as its source provides it (one row per patient, source column names)."""
    entry = registry.load().get(context.partition_key)
    report = IngestReport(source=describe_source(entry))
    raw = read_raw(entry, report)
    for warning in report.warnings:
        context.log.warning(f"{entry.name}: {warning}")
    fingerprint = frame_fingerprint(raw)
    ingested = {"source": describe_source(entry), "rows": raw.height, "fingerprint": fingerprint}
    audit.append(warehouse.get(), "ingestion", entry.name, ingested)
    context.add_output_metadata(
        {
            "source": describe_source(entry),
            "source_kind": entry.kind,
            "dagster/row_count": raw.height,
            "n_columns": raw.width,
            "input_fingerprint": fingerprint,
            "read_warnings": dg.MetadataValue.json(report.warnings),
        }
    )
    return raw


@dg.asset(partitions_def=cohort_partitions, group_name=INGESTION, kinds={"polars"})
@measured
def harmonized_cohort(
    context: dg.AssetExecutionContext,
    registry: CohortRegistryResource,
    warehouse: WarehouseResource,
    raw_cohort: pl.DataFrame,
) -> pl.DataFrame:
    """One typed row per patient in the harmonized oncology schema; source ids salted and hashed.

    Its metadata is the ingest report: patients quarantined for a defect or left out and why,
    unknown labels, columns dropped (identifiers, outcome proxies), missing-value tokens read as
    null, tolerated defects, and whether those left out bias the cohort (also in the DuckDB table
    `ingest_reports`, which the release's datasheet reads)."""
    entry = registry.load().get(context.partition_key)
    report = IngestReport(source=describe_source(entry))
    frame = harmonize_entry(raw_cohort, entry, salt=registry.id_salt, report=report)
    record_ingest_report(warehouse.get(), entry.name, report)
    for line in report.lines():
        context.log.info(f"{entry.name}: {line}")
    schema = pl.DataFrame({"column": frame.columns, "dtype": [str(t) for t in frame.dtypes]})
    context.add_output_metadata(
        {
            "dagster/row_count": frame.height,
            "patients_left_out": sum(report.left_out.values()) + report.n_quarantined,
            "patients_quarantined": report.n_quarantined,
            "ingest_report": dg.MetadataValue.md(
                "\n".join(f"- {line}" for line in report.lines()) or "nothing left out"
            ),
            "ingest_report_json": dg.MetadataValue.json(report.to_dict()),
            "n_columns": frame.width,
            "schema": table(schema, limit=200),
            "preview": markdown_preview(frame.drop("patient_id")),
        }
    )
    return frame


@dg.asset(partitions_def=cohort_partitions, group_name=INGESTION, kinds={"polars"})
@measured
def cohort_journeys(
    context: dg.AssetExecutionContext, registry: CohortRegistryResource, harmonized_cohort: pl.DataFrame
) -> pl.DataFrame:
    """Treatment timelines as one event table (treatment, radiation, surgery, status, progression, ...).

    Read from the cohort's cBioPortal timelines or TCGA Biotab tables, patient ids hashed as in
    harmonized_cohort. Its metadata: counts, lines of therapy per patient, unknown agents, the
    journey report. A cohort without timelines gives an empty event table and says so."""
    entry = registry.load().get(context.partition_key)
    events, _, report = ingest_journeys(entry, harmonized_cohort, salt=registry.id_salt)
    for line in report.lines():
        context.log.info(f"{entry.name}: {line}")
    context.add_output_metadata(_journey_metadata(events, report))
    return events


def _journey_metadata(events: pl.DataFrame, report: JourneyReport) -> dict[str, object]:
    per_patient = pl.DataFrame(
        {"lines": list(report.lines_per_patient), "patients": list(report.lines_per_patient.values())},
        schema={"lines": pl.Int64, "patients": pl.Int64},
    )
    unknown = pl.DataFrame(
        {"agent": list(report.unknown_agents), "events": list(report.unknown_agents.values())},
        schema={"agent": pl.String, "events": pl.Int64},
    )
    return {
        "dagster/row_count": events.height,
        "has_timelines": dg.MetadataValue.bool(bool(report.files)),
        "patients_with_events": report.n_patients_with_events,
        "lines_of_therapy": report.n_lines,
        "rows_quarantined": report.n_quarantined,
        "duplicates_dropped": report.n_duplicates,
        "unknown_agent_share": dg.MetadataValue.float(round(report.unknown_agent_share, 4)),
        "lines_per_patient": table(per_patient),
        "unknown_agents": table(unknown, limit=50),
        "journey_report": dg.MetadataValue.md("\n".join(f"- {line}" for line in report.lines())),
        "journey_report_json": dg.MetadataValue.json(report.to_dict()),
    }


@dg.multi_asset(
    outs={
        "training_cohort": dg.AssetOut(description="The real patients synthesizers are fitted on.", kinds={"polars"}),
        "holdout_cohort": dg.AssetOut(
            description="Real patients no synthesizer sees: the reference of every validation metric.",
            kinds={"polars"},
        ),
    },
    partitions_def=cohort_partitions,
    group_name=INGESTION,
)
@measured
def cohort_split(
    context: dg.AssetExecutionContext, validation_config: ValidationConfigResource, harmonized_cohort: pl.DataFrame
) -> tuple[dg.Output[pl.DataFrame], dg.Output[pl.DataFrame]]:
    """Stratified train / holdout split of the harmonized cohort (fraction and seed: config/validation.yaml)."""
    settings = validation_config.load().settings
    train, holdout = split_cohort(
        harmonized_cohort, holdout_fraction=settings.holdout_fraction, seed=settings.split_seed
    )
    context.log.info(f"{context.partition_key}: {train.height} training and {holdout.height} holdout patients")
    common = {"holdout_fraction": settings.holdout_fraction, "split_seed": settings.split_seed}
    return (
        dg.Output(train, metadata={"dagster/row_count": train.height, **common}),
        dg.Output(holdout, metadata={"dagster/row_count": holdout.height, **common}),
    )


@dg.asset(partitions_def=cohort_partitions, group_name=INGESTION, kinds={"duckdb"})
@measured
def cohort_profile(
    context: dg.AssetExecutionContext,
    registry: CohortRegistryResource,
    warehouse: WarehouseResource,
    harmonized_cohort: pl.DataFrame,
) -> dg.MaterializeResult:
    """Row counts, missingness, per-column summaries and subgroup counts, in DuckDB and here."""
    cohort = context.partition_key
    entry = registry.load().get(cohort)
    summary = pl.DataFrame([cohort_summary(harmonized_cohort, cohort)])
    columns = column_profiles(harmonized_cohort)
    subgroups = subgroup_counts(harmonized_cohort, subgroup_attributes(harmonized_cohort, entry.protected))
    store = warehouse.get()
    key = {"cohort": cohort}
    store.replace_rows("cohort_profiles", summary.drop("cohort"), key)
    store.replace_rows("column_profiles", columns, key)
    store.replace_rows("subgroup_counts", subgroups, key)
    context.log.info(f"{cohort}: profiled {harmonized_cohort.height} patients into {store.path}")
    return dg.MaterializeResult(
        metadata={
            "n_patients": harmonized_cohort.height,
            "n_columns": harmonized_cohort.width,
            "columns": table(columns.drop("dtype")),
            "subgroups": table(subgroups),
            "warehouse": dg.MetadataValue.path(str(store.path)),
        }
    )
