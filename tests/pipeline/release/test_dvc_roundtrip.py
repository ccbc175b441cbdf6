"""Releases in a real Git+DVC repository with a local remote: tag, pull by tag elsewhere, verify.

Crafted tags (an attacker who can push a tag) are pulled too: nothing unverified reaches --out.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.dvc import clear_stale_locks, track_release
from pipeline.release.references import read_dvc_meta, write_dvc_meta
from pipeline.release.verify import load_manifest
from tests.pipeline.release.conftest import DVC, candidate, run


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("pull hung"))
    signal.alarm(240)
    yield
    signal.alarm(0)


def _publish(repo: Path, rows, version: str = "1.0.0") -> tuple[Path, str]:
    release = build_release(repo / "data" / "releases", [candidate(rows, "good")], ReleaseOptions(version))
    sha = load_manifest(release).sha256
    commands = track_release(repo, release, sha)
    assert commands[-2].startswith(f"git tag -a release-{version} -m ") and sha in commands[-2]
    for command in commands[:-1]:  # no remote git server to push to
        run("sh", "-c", command, cwd=repo)
    return release, sha


def _retag(repo: Path, release: Path, version: str) -> None:
    """What an attacker with push rights does: re-add the changed folder and move the tag."""
    run(*DVC, "add", f"data/releases/{version}", cwd=repo)
    run(*DVC, "push", f"data/releases/{version}.dvc", cwd=repo)
    run("git", "add", "-A", cwd=repo)
    run("git", "commit", "-q", "-m", "crafted", cwd=repo)
    run("git", "tag", "-f", f"release-{version}", cwd=repo)


def test_release_is_tagged_pulled_by_tag_and_verified(repo: Path, tmp_path: Path, colon_rows, capsys) -> None:
    _, sha = _publish(repo, colon_rows)
    assert read_dvc_meta(repo / "data" / "releases" / "1.0.0.dvc")["manifest_sha256"] == sha
    assert sha in run("git", "tag", "-n1", "release-1.0.0", cwd=repo)
    out = tmp_path / "pulled"
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "manifest.json and every file verified" in printed and sha in printed
    assert main(["verify", str(out), "--manifest-sha256", sha]) == 0
    target = out / "cohorts" / "good" / "train.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    assert main(["verify", str(out)]) == 1
    assert "cohorts/good/train.parquet: sha256 does not match" in capsys.readouterr().err
    assert not list(tmp_path.glob(".oncobench-pull-*"))


def test_a_crafted_tag_naming_dev_zero_is_refused_and_nothing_reaches_out(
    repo: Path, tmp_path: Path, colon_rows, capsys
) -> None:
    release, _ = _publish(repo, colon_rows)
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["files"].append({"path": "/dev/zero", "sha256": "0" * 64, "bytes": 1 << 40})
    (release / "manifest.json").write_text(json.dumps(manifest))
    write_dvc_meta(repo / "data" / "releases" / "1.0.0.dvc", {"manifest_sha256": load_manifest(release).sha256})
    _retag(repo, release, "1.0.0")
    out = tmp_path / "pulled"
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out)]) == 2
    assert "/dev/zero: absolute path, outside the release" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".oncobench-pull-*"))


def test_a_tag_whose_data_changed_leaves_out_untouched(repo: Path, tmp_path: Path, colon_rows, capsys) -> None:
    release, _ = _publish(repo, colon_rows)
    target = release / "cohorts" / "good" / "test.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    _retag(repo, release, "1.0.0")
    out = tmp_path / "pulled"
    out.mkdir()
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cohorts/good/test.parquet: sha256 does not match" in err and f"nothing written to {out}" in err
    assert out.is_dir() and not any(out.iterdir())


def test_a_tag_with_an_edited_manifest_is_refused(repo: Path, tmp_path: Path, colon_rows, capsys) -> None:
    release, sha = _publish(repo, colon_rows)
    manifest = json.loads((release / "manifest.json").read_text())
    manifest["cohorts"]["good"]["headline"]["c2st_auc"] = 0.5
    (release / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _retag(repo, release, "1.0.0")  # the .dvc meta still records the published manifest sha256
    out = tmp_path / "pulled"
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out)]) == 2
    assert f"does not match {sha} recorded in data/releases/1.0.0.dvc at tag release-1.0.0" in capsys.readouterr().err
    assert not out.exists()


def test_a_given_manifest_sha_must_agree_with_the_tag(repo: Path, tmp_path: Path, colon_rows, capsys) -> None:
    _publish(repo, colon_rows)
    other = hashlib.sha256(b"other").hexdigest()
    out = tmp_path / "pulled"
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out), "--manifest-sha256", other]) == 2
    assert f"not the given {other}; nothing pulled" in capsys.readouterr().err
    assert not out.exists()


def test_pulling_an_unknown_version_or_into_a_full_folder_is_a_clear_error(repo: Path, tmp_path: Path, capsys) -> None:
    assert main(["pull", "9.9.9", "--repo", str(repo), "--out", str(tmp_path / "x")]) == 2
    assert "release 9.9.9: cannot fetch tag release-9.9.9" in capsys.readouterr().err
    full = tmp_path / "full"
    full.mkdir()
    (full / "file").write_text("x")
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(full)]) == 2
    assert "is not an empty directory" in capsys.readouterr().err
    assert main(["pull", "../1.0.0", "--repo", str(repo), "--out", str(tmp_path / "y")]) == 2
    assert "not a semantic version" in capsys.readouterr().err


def test_stale_dvc_locks_of_killed_or_zombie_processes_are_cleared(tmp_path: Path) -> None:
    import subprocess

    lock_dir = tmp_path / ".dvc" / "tmp"
    lock_dir.mkdir(parents=True)
    zombie = subprocess.Popen(["true"])  # exits at once and stays a zombie until waited for
    deadline = time.monotonic() + 60
    while _status(zombie.pid) != "zombie":
        assert time.monotonic() < deadline, f"`true` (PID {zombie.pid}) is still {_status(zombie.pid)} after 60s"
        time.sleep(0.05)
    live = {"pid": os.getpid(), "cmd": "dvc status"}
    (lock_dir / "rwlock").write_text(
        json.dumps(
            {
                "write": {"/r/data/releases/1.0.0": {"pid": zombie.pid, "cmd": "dvc add"}, "/r/x": live},
                "read": {"/r/y": [live, {"pid": 2**22 + 7, "cmd": "dvc push"}]},
            }
        )
    )
    try:
        assert clear_stale_locks(tmp_path) == sorted([zombie.pid, 2**22 + 7])
    finally:
        zombie.wait()
    assert json.loads((lock_dir / "rwlock").read_text()) == {"write": {"/r/x": live}, "read": {"/r/y": [live]}}
    assert clear_stale_locks(tmp_path) == []  # nothing left to clear; a missing file is fine too
    assert clear_stale_locks(tmp_path / "elsewhere") == []


def _status(pid: int) -> str:
    import psutil

    return psutil.Process(pid).status()
