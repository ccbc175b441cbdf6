"""Recommender evaluations in DuckDB (table ``recommender_evaluations``), the cache and the audit chain.

One row per release, recommender and cohort: concordance with its interval and actionable patients,
contraindicated patients (test split, stress suite), the largest flip rate with its interval, the worst
subgroup gap, the failed and inconclusive findings, latency, and the cohort's whole result as JSON.
Re-evaluating a recommender replaces its rows; each evaluation appends an ``evaluation`` audit entry with
subject ``recommender:<release>:<recommender>`` (manifest sha256, fingerprint, therapy-table version and
sha256, config version, energy, headline scores) and adds its new answers to the cache.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline import audit
from pipeline.energy import record_emissions
from pipeline.recommenders.cache import AnswerCache
from pipeline.recommenders.stage import RecommenderEvaluation
from pipeline.warehouse import Warehouse

TABLE = "recommender_evaluations"
SCHEMA = {"concordance": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "actionable": pl.Int64,
          "contraindicated_test": pl.Int64, "contraindicated_stress": pl.Int64, "max_flip_attribute": pl.String,
          "max_flip_rate": pl.Float64, "max_flip_ci_low": pl.Float64, "max_flip_ci_high": pl.Float64,
          "worst_group": pl.String, "worst_group_gap": pl.Float64,
          "seconds_per_recommendation": pl.Float64}  # fmt: skip

LEADERBOARD_SQL = f"""
SELECT release, cohort, recommender,
       printf('%.3f [%.3f, %.3f]', concordance, ci_low, ci_high) AS concordance, actionable,
       contraindicated_test + contraindicated_stress AS contraindicated,
       max_flip_attribute || printf(' %.3f [%.3f, %.3f]', max_flip_rate, max_flip_ci_low, max_flip_ci_high)
           AS largest_flip_rate,
       CASE WHEN findings_failed = '' THEN 0 ELSE len(string_split(findings_failed, ', ')) END AS findings_failed,
       CASE WHEN findings_inconclusive = '' THEN 0 ELSE len(string_split(findings_inconclusive, ', ')) END
           AS findings_inconclusive
FROM {TABLE}
WHERE ? IS NULL OR release = ?
ORDER BY release, cohort, findings_failed, concordance DESC NULLS LAST, recommender
"""


def _rows(evaluation: RecommenderEvaluation, evaluated_at: str) -> list[dict[str, Any]]:
    result, rows = evaluation.result, []
    for cohort, block in result["cohorts"].items():
        c = block["concordance"]
        flips = [e for e in block["counterfactual"] if e["flip_rate"] is not None]
        flip = max(flips, key=lambda e: (e["ci_low"] or 0.0, e["flip_rate"], e["mode"] == "pure"), default=None)
        worst = block["subgroups"].get("worst") or {}
        rows.append({
            "evaluated_at": evaluated_at, "cohort": cohort, "fingerprint": result["recommender"]["fingerprint"],
            "guidelines_version": result["guidelines"]["version"], "config_version": evaluation.config_version,
            "manifest_sha256": evaluation.manifest_sha256, "concordance": c["value"], "ci_low": c["ci_low"],
            "ci_high": c["ci_high"], "actionable": c["n"],
            "contraindicated_test": block["contraindicated"]["test"]["patients"],
            "contraindicated_stress": block["contraindicated"]["stress_suite"]["patients"],
            "max_flip_attribute": f"{flip['attribute']} ({flip['mode']})" if flip else None,
            "max_flip_rate": flip["flip_rate"] if flip else None,
            "max_flip_ci_low": flip["ci_low"] if flip else None, "max_flip_ci_high": flip["ci_high"] if flip else None,
            "worst_group": f"{worst['attribute']}={worst['group']}" if worst else None,
            "worst_group_gap": worst.get("gap"),
            "findings_failed": ", ".join(f["id"] for f in block["findings"] if f["verdict"] == "fail"),
            "findings_inconclusive": ", ".join(f["id"] for f in block["findings"] if f["verdict"] == "inconclusive"),
            "seconds_per_recommendation": block["timing"]["seconds_per_recommendation"],
            "result": json.dumps(block, sort_keys=True),
        })  # fmt: skip
    return rows


def record_recommender_evaluation(store: Warehouse, evaluation: RecommenderEvaluation) -> dict[str, Any]:
    """Replace the recommender's rows for this release, cache its new answers, append the audit entry."""
    result = evaluation.result
    key = {"release": result["release"], "recommender": result["recommender"]["name"]}
    frame = pl.DataFrame(_rows(evaluation, datetime.now(UTC).isoformat(timespec="seconds")), schema_overrides=SCHEMA)
    AnswerCache(store).save(evaluation.fingerprint, evaluation.new_answers)  # answers are kept even if the rest fails
    subject = f"recommender:{key['release']}:{key['recommender']}"
    with store.transaction():  # the rows, their energy and their audit entry land together or not at all
        store.replace_rows(TABLE, frame, key, add_columns=True)
        record_emissions(store, evaluation.emissions, run_id=subject, stage="evaluation", asset=key["recommender"],
                         partition=key["release"])  # fmt: skip
        return audit.append(store, "evaluation", subject, _payload(key, evaluation, frame))


def _payload(key: dict[str, str], evaluation: RecommenderEvaluation, frame: pl.DataFrame) -> dict[str, Any]:
    """The audit entry's payload: what was scored, on which release, by which recommender and config."""
    result = evaluation.result
    kept = ("concordance", "ci_low", "ci_high", "actionable", "contraindicated_test", "contraindicated_stress",
            "max_flip_attribute", "max_flip_rate", "max_flip_ci_low", "max_flip_ci_high")  # fmt: skip
    return {
        **key, "manifest_sha256": evaluation.manifest_sha256, "fingerprint": evaluation.fingerprint,
        "guidelines": result["guidelines"], "config_version": evaluation.config_version,
        "emissions": evaluation.emissions.as_dict(),
        "scores": {row["cohort"]: {k: row[k] for k in kept} for row in frame.iter_rows(named=True)},
    }  # fmt: skip


def recommender_leaderboard(store: Warehouse, release: str | None = None) -> pl.DataFrame:
    """Every recorded recommender evaluation's headline, fewest failed findings and best concordance first."""
    if TABLE not in store.tables():
        return pl.DataFrame()
    return store.query(LEADERBOARD_SQL, [release, release])
