"""A released cohort's synthetic events as a MEDS dataset (``meds`` 0.4): ``cohorts/<cohort>/meds/`` holds
``data/train.parquet`` and ``data/held_out.parquet`` (the release's train and test splits),
``metadata/codes.parquet``, ``metadata/subject_splits.parquet`` and ``metadata/dataset.json``. Day 0
(diagnosis) is the fixed epoch of :mod:`pipeline.journeys.meds`; subject ids number the cohort's patients
in id order, so the same release gives the same files, and each data row keeps its ``patient_id`` (a raw
source id column, declared in ``dataset.json``) to join the release's rows and labels."""

from __future__ import annotations

import io
import json
from importlib.metadata import version as package_version
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


def _describe(code: str) -> str:
    """``DRUG//carboplatin`` -> ``drug: carboplatin``; ``...//STOP`` -> ``... (stop)``."""
    if code == meds.death_code:
        return "death"
    parts = code.split("//")
    stop = parts[-1] == "STOP" and len(parts) > 2
    body = parts[:-1] if stop else parts
    text = f"{body[0].lower()}: {'/'.join(body[1:]).replace('_', ' ')}" if len(body) > 1 else body[0].lower()
    return text + (" (stop)" if stop else "")


def meds_files(events: dict[str, pl.DataFrame], *, name: str, version: str, created_at: str) -> dict[str, bytes]:
    """The MEDS dataset of ``events`` (release split -> event table, ``EVENT_SCHEMA``), as relative path ->
    bytes; empty without events."""
    present = {split: frame for split, frame in events.items() if frame is not None and not frame.is_empty()}
    if not present:
        return {}
    patients = sorted(pl.concat([f.select("patient_id") for f in present.values()])["patient_id"].unique())
    subject_ids = {patient: number for number, patient in enumerate(patients)}
    patient_of = dict(enumerate(patients))  # subject id -> patient id, for the raw id column
    files: dict[str, bytes] = {}
    splits, codes = [], set()
    for release_split, meds_split in SPLITS:
        if release_split not in present:
            continue
        table = to_meds(present[release_split], subject_ids)
        raw_ids = pa.array([patient_of[n] for n in table["subject_id"].to_pylist()], pa.string())
        codes.update(table["code"].to_pylist())
        table = meds.DataSchema.align(table.append_column("patient_id", raw_ids))
        files[f"{meds.data_subdirectory}/{meds_split}.parquet"] = _parquet(table)
        subjects = sorted({subject_ids[p] for p in present[release_split]["patient_id"].to_list()})
        splits.append(pa.table({"subject_id": pa.array(subjects, pa.int64()),
                                "split": pa.array([meds_split] * len(subjects), pa.string())}))  # fmt: skip
    files[meds.subject_splits_filepath] = _parquet(meds.SubjectSplitSchema.align(pa.concat_tables(splits)))
    ordered = sorted(codes)
    code_table = pa.table({"code": pa.array(ordered, pa.string()),
                           "description": pa.array([_describe(c) for c in ordered], pa.string()),
                           "parent_codes": pa.array([[] for _ in ordered], pa.list_(pa.string()))})  # fmt: skip
    files[meds.code_metadata_filepath] = _parquet(meds.CodeMetadataSchema.align(code_table))
    metadata: dict[str, Any] = {"dataset_name": name, "dataset_version": version, "etl_name": "oncobench",
                                "meds_version": package_version("meds"), "created_at": created_at,
                                "raw_source_id_columns": ["patient_id"]}  # fmt: skip
    files[meds.dataset_metadata_filepath] = (json.dumps(metadata, indent=2, sort_keys=True) + "\n").encode()
    return files
