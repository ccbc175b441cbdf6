"""The evaluation stage: score one model on one task of a release, cohort by cohort.

:func:`evaluate_release` is the one home of the stage; the CLI (``oncobench evaluate``) and the
``model_evaluation`` asset call it and add only I/O, metadata and printing. It verifies the release
before reading any data, lists the available cohorts and tasks when asked for an unknown one, trains
the model on each cohort's ``train`` split where it trains, and refuses bad predictions (naming the
model and the first bad row) before any score is kept.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from pipeline.evaluation.adversarial import adversarial_search, domains, most_sensitive_bases
from pipeline.evaluation.config import EvaluationConfig, load_evaluation_config
from pipeline.evaluation.counterfactual import Decisions, counterfactual_scores, twin_pairs
from pipeline.evaluation.data import CohortData
from pipeline.evaluation.energy import Emissions, track_emissions
from pipeline.evaluation.errors import EvaluationError
from pipeline.evaluation.explain import features_of
from pipeline.evaluation.explanations import explain, protected_roles
from pipeline.evaluation.findings import judge
from pipeline.evaluation.models import LoadedModel, load_model, predict
from pipeline.evaluation.performance import Scored, headline, performance
from pipeline.evaluation.stats import RiskToSurvival
from pipeline.evaluation.stress_cells import stress_scores
from pipeline.evaluation.subgroups import subgroup_scores
from pipeline.evaluation.tasks import (
    BINARY,
    MULTICLASS,
    SURVIVAL,
    Task,
    binary_labels,
    class_labels,
    cohort_tasks,
    survival_outcome,
    task_rows,
)
from pipeline.release.journeys import with_journey_columns
from pipeline.release.references import check_release
from pipeline.release.tasks import protected_attributes
from pipeline.rules import Rule, load_rules
from pipeline.schema import PROTECTED_COLUMNS
from pipeline.stress.tags import EDGE_CASE, UPSAMPLE
from pipeline.warehouse import Warehouse

Progress = Callable[[str], None]
HELPER_COLUMNS = ("__row", "__base_row")
SPLITS = ("train", "test", "stress_suite")


@dataclass
class Evaluation:
    """The output contract (``result``) and what was measured on the way."""

    result: dict[str, Any]
    manifest_sha256: str
    config_version: str
    tasks: dict[str, Task]
    seconds: dict[str, float] = field(default_factory=dict)
    emissions: Emissions = field(default_factory=Emissions)

    @property
    def findings_failed(self) -> dict[str, list[str]]:
        """Per cohort, the ids of the findings that failed (verdict "fail")."""
        cohorts = self.result["cohorts"].items()
        return {c: [f["id"] for f in block["findings"] if not f["passed"]] for c, block in cohorts}

    @property
    def findings_inconclusive(self) -> dict[str, list[str]]:
        """Per cohort, the ids of the findings the evidence cannot decide (verdict "inconclusive")."""
        cohorts = self.result["cohorts"].items()
        return {c: [f["id"] for f in block["findings"] if f.get("verdict") == "inconclusive"] for c, block in cohorts}


@dataclass(frozen=True)
class ReleaseCohort:
    """One released cohort's splits and manifest entry."""

    name: str
    entry: dict[str, Any]
    train: pl.DataFrame
    test: pl.DataFrame
    stress: pl.DataFrame


def open_release(directory: Path | str, store: Warehouse | None = None) -> tuple[dict[str, Any], str]:
    """The manifest of a release that verifies (every file, and the manifest against its references)."""
    checked = check_release(directory, store)
    problems = checked.problems
    if problems:
        raise EvaluationError(
            f"release {directory} does not verify, so nothing was scored: "
            + "; ".join(problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        )
    return checked.manifest, checked.sha256


def declared_task_names(directory: Path | str, store: Warehouse | None = None) -> list[str]:
    """Every task some cohort of the verified release declares (what a model with no task list is scored on)."""
    manifest, _ = open_release(directory, store)
    names: set[str] = set()
    for name, entry in (manifest.get("cohorts") or {}).items():
        declared = entry.get("tasks")
        if not isinstance(declared, dict):  # a release written before tasks were declared
            declared = cohort_tasks(entry, pl.read_parquet(Path(directory) / "cohorts" / name / "train.parquet"))
        names.update(declared)
    return sorted(names)


def _lines(folder: Path, split: str) -> pl.DataFrame | None:
    """The synthetic lines of therapy of a split, None when the cohort has no journeys."""
    path = folder / f"lines_{split}.parquet"
    return pl.read_parquet(path) if path.is_file() else None


def read_cohorts(directory: Path, manifest: dict[str, Any], names: Sequence[str] | None) -> list[ReleaseCohort]:
    """The requested released cohorts (all by default); an unknown name lists the available ones."""
    available = list(manifest.get("cohorts") or {})
    unknown = [n for n in names or () if n not in available]
    if unknown:
        raise EvaluationError(f"release {manifest['release']} has no cohort {', '.join(unknown)}; "
                              f"available: {', '.join(available) or 'none'}")  # fmt: skip
    cohorts = []
    for name in names or available:
        folder = directory / "cohorts" / name
        frames = {split: with_journey_columns(pl.read_parquet(folder / f"{split}.parquet"), _lines(folder, split))
                  for split in SPLITS}  # fmt: skip
        cohorts.append(ReleaseCohort(name, manifest["cohorts"][name], frames["train"], frames["test"],
                                     frames["stress_suite"]))  # fmt: skip
    return cohorts


def _labels(task: Task, rows: pl.DataFrame) -> np.ndarray:
    if task.kind == BINARY:
        return binary_labels(task, rows)
    if task.kind == MULTICLASS:
        return class_labels(task, rows)
    return survival_outcome(rows, task)[1]


def evaluate_release(
    directory: Path | str,
    model: str | LoadedModel,
    task: str,
    *,
    cohorts: Sequence[str] | None = None,
    config: EvaluationConfig | None = None,
    rules: list[Rule] | None = None,
    store: Warehouse | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Score ``model`` on ``task`` of the release in ``directory``; raises an EvaluationError before scoring
    anything when the release does not verify, the cohort or task is unknown, or the model is bad."""
    say = progress or (lambda _: None)
    directory = Path(directory)
    config = config or load_evaluation_config()
    rules = load_rules() if rules is None else rules
    manifest, manifest_sha256 = open_release(directory, store)
    released = read_cohorts(directory, manifest, cohorts)
    tasks = {c.name: cohort_tasks(c.entry, c.train) for c in released}
    offered = sorted({t for per in tasks.values() for t in per})
    if task not in offered:
        where = f"cohort {', '.join(cohorts)} of release" if cohorts else "release"
        raise EvaluationError(f"{where} {manifest['release']} has no task {task!r}; available: {', '.join(offered)}")
    lacking = [c.name for c in released if task not in tasks[c.name]]
    if lacking and cohorts:
        raise EvaluationError(
            f"cohort {', '.join(lacking)} of release {manifest['release']} has no task {task!r}; cohorts with it: "
            + ", ".join(c.name for c in released if task in tasks[c.name])
        )
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    seconds: dict[str, float] = defaultdict(float)
    blocks = {}
    with track_emissions(config.settings.emissions_country) as emissions:
        for cohort in (c for c in released if task in tasks[c.name]):
            say(f"{cohort.name}: {task} with {loaded.name}")
            blocks[cohort.name] = _evaluate_cohort(
                loaded, tasks[cohort.name][task], cohort, config, rules, seconds, say
            )
    result = {
        "release": manifest["release"],
        "model": {"name": loaded.name, "fingerprint": loaded.fingerprint},
        "task": task,
        "cohorts": blocks,
    }
    chosen = {c: tasks[c][task] for c in blocks}
    return Evaluation(result, manifest_sha256, config.version, chosen, dict(seconds), emissions)


class _Clock:
    def __init__(self, seconds: dict[str, float]) -> None:
        self.seconds, self.started = seconds, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] += now - self.started
        self.started = now


def _evaluate_cohort(
    model: LoadedModel,
    task: Task,
    cohort: ReleaseCohort,
    config: EvaluationConfig,
    rules: list[Rule],
    seconds: dict[str, float],
    say: Progress,
) -> dict[str, Any]:
    s, name = config.settings, cohort.name
    clock = _Clock(seconds)
    protected = list(cohort.entry.get("protected") or protected_attributes(cohort.stress, cohort.train))
    clinical = config.clinical([*protected, *PROTECTED_COLUMNS])
    data = CohortData(name, cohort.train, tuple(protected), s.seed, s.proxy_nmi, clinical)
    predictor = model.fitted(task, data)
    clock.lap("training")

    def checked(rows: pl.DataFrame, where: str) -> np.ndarray:
        rows = rows.drop(HELPER_COLUMNS, strict=False)
        return predict(model.name, predictor, task, rows, f"{where} of cohort {name}")

    test = cohort.test[task_rows(task, cohort.test)]
    prediction = checked(test, "the test split")
    pairs = twin_pairs(cohort.stress)
    pair_predictions = checked(pairs, "the counterfactual twins")
    cells = cohort.stress.filter(pl.col("stress_type").is_in([EDGE_CASE, UPSAMPLE]))
    cells = cells[task_rows(task, cells)]
    cell_predictions = checked(cells, "the stress cells")
    calibrator, time_ = None, None
    if task.kind == SURVIVAL:
        time_ = survival_outcome(test, task)[0]
        train = cohort.train[task_rows(task, cohort.train)]
        train_time, train_event = survival_outcome(train, task)
        calibrator = RiskToSurvival(train_time, train_event, checked(train, "the train split"))
    scored = Scored(_labels(task, test), prediction, time_, calibrator)
    clock.lap("predictions")

    say(f"{name}: performance")
    block_performance = performance(task, scored, s.bootstrap, s.seed)
    clock.lap("performance")
    say(f"{name}: subgroups")
    block_subgroups = subgroup_scores(task, scored, test, cohort.train, protected, min_rows=s.min_group_rows,
                                      min_events=s.min_group_events, reps=s.bootstrap_small,
                                      seed=s.seed, clinical=clinical)  # fmt: skip
    clock.lap("subgroups")
    say(f"{name}: counterfactual twins")
    decisions = Decisions(task, prediction if task.kind == SURVIVAL else None)
    counterfactual, cases = counterfactual_scores(pairs, pair_predictions, decisions, bins=s.survival_bins,
                                                  max_cases=s.max_cases)  # fmt: skip
    clock.lap("counterfactual")
    say(f"{name}: adversarial search")
    bases = most_sensitive_bases(pairs, pair_predictions, decisions, s.adversarial_patients, list(data.invariant))
    block_adversarial = adversarial_search(
        lambda rows: checked(rows, "the adversarial candidates"), bases.drop(HELPER_COLUMNS, strict=False),
        domains(cohort.train, list(data.invariant)), rules, decisions, budget=s.adversarial_budget, seed=s.seed,
    )  # fmt: skip
    clock.lap("adversarial")
    say(f"{name}: explanations")
    roles = protected_roles(cohort.train, list(data.invariant), features_of(test, task), s.proxy_nmi)
    block_explanations = explain(lambda rows: checked(rows, "the explained rows (features from train rows)"), task,
                                 test, cohort.train[task_rows(task, cohort.train)], roles, s)  # fmt: skip
    clock.lap("explanations")
    cell_time = survival_outcome(cells, task)[0] if task.kind == SURVIVAL else None
    block_stress = stress_scores(task, headline(task, block_performance), cells, _labels(task, cells),
                                 cell_predictions, cell_time, reps=s.bootstrap_small, seed=s.seed)  # fmt: skip
    clock.lap("stress")
    block = {
        "performance": block_performance,
        "subgroups": block_subgroups,
        "counterfactual": counterfactual,
        "adversarial": block_adversarial,
        "stress": block_stress,
        "explanations": block_explanations,
    }
    block["findings"] = judge(config.findings, block, cases, s.max_cases, clinical)
    return block
