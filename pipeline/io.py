"""File writes that never leave a half-written file behind, and clean up after killed writers.

A temporary file is named ``.<name>.<pid>.<random>.tmp`` beside its target. A process killed
mid-write cannot remove its own; the next atomic write into the same directory removes every
such file whose writer process is gone (and temporary files of the older, pid-less format once
they are an hour old). Written files get mode 0644 (the owner writes, everyone reads).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

FILE_MODE = 0o644
STALE_WITHOUT_PID_SECONDS = 3600
MIN_FREE_BYTES = 1 << 20  # less free space than this after a failed write: the disk is full
_WITH_PID = re.compile(r"^\..+\.(?P<pid>\d+)\.[a-z0-9_]{8}\.tmp$")
_WITHOUT_PID = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Remove temporary files left in ``directory`` by writers that were killed; return them."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        match = _WITH_PID.match(name)
        if not match and not _WITHOUT_PID.match(name):
            continue
        path = directory / name
        try:
            old = now - path.lstat().st_mtime > STALE_WITHOUT_PID_SECONDS
            stale = not _alive(int(match["pid"])) if match else old
            if stale and path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        except OSError:
            continue
    return removed


def write_atomic(path: Path | str, write: Callable[[str], None]) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file onto ``path`` (mode 0644)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        try:
            write(temporary)
        except pl.exceptions.PolarsError as error:  # a full disk reaches polars' writer as "Invalid thrift: ..."
            raise _write_error(path, error) from error
        except OSError as error:  # a failed write() names no file: name the target
            if error.filename is None:
                raise OSError(error.errno, error.strerror or str(error), str(path)) from error
            raise
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _write_error(path: Path, error: Exception) -> OSError:
    """The error of a writer that failed on ``path``, as an OSError naming it (no space left, when so)."""
    try:
        full = shutil.disk_usage(path.parent).free < MIN_FREE_BYTES
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(errno.EIO, f"could not write ({str(error).splitlines()[0]})", str(path))


def write_parquet_atomic(frame: pl.DataFrame, path: Path | str) -> Path:
    """Write ``frame`` to a temporary file beside ``path``, then rename it into place."""
    return write_atomic(path, frame.write_parquet)


def write_bytes_atomic(data: bytes, path: Path | str) -> Path:
    """Write ``data`` to ``path`` atomically (mode 0644)."""
    return write_atomic(path, lambda temporary: Path(temporary).write_bytes(data))


def write_text_atomic(text: str, path: Path | str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (mode 0644)."""
    return write_bytes_atomic(text.encode("utf-8"), path)


def partition_file(base_dir: Path | str, asset: str, partition: str, suffix: str) -> Path:
    """Where one asset partition is stored: ``<base_dir>/<asset>/<partition>.<suffix>``, with the
    ``|`` of a ``cohort|synthesizer`` key written as ``__`` (the Dagster IO managers and the CLI agree here)."""
    return Path(base_dir, asset) / f"{partition.replace('|', '__')}.{suffix}"


@contextmanager
def all_or_nothing() -> Iterator[Callable[[Path], Path]]:
    """Outputs that belong together: each path given to the yielded ``keep`` (as written) stays only
    if the whole block completes; on any error every one is removed, so a command that fails on
    its second output (a full disk, an unwritable model path) leaves no first one behind."""
    written: list[Path] = []

    def keep(path: Path) -> Path:
        written.append(Path(path))
        return path

    try:
        yield keep
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
