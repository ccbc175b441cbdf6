"""verify stays inside the release and covers manifest.json: every attack from issue 13 is refused and named."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.release import confine
from pipeline.release.build import ReleaseOptions, build_release
from pipeline.release.manifest import ReleaseError
from pipeline.release.verify import load_manifest, verify_release
from tests.pipeline.release.conftest import candidate

TRAIN = "cohorts/good/train.parquet"


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """Reading /dev/zero or a FIFO would hang: fail the test instead."""
    signal.signal(signal.SIGALRM, lambda *_: pytest.fail("verify hung"))
    signal.alarm(60)
    yield
    signal.alarm(0)


@pytest.fixture
def release(tmp_path: Path, colon_rows) -> Path:
    return build_release(tmp_path / "releases", [candidate(colon_rows, "good")], ReleaseOptions("1.0.0"))


def _edit_manifest(release: Path, edit) -> str:
    manifest = json.loads((release / "manifest.json").read_text())
    edit(manifest)
    (release / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return hashlib.sha256((release / "manifest.json").read_bytes()).hexdigest()


def _add_entry(release: Path, path: str, content: bytes) -> None:
    entry = {"path": path, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    _edit_manifest(release, lambda m: m["files"].append(entry))


def test_an_intact_release_verifies_and_its_files_are_0644(release: Path) -> None:
    assert verify_release(release, load_manifest(release).sha256) == []
    modes = {p.relative_to(release).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in release.rglob("*.*")}
    assert set(modes.values()) == {0o644}, modes


@pytest.mark.parametrize("path", ["../../outside/secret.txt", "cohorts/../../secret.txt", "/etc/hostname"])
def test_a_path_outside_the_release_with_the_right_hash_is_refused(release: Path, path: str) -> None:
    secret = release.parent.parent / "outside" / "secret.txt"
    secret.parent.mkdir(exist_ok=True)
    secret.write_bytes(b"secret\n")
    content = Path(path).read_bytes() if path.startswith("/") else secret.read_bytes()
    _add_entry(release, path, content)
    problems = verify_release(release)
    assert len(problems) == 1 and problems[0].startswith(f"{path}: ")
    assert "outside the release" in problems[0] or "leaves the release" in problems[0]
    assert main(["verify", str(release)]) == 1


def test_existing_and_missing_absolute_paths_get_the_same_answer(release: Path) -> None:
    """No existence probe: /etc/passwd and a path that does not exist are refused alike, unread."""
    _add_entry(release, "/etc/passwd", b"x")
    _add_entry(release, "/no/such/file", b"x")
    first, second = verify_release(release)
    assert first.split(": ", 1)[1] == second.split(": ", 1)[1] == "absolute path, outside the release"


def test_dev_zero_is_refused_without_reading(release: Path, monkeypatch) -> None:
    _add_entry(release, "/dev/zero", b"")
    opened = []
    real_open = os.open
    monkeypatch.setattr(confine.os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    assert verify_release(release) == ["/dev/zero: absolute path, outside the release"]
    assert opened and "/dev/zero" not in opened and "zero" not in {Path(p).name for p in opened}


@pytest.mark.parametrize("target", ["/dev/zero", "outside"])
def test_a_data_file_replaced_by_a_symlink_is_refused(release: Path, target: str) -> None:
    original = release / TRAIN
    outside = release.parent / "copy.parquet"
    outside.write_bytes(original.read_bytes())  # same bytes, same hash: only the link gives it away
    original.unlink()
    original.symlink_to(outside if target == "outside" else target)
    assert verify_release(release) == [f"{TRAIN}: a symlink on the way; refused (Too many levels of symbolic links)"]


def test_a_folder_replaced_by_a_symlink_is_refused(release: Path) -> None:
    folder = release / "cohorts" / "good"
    moved = release.parent / "elsewhere"
    folder.rename(moved)
    folder.symlink_to(moved, target_is_directory=True)
    problems = verify_release(release)
    assert "cohorts/good: a symlink; refused" in problems
    assert f"{TRAIN}: a symlink on the way; refused (Not a directory)" in problems or any(
        p.startswith(f"{TRAIN}: a symlink") for p in problems
    )


def test_a_fifo_or_a_device_in_the_release_is_refused_unopened(release: Path) -> None:
    os.mkfifo(release / "pipe")
    _add_entry(release, "listed-pipe", b"")
    os.mkfifo(release / "listed-pipe")
    problems = verify_release(release)
    assert "pipe: a FIFO; refused" in problems
    assert "listed-pipe: a FIFO, not a regular file; refused" in problems


def test_an_extra_file_is_named(release: Path) -> None:
    (release / "cohorts" / "good" / "extra.parquet").write_bytes(b"x")
    assert verify_release(release) == ["cohorts/good/extra.parquet: not in the manifest"]


def test_sizes_are_checked_before_hashing(release: Path, monkeypatch) -> None:
    with (release / TRAIN).open("ab") as handle:
        handle.write(b"appended")
    hashed_sizes = []
    real = confine.sha256_descriptor
    monkeypatch.setattr(
        "pipeline.release.verify.sha256_descriptor", lambda fd, size: hashed_sizes.append(size) or real(fd, size)
    )
    [problem] = verify_release(release)
    assert (release / TRAIN).stat().st_size not in hashed_sizes  # the changed file was never hashed
    assert problem.startswith(f"{TRAIN}: size ") and "the manifest says" in problem


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["cohorts"]["good"]["gates"][0].update(value=0.01),
        lambda m: m["cohorts"]["good"]["headline"].update(c2st_auc=0.5),
        lambda m: m.update(created_at="2020-01-01T00:00:00+00:00"),
    ],
    ids=["gate value", "headline c2st", "created_at"],
)
def test_an_edited_manifest_fails_against_its_reference(release: Path, edit, capsys) -> None:
    recorded = load_manifest(release).sha256
    (release.parent / "1.0.0.dvc").write_text(f"outs: []\nmeta:\n  manifest_sha256: {recorded}\n")
    assert verify_release(release, recorded) == []
    _edit_manifest(release, edit)
    [problem] = verify_release(release, recorded, "the tag")
    assert problem.startswith("manifest.json: sha256 ") and f"does not match {recorded} recorded in the tag" in problem
    assert main(["verify", str(release), "--warehouse", str(release.parent / "none.duckdb")]) == 1
    assert f"recorded in {release.parent / '1.0.0.dvc'}" in capsys.readouterr().err
    assert main(["verify", str(release), "--manifest-sha256", recorded, "--warehouse", "none.duckdb"]) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b'{"release": "1.0.0", "files": {}}', "'files' must be a list"),
        (b'{"release": "1.0.0", "files": [{"path": "a"}]}', "files entry 0 ('a'): 'sha256' is not 64 hex digits"),
        (b'{"release": "1.0.0", "files": [{"path": "a", "sha256": "' + b"0" * 64 + b'", "bytes": -1}]}',
         "'bytes' must be a size >= 0"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)  # fmt: skip
def test_a_broken_manifest_is_a_clear_error(release: Path, content: bytes, message: str, capsys) -> None:
    (release / "manifest.json").write_bytes(content)
    with pytest.raises(ReleaseError, match=re.escape(message)):
        verify_release(release)
    assert main(["verify", str(release)]) == 2
    err = capsys.readouterr().err
    assert f"{release / 'manifest.json'}" in err and "Traceback" not in err


@pytest.mark.parametrize("target", ["/dev/zero", "/etc/hostname"])
def test_a_manifest_symlink_is_refused(release: Path, target: str) -> None:
    (release / "manifest.json").unlink()
    (release / "manifest.json").symlink_to(target)
    with pytest.raises(ReleaseError, match=r"manifest\.json: a symlink"):
        verify_release(release)


@pytest.mark.parametrize("path", ["", ".", "a/./b", "a//b", "a\\b", "cohorts/good/", "x\0y"])
def test_paths_that_are_not_normalised_are_refused(path: str) -> None:
    with pytest.raises(confine.RefusedPath):
        confine.check_relative(path)
