"""The ingest report in the warehouse (table ``ingest_reports``), read back by the release's datasheet."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from pipeline.cohorts.report import IngestReport
from pipeline.warehouse import Warehouse

TABLE = "ingest_reports"


def record_ingest_report(store: Warehouse, cohort: str, report: IngestReport) -> None:
    """Replace the cohort's row: patients read, filtered out, quarantined, left out, kept, and the report."""
    data = report.to_dict()
    row = {
        "n_source_patients": report.n_source_patients,
        "n_filtered_out": report.n_filtered_out,
        "n_quarantined": report.n_quarantined,
        "n_left_out": sum(report.left_out.values()),
        "n_patients": report.n_patients,
        "left_out_biased": bool(report.left_out_bias),
        "warnings": "\n".join(report.warnings),
        "report_json": json.dumps(data, default=str, sort_keys=True),
    }
    store.replace_rows(TABLE, pl.DataFrame([row]), {"cohort": cohort}, add_columns=True)


def ingest_summaries(store: Warehouse, cohorts: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per cohort: what ingestion kept and left out, with its warnings (cohorts never recorded are absent)."""
    if TABLE not in store.tables() or not cohorts:
        return {}
    rows = store.query(f"SELECT * FROM {TABLE} WHERE cohort IN (SELECT unnest(?))", [list(cohorts)])
    out = {}
    for row in rows.iter_rows(named=True):
        report = json.loads(row["report_json"])
        out[row["cohort"]] = {
            "n_source_patients": row["n_source_patients"],
            "n_filtered_out": row["n_filtered_out"],
            "n_quarantined": row["n_quarantined"],
            "n_left_out": row["n_left_out"],
            "n_patients": row["n_patients"],
            "quarantined": [f"{q['rule']} ({q['n_rows']})" for q in report.get("quarantined", [])],
            "left_out": report.get("left_out", {}),
            "warnings": [w for w in row["warnings"].split("\n") if w],
        }
    return out
