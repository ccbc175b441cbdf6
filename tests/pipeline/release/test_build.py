"""Releases are written once, atomically, only with cohorts that passed their gates, and verify."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline.release.build import PARTIAL_PREFIX, ReleaseOptions, build_release
from pipeline.release.manifest import ReleaseError
from pipeline.release.verify import verify_release
from tests.pipeline.release.conftest import candidate

CREATED = "2026-01-01T00:00:00+00:00"


def _options(version: str = "1.0.0") -> ReleaseOptions:
    return ReleaseOptions(version, validation_config_version="1.0.0", created_at=CREATED)


def test_release_ships_passing_cohorts_lists_failing_ones_and_verifies(tmp_path: Path, colon_rows) -> None:
    candidates = [candidate(colon_rows, "good"), candidate(colon_rows, "leaky", mia=0.9)]
    path = build_release(tmp_path, candidates, _options())
    manifest = json.loads((path / "manifest.json").read_text())
    assert list(manifest["cohorts"]) == ["good"]
    assert manifest["withheld"]["leaky"]["reasons"] == [
        "privacy.mia_auc [(all)] = 0.9, must be <= 0.6 (beyond it at p = 0, Holm)"
    ]
    assert manifest["cohorts"]["good"]["rows"] == {"train": 160, "test": 40, "stress_suite": 20}
    assert {f["path"] for f in manifest["files"]} >= {"cohorts/good/train.parquet", "metrics.parquet", "datasheet.html"}
    assert verify_release(path) == []
    assert "## Motivation" in (path / "datasheet.md").read_text() and "<table>" in (path / "datasheet.html").read_text()
    assert not (path / "cohorts" / "leaky").exists()
    plot = "cohorts/good/plots/representation.png"  # the datasheet's figures, hashed like every file
    assert plot in {f["path"] for f in manifest["files"]} and (path / plot).read_bytes().startswith(b"\x89PNG")
    assert f"]({plot})" in (path / "datasheet.md").read_text()
    assert f'src="{plot}"' in (path / "datasheet.html").read_text()


def test_same_inputs_and_seed_give_the_same_files(tmp_path: Path, colon_rows) -> None:
    first = build_release(tmp_path / "a", [candidate(colon_rows, "good")], _options())
    second = build_release(tmp_path / "b", [candidate(colon_rows, "good")], _options())
    assert (first / "manifest.json").read_text() == (second / "manifest.json").read_text()


def test_an_existing_version_is_never_overwritten(tmp_path: Path, colon_rows) -> None:
    path = build_release(tmp_path, [candidate(colon_rows, "good")], _options())
    before = (path / "manifest.json").read_bytes()
    with pytest.raises(ReleaseError, match=r"release 1\.0\.0 already exists"):
        build_release(tmp_path, [candidate(colon_rows, "other")], _options())
    assert (path / "manifest.json").read_bytes() == before


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        (lambda rows: [candidate(rows, "leaky", mia=0.9)], "every cohort failed a gate"),
        (lambda rows: [candidate(rows, "good", stress=False)], "cohort good .flow.: missing stress_suite"),
    ],
)
def test_a_release_that_cannot_be_made_writes_nothing(tmp_path: Path, colon_rows, candidates, message: str) -> None:
    with pytest.raises(ReleaseError, match=message):
        build_release(tmp_path, candidates(colon_rows), _options())
    assert not (tmp_path / "1.0.0").exists()


def test_a_bad_version_is_refused(tmp_path: Path, colon_rows) -> None:
    with pytest.raises(ReleaseError, match="not a semantic version"):
        build_release(tmp_path, [candidate(colon_rows, "good")], _options("v1"))


def test_one_changed_byte_fails_verify_naming_the_file(tmp_path: Path, colon_rows) -> None:
    path = build_release(tmp_path, [candidate(colon_rows, "good")], _options())
    target = path / "cohorts" / "good" / "test.parquet"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    assert verify_release(path) == [
        "cohorts/good/test.parquet: sha256 does not match the manifest (changed or corrupt)"
    ]


def _stopped_release(root: str) -> None:
    """Build a release that stops after its first file, says so in ``root/at-first-file``, and waits to be killed."""
    rows = pl.read_parquet(Path(root) / "rows.parquet")

    def stop(path: Path) -> None:
        (Path(root) / "at-first-file").write_text(str(path))
        while True:
            time.sleep(3600)

    build_release(Path(root), [candidate(rows, "good")], _options(), on_file=stop)


def test_a_killed_release_leaves_no_version_directory(tmp_path: Path, colon_rows) -> None:
    colon_rows.write_parquet(tmp_path / "rows.parquet")
    process = multiprocessing.get_context("spawn").Process(target=_stopped_release, args=(str(tmp_path),))
    process.start()
    deadline = time.monotonic() + 300
    while not (tmp_path / "at-first-file").exists():  # the first file is written, the others not yet
        assert process.is_alive(), f"the build ended (exit code {process.exitcode}) before its first file"
        assert time.monotonic() < deadline, "the build wrote no file in 300s"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    assert not (tmp_path / "1.0.0").exists()
    assert any(p.name.startswith(PARTIAL_PREFIX) for p in tmp_path.iterdir())  # it was killed mid-write
    # the next attempt removes the leftover and succeeds
    assert verify_release(build_release(tmp_path, [candidate(colon_rows, "good")], _options())) == []
    assert not any(p.name.startswith(PARTIAL_PREFIX) for p in tmp_path.iterdir())


def test_journeys_are_released_split_with_their_patients(tmp_path: Path, colon_rows) -> None:
    """A cohort with timelines ships its synthetic lines of therapy beside the patients, each line in
    the split of its patient; a cohort without them ships no line files."""
    import dataclasses

    from pipeline.journeys.schema import LINE_SCHEMA

    patients = colon_rows["patient_id"].to_list()
    lines = pl.DataFrame(
        {"patient_id": [p for p in patients for _ in range(2)], "cohort": "good", "line": [1, 2] * len(patients),
         "regimen": "CAPECITABINE", "regimen_class": "chemotherapy", "start_day": [0, 200] * len(patients),
         "end_day": [150, 300] * len(patients), "time_to_next_treatment": [200, None] * len(patients),
         "ended_by": ["next_line", "censored"] * len(patients), "rule_set": "default@1"},
        schema=LINE_SCHEMA,
    )  # fmt: skip
    from pipeline.stress.tags import TWIN, tagged

    twins = tagged(colon_rows.head(5), stress_type=TWIN, base_patient_id=pl.col("patient_id"), twin_role="twin")
    twins = twins.with_columns(pl.concat_str(pl.lit("twin-"), pl.col("patient_id")).alias("patient_id"))
    good = candidate(colon_rows, "good")
    with_journeys = dataclasses.replace(good, lines=lines, stress_suite=pl.concat([good.stress_suite, twins]))
    path = build_release(tmp_path, [with_journeys, candidate(colon_rows, "plain")], _options())
    manifest = json.loads((path / "manifest.json").read_text())
    rows = manifest["cohorts"]["good"]["rows"]
    assert {k: rows[k] for k in ("train", "test", "lines_train", "lines_test")} == {
        "train": 160, "test": 40, "lines_train": 320, "lines_test": 80}  # fmt: skip
    assert rows["events_train"] == 320 + 160 and rows["events_test"] == 80 + 40  # a treatment per line, a status each
    assert rows["stress_suite"] >= 25 and rows["lines_stress_suite"] >= 10  # twins' lines, and any rare journeys
    given = pl.read_parquet(path / "cohorts" / "good" / "lines_stress_suite.parquet")
    assert set(given["patient_id"]) == set(twins["patient_id"]) and given["line"].to_list() == [1, 2] * 5
    summary = manifest["cohorts"]["good"]["journeys"]
    assert summary["patients_with_lines"] == 200 and summary["lines_per_patient"] == {"2": 1.0}
    assert summary["line_1_to_2"] == {"chemotherapy -> chemotherapy": 1.0}
    assert summary["median_days_to_next_treatment"] == {"1": 200.0} and manifest["cohorts"]["plain"]["journeys"] is None
    assert "## Journeys" in (path / "datasheet.md").read_text()
    folder = path / "cohorts" / "good"
    for split in ("train", "test"):
        ids = set(pl.read_parquet(folder / f"{split}.parquet")["patient_id"])
        released = pl.read_parquet(folder / f"lines_{split}.parquet")
        assert set(released["patient_id"]) == ids and released.schema == pl.Schema(LINE_SCHEMA)
    assert not list((path / "cohorts" / "plain").glob("lines_*"))
    assert "cohorts/good/lines_test.parquet" in (path / "datasheet.md").read_text()
    assert (folder / "plots" / "treatment_sequences.png").read_bytes().startswith(b"\x89PNG")
    assert "cohorts/good/plots/treatment_sequences.png" in (path / "datasheet.md").read_text()
    assert not (path / "cohorts" / "plain" / "plots" / "treatment_sequences.png").exists()
    import meds
    import pyarrow.parquet as pq

    data = {split: pq.read_table(folder / "meds" / "data" / f"{split}.parquet") for split in ("train", "held_out")}
    for table in data.values():
        meds.DataSchema.validate(table)  # raises on a table outside the MEDS data schema
    subjects = pq.read_table(folder / "meds" / "metadata" / "subject_splits.parquet").to_pylist()
    assert len(subjects) == 200 and {r["split"] for r in subjects} == {"train", "held_out"}
    assert len({r["subject_id"] for r in subjects}) == 200  # one subject per synthetic patient, none merged
    described = json.loads((folder / "meds" / "metadata" / "dataset.json").read_text())
    assert described["dataset_name"] == "oncobench-good" and described["raw_source_id_columns"] == ["patient_id"]
    joined = set(data["held_out"]["patient_id"].to_pylist())  # MEDS rows join the release's rows by patient id
    assert joined == set(pl.read_parquet(folder / "test.parquet")["patient_id"])
    codes = pq.read_table(folder / "meds" / "metadata" / "codes.parquet").to_pylist()
    assert {"code": "DRUG//CAPECITABINE", "description": "drug: CAPECITABINE", "parent_codes": []} in codes
    assert not (path / "cohorts" / "plain" / "meds").exists()
    assert verify_release(path) == []
