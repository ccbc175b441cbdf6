"""`oncobench ingest` writes a study's events and lines beside --out when it has timelines."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from pipeline.cli import main
from pipeline.cli.cohorts import journey_outputs
from pipeline.journeys.schema import EVENT_SCHEMA, LINE_SCHEMA


def test_ingest_writes_events_and_lines_of_a_timeline_study(
    shared_study, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "coad.parquet"
    assert main(["ingest", str(shared_study("tcga_biotab_coad")), "--out", str(out)]) == 0
    events_path, lines_path = journey_outputs(out)
    assert (events_path.name, lines_path.name) == ("coad.events.parquet", "coad.lines.parquet")
    events, lines = pl.read_parquet(events_path), pl.read_parquet(lines_path)
    assert events.schema == pl.Schema(EVENT_SCHEMA) and lines.schema == pl.Schema(LINE_SCHEMA)
    assert set(events["patient_id"]) <= set(pl.read_parquet(out)["patient_id"])
    printed = capsys.readouterr().out
    summary = next(line for line in printed.splitlines() if " journeys: " in line)
    assert f"{events.height} events of {events['patient_id'].n_unique()} patients, {lines.height} lines" in summary
    assert "unknown agents" in summary and "rows quarantined" in summary
    other = tmp_path / "other.parquet"
    journey_outputs(other)[0].write_bytes(b"")  # a journey file in the way refuses the run before any work
    assert main(["ingest", str(shared_study("tcga_biotab_coad")), "--out", str(other)]) == 2
    assert "other.events.parquet exists; pass --force" in capsys.readouterr().err
    assert not other.exists()
    assert main(["ingest", str(shared_study("tcga_biotab_coad")), "--out", str(other), "--force"]) == 0
    assert pl.read_parquet(journey_outputs(other)[0]).equals(events)


def test_ingest_of_a_source_without_timelines_writes_no_journey_files(
    small_table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "small.parquet"
    assert main(["ingest", str(small_table), "--out", str(out)]) == 0
    assert not any(path.exists() for path in journey_outputs(out))
    assert " journeys: " not in capsys.readouterr().out
