"""oncobench evaluate --recommender: a reference is scored, recorded, audited and cached; a malformed endpoint
(wrong JSON, timeouts, 500s, an unknown therapy) exits 2 naming the first failing patient, and writes nothing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline import audit
from pipeline.cli import main
from pipeline.warehouse import Warehouse
from tests.pipeline.recommenders.conftest import answers, endpoint


def test_a_reference_is_scored_recorded_audited_and_cached(release_dir: Path, tmp_path: Path, capsys) -> None:
    out, warehouse = tmp_path / "result.json", tmp_path / "w.duckdb"
    args = ["evaluate", str(release_dir), "--recommender", "reference:insurance_biased", "--warehouse", str(warehouse)]
    assert main([*args, "--out", str(out), "--report", str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## support2_cancer" in report and "counterfactual_flip_rate" in report and "![flip rates]" in report
    assert (tmp_path / "report" / "report.html").exists() and (
        tmp_path / "report" / "support2_cancer_flip_rates.png"
    ).exists()
    assert "support2_cancer: concordance n/a (no actionable patient)" in printed
    assert "findings failed: counterfactual_flip_rate" in printed and "(0 cached)" in printed
    result = json.loads(out.read_text())
    assert set(result["cohorts"]) == {"colon", "support2_cancer"} and result["recommender"]["fingerprint"]
    store = Warehouse(warehouse)
    rows = store.query("SELECT cohort, findings_failed FROM recommender_evaluations ORDER BY cohort")
    assert rows.rows() == [("colon", ""), ("support2_cancer", "counterfactual_flip_rate")]
    [entry] = audit.find_entries(store, "evaluation", "recommender:0.9.0:reference:insurance_biased")
    assert json.loads(entry["payload"])["guidelines"]["version"] == result["guidelines"]["version"]
    assert main(args) == 0  # again: every answer from the cache, the rows replaced
    assert "(0 cached)" not in capsys.readouterr().out
    assert store.query("SELECT count(*) AS n FROM recommender_evaluations")["n"][0] == 2
    assert main(["leaderboard", "--recommenders", "--warehouse", str(warehouse)]) == 0
    assert "reference:insurance_biased" in capsys.readouterr().out


def _first_test_patients(release_dir: Path) -> list[str]:
    return pl.read_parquet(release_dir / "cohorts" / "colon" / "test.parquet")["patient_id"].to_list()


def _slow(patients):
    time.sleep(1.0)
    return 200, answers(patients)


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        (lambda ps: (200, b"{'recommendations': None"), "the response is not JSON"),
        (_slow, "no response within 0.3 s (after 2 attempts)"),
        (lambda ps: (500, b"internal error"), "HTTP 500 Internal Server Error: internal error (after 2 attempts)"),
        (lambda ps: (200, answers(ps, "laetrile")), "therapy_class 'laetrile' is not in the therapy table"),
        (lambda ps: (200, answers(ps, "chemotherapy", ("laetrile",))), "agents ['laetrile'] are not in the drug"),
    ],
)
def test_a_malformed_endpoint_exits_2_and_writes_nothing(release_dir, tmp_path, capsys, behaviour, message) -> None:
    out, warehouse = tmp_path / "result.json", tmp_path / "w.duckdb"
    with endpoint(behaviour) as (url, _):
        options = ["--timeout", "0.3", "--retries", "1", "--concurrency", "2"]
        code = main(["evaluate", str(release_dir), "--recommender", url, "--cohort", "colon", *options,
                     "--out", str(out), "--warehouse", str(warehouse)])  # fmt: skip
    error = capsys.readouterr().err
    assert code == 2
    assert f"patient {_first_test_patients(release_dir)[0]} of cohort colon: {message}" in error
    assert not out.exists() and not {"recommender_evaluations", "recommendation_cache"} & set(
        Warehouse(warehouse).tables()
    )


def test_the_first_failing_patient_is_named(release_dir: Path, tmp_path: Path, capsys) -> None:
    third = _first_test_patients(release_dir)[2]

    def behaviour(patients):
        body = json.loads(answers(patients))
        for answer in body["recommendations"]:
            if answer["patient_id"] == third:
                answer["agents"] = ["osimertinib"]  # chemotherapy, but no chemotherapy agent
        return 200, json.dumps(body).encode()

    with endpoint(behaviour) as (url, _):
        code = main(["evaluate", str(release_dir), "--recommender", url, "--cohort", "colon", "--batch-size", "1",
                     "--warehouse", str(tmp_path / "w.duckdb")])  # fmt: skip
    assert code == 2
    assert f"patient {third} of cohort colon: therapy_class chemotherapy but no agent of it" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--recommender", "reference:guideline", "--task", "mortality_12m"], "--task and --rules are for --model"),
        (["--recommender", "reference:oracle"], "unknown reference"),
        (["--recommender", "reference:guideline", "--concurrency", "0"], "--concurrency must be positive"),
        (["--model", "reference:fair"], "--task is required with --model"),
    ],
)
def test_bad_options_exit_2(release_dir: Path, tmp_path: Path, capsys, extra: list[str], message: str) -> None:
    assert main(["evaluate", str(release_dir), *extra, "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert message in capsys.readouterr().err
