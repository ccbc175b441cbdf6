"""Evaluations in DuckDB (table ``evaluations``, the leaderboard) and in the audit chain.

One row per release, model, task and cohort: the headline score with its interval, the worst
subgroup, the largest counterfactual flip rate with its interval, the worst adversarial change,
the failed and the inconclusive findings (ids, comma-separated), the top features by mean |attribution|
and the faithfulness ratio of the attributions, and the cohort's whole result as JSON. Re-evaluating the
same model replaces its rows; its energy and carbon (codecarbon, offline) go to the table ``emissions``.
Each evaluation appends one audit entry (release version and manifest sha256, model fingerprint, config version,
energy, headline scores), so a published score can be checked against the release it claims.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline import audit
from pipeline.energy import record_emissions
from pipeline.evaluation.findings import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS
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
        explained = block.get("explanations") or {}
        top = [e["feature"] for e in explained.get("features", [])[: explained.get("top_k", 0)] if e["mean_abs"]]
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
            "top_features": ", ".join(top) or None, "faithfulness": (explained.get("faithfulness") or {}).get("ratio"),
            "result": json.dumps(block, sort_keys=True),
        })  # fmt: skip
    return rows


def evaluation_frame(evaluation: Evaluation, evaluated_at: str | None = None) -> pl.DataFrame:
    """The rows :func:`record_evaluation` writes (without the key columns)."""
    evaluated_at = evaluated_at or datetime.now(UTC).isoformat(timespec="seconds")
    schema = {"value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "worst_group_value": pl.Float64,
              "max_flip_rate": pl.Float64, "max_flip_ci_low": pl.Float64, "max_flip_ci_high": pl.Float64,
              "adversarial_change": pl.Float64, "n": pl.Int64, "top_features": pl.String,
              "faithfulness": pl.Float64}  # fmt: skip
    return pl.DataFrame(_headline_rows(evaluation, evaluated_at), schema_overrides=schema)


def record_evaluation(store: Warehouse, evaluation: Evaluation) -> dict[str, Any]:
    """Replace the model's rows for this release and task in ``evaluations``; append the audit entry."""
    result = evaluation.result
    key = {"release": result["release"], "model": result["model"]["name"], "task": result["task"]}
    frame = evaluation_frame(evaluation)
    with store.transaction():  # the rows, their energy and their audit entry land together or not at all
        store.replace_rows(TABLE, frame, key, add_columns=True)
        run = f"evaluation:{key['release']}:{key['task']}:{key['model']}"
        record_emissions(store, evaluation.emissions, run_id=run, stage="evaluation", asset=key["model"],
                         partition=f"{key['release']}:{key['task']}")  # fmt: skip
        return audit.append(store, "evaluation", f"{key['release']}:{key['task']}:{key['model']}",
                            _payload(key, evaluation, frame))  # fmt: skip


def _payload(key: dict[str, str], evaluation: Evaluation, frame: pl.DataFrame) -> dict[str, Any]:
    """The audit entry's payload: what was scored, on which release, by which model and config."""
    result = evaluation.result
    kept = ("metric", "value", "ci_low", "ci_high", "n", "max_flip_attribute", "max_flip_rate", "max_flip_ci_low",
            "max_flip_ci_high")  # fmt: skip
    return {
        **key,
        "manifest_sha256": evaluation.manifest_sha256,
        "fingerprint": result["model"]["fingerprint"],
        "config_version": evaluation.config_version,
        "emissions": evaluation.emissions.as_dict(),
        "scores": {row["cohort"]: {k: row[k] for k in kept} for row in frame.iter_rows(named=True)},
    }


def leaderboard(store: Warehouse, release: str | None = None, task: str | None = None) -> pl.DataFrame:
    """Every recorded evaluation's headline, best model first within each release, task and cohort."""
    if TABLE not in store.tables():
        return pl.DataFrame()
    columns = store.query(f"SELECT * FROM {TABLE} LIMIT 0").columns
    # rows recorded before findings had verdicts: no inconclusive count (NULL), not zero
    legacy = f"(SELECT *, NULL::VARCHAR AS findings_inconclusive FROM {TABLE})"
    table = TABLE if "findings_inconclusive" in columns else legacy
    return store.query(LEADERBOARD_SQL.format(table=table), [release, release, task, task])


VERDICTS_SQL = """
SELECT model, cohort, task, metric, value, ci_low, ci_high, result FROM {table}
WHERE ? IS NULL OR release = ?
ORDER BY task, cohort, value DESC NULLS LAST, model
"""


def _finding_counts(result: str | None) -> dict[str, Any]:
    """How many findings of one cohort's result passed, failed and were inconclusive, and the row's verdict:
    fail when any finding failed, else inconclusive when any was, else pass (not applicable: none judged;
    not recorded: a row written before results were kept)."""
    if result is None:
        return {"passed": None, "failed": None, "inconclusive": None, "verdict": "not recorded",
                "failed_findings": None, "inconclusive_findings": None}  # fmt: skip
    findings = json.loads(result).get("findings", [])
    verdicts = [f.get("verdict", PASS if f.get("passed") else FAIL) for f in findings]  # older rows: no verdict
    counts = {name: verdicts.count(v) for name, v in (("passed", PASS), ("failed", FAIL),
                                                      ("inconclusive", INCONCLUSIVE))}  # fmt: skip
    judged = [v for v in verdicts if v != NOT_APPLICABLE]
    verdict = (FAIL if FAIL in judged else INCONCLUSIVE if INCONCLUSIVE in judged else PASS if judged
               else NOT_APPLICABLE)  # fmt: skip
    failed = [f["id"] for f, v in zip(findings, verdicts, strict=True) if v == FAIL]
    unclear = [f["id"] for f, v in zip(findings, verdicts, strict=True) if v == INCONCLUSIVE]
    return {**counts, "verdict": verdict, "failed_findings": ", ".join(failed),
            "inconclusive_findings": ", ".join(unclear)}  # fmt: skip


def verdicts(store: Warehouse, release: str | None = None) -> pl.DataFrame:
    """The leaderboard's verdicts: one row per model, cohort and task recorded for ``release`` (every release
    when None), in leaderboard order, with the headline score and its interval, the number of findings that
    passed, failed and were inconclusive, the row's verdict and the ids of the failed and inconclusive findings."""
    schema = {"model": pl.String, "cohort": pl.String, "task": pl.String, "metric": pl.String,
              "value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "passed": pl.Int64,
              "failed": pl.Int64, "inconclusive": pl.Int64, "verdict": pl.String, "failed_findings": pl.String,
              "inconclusive_findings": pl.String}  # fmt: skip
    if TABLE not in store.tables():
        return pl.DataFrame(schema=schema)
    columns = store.query(f"SELECT * FROM {TABLE} LIMIT 0").columns
    table = TABLE if "result" in columns else f"(SELECT *, NULL::VARCHAR AS result FROM {TABLE})"
    rows = store.query(VERDICTS_SQL.format(table=table), [release, release]).to_dicts()
    return pl.DataFrame([{**{k: v for k, v in row.items() if k != "result"}, **_finding_counts(row["result"])}
                         for row in rows], schema=schema)  # fmt: skip
