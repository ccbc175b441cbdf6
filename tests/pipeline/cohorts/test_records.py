"""The ingest report in DuckDB, and the datasheet lines the release builds from it."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline.cohorts.harmonize import harmonize
from pipeline.cohorts.records import ingest_summaries, record_ingest_report
from pipeline.cohorts.report import IngestReport
from pipeline.cohorts.spec import CohortSpec
from pipeline.release.datasheet import _ingestion_lines
from pipeline.warehouse import Warehouse
from tests.conftest import schema_named_frame


def test_the_ingest_report_reaches_the_datasheet(tmp_path: Path) -> None:
    frame = schema_named_frame().with_columns(
        survival_months=pl.when(pl.int_range(pl.len()) == 3).then(-1.0).otherwise("survival_months")
    )
    report = IngestReport(source="demo.csv")
    harmonize(frame, CohortSpec(), cohort="demo", source="demo.csv", salt="s", report=report)
    store = Warehouse(tmp_path / "w.duckdb")
    record_ingest_report(store, "demo", report)
    record_ingest_report(store, "demo", report)  # replaced, not added
    summaries = ingest_summaries(store, ["demo", "absent"])
    assert list(summaries) == ["demo"] and summaries["demo"]["n_quarantined"] == 1
    assert summaries["demo"]["n_patients"] == frame.height - 1
    text = "\n".join(_ingestion_lines({"demo": {"ingestion": summaries["demo"]}}))
    assert "quarantined" in text and "survival_months must be >= 0 (1)" in text
    assert _ingestion_lines({"demo": {"ingestion": None}}) == []
