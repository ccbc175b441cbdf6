"""The leaderboard's verdicts: counted from each recorded result, and a Markdown table short enough to show inline."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from pipeline.evaluation.records import verdicts
from pipeline.evaluation.report import INLINE_MARKDOWN, verdict_markdown
from pipeline.warehouse import Warehouse

HEADLINE = {"metric": "auc", "value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 100, "findings_failed": ""}


def _findings(*verdicts: str) -> str:
    return json.dumps(
        {"findings": [{"id": f"f{i}", "verdict": v, "passed": v != "fail"} for i, v in enumerate(verdicts)]}
    )


def test_a_row_fails_on_any_failed_finding_is_inconclusive_on_any_unclear_one_and_passes_otherwise(
    tmp_path: Path,
) -> None:
    store = Warehouse(tmp_path / "w.duckdb")
    assert verdicts(store).is_empty()
    results = {"a": _findings("pass", "inconclusive", "fail"), "b": _findings("pass", "inconclusive", "not applicable"),
               "c": _findings("pass", "not applicable"), "d": _findings("not applicable")}  # fmt: skip
    for model, result in results.items():
        row = {
            **HEADLINE,
            "cohort": "colon",
            "value": {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6}[model],
            "result": result,
        }
        store.replace_rows("evaluations", pl.DataFrame([row]), {"release": "0.9.0", "model": model, "task": "t"})
    store.replace_rows("evaluations", pl.DataFrame([{**HEADLINE, "cohort": "colon", "result": results["a"]}]),
                       {"release": "0.8.0", "model": "a", "task": "t"})  # fmt: skip
    board = verdicts(store, "0.9.0")
    assert board["model"].to_list() == ["a", "b", "c", "d"]  # best score first
    assert board["verdict"].to_list() == ["fail", "inconclusive", "pass", "not applicable"]
    assert board.select("passed", "failed", "inconclusive").rows() == [(1, 1, 1), (1, 0, 1), (1, 0, 0), (0, 0, 0)]
    assert board["failed_findings"][0] == "f2" and board["inconclusive_findings"][1] == "f1"
    markdown = verdict_markdown(board)
    assert "| a | colon | t | **fail** | 1/1/1 | auc 0.900 [0.600, 0.800] |" in markdown
    assert "| d | colon | t | not applicable | 0/0/0 | auc 0.600 [0.600, 0.800] |" in markdown


def test_rows_recorded_before_results_were_kept_are_not_recorded(tmp_path: Path) -> None:
    store = Warehouse(tmp_path / "w.duckdb")
    store.replace_rows("evaluations", pl.DataFrame([{**HEADLINE, "cohort": "colon"}]),
                       {"release": "0.9.0", "model": "m", "task": "t"})  # fmt: skip
    [row] = verdicts(store).to_dicts()
    assert row["verdict"] == "not recorded" and row["passed"] is None
    assert "| m | colon | t | not recorded | - | auc 0.700 [0.600, 0.800] |" in verdict_markdown(verdicts(store))


def test_the_markdown_stays_under_the_inline_limit_and_counts_the_rows_left_out() -> None:
    row = {"model": "reference:biased", "cohort": "support2_cancer", "task": "mortality_12m", "metric": "auc",
           "value": 0.7, "ci_low": 0.6, "ci_high": 0.8, "passed": 5, "failed": 1, "inconclusive": 2,
           "verdict": "fail"}  # fmt: skip
    for rows in (1, 9, 10, 40):
        markdown = verdict_markdown(pl.DataFrame([row] * rows))
        assert len(markdown) <= INLINE_MARKDOWN
        shown = markdown.count("| reference:biased |")
        assert shown == rows or (0 < shown < rows and markdown.endswith(f"_and {rows - shown} more in the table "
                                                                       "`leaderboard`_"))  # fmt: skip
    assert verdict_markdown(pl.DataFrame()) == "_no evaluation recorded_"
