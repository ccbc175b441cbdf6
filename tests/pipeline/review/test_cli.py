"""`oncobench review` refuses what it cannot serve before it serves anything, and prints scores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.review.ranking import LEFT, Judgement
from pipeline.review.store import record_judgement
from pipeline.warehouse import Warehouse

REFUSED = [
    ("missing", "colon", "not a release (no manifest.json)"),
    ("release", "rott2", "no cohort 'rott2' in this release"),
]


@pytest.mark.parametrize(("where", "cohort", "message"), REFUSED)
def test_an_unknown_release_or_cohort_exits_2(review_release: Path, tmp_path: Path, capsys, where, cohort, message):
    release = review_release if where == "release" else tmp_path / "nope"
    assert main(["review", str(release), "--cohort", cohort, "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_scores_are_printed_from_the_stored_judgements(review_release: Path, tmp_path: Path, capsys) -> None:
    import polars as pl

    store = Warehouse(tmp_path / "w.duckdb")
    ids = pl.read_parquet(review_release / "cohorts" / "colon" / "train.parquet")["patient_id"].to_list()
    for i in range(1, 10):
        record_judgement(store, "0.9.0", "colon", Judgement("dr_a", ids[0], ids[i], LEFT))
    assert main(["review", str(review_release), "--cohort", "colon", "--warehouse", str(store.path), "--scores"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["judgements"] == 9 and summary["ranking"][-1]["patient_id"] == ids[0]
