"""Write a frozen release directory: once, atomically, only cohorts that passed every gate.

The directory is assembled under a temporary name next to its final place and renamed in one
step, so a killed release leaves no partial ``<version>`` directory, and an existing version is
never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from filelock import FileLock

from pipeline.fingerprint import frame_fingerprint
from pipeline.io import write_bytes_atomic, write_parquet_atomic, write_text_atomic
from pipeline.journeys.features import JourneySet
from pipeline.journeys.plots import sequence_png
from pipeline.release.datasheet import datasheet_html, datasheet_markdown
from pipeline.release.journeys import journey_parts, journey_summary, with_journey_columns
from pipeline.release.manifest import MANIFEST, ReleaseError, check_version, code_revision, file_entry, package_versions
from pipeline.release.meds_export import MEDS_FOLDER, meds_files
from pipeline.release.tasks import TaskRules, protected_attributes, task_declarations
from pipeline.split import split_cohort
from pipeline.validation.plots import pair_gap_png, representation_png
from pipeline.validation.suite import headline_scores
from pipeline.validation.verdicts import describe_failures

PARTIAL_PREFIX = ".partial-"


@dataclass(frozen=True)
class CohortCandidate:
    """One cohort's outputs offered for a release."""

    cohort: str
    synthesizer: str
    synthetic: pl.DataFrame | None
    stress_suite: pl.DataFrame | None
    metrics: pl.DataFrame | None
    input_fingerprint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    seeds: dict[str, int] = field(default_factory=dict)
    description: str = ""
    lines: pl.DataFrame | None = None  # synthetic lines of therapy (pipeline.journeys), when the cohort has timelines


def release_candidates(
    entries: Iterable[Any],
    synthesizer: str,
    *,
    harmonized: Mapping[str, pl.DataFrame],
    models: Mapping[str, Any],
    synthetic: Mapping[str, pl.DataFrame],
    metrics: Mapping[str, pl.DataFrame],
    stress: Mapping[str, pl.DataFrame],
    lines: Mapping[str, pl.DataFrame] | None = None,
) -> list[CohortCandidate]:
    """One candidate per registry entry from stored partitions (``cohort`` and ``cohort|synthesizer``
    keys); ``lines``, the synthetic journeys, where they were materialized."""
    candidates = []
    for entry in entries:
        key = f"{entry.name}|{synthesizer}"
        real, model = harmonized.get(entry.name), models.get(key)
        candidates.append(
            CohortCandidate(
                cohort=entry.name,
                synthesizer=synthesizer,
                synthetic=synthetic.get(key),
                stress_suite=stress.get(entry.name),
                metrics=metrics.get(key),
                input_fingerprint=frame_fingerprint(real) if real is not None else "missing",
                parameters=model.report.params if model is not None else {},
                seeds={"training": model.report.seed} if model is not None else {},
                description=entry.description,
                lines=(lines or {}).get(key),
            )
        )
    return candidates


def lineage_partitions(candidates: Iterable[CohortCandidate]) -> list[str]:
    """The asset partitions a release is built from: each cohort (ingestion, split, stress) and its
    ``cohort|synthesizer`` (model, synthetic cohort, validation), withheld cohorts included (their
    energy was spent deciding to withhold them)."""
    return sorted({p for c in candidates for p in (c.cohort, f"{c.cohort}|{c.synthesizer}")})


@dataclass(frozen=True)
class ReleaseOptions:
    version: str
    test_fraction: float = 0.2
    seed: int = 0
    validation_config_version: str = ""
    created_at: str | None = None
    tasks: TaskRules | None = None  # which tasks to declare (config/release.yaml `tasks:`); None: the defaults


def _failures(candidate: CohortCandidate) -> list[str]:
    if candidate.metrics is None or candidate.metrics.is_empty():
        return ["no validation metrics"]
    return describe_failures(candidate.metrics)


def _check_complete(candidates: list[CohortCandidate]) -> None:
    for c in candidates:
        missing = [name for name, value in (("synthetic_cohort", c.synthetic), ("stress_suite", c.stress_suite),
                                            ("validation_metrics", c.metrics)) if value is None]  # fmt: skip
        if missing:
            raise ReleaseError(
                f"cohort {c.cohort} ({c.synthesizer}): missing {', '.join(missing)}; materialize it first"
            )


def _gates(metrics: pl.DataFrame) -> list[dict[str, Any]]:
    columns = (
        "family", "metric", "target", "value", "noise_floor", "ci_lower", "ci_upper", "judged", "rows",
        "threshold", "bound", "p_value", "verdict", "blocking", "passed",
    )  # fmt: skip
    return [{k: row.get(k) for k in columns} for row in metrics.filter(pl.col("gate")).iter_rows(named=True)]


def build_release(
    root: Path,
    candidates: list[CohortCandidate],
    options: ReleaseOptions,
    *,
    audit_log: Callable[[Path], Any] | None = None,
    on_file: Callable[[Path], None] | None = None,
    energy: Callable[[list[str]], Mapping[str, Any]] | None = None,
    ingestion: Callable[[list[str]], Mapping[str, Any]] | None = None,
    reviews: Callable[[list[str]], Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``root/<version>/`` and return it; raise ReleaseError (and write nothing) when it cannot.

    ``audit_log(path)`` exports the audit chain there and returns its anchor (an object with
    ``as_dict()``: chain length and head hash), recorded in the manifest. ``energy(partitions)``
    returns the energy recorded for the candidates' asset partitions (``cohort`` and
    ``cohort|synthesizer``; ``pipeline.energy.lineage_energy``), recorded in the manifest as ``energy``.
    ``ingestion(cohorts)`` returns what ingestion kept and left out per cohort
    (``pipeline.cohorts.records.ingest_summaries``), recorded per cohort as ``ingestion``. ``reviews(cohorts)``
    returns clinicians' review of an earlier release per cohort (``pipeline.review.feedback.earlier_reviews``),
    recorded per cohort as ``clinician_review``.
    """
    version = check_version(options.version)
    final = root / version
    if final.exists():
        raise ReleaseError(f"release {version} already exists at {final}; releases are frozen, choose a new version")
    if not candidates:
        raise ReleaseError(f"release {version}: no cohort to release")
    _check_complete(candidates)
    if options.tasks is None:
        options = replace(options, tasks=TaskRules())
    released = [c for c in candidates if not _failures(c)]
    withheld = {c.cohort: {"synthesizer": c.synthesizer, "reasons": _failures(c)} for c in candidates if _failures(c)}
    if not released:
        reasons = "; ".join(f"{k}: {v['reasons'][0]}" for k, v in withheld.items())
        raise ReleaseError(f"release {version}: every cohort failed a gate ({reasons}); nothing written")
    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root / ".release.lock")):
        if final.exists():
            raise ReleaseError(f"release {version} already exists at {final}; releases are frozen")
        for leftover in root.glob(f"{PARTIAL_PREFIX}{version}-*"):  # from a killed attempt
            shutil.rmtree(leftover, ignore_errors=True)
        partial = root / f"{PARTIAL_PREFIX}{version}-{uuid.uuid4().hex[:8]}"
        try:
            spent = energy(lineage_partitions(candidates)) if energy is not None else None
            names = [c.cohort for c in released]
            ingested = ingestion(names) if ingestion is not None else {}
            reviewed = reviews(names) if reviews is not None else {}
            manifest = _write_contents(partial, released, withheld, candidates, options, audit_log, on_file, spent,
                                       ingested, reviewed)  # fmt: skip
            write_text_atomic(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n", partial / MANIFEST)
            os.rename(partial, final)  # atomic on one filesystem
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    return final


PLOTS = "plots"


def release_plots(
    metrics: pl.DataFrame, synthetic: pl.DataFrame | None = None, lines: pl.DataFrame | None = None
) -> dict[str, bytes]:
    """The datasheet's figures of one cohort, by name: aggregates of the metric table, and the synthetic
    patients' treatment sequences where the cohort has journeys; so they reveal nothing about a real
    patient that the shipped metrics and rows do not."""
    figures = {"pair_trend_gaps": pair_gap_png(metrics), "representation": representation_png(metrics)}
    if synthetic is not None and lines is not None and not lines.is_empty():
        figures["treatment_sequences"] = sequence_png(None, JourneySet.of(synthetic, lines))
    return {name: image for name, image in figures.items() if image is not None}


def _write_contents(
    directory: Path,
    released: list[CohortCandidate],
    withheld: dict[str, Any],
    candidates: list[CohortCandidate],
    options: ReleaseOptions,
    audit_log: Callable[[Path], Any] | None,
    on_file: Callable[[Path], None] | None,
    energy: Mapping[str, Any] | None = None,
    ingested: Mapping[str, Any] | None = None,
    reviewed: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    def written(path: Path) -> Path:
        if on_file:
            on_file(path)
        return path

    directory.mkdir(parents=True)
    created_at = options.created_at or datetime.now(UTC).isoformat(timespec="seconds")
    cohorts: dict[str, Any] = {}
    for c in released:
        train, test = split_cohort(c.synthetic, holdout_fraction=options.test_fraction, seed=options.seed)
        tasks = task_declarations(  # each with its events in train and test; next_line where journeys exist
            with_journey_columns(train, c.lines), with_journey_columns(test, c.lines), options.tasks
        )
        folder = directory / "cohorts" / c.cohort
        rows = {}
        journeys = journey_parts(c.lines, train, test, c.stress_suite)
        parts = {"train": train, "test": test, "stress_suite": c.stress_suite, **journeys}  # journeys: + rare cases
        for name, frame in parts.items():
            written(write_parquet_atomic(frame, folder / f"{name}.parquet"))
            rows[name] = frame.height
        events = {split: journeys.get(f"events_{split}") for split in ("train", "test")}
        for relative, data in meds_files(events, name=f"oncobench-{c.cohort}", version=options.version,
                                         created_at=created_at).items():  # fmt: skip
            written(write_bytes_atomic(data, folder / MEDS_FOLDER / relative))
        for name, image in release_plots(c.metrics, c.synthetic, c.lines).items():  # no real patient in them
            written(write_bytes_atomic(image, folder / PLOTS / f"{name}.png"))
        cohorts[c.cohort] = {
            "synthesizer": c.synthesizer,
            "description": c.description,
            "input_fingerprint": c.input_fingerprint,
            "parameters": c.parameters,
            "seeds": {**c.seeds, "split": options.seed},
            "rows": rows,
            "tasks": tasks.tasks,  # what `oncobench evaluate` scores, with label definitions and events
            "tasks_not_declared": tasks.not_declared,  # candidate task -> why (e.g. too few test events)
            "ingestion": (ingested or {}).get(c.cohort),  # real patients kept, quarantined, left out; warnings
            "clinician_review": (reviewed or {}).get(c.cohort),  # of an earlier release; None when never reviewed
            "protected": protected_attributes(c.stress_suite, train),
            "journeys": journey_summary(c.lines, c.synthetic.height),  # None without timelines
            "gates": _gates(c.metrics),
            "headline": {k: v for k, v in headline_scores(c.metrics).items() if v is not None},
        }
    metrics = pl.concat([c.metrics for c in candidates if c.metrics is not None], how="vertical_relaxed")
    released_names = [c.cohort for c in released]
    metrics = metrics.with_columns(released=pl.col("cohort").is_in(released_names))
    written(write_parquet_atomic(metrics, directory / "metrics.parquet"))
    anchor = audit_log(written(directory / "audit_log.jsonl")) if audit_log is not None else None
    manifest: dict[str, Any] = {
        "release": options.version,
        "created_at": created_at,
        "code_revision": code_revision(Path(__file__).resolve().parents[2]),
        "packages": package_versions(),
        "validation_config_version": options.validation_config_version,
        "cohorts": cohorts,
        "withheld": withheld,
    }
    if energy is not None:  # kWh, kg CO2e and Dagster runs of the candidates' latest materializations
        manifest["energy"] = dict(energy)
    if anchor is not None:
        manifest["audit"] = anchor.as_dict()  # the chain's length and head hash, anchored outside the log
    headline = {name: c["headline"] for name, c in cohorts.items()}
    write_text_atomic(json.dumps(headline, indent=2, sort_keys=True) + "\n", directory / "headline_metrics.json")
    manifest["files"] = [file_entry(p, directory) for p in sorted(directory.rglob("*")) if p.is_file()]
    # the datasheets list the data files, then are added to the manifest themselves
    text = datasheet_markdown(manifest)
    write_text_atomic(text, written(directory / "datasheet.md"))
    write_text_atomic(datasheet_html(text, f"OncoBench {options.version}"), written(directory / "datasheet.html"))
    manifest["files"] += [file_entry(directory / n, directory) for n in ("datasheet.md", "datasheet.html")]
    return manifest
