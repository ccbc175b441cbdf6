"""How many synthetic patients a release needs for every task to have its events in the test split.

The release splits a synthetic cohort of ``rows`` patients, stratified by the event, into train and
test (``test_fraction``). A task with ``e`` events in the ``n`` rows of the real training split
expects ``round(rows * test_fraction) * e / n`` events in the test split. :func:`plan_power`
keeps the tasks that reach ``min_events`` at the cap (``max_factor`` times the training rows) and
samples enough rows for each of them to expect ``min_events * margin`` (the margin covers the
split's and the synthesizer's chance), never fewer than the training rows and never more than
the cap. The release then counts the events it actually holds
(:func:`pipeline.release.tasks.task_declarations`). The patient rows planned here carry no journey, so
the journey task (``next_line``) is not planned for: the release declares it when the journeys drawn for
those rows hold its events.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import polars as pl

from pipeline.release.manifest import ReleaseError
from pipeline.release.tasks import Task, TaskRules, candidate_tasks, in_task_order, select_tasks, task_events


@dataclass(frozen=True)
class TaskPower:
    """One task's events in the training split and what the planned rows give its test split."""

    task: str
    horizon_months: float | None
    train_events: int
    rows_needed: int  # for min_events * margin expected test events
    expected_test_events: float  # at the planned rows
    classes: tuple[str, ...] = ()  # treatment: the arms with enough patients


@dataclass(frozen=True)
class PowerPlan:
    """The synthetic rows to sample, the tasks they power and why the others are not declared."""

    rows: int
    train_rows: int
    cap: int
    test_fraction: float
    min_events: int
    tasks: tuple[TaskPower, ...]
    not_declared: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tasks": {t.task: {k: v for k, v in asdict(t).items() if k != "task"}
                                          for t in self.tasks}}  # fmt: skip


def split_test_rows(rows: int, test_fraction: float) -> int:
    """The test split's size for ``rows`` synthetic patients (as :func:`pipeline.split.split_cohort` rounds)."""
    return round(rows * test_fraction)


def expected_test_events(events: int, train_rows: int, rows: int, test_fraction: float) -> float:
    return split_test_rows(rows, test_fraction) * events / train_rows


def rows_needed(events: int, train_rows: int, test_fraction: float, target: float) -> int:
    """The fewest synthetic rows whose test split expects ``target`` events (a huge number when none)."""
    if events <= 0:
        return 2**62
    rows = max(1, math.ceil(target * train_rows / (events * test_fraction)))
    while expected_test_events(events, train_rows, rows, test_fraction) < target:  # round() may fall short
        rows += 1
    return rows


def plan_power(train: pl.DataFrame, test_fraction: float, rules: TaskRules | None = None) -> PowerPlan:
    """How many rows to synthesize from ``train`` (the real training split) for a release with
    ``test_fraction`` in its test split, and the tasks those rows power."""
    rules = rules or TaskRules()
    n = train.height
    if n < 1 or not 0.0 < test_fraction < 1.0:
        raise ReleaseError(f"task power needs training rows and 0 < test_fraction < 1: {n} rows, {test_fraction}")
    cap = max(n, math.floor(rules.max_factor * n))

    def at_cap(task: Task) -> float:
        return expected_test_events(task_events(task, train), n, cap, test_fraction)

    candidates, rejected = candidate_tasks(train, rules)
    where = f"expected in the test split even at the cap ({cap} rows, {rules.max_factor:g}x the training rows)"
    declared, reasons = select_tasks(candidates, at_cap, rules, where)
    target = rules.min_events * rules.margin
    needs = {name: rows_needed(task_events(task, train), n, test_fraction, target) for name, task in declared.items()}
    rows = min(cap, max([n, *needs.values()]))
    powered = tuple(
        TaskPower(name, task.horizon_months, task_events(task, train), needs[name],
                  round(expected_test_events(task_events(task, train), n, rows, test_fraction), 1), task.classes)
        for name, task in declared.items()
    )  # fmt: skip
    return PowerPlan(rows, n, cap, test_fraction, rules.min_events, powered, in_task_order({**rejected, **reasons}))


def rows_for_power(
    train: pl.DataFrame,
    test_fraction: float,
    min_events: int = 100,
    max_factor: float = 10.0,
    *,
    rules: TaskRules | None = None,
) -> int:
    """Synthetic rows to sample so that every declared task's test split expects ``min_events``
    events (with ``rules.margin``), at least the training rows and at most ``max_factor`` times them."""
    rules = replace(rules or TaskRules(), min_events=min_events, max_factor=max_factor)
    return plan_power(train, test_fraction, rules).rows
