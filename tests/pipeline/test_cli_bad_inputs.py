"""Bad input to synthesize, split, validate and stress: exit 2, a message naming what is wrong, nothing written."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """colon ingested, a flow model fitted on it, and a few broken files beside them."""
    work = tmp_path_factory.mktemp("bad")
    assert main(["ingest", "colon", "--out", str(work / "colon.parquet")]) == 0
    argv = ["synthesize", str(work / "colon.parquet"), "--profile", "fast", "--rows", "10"]
    assert main([*argv, "--save-model", str(work / "colon.model"), "--out", str(work / "s.parquet")]) == 0
    colon = pl.read_parquet(work / "colon.parquet")
    colon.with_columns(pl.col("survival_months").cast(pl.String) + "x").write_parquet(work / "text_survival.parquet")
    colon.head(5).write_parquet(work / "tiny.parquet")
    colon.write_csv(work / "colon.csv")
    (work / "a_folder").mkdir()
    (work / "text.model").write_text("not a model")
    (work / "table.csv").write_text("a,b\n1,2\n")
    return work


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


CASES = {
    "out is a folder": (["synthesize", "colon.parquet", "--out", "a_folder"], "a_folder is a directory"),
    "out cannot be written": (["synthesize", "colon.parquet", "--out", "/proc/oncobench/x.parquet"], "cannot write in"),
    "save-model is a folder": (
        ["synthesize", "colon.parquet", "--out", "x.parquet", "--save-model", "a_folder"],
        "--save-model a_folder is a directory",
    ),
    "out is the input": (["synthesize", "colon.parquet", "--out", "colon.parquet"], "is also an input"),
    "zero rows": (["synthesize", "colon.parquet", "--out", "x.parquet", "--rows", "0"], "--rows must be positive"),
    "rules are a CSV": (
        ["synthesize", "colon.parquet", "--out", "x.parquet", "--rules", "table.csv"],
        "not a rules file",
    ),
    "survival as text": (
        ["synthesize", "text_survival.parquet", "--out", "x.parquet"],
        "column 'survival_months': 929 value(s) are not Float64 (first at row 1",
    ),
    "too few rows to train": (["synthesize", "tiny.parquet", "--out", "x.parquet"], "5 rows is too few to train flow"),
    "validate survival as text": (
        ["validate", "text_survival.parquet", "colon.parquet", "--out", "x.parquet"],
        "text_survival.parquet: the real cohort is not a harmonized cohort",
    ),
    "config is a CSV": (
        ["validate", "colon.parquet", "colon.parquet", "--out", "x.parquet", "--config", "table.csv"],
        "not a validation config",
    ),
    "model is text": (
        ["stress", "colon.parquet", "--kind", "edge", "--model", "text.model", "--out", "x.parquet"],
        "is not an OncoBench model file",
    ),
    "model is a Parquet file": (
        ["stress", "colon.parquet", "--kind", "edge", "--model", "colon.parquet", "--out", "x.parquet"],
        "is not an OncoBench model file",
    ),
    "model is missing": (
        ["stress", "colon.parquet", "--kind", "upsample", "--model", "nope.model", "--out", "x.parquet"],
        "no such model file",
    ),
    "split too small": (["split", "tiny.parquet", "--out-dir", "parts", "--holdout-fraction", "0.1"], "cannot split 5"),
    "split fraction out of range": (
        ["split", "colon.parquet", "--out-dir", "parts", "--holdout-fraction", "1.5"],
        "strictly between 0 and 1",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_exits_2_and_writes_nothing(
    case: str, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workdir)
    before = sorted(p.name for p in workdir.iterdir())
    argv, message = CASES[case]
    code, err = _run(argv, capsys)
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_a_model_of_another_cohort_is_refused_unread(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "rott2.parquet"
    assert main(["ingest", "rott2", "--out", str(other)]) == 0
    out = tmp_path / "x.parquet"
    code, err = _run(
        ["stress", str(other), "--kind", "upsample", "--model", str(workdir / "colon.model"), "--out", str(out)], capsys
    )
    assert code == 2 and "fitted on cohort 'colon', not 'rott2'" in err
    assert not out.exists()


def test_a_csv_round_trip_of_a_cohort_is_accepted(workdir: Path, tmp_path: Path) -> None:
    """Schema columns read back from CSV (sex, race, flags as text) get the schema's dtypes again.

    Extra columns keep what CSV can say (a coded extra comes back as a number)."""
    from pipeline.schema import CORE_BY_NAME

    out = tmp_path / "x.parquet"
    assert main(["synthesize", str(workdir / "colon.csv"), "--profile", "fast", "--rows", "10", "--out", str(out)]) == 0
    got, want = pl.read_parquet(out).schema, pl.read_parquet(workdir / "s.parquet").schema
    assert {c: got[c] for c in want if c in CORE_BY_NAME} == {c: t for c, t in want.items() if c in CORE_BY_NAME}


def test_a_full_disk_on_the_second_output_is_one_line_and_leaves_no_first(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`split` writes train.parquet, then fails on holdout.parquet (the disk is full): exit 2, one
    line naming holdout.parquet, and train.parquet removed with it."""
    import shutil

    write, free = pl.DataFrame.write_parquet, shutil.disk_usage(tmp_path)

    def fills_the_disk(frame: pl.DataFrame, file, *args, **kwargs):
        if ".holdout.parquet." in str(file):
            raise pl.exceptions.ComputeError("parquet: Invalid thrift: transport error")
        return write(frame, file, *args, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", fills_the_disk)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: free._replace(free=0))
    parts = tmp_path / "parts"
    code, err = _run(["split", str(workdir / "colon.parquet"), "--out-dir", str(parts)], capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "No space left on device" in err and str(parts / "holdout.parquet") in err
    assert list(parts.iterdir()) == []
