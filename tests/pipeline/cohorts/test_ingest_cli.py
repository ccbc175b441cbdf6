"""`oncobench ingest`: --name, --force, never over the input; private salts."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main
from pipeline.cohorts.identifiers import DEFAULT_SALT, hash_patient_ids, id_salt, private_salt, salt_file
from tests.conftest import schema_named_frame


def test_name_force_and_report(small_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.parquet"
    assert main(["ingest", str(small_table), "--out", str(out), "--name", "my_trial"]) == 0
    assert pl.read_parquet(out)["cohort"].unique().to_list() == ["my_trial"]
    assert main(["ingest", str(small_table), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert main(["ingest", str(small_table), "--out", str(out), "--force"]) == 0
    assert main(["ingest", str(small_table), "--out", str(out), "--force", "--name", "Bad Name"]) == 2


def test_out_never_overwrites_the_input(small_table: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = small_table.read_bytes()
    assert main(["ingest", str(small_table), "--out", str(small_table), "--force"]) == 2
    assert "would overwrite" in capsys.readouterr().err
    assert small_table.read_bytes() == before


def test_identifier_columns_exit_2_or_are_dropped_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "t.csv"
    n = 40
    uuids = [f"0b2c{i:04x}-7e8a-4264-a551-b16621843e28" for i in range(n)]
    schema_named_frame(n).with_columns(pl.Series("case_ref", uuids)).write_csv(source)
    out = tmp_path / "o.parquet"
    assert main(["ingest", str(source), "--out", str(out)]) == 2
    assert "'case_ref' (uuid)" in capsys.readouterr().err and not out.exists()
    assert main(["ingest", str(source), "--out", str(out), "--drop-identifiers"]) == 0
    assert "case_ref" not in pl.read_parquet(out).columns
    assert "case_ref (uuid)" in capsys.readouterr().out


def test_unsafe_spec_sql_exits_2_before_reading(small_table: Path, tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("filter: \"race IN (SELECT nope FROM read_csv('/etc/passwd', skip_rows => 3))\"\n")
    assert main(["ingest", str(small_table), "--spec", str(spec), "--out", str(tmp_path / "o.parquet")]) == 2
    err = capsys.readouterr().err
    assert "subquery not allowed" in err and "root:" not in err  # no line of /etc/passwd


def test_private_salt_is_random_created_once_and_outside_the_repo(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ONCOBENCH_ID_SALT", raising=False)
    monkeypatch.setenv("ONCOBENCH_SALT_FILE", str(tmp_path / "cfg" / "salt"))
    first = private_salt()
    assert first == private_salt() and len(first) == 64 and first != DEFAULT_SALT
    assert oct(os.stat(salt_file()).st_mode & 0o777) == "0o600"
    assert id_salt(public=False) == first and id_salt(public=True) == DEFAULT_SALT
    assert id_salt(public=False, explicit="given") == "given"
    monkeypatch.setenv("ONCOBENCH_ID_SALT", "env")
    assert id_salt(public=False) == "env"


def test_a_public_id_cannot_be_rehashed_without_the_private_salt(
    small_table: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("ONCOBENCH_ID_SALT", raising=False)
    out = tmp_path / "o.parquet"
    assert main(["ingest", str(small_table), "--out", str(out)]) == 0
    ids = pl.read_csv(small_table)["patient_id"]
    public = hash_patient_ids(ids, cohort="small_cohort", salt=DEFAULT_SALT).to_list()
    assert set(public).isdisjoint(pl.read_parquet(out)["patient_id"].to_list())
