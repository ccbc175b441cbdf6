"""The oncobench CLI: listing, ingesting, and refusing bad input without leaving files."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main
from tests.conftest import schema_named_frame


def test_cohorts_lists_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cohorts"]) == 0
    out = capsys.readouterr().out
    assert "support2_cancer" in out and "prostate_seer" in out


def test_ingest_cbioportal_study(crc_study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "crc.parquet"
    assert main(["ingest", str(crc_study), "--out", str(out)]) == 0
    frame = pl.read_parquet(out)
    assert frame.height == 1099 and frame["genomic_variant_kras"].sum() == 486
    assert "1099 patients" in capsys.readouterr().out


def test_ingest_registry_cohort_prints_subgroups(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", "colon", "--out", str(tmp_path / "colon.parquet")]) == 0
    assert "sex: Male" in capsys.readouterr().out


def test_ingest_table_with_spec(tmp_path: Path) -> None:
    source = tmp_path / "trial.csv"
    schema_named_frame().rename({"survival_months": "os_days", "patient_id": "subject"}).write_csv(source)
    spec = tmp_path / "trial.yaml"
    spec.write_text("id_column: subject\nsurvival_unit: days\ncolumns:\n  survival_months: os_days\n")
    out = tmp_path / "trial.parquet"
    assert main(["ingest", str(source), "--spec", str(spec), "--out", str(out)]) == 0
    assert pl.read_parquet(out)["survival_months"].max() < 2.0


def test_bad_input_exits_non_zero_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "bad.csv"
    schema_named_frame().with_columns(pl.lit(-1.0).alias("survival_months")).write_csv(source)
    out = tmp_path / "bad.parquet"
    assert main(["ingest", str(source), "--out", str(out)]) != 0
    assert "column 'survival_months', row 1, value -1.0" in capsys.readouterr().err
    assert list(tmp_path.glob("*.parquet")) == [] and list(tmp_path.glob(".*tmp")) == []


def test_empty_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "empty.csv"
    source.write_text("")
    assert main(["ingest", str(source), "--out", str(tmp_path / "x.parquet")]) != 0
    assert f"file {source}: the file is empty" in capsys.readouterr().err


def test_synthesize_with_conditions_and_saved_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "colon.parquet"
    assert main(["ingest", "colon", "--out", str(real)]) == 0
    out, model = tmp_path / "synthetic.parquet", tmp_path / "flow.pkl"
    argv = ["synthesize", str(real), "--rows", "300", "--profile", "fast", "--seed", "4"]
    argv += ["--condition", "sex=Female", "--save-model", str(model), "--out", str(out)]
    assert main(argv) == 0
    frame = pl.read_parquet(out)
    assert frame.height == 300 and frame["sex"].unique().to_list() == ["Female"]
    assert model.exists() and "sampled 300 rows" in capsys.readouterr().out
    assert main([*argv[:-2], "--out", str(tmp_path / "again.parquet")]) == 0
    assert pl.read_parquet(tmp_path / "again.parquet").equals(frame)  # same seed, same output


def test_synthesize_bad_condition_lists_allowed_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "colon.parquet"
    assert main(["ingest", "colon", "--out", str(real)]) == 0
    out = tmp_path / "x.parquet"
    argv = ["synthesize", str(real), "--rows", "5", "--profile", "fast", "--condition", "race=Black", "--out", str(out)]
    assert main(argv) == 2
    assert "cannot condition on 'race'; allowed columns" in capsys.readouterr().err
    assert not out.exists()


def _fast_validation_config(tmp_path: Path) -> Path:
    import yaml

    from pipeline.validation.gates import ANONYMETER_METRICS, DEFAULT_CONFIG

    config = yaml.safe_load(DEFAULT_CONFIG.read_text())
    config["settings"]["anonymeter_attacks"] = 0  # Anonymeter off, and its gates with it
    config["gates"] = [g for g in config["gates"] if g["metric"] not in ANONYMETER_METRICS]
    path = tmp_path / "validation.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_validate_exits_1_on_failed_gates_and_still_writes_every_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "colon.parquet"
    assert main(["ingest", "colon", "--out", str(real)]) == 0
    copies = tmp_path / "copies.parquet"
    pl.read_parquet(real).write_parquet(copies)  # a "synthesizer" that returns the real patients
    out = tmp_path / "metrics.parquet"
    config = _fast_validation_config(tmp_path)
    code = main(["validate", str(real), str(copies), "--out", str(out), "--config", str(config)])
    assert code == 1
    assert "privacy.unique_record_copy_excess" in capsys.readouterr().err
    metrics = pl.read_parquet(out)
    assert set(metrics["family"]) == {"fidelity", "utility", "survival", "privacy", "fairness"}
    assert metrics.filter(pl.col("gate") & ~pl.col("passed")).height > 0


def test_validate_exits_0_when_every_gate_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.split import split_cohort

    real = tmp_path / "colon.parquet"
    assert main(["ingest", "colon", "--out", str(real)]) == 0
    train, holdout = split_cohort(pl.read_parquet(real), holdout_fraction=0.5, seed=1)
    paths = {name: tmp_path / f"{name}.parquet" for name in ("train", "fresh", "holdout")}
    train.write_parquet(paths["train"])
    holdout.head(holdout.height // 2).write_parquet(paths["fresh"])  # unseen real patients stand in
    holdout.tail(holdout.height - holdout.height // 2).write_parquet(paths["holdout"])
    args = ["validate", str(paths["train"]), str(paths["fresh"]), "--holdout", str(paths["holdout"])]
    code = main([*args, "--out", str(tmp_path / "m.parquet"), "--config", str(_fast_validation_config(tmp_path))])
    assert code == 0, capsys.readouterr().err
    assert "released: no gate blocks" in capsys.readouterr().out


def test_stress_twins_edge_and_upsample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "support2.parquet"
    assert main(["ingest", "support2_cancer", "--out", str(real)]) == 0
    synthetic, model = tmp_path / "synthetic.parquet", tmp_path / "flow.pkl"
    argv = ["synthesize", str(real), "--rows", "200", "--profile", "fast", "--save-model", str(model)]
    assert main([*argv, "--out", str(synthetic)]) == 0
    twins = tmp_path / "twins.parquet"
    argv = ["stress", str(synthetic), "--kind", "twins", "--mode", "consistent", "--attribute", "race", "income_band"]
    assert main([*argv, "--out", str(twins)]) == 0
    frame = pl.read_parquet(twins)
    assert set(frame["changed_attribute"]) == {"race", "income_band"} and set(frame["twin_mode"]) == {"consistent"}
    for kind in ("edge", "upsample"):
        out = tmp_path / f"{kind}.parquet"
        assert main(["stress", str(real), "--kind", kind, "--model", str(model), "--out", str(out)]) == 0
        assert pl.read_parquet(out).height > 0
    assert "race=Asian" in capsys.readouterr().out


def test_stress_refuses_impossible_requests_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "colon.parquet"
    assert main(["ingest", "colon", "--out", str(real)]) == 0
    out = tmp_path / "x.parquet"
    assert main(["stress", str(real), "--kind", "twins", "--attribute", "race", "--out", str(out)]) == 2
    assert "cannot flip 'race': the data records no value of it" in capsys.readouterr().err
    assert main(["stress", str(real), "--kind", "edge", "--out", str(out)]) == 2
    assert "pass --model" in capsys.readouterr().err
    assert not out.exists()
