"""publish_release commits a release as a whole or completes it on the next run.

Every step (build, record, audit, dvc add, dvc push) is interrupted once: by an injected failure
after its effect and before the journal records it, and by a real SIGKILL of the process (right
after the folder is renamed into place, and in the middle of `dvc add`, while it holds its DVC
lock). The rerun completes exactly the missing steps; `oncobench list` shows the release
incomplete until then. The kills happen at points the test controls, never on a timer.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from pipeline import audit
from pipeline.cli import main
from pipeline.energy import Measurement, record_emissions
from pipeline.release.build import ReleaseOptions
from pipeline.release.journal import LOCAL_STEPS, STEPS, Journal
from pipeline.release.manifest import ReleaseError
from pipeline.release.publish import publish_release
from pipeline.release.records import list_releases
from pipeline.release.references import read_dvc_meta
from pipeline.release.verify import load_manifest, verify_release
from pipeline.warehouse import Warehouse
from tests.pipeline.release.conftest import DVC, candidate, run

OPTIONS = ReleaseOptions("1.0.0", created_at="2026-01-01T00:00:00+00:00")


def _publish(repo: Path, rows: pl.DataFrame, **kwargs):
    return publish_release(repo / "data" / "releases", [candidate(rows, "good")], OPTIONS,
                           store=Warehouse(repo.parent / "w.duckdb"), repo=repo, **kwargs)  # fmt: skip


def _status(repo: Path) -> str:
    listing = list_releases(Warehouse(repo.parent / "w.duckdb"), repo / "data" / "releases")
    return listing.filter(pl.col("version") == "1.0.0")["status"][0]


def _assert_published(repo: Path) -> None:
    release = repo / "data" / "releases" / "1.0.0"
    store = Warehouse(repo.parent / "w.duckdb")
    sha = Journal.load(release.parent, "1.0.0").manifest_sha256
    assert verify_release(release, sha) == []
    assert store.query("SELECT manifest_sha256 FROM releases")["manifest_sha256"].to_list() == [sha]
    assert len(audit.find_entries(store, "release", "1.0.0")) == 1  # never appended twice
    assert audit.verify_chain(store) == []
    assert read_dvc_meta(release.parent / "1.0.0.dvc")["manifest_sha256"] == sha
    assert "in sync" in run(*DVC, "status", "-c", "data/releases/1.0.0.dvc", cwd=repo)
    assert _status(repo) == "complete"


def test_a_release_is_committed_as_a_whole(repo: Path, colon_rows, capsys) -> None:
    report = _publish(repo, colon_rows)
    assert report.completed_now == list(STEPS) and report.complete and not report.existed
    tag = report.next_steps[2]
    assert tag.startswith("git tag -a release-1.0.0") and report.manifest_sha256 in tag
    _assert_published(repo)
    release = repo / "data" / "releases" / "1.0.0"
    assert main(["verify", str(release), "--warehouse", str(repo.parent / "w.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "manifest.json matches" in out and "1.0.0.dvc" in out and "releases row 1.0.0" in out
    again = _publish(repo, colon_rows)  # a complete release: nothing to do, nothing appended
    assert again.completed_now == [] and again.existed and "already published" in again.summary()
    _assert_published(repo)


@pytest.mark.parametrize("crash_after", STEPS)
def test_a_crash_after_any_step_is_completed_by_the_next_run(repo: Path, colon_rows, crash_after: str) -> None:
    def crash(step: str) -> None:
        if step == crash_after:
            raise RuntimeError(f"simulated crash after {step}")

    with pytest.raises(ReleaseError, match=f"step {crash_after} failed .simulated crash") as raised:
        _publish(repo, colon_rows, after_step=crash)
    remaining = list(STEPS[STEPS.index(crash_after) :])
    assert f"remaining: {remaining}" in str(raised.value)
    assert _status(repo) == "incomplete: missing " + ", ".join(remaining)
    report = _publish(repo, colon_rows)
    assert report.completed_now == remaining and report.complete
    assert report.existed  # the folder was in place: kept as built, never rebuilt
    _assert_published(repo)


# Run as `python <this script> <marker> add ...` instead of `python -m dvc add ...`: `dvc add` as
# usual until it holds its DVC write lock on the release, then it writes its PID to <marker> and
# waits to be killed, so the test kills it in the middle of `dvc add` whatever the machine's speed.
DVC_ADD_HELD_MID_WAY = """\
import contextlib, os, sys, time
from pathlib import Path

import dvc.rwlock
from dvc.cli import main

marker, acquire = Path(sys.argv.pop(1)), dvc.rwlock.rwlock


@contextlib.contextmanager
def rwlock(tmp_dir, fs, cmd, read, write, hardlink):
    with acquire(tmp_dir, fs, cmd, read, write, hardlink):
        if write:
            marker.with_suffix(".tmp").write_text(str(os.getpid()))
            os.replace(marker.with_suffix(".tmp"), marker)
            while True:
                time.sleep(3600)
        yield


dvc.rwlock.rwlock = rwlock
sys.exit(main(sys.argv[1:]))
"""


def _killed_publish(repo: str, rows: str, kill_at: str, hook: str, marker: str) -> None:
    os.setpgrp()  # the test kills this process group: `dvc add` goes with it

    def kill(step: str) -> None:
        if step == kill_at == "build":
            os.kill(os.getpid(), signal.SIGKILL)  # right after the rename, before anything is recorded

    if kill_at == "audit":  # the next step is `dvc add`: it stops mid-way and the test kills the group
        from pipeline.release import dvc

        command = dvc._dvc
        dvc._dvc = lambda *args: [sys.executable, hook, marker, *args] if args[0] == "add" else command(*args)
    _publish(Path(repo), pl.read_parquet(rows), after_step=kill)


def _wait_for(marker: Path, process: multiprocessing.Process, seconds: float = 300) -> str:
    """The content of ``marker`` once written; fail if ``process`` ends first or nothing comes in ``seconds``."""
    deadline = time.monotonic() + seconds
    while not marker.exists():
        assert process.is_alive(), f"the release ended (exit code {process.exitcode}) before {marker.name}"
        assert time.monotonic() < deadline, f"no {marker.name} after {seconds}s"
        time.sleep(0.05)
    return marker.read_text()


@pytest.mark.parametrize("kill_at", ["build", "audit"], ids=["after the rename", "during dvc add"])
def test_a_killed_release_is_completed_by_the_next_run(repo: Path, tmp_path: Path, colon_rows, kill_at: str) -> None:
    colon_rows.write_parquet(tmp_path / "rows.parquet")
    hook, marker = tmp_path / "dvc_add_held.py", tmp_path / "dvc_add.pid"
    hook.write_text(DVC_ADD_HELD_MID_WAY)
    process = multiprocessing.get_context("spawn").Process(
        target=_killed_publish, args=(str(repo), str(tmp_path / "rows.parquet"), kill_at, str(hook), str(marker))
    )
    process.start()
    if kill_at == "audit":
        dvc_pid = int(_wait_for(marker, process))  # `dvc add` holds its lock on the release now
        os.killpg(process.pid, signal.SIGKILL)
    process.join(180)
    assert process.exitcode == -signal.SIGKILL
    if kill_at == "audit":  # killed mid-way: its lock stays behind, for the next run to clear
        lock = json.loads((repo / ".dvc" / "tmp" / "rwlock").read_text())
        assert dvc_pid in [info["pid"] for info in lock["write"].values()]
    assert (repo / "data" / "releases" / "1.0.0" / "manifest.json").exists()
    missing = STEPS if kill_at == "build" else ("dvc_add", "dvc_push")
    assert _status(repo) == "incomplete: missing " + ", ".join(missing)
    listing = ["list", "--warehouse", str(repo.parent / "w.duckdb"), "--releases", str(repo / "data" / "releases")]
    assert main(listing) == 0
    report = _publish(repo, colon_rows)
    assert report.existed and report.completed_now and report.complete
    _assert_published(repo)


def test_an_existing_folder_that_does_not_verify_is_not_published(tmp_path: Path, colon_rows) -> None:
    store = Warehouse(tmp_path / "w.duckdb")
    root = tmp_path / "releases"

    def crash(step: str) -> None:
        if step == "record":
            raise ReleaseError("boom")

    with pytest.raises(ReleaseError, match="step record failed"):
        publish_release(root, [candidate(colon_rows, "good")], OPTIONS, store=store, after_step=crash)
    target = root / "1.0.0" / "metrics.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    with pytest.raises(ReleaseError, match=r"exists at .* but does not verify.*metrics\.parquet: sha256"):
        publish_release(root, [candidate(colon_rows, "good")], OPTIONS, store=store)
    assert audit.find_entries(store, "release", "1.0.0") == []


def test_a_release_recorded_as_built_but_removed_is_not_rebuilt_silently(tmp_path: Path, colon_rows) -> None:
    store, root = Warehouse(tmp_path / "w.duckdb"), tmp_path / "releases"
    report = publish_release(root, [candidate(colon_rows, "good")], OPTIONS, store=store)
    assert report.completed_now == list(LOCAL_STEPS)  # not a DVC repository: local steps only
    os.rename(root / "1.0.0", tmp_path / "moved")
    with pytest.raises(ReleaseError, match=r"was built .* but .*1\.0\.0 is missing"):
        publish_release(root, [candidate(colon_rows, "good")], OPTIONS, store=store)


def test_a_failing_push_names_the_remaining_step(repo: Path, colon_rows, tmp_path: Path) -> None:
    run(*DVC, "remote", "modify", "local", "url", "/proc/forbidden/remote", cwd=repo)
    with pytest.raises(ReleaseError, match=r"step dvc_push failed .*remaining: \['dvc_push'\]"):
        _publish(repo, colon_rows)
    assert _status(repo) == "incomplete: missing dvc_push"
    run(*DVC, "remote", "modify", "local", "url", str(tmp_path / "remote"), cwd=repo)
    assert _publish(repo, colon_rows).completed_now == ["dvc_push"]
    _assert_published(repo)


def test_the_manifest_and_datasheet_sum_the_energy_of_the_cohorts_lineage(tmp_path: Path, colon_rows) -> None:
    store, root = Warehouse(tmp_path / "w.duckdb"), tmp_path / "releases"

    def spent(run: str, asset: str, partition: str, kwh: float | None, stage: str = "synthesis") -> None:
        measured = Measurement(kwh=kwh, kg_co2e=None if kwh is None else kwh / 2, seconds=1.0, country="DEU")
        record_emissions(store, measured, run_id=run, stage=stage, asset=asset, partition=partition)

    spent("r1", "raw_cohort", "good", 0.5, "ingestion")
    spent("r1", "synthesizer_model", "good|flow", 9.0)  # rematerialized in r3: only the latest counts
    spent("r2", "stress_suite", "good", None, "stress")  # not measured: adds nothing
    spent("r3", "synthesizer_model", "good|flow", 2.0)
    spent("r4", "raw_cohort", "other", 100.0, "ingestion")  # another cohort's lineage
    spent("r5", "model", "good", 100.0, "evaluation")  # evaluating a release is not building it
    report = publish_release(root, [candidate(colon_rows, "good")], OPTIONS, store=store)
    manifest = load_manifest(report.path).data
    assert manifest["energy"] == {"kwh": 2.5, "kg_co2e": 1.25, "runs": 3, "materializations": 3, "not_measured": 1}
    assert verify_release(report.path, report.manifest_sha256) == []
    sheet = (report.path / "datasheet.md").read_text()
    assert "## Energy and carbon" in sheet and "used 2.5 kWh and emitted 1.25 kg CO2e over 3 Dagster runs" in sheet
