"""Evaluations in DuckDB (table ``evaluations``, the leaderboard) and in the audit chain.

One row per release, model, task and cohort: the headline score with its interval, the worst
subgroup, the largest counterfactual flip rate with its interval, the worst adversarial change,
the failed and the inconclusive findings (ids, comma-separated), and the cohort's whole result as
JSON. Re-evaluating the same model replaces its rows; its energy and carbon (codecarbon, offline) go
to the table ``emissions``. Each evaluation
appends one audit entry (release version and manifest sha256, model fingerprint, config version,
energy, headline scores), so a published score can be checked against the release it claims.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline import audit
from pipeline.energy import record_emissions
from pipeline.evaluation.stage import Evaluation
from pipeline.warehouse import Warehouse

TABLE = "evaluations"

LEADERBOARD_SQL = """
SELECT release, task, cohort, model, metric,
       printf('%.3f [%.3f, %.3f]', value, ci_low, ci_high) AS score, n,
       worst_group || printf(' %.3f', worst_group_value) AS worst_group,
       max_flip_attribute || printf(' %.3f [%.3f, %.3f]', max_flip_rate, max_flip_ci_low, max_flip_ci_high)
           AS largest_flip_rate,
       round(adversarial_change, 3) AS adversarial,
       CASE WHEN findings_failed = '' THEN 0 ELSE len(string_split(findings_failed, ', ')) END AS findings_failed,
       CASE WHEN findings_inconclusive = '' THEN 0 ELSE len(string_split(findings_inconclusive, ', ')) END
           AS findings_inconclusive
FROM {table}
WHERE (? IS NULL OR release = ?) AND (? IS NULL OR task = ?)
ORDER BY release, task, cohort, value DESC NULLS LAST, model
"""


def _headline_rows(evaluation: Evaluation, evaluated_at: str) -> list[dict[str, Any]]:
    result, rows = evaluation.result, []
    for cohort, block in result["cohorts"].items():
        task = evaluation.tasks[cohort]
        score = block["performance"][task.target]
        pure = [e for e in block["counterfactual"] if e["flip_rate"] is not None]  # ties: the pure twin is shown
        flip = max(pure, key=lambda e: (e["ci_low"] or 0.0, e["flip_rate"], e["mode"] == "pure"), default=None)
        worst = block["subgroups"].get("worst") or {}
        worst_case = (block["adversarial"].get("worst") or [{}])[0]
        failed = [f["id"] for f in block["findings"] if not f["passed"]]
        inconclusive = [f["id"] for f in block["findings"] if f.get("verdict") == "inconclusive"]
        rows.append({
            "evaluated_at": evaluated_at, "cohort": cohort, "fingerprint": result["model"]["fingerprint"],
            "config_version": evaluation.config_version, "manifest_sha256": evaluation.manifest_sha256,
            "metric": task.target, "value": score["value"], "ci_low": score["ci_low"], "ci_high": score["ci_high"],
            "n": score["n"],
            "worst_group": f"{worst['attribute']}={worst['group']}" if worst else None,
            "worst_group_value": worst.get("value"),
            "max_flip_attribute": f"{flip['attribute']} ({flip['mode']})" if flip else None,
            "max_flip_rate": flip["flip_rate"] if flip else None,
            "max_flip_ci_low": flip["ci_low"] if flip else None, "max_flip_ci_high": flip["ci_high"] if flip else None,
            "adversarial_change": worst_case.get("change"),
            "findings_failed": ", ".join(failed), "findings_inconclusive": ", ".join(inconclusive),
            "result": json.dumps(block, sort_keys=True),
        })  # fmt: skip
    return rows


def evaluation_frame(evaluation: Evaluation, evaluated_at: str | None = None) -> pl.DataFrame:
    """The rows :func:`record_evaluation` writes (without the key columns)."""
    evaluated_at = evaluated_at or datetime.now(UTC).isoformat(timespec="seconds")
    schema = {"value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "worst_group_value": pl.Float64,
              "max_flip_rate": pl.Float64, "max_flip_ci_low": pl.Float64, "max_flip_ci_high": pl.Float64,
              "adversarial_change": pl.Float64, "n": pl.Int64}  # fmt: skip
    return pl.DataFrame(_headline_rows(evaluation, evaluated_at), schema_overrides=schema)


def record_evaluation(store: Warehouse, evaluation: Evaluation) -> dict[str, Any]:
    """Replace the model's rows for this release and task in ``evaluations``; append the audit entry."""
    result = evaluation.result
    key = {"release": result["release"], "model": result["model"]["name"], "task": result["task"]}
    frame = evaluation_frame(evaluation)
    store.replace_rows(TABLE, frame, key, add_columns=True)
    run = f"evaluation:{key['release']}:{key['task']}:{key['model']}"
    record_emissions(store, evaluation.emissions, run_id=run, stage="evaluation", asset=key["model"],
                     partition=f"{key['release']}:{key['task']}")  # fmt: skip
    kept = ("metric", "value", "ci_low", "ci_high", "n", "max_flip_attribute", "max_flip_rate", "max_flip_ci_low",
            "max_flip_ci_high")  # fmt: skip
    payload = {
        **key,
        "manifest_sha256": evaluation.manifest_sha256,
        "fingerprint": result["model"]["fingerprint"],
        "config_version": evaluation.config_version,
        "emissions": evaluation.emissions.as_dict(),
        "scores": {row["cohort"]: {k: row[k] for k in kept} for row in frame.iter_rows(named=True)},
    }
    return audit.append(store, "evaluation", f"{key['release']}:{key['task']}:{key['model']}", payload)


def leaderboard(store: Warehouse, release: str | None = None, task: str | None = None) -> pl.DataFrame:
    """Every recorded evaluation's headline, best model first within each release, task and cohort."""
    if TABLE not in store.tables():
        return pl.DataFrame()
    columns = store.query(f"SELECT * FROM {TABLE} LIMIT 0").columns
    # rows recorded before findings had verdicts: no inconclusive count (NULL), not zero
    legacy = f"(SELECT *, NULL::VARCHAR AS findings_inconclusive FROM {TABLE})"
    table = TABLE if "findings_inconclusive" in columns else legacy
    return store.query(LEADERBOARD_SQL.format(table=table), [release, release, task, task])
