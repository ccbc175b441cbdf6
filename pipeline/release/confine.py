"""Read files of a release without ever leaving it: relative normalised paths, regular files only.

A manifest is untrusted input. Every path it names is checked as text first (relative, no
``.``/``..``/empty parts, no backslash or NUL), then opened one component at a time with
``O_NOFOLLOW`` relative to the release directory, so a symlink anywhere on the way is refused
without being followed, and the opened file must be a regular file (never a device, FIFO or
socket). Sizes are compared before a byte is hashed, and hashing never reads past that size.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BLOCK = 1 << 20


class RefusedPath(Exception):
    """A manifest path or a file in the release that must not be read; the message says why."""


def check_relative(text: object) -> str:
    """``text`` if it is a normalised relative POSIX path inside the release, else raise RefusedPath."""
    if not isinstance(text, str) or not text:
        raise RefusedPath(f"path must be a non-empty string, got {text!r}")
    if "\0" in text or "\\" in text:
        raise RefusedPath("path contains a NUL or a backslash")
    if text.startswith("/"):
        raise RefusedPath("absolute path, outside the release")
    parts = text.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise RefusedPath("path is not normalised or leaves the release (empty, '.' or '..' part)")
    return text


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


@contextmanager
def open_member(root: Path, relative: str) -> Iterator[int]:
    """A read-only descriptor of the regular file ``root/relative``, reached without following links."""
    parts = check_relative(relative).split("/")
    opened: list[int] = []
    try:
        opened.append(os.open(root, os.O_RDONLY | os.O_DIRECTORY))
        for part in parts[:-1]:
            opened.append(_open_at(opened[-1], part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW))
        descriptor = _open_at(opened[-1], parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        opened.append(descriptor)
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedPath(f"{_describe(mode)}, not a regular file; refused")
        yield descriptor
    finally:
        for descriptor in reversed(opened):
            os.close(descriptor)


def _open_at(directory: int, name: str, flags: int) -> int:
    try:
        return os.open(name, flags, dir_fd=directory)
    except FileNotFoundError:
        raise RefusedPath("missing") from None
    except OSError as error:  # ELOOP / ENOTDIR: a symlink or a file where a directory should be
        mode = os.lstat(name, dir_fd=directory).st_mode
        raise RefusedPath(f"{_describe(mode)} on the way; refused ({error.strerror})") from None


def size_of(descriptor: int) -> int:
    return os.fstat(descriptor).st_size


def sha256_descriptor(descriptor: int, size: int) -> str:
    """sha256 of the first ``size`` bytes; a file that turns out longer or shorter is refused."""
    digest, left = hashlib.sha256(), size
    while left:
        block = os.read(descriptor, min(BLOCK, left))
        if not block:
            raise RefusedPath(f"shorter than its {size} bytes while reading")
        digest.update(block)
        left -= len(block)
    if os.read(descriptor, 1):
        raise RefusedPath(f"longer than its {size} bytes while reading")
    return digest.hexdigest()


def read_member(root: Path, relative: str, limit: int) -> bytes:
    """The bytes of a regular file of the release, refused when larger than ``limit``."""
    with open_member(root, relative) as descriptor:
        size = size_of(descriptor)
        if size > limit:
            raise RefusedPath(f"{size} bytes, more than the {limit} allowed")
        chunks, left = [], size
        while left:
            block = os.read(descriptor, min(BLOCK, left))
            if not block:
                break
            chunks.append(block)
            left -= len(block)
        return b"".join(chunks)


def walk_tree(root: Path) -> Iterator[tuple[str, str | None]]:
    """Every entry under ``root`` (never following links) as (relative path, problem or None for a file)."""
    for folder, directories, files in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted(directories):
            mode = os.lstat(base / name).st_mode
            if not stat.S_ISDIR(mode):
                yield (base / name).relative_to(root).as_posix(), f"{_describe(mode)}; refused"
        for name in sorted(files):
            mode = os.lstat(base / name).st_mode
            problem = None if stat.S_ISREG(mode) else f"{_describe(mode)}; refused"
            yield (base / name).relative_to(root).as_posix(), problem
