"""DVC around releases: track and push a new release; fetch one by tag, verify it, then move it in place.

``pull`` never leaves unverified files where the user asked for the release: it downloads into
a temporary directory beside ``--out``, verifies every file and ``manifest.json`` itself
(against the sha256 in the tagged ``.dvc`` file and, if given, ``--manifest-sha256``), and only
then renames the directory into place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.release.manifest import ReleaseError, check_version
from pipeline.release.references import SHA256, Reference, dvc_reference, tag_message, write_dvc_meta
from pipeline.release.verify import verify_release

RELEASES_PATH = "data/releases"
SHA256_IN_TEXT = re.compile(r"\b[0-9a-f]{64}\b")


def tag_name(version: str) -> str:
    return f"release-{version}"


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReleaseError(f"`{' '.join(command)}` failed in {cwd}: {detail[-1] if detail else done.returncode}")
    return done.stdout


def _is_gone(pid: int) -> bool:
    """True if ``pid`` no longer runs: absent, or a zombie nobody reaped (DVC counts those as alive)."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def clear_stale_locks(repo: Path) -> list[int]:
    """Drop ``.dvc/tmp/rwlock`` entries of killed DVC processes; return their PIDs.

    A ``dvc add`` killed mid-way leaves its PID in the rwlock file. DVC itself removes entries of
    PIDs that no longer exist, but a killed child whose parent died too stays a zombie where PID 1
    does not reap (containers), and DVC then refuses every later command on that path.
    """
    path = repo / ".dvc" / "tmp" / "rwlock"
    try:
        lock = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(lock, dict):
        return []
    gone: set[int] = set()

    def alive(info: object) -> bool:
        pid = info.get("pid") if isinstance(info, dict) else None
        if isinstance(pid, int) and _is_gone(pid):
            gone.add(pid)
            return False
        return True

    write = {k: v for k, v in (lock.get("write") or {}).items() if alive(v)}
    read = {k: kept for k, v in (lock.get("read") or {}).items() if (kept := [i for i in v if alive(i)])}
    if gone:
        path.write_text(json.dumps({"write": write, "read": read}), encoding="utf-8")
    return sorted(gone)


def _dvc(*args: str) -> list[str]:
    return [sys.executable, "-m", "dvc", *args]


def is_dvc_repo(repo: Path) -> bool:
    return (repo / ".dvc").is_dir()


def dvc_file(release_dir: Path) -> Path:
    return release_dir.parent / f"{release_dir.name}.dvc"


def _relative(repo: Path, release_dir: Path) -> str:
    return release_dir.resolve().relative_to(repo.resolve()).as_posix()


def dvc_add(repo: Path, release_dir: Path, meta: dict[str, object]) -> Path:
    """``dvc add`` the release and record ``meta`` (the manifest sha256) in its ``.dvc`` file."""
    clear_stale_locks(repo)
    _run(_dvc("add", _relative(repo, release_dir)), repo)
    write_dvc_meta(dvc_file(release_dir), meta)
    return dvc_file(release_dir)


def dvc_push(repo: Path, release_dir: Path) -> None:
    clear_stale_locks(repo)
    _run(_dvc("push", f"{_relative(repo, release_dir)}.dvc"), repo)


def publish_commands(repo: Path, release_dir: Path, manifest_sha256: str) -> list[str]:
    """The git commands that publish a tracked release (an annotated tag recording the manifest sha256)."""
    relative = _relative(repo, release_dir)
    version = release_dir.name
    return [
        f"git add {relative}.dvc {Path(relative).parent.as_posix()}/.gitignore",
        f'git commit -m "Benchmark release {version}"',
        f'git tag -a {tag_name(version)} -m "{tag_message(version, manifest_sha256)}"',
        "git push --follow-tags",
    ]


def track_release(repo: Path, release_dir: Path, manifest_sha256: str, *, push: bool = True) -> list[str]:
    """``dvc add`` (recording the manifest sha256) and ``dvc push``; return the git commands that finish it."""
    dvc_add(repo, release_dir, {"manifest_sha256": manifest_sha256})
    if push:
        dvc_push(repo, release_dir)
    return publish_commands(repo, release_dir, manifest_sha256)


@dataclass(frozen=True)
class PulledRelease:
    path: Path
    manifest_sha256: str
    reference: str


def _tagged(staging: Path, version: str, repo: str) -> tuple[Reference | None, str]:
    """The manifest sha256 in the tagged ``.dvc`` file, and the tag's message (shallow git clone)."""
    clone = staging / "git"
    try:
        _run(["git", "clone", "-q", "--depth", "1", "--no-checkout", "--branch", tag_name(version), repo, str(clone)],
             staging)  # fmt: skip
    except ReleaseError as error:
        raise ReleaseError(f"release {version}: cannot fetch tag {tag_name(version)} of {repo} ({error})") from None
    dvc_text = _run(["git", "show", f"{tag_name(version)}:{RELEASES_PATH}/{version}.dvc"], clone)
    target = staging / f"{version}.dvc"
    target.write_text(dvc_text)
    message = _run(["git", "for-each-ref", "--format=%(contents)", f"refs/tags/{tag_name(version)}"], clone)
    shutil.rmtree(clone, ignore_errors=True)
    return dvc_reference(target), message


def _expected_sha(staging: Path, version: str, repo: str, given: str | None) -> tuple[str, str]:
    """The manifest sha256 to check against, and where it comes from."""
    if given is not None and not SHA256.match(given):
        raise ReleaseError(f"--manifest-sha256 must be 64 lowercase hex digits, got {given!r}")
    recorded, message = _tagged(staging, version, repo)
    where = f"{RELEASES_PATH}/{version}.dvc at tag {tag_name(version)} of {repo}"
    if recorded is None and given is None:
        raise ReleaseError(f"{where} records no manifest sha256; pass --manifest-sha256 from a source you trust")
    if recorded is not None and given is not None and recorded.sha256 != given:
        raise ReleaseError(f"{where} records manifest sha256 {recorded.sha256}, not the given {given}; nothing pulled")
    expected = given if given is not None else recorded.sha256
    named = SHA256_IN_TEXT.findall(message)
    if named and expected not in named:
        raise ReleaseError(f"tag {tag_name(version)} of {repo} names manifest sha256 {named[0]}, but {where} "
                           f"records {expected}; nothing pulled")  # fmt: skip
    return (given, "--manifest-sha256") if given is not None else (expected, where)


def pull_release(version: str, repo: str, out: Path, manifest_sha256: str | None = None) -> PulledRelease:
    """Fetch release ``version`` (git tag ``release-<version>``) with ``dvc get``; verify; move it to ``out``."""
    check_version(version)
    out = Path(out)
    if out.is_symlink() or (out.exists() and (not out.is_dir() or any(out.iterdir()))):
        raise ReleaseError(f"{out} exists and is not an empty directory; choose an empty or new directory")
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".oncobench-pull-{version}-", dir=out.absolute().parent))
    try:
        expected, reference = _expected_sha(staging, version, repo, manifest_sha256)
        fetched = staging / "release"
        _run(_dvc("get", repo, f"{RELEASES_PATH}/{version}", "--rev", tag_name(version), "-o", str(fetched)), staging)
        problems = verify_release(fetched, expected, reference)
        if problems:
            raise ReleaseError(
                f"release {version} from {repo} does not verify; nothing written to {out}: " + "; ".join(problems)
            )
        if out.exists():
            out.rmdir()
        os.rename(fetched, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PulledRelease(out, expected, reference)
