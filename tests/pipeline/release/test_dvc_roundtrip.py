"""A release in a real Git+DVC repository with a local remote: tag, pull by tag elsewhere, verify."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.dvc import track_release
from tests.pipeline.release.conftest import candidate


def _run(*command: str, cwd: Path) -> None:
    subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    _run("git", "init", "-q", "-b", "main", cwd=repo)
    _run("git", "config", "user.email", "ci@example.org", cwd=repo)
    _run("git", "config", "user.name", "CI", cwd=repo)
    dvc = (sys.executable, "-m", "dvc")
    _run(*dvc, "init", "-q", cwd=repo)
    _run(*dvc, "config", "core.analytics", "false", cwd=repo)
    _run(*dvc, "remote", "add", "-d", "local", str(tmp_path / "remote"), cwd=repo)
    _run("git", "add", "-A", cwd=repo)
    _run("git", "commit", "-q", "-m", "init", cwd=repo)
    return repo


def test_release_is_tagged_pulled_by_tag_and_verified(
    repo: Path, tmp_path: Path, colon_rows, capsys: pytest.CaptureFixture[str]
) -> None:
    release = build_release(repo / "data" / "releases", [candidate(colon_rows, "good")], ReleaseOptions("1.0.0"))
    commands = track_release(repo, release)
    assert commands[-2:] == ["git tag release-1.0.0", "git push --follow-tags"]
    for command in commands[:-1]:  # no remote git server to push to
        subprocess.run(command, shell=True, cwd=repo, check=True, capture_output=True)
    out = tmp_path / "pulled"
    assert main(["pull", "1.0.0", "--repo", str(repo), "--out", str(out)]) == 0
    assert "every file matches manifest.json" in capsys.readouterr().out
    assert main(["verify", str(out)]) == 0
    target = out / "cohorts" / "good" / "train.parquet"
    target.write_bytes(target.read_bytes()[:-1] + b"\0")
    assert main(["verify", str(out)]) == 1
    assert "cohorts/good/train.parquet: sha256 does not match" in capsys.readouterr().err


def test_pulling_an_unknown_version_is_a_clear_error(repo: Path, tmp_path: Path, capsys) -> None:
    assert main(["pull", "9.9.9", "--repo", str(repo), "--out", str(tmp_path / "x")]) == 2
    assert "dvc get" in capsys.readouterr().err
