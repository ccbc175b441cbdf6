"""Content fingerprints of frames: a hash of the data, never the data."""

from __future__ import annotations

import hashlib

import polars as pl


def frame_fingerprint(frame: pl.DataFrame) -> str:
    """SHA-256 of the frame's schema and its CSV serialization (stable across runs)."""
    digest = hashlib.sha256()
    digest.update(repr([(c, str(t)) for c, t in frame.schema.items()]).encode())
    digest.update(frame.write_csv().encode())
    return digest.hexdigest()
