"""A released cohort's synthetic events as a MEDS dataset (``meds`` 0.4): ``cohorts/<cohort>/meds/`` holds
``data/train.parquet`` and ``data/held_out.parquet`` (the release's train and test splits),
``metadata/subject_splits.parquet`` and ``metadata/dataset.json``. Day 0 (diagnosis) is the fixed epoch
of :mod:`pipeline.journeys.meds`; subject ids number the cohort's patients in id order, so the same
release gives the same files."""

from __future__ import annotations

import io
import json
from typing import Any

import meds
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.journeys.meds import to_meds

MEDS_FOLDER = "meds"
SPLITS = (("train", meds.train_split), ("test", meds.held_out_split))  # release split -> MEDS split


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def meds_files(events: dict[str, pl.DataFrame], *, name: str, version: str, created_at: str) -> dict[str, bytes]:
    """The MEDS dataset of ``events`` (release split -> event table, ``EVENT_SCHEMA``), as relative path ->
    bytes; empty without events."""
    present = {split: frame for split, frame in events.items() if frame is not None and not frame.is_empty()}
    if not present:
        return {}
    patients = sorted(pl.concat([f.select("patient_id") for f in present.values()])["patient_id"].unique())
    subject_ids = {patient: number for number, patient in enumerate(patients)}
    files: dict[str, bytes] = {}
    splits = []
    for release_split, meds_split in SPLITS:
        if release_split not in present:
            continue
        table = to_meds(present[release_split], subject_ids)
        files[f"{meds.data_subdirectory}/{meds_split}.parquet"] = _parquet(table)
        subjects = sorted({subject_ids[p] for p in present[release_split]["patient_id"].to_list()})
        splits.append(pa.table({"subject_id": pa.array(subjects, pa.int64()),
                                "split": pa.array([meds_split] * len(subjects), pa.string())}))  # fmt: skip
    files[meds.subject_splits_filepath] = _parquet(meds.SubjectSplitSchema.align(pa.concat_tables(splits)))
    metadata: dict[str, Any] = {"dataset_name": name, "dataset_version": version, "etl_name": "oncobench",
                                "meds_version": "0.4", "created_at": created_at}  # fmt: skip
    files[meds.dataset_metadata_filepath] = (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()
    return files
