"""Atomic writes (pipeline/io.py): a writer killed mid-write leaves a temporary file that the next
write into the same folder removes; written files are mode 0644."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
import time
from pathlib import Path

import polars as pl

from pipeline.io import remove_stale_temporaries, write_atomic, write_parquet_atomic


def _slow_writer(target: str) -> None:
    def write(temporary: str) -> None:
        Path(temporary).write_bytes(os.urandom(20 << 20))  # 20 MB, then hang until killed
        time.sleep(600)

    write_atomic(target, write)


def test_a_killed_writer_leaves_a_temporary_file_the_next_write_removes(tmp_path: Path) -> None:
    target = tmp_path / "cohort.parquet"
    process = multiprocessing.get_context("spawn").Process(target=_slow_writer, args=(str(target),))
    process.start()
    deadline = time.time() + 60
    while time.time() < deadline and not any(p.stat().st_size >= 20 << 20 for p in tmp_path.glob(".*.tmp")):
        time.sleep(0.1)
    [leftover] = tmp_path.glob(".*.tmp")
    assert remove_stale_temporaries(tmp_path) == []  # its writer is alive: left alone
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    assert leftover.exists() and not target.exists()
    write_parquet_atomic(pl.DataFrame({"x": [1]}), tmp_path / "other.parquet")
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.parquet"]


def test_an_old_temporary_file_without_a_pid_is_removed_a_fresh_one_kept(tmp_path: Path) -> None:
    old, fresh = tmp_path / ".a.parquet.abcd1234.tmp", tmp_path / ".b.parquet.efgh5678.tmp"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert remove_stale_temporaries(tmp_path) == [old]
    assert fresh.exists()


def test_written_files_are_readable_by_everyone(tmp_path: Path) -> None:
    path = write_parquet_atomic(pl.DataFrame({"x": [1]}), tmp_path / "x.parquet")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_writer_failing_on_a_full_disk_is_an_os_error_naming_the_path(tmp_path: Path, monkeypatch) -> None:
    """polars reports a full disk as "Invalid thrift: transport error"; the CLI turns an OSError into exit 2."""
    import errno
    import shutil

    import pytest

    def thrift_error(temporary: str) -> None:
        Path(temporary).write_bytes(b"PAR1")
        raise pl.exceptions.ComputeError("parquet: Invalid thrift: transport error")

    target = tmp_path / "cohort.parquet"
    with pytest.raises(OSError) as raised:
        write_atomic(target, thrift_error)
    assert raised.value.errno == errno.EIO and raised.value.filename == str(target)
    assert "Invalid thrift" in raised.value.strerror
    free = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: free._replace(free=0))
    with pytest.raises(OSError) as raised:
        write_atomic(target, thrift_error)
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)
    assert sorted(tmp_path.iterdir()) == []  # no temporary file, no target


def test_a_failed_write_names_the_target(tmp_path: Path) -> None:
    import errno

    import pytest

    def no_space(temporary: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises: no file name

    with pytest.raises(OSError) as raised:
        write_atomic(tmp_path / "colon.model", no_space)
    assert raised.value.filename == str(tmp_path / "colon.model") and raised.value.errno == errno.ENOSPC
