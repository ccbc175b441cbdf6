"""DVC around releases: track and push a new release; fetch one by tag and verify it."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.release.manifest import ReleaseError
from pipeline.release.verify import verify_release

RELEASES_PATH = "data/releases"


def tag_name(version: str) -> str:
    return f"release-{version}"


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReleaseError(f"`{' '.join(command)}` failed in {cwd}: {detail[-1] if detail else done.returncode}")
    return done.stdout


def _dvc(*args: str) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def is_dvc_repo(repo: Path) -> bool:
    return (repo / ".dvc").is_dir()


def track_release(repo: Path, release_dir: Path, *, push: bool = True) -> list[str]:
    """``dvc add`` the release (and ``dvc push`` it); return the git commands that finish it."""
    relative = release_dir.resolve().relative_to(repo.resolve()).as_posix()
    _run(_dvc("add", relative), repo)
    if push:
        _run(_dvc("push", f"{relative}.dvc"), repo)
    version = release_dir.name
    return [
        f"git add {relative}.dvc {Path(relative).parent.as_posix()}/.gitignore",
        f'git commit -m "Benchmark release {version}"',
        f"git tag {tag_name(version)}",
        "git push --follow-tags",
    ]


def pull_release(version: str, repo: str, out: Path) -> Path:
    """Fetch release ``version`` from git tag ``release-<version>`` of ``repo`` with ``dvc get``, then verify it."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} exists and is not empty; choose an empty or new directory")
    with tempfile.TemporaryDirectory() as scratch:
        _run(_dvc("get", repo, f"{RELEASES_PATH}/{version}", "--rev", tag_name(version), "-o", str(out)), Path(scratch))
    problems = verify_release(out)
    if problems:
        raise ReleaseError(f"release {version} pulled into {out} does not verify: " + "; ".join(problems))
    return out
