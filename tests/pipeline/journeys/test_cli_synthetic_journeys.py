"""`oncobench journeys synthesize` and `oncobench journeys validate`: the pipeline functions, from files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main
from pipeline.journeys.synthesis import fit, sample
from tests.pipeline.journeys.conftest import SplitStudy


@pytest.fixture
def files(ov: SplitStudy, tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / f"{name}.parquet" for name in ("train", "holdout", "unseen", "lines")}
    for name in ("train", "holdout", "unseen"):
        getattr(ov, name).write_parquet(paths[name])
    ov.lines.write_parquet(paths["lines"])  # every patient's lines, as `oncobench ingest` writes them
    return paths


def test_synthesize_then_validate(ov: SplitStudy, files: dict[str, Path], tmp_path: Path, capsys) -> None:
    out, model = tmp_path / "synthetic_lines.parquet", tmp_path / "journeys.json"
    argv = ["journeys", "synthesize", "--patients", str(files["unseen"]), "--train-patients", str(files["train"]),
            "--train-lines", str(files["lines"]), "--out", str(out), "--seed", "4", "--save-model", str(model),
            "--events-out", str(tmp_path / "events.parquet")]  # fmt: skip
    assert main(argv) == 0
    expected = sample(fit(ov.train, ov.lines_of(ov.train)), ov.unseen, seed=4).lines
    assert pl.read_parquet(out).equals(expected)
    printed = capsys.readouterr().out
    assert (
        f"sampled {expected.height} lines for {ov.unseen.height} patients" in printed and "lines per patient" in printed
    )
    assert (tmp_path / "events.parquet").exists() and model.exists()
    again = tmp_path / "again.parquet"
    argv = ["journeys", "synthesize", "--patients", str(files["unseen"]), "--model", str(model), "--out", str(again),
            "--min-lines", "2", "--max-lines", "2"]  # fmt: skip
    assert main(argv) == 0
    assert set(pl.read_parquet(again).group_by("patient_id").len()["len"]) == {2}
    metrics = tmp_path / "metrics.parquet"
    argv = ["journeys", "validate", "--train-patients", str(files["train"]), "--train-lines", str(files["lines"]),
            "--holdout-patients", str(files["holdout"]), "--patients", str(files["unseen"]), "--lines", str(out),
            "--out", str(metrics), "--rounds", "20"]  # fmt: skip
    assert main(argv) == 0
    assert "transition_distance" in capsys.readouterr().out
    assert pl.read_parquet(metrics).filter(pl.col("verdict") == "fail").is_empty()
    pl.read_parquet(out).with_columns(end_day=pl.col("end_day") + 20_000).write_parquet(again)
    assert main([*argv[:-4], "--lines", str(again)]) == 1
    assert "temporal_violations [after_follow_up]" in capsys.readouterr().err


def test_bad_inputs_exit_2_naming_file_and_column(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken_lines.parquet"
    pl.read_parquet(files["lines"]).drop("regimen").write_parquet(broken)
    common = ["journeys", "synthesize", "--patients", str(files["unseen"]), "--train-patients", str(files["train"]),
              "--out", str(tmp_path / "out.parquet")]  # fmt: skip
    assert main([*common, "--train-lines", str(broken)]) == 2
    assert f"file {broken}, column 'regimen'" in capsys.readouterr().err
    text = tmp_path / "text_days.csv"
    pl.read_parquet(files["lines"]).with_columns(pl.lit("soon").alias("start_day")).write_csv(text)
    assert main([*common, "--train-lines", str(text)]) == 2
    assert f"file {text}, column 'start_day', row 1, value 'soon': not Int32" in capsys.readouterr().err
    assert main([*common, "--train-lines", str(files["lines"]), "--min-lines", "3", "--max-lines", "2"]) == 2
    assert "contradictory" in capsys.readouterr().err
    assert (
        main(["journeys", "synthesize", "--patients", str(files["unseen"]), "--out", str(tmp_path / "o.parquet")]) == 2
    )
    assert "--train-patients and --train-lines" in capsys.readouterr().err
    assert not (tmp_path / "out.parquet").exists()
