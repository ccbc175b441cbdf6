"""The prediction tasks a release manifest declares for each cohort, with their label definitions.

- ``mortality_<h>m`` (binary): death within ``h`` months; patients censored earlier are left out.
  ``h`` is the shortest of ``TaskRules.horizons`` at which the status is known for enough rows and
  deaths (and survivors) are not rare (:func:`binary_task`): 12 months where early deaths are
  common, 24 or 60 where they are not.
- ``overall_survival`` (survival): rank patients by risk (higher = worse) against time and event.
- ``treatment`` (multiclass): the arm or regimen class, among two or more arms.
- ``next_line`` (multiclass): for a cohort with journeys, the regimen class of a patient's second line of
  therapy given the baseline row and the first line (its class and length; :mod:`pipeline.release.journeys`
  puts them on the patient rows); patients without a second line are left out.
- ``time_to_next_treatment`` (survival): for a cohort with journeys, the time from the start of the first
  line to the start of the second line or death, censored at last follow-up (TTNT-or-death, the real-world
  endpoint of line-of-therapy studies), given the baseline and the first line's regimen class (not its
  length, which is not known when the line starts); patients without a first line are left out.

Every task declares its events: deaths by the horizon, deaths over follow-up, or the patients of
its smallest arm. A release declares a task only when its test split holds ``min_events`` of them
and says why the others are not declared (:func:`task_declarations`);
:mod:`pipeline.release.power` says how many synthetic rows to sample for that. Releases written
before this declared ``mortality_12m`` without an event minimum (:data:`LEGACY_RULES`).

The release writes these declarations (and the protected attributes) into its manifest; the
evaluation harness reads them back (:mod:`pipeline.evaluation.tasks`) and scores models on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import polars as pl

from pipeline.schema import PROTECTED_COLUMNS
from pipeline.stress.tags import TWIN

SURVIVAL_TIME, SURVIVAL_EVENT, TREATMENT = "survival_months", "vital_status_event", "cancer_related_medication"
BINARY, SURVIVAL, MULTICLASS = "binary", "survival", "multiclass"
MORTALITY_HORIZON = 12.0  # the one horizon of releases written before horizons were chosen
OVERALL_SURVIVAL = "overall_survival"
TREATMENT_TASK = "treatment"
NEXT_LINE_TASK, NEXT_LINE_CLASS = "next_line", "next_line_class"
LINE_1_CLASS, LINE_1_DAYS = "line_1_regimen_class", "line_1_days"  # what the next_line task shows of line 1
TTNT_TASK, TTNT_MONTHS, TTNT_EVENT = "time_to_next_treatment", "ttnt_months", "ttnt_event"
JOURNEY_LABELS = (NEXT_LINE_CLASS, TTNT_MONTHS, TTNT_EVENT)  # journey outcomes: never shown to any model
# what a patient row gains from its journey
JOURNEY_COLUMNS = (LINE_1_CLASS, LINE_1_DAYS, *JOURNEY_LABELS)
SHOWN_TO = {NEXT_LINE_TASK: (LINE_1_CLASS, LINE_1_DAYS), TTNT_TASK: (LINE_1_CLASS,)}  # journey columns a task shows
MIN_ARM_ROWS = 10


@dataclass(frozen=True)
class Task:
    """One task: its kind, label definition and decision rule."""

    name: str
    kind: str
    label: str
    horizon_months: float | None = None
    threshold: float | None = None  # binary: predicted class 1 at p >= threshold
    classes: tuple[str, ...] = ()  # multiclass: the columns of predict_proba, in order
    restates: tuple[str, ...] = ()  # columns that give the label away, hidden from models (e.g. hormon, chemo)
    outcome: str | None = None  # multiclass: the label column (None: treatment); survival: the time column
    event: str | None = None  # survival: the event column (None: vital_status_event)

    @property
    def label_column(self) -> str:
        """The column a multiclass task's label is read from."""
        return self.outcome or TREATMENT

    @property
    def survival_columns(self) -> tuple[str, str]:
        """A survival task's (time in months, event 0/1) columns."""
        return self.outcome or SURVIVAL_TIME, self.event or SURVIVAL_EVENT

    def as_dict(self) -> dict[str, Any]:
        fields = asdict(self).items()
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in fields if k != "name" and v not in (None, ())}

    @property
    def target(self) -> str:
        """Which score ranks models on this task."""
        return "c_index" if self.kind == SURVIVAL else "auc"


@dataclass(frozen=True)
class TaskRules:
    """Which tasks a cohort supports and how many events each needs (``tasks:`` in config/release.yaml)."""

    horizons: tuple[float, ...] = (12.0, 24.0, 60.0)  # candidate mortality horizons (months), shortest first
    min_event_share: float = 0.10  # deaths and survivors: each at least this share of the known-status rows
    min_known_share: float = 0.50  # status at the horizon known for at least this share of the rows
    max_binary: int = 1  # mortality horizons declared per cohort
    min_events: int = 100  # events every declared task needs in the test split
    max_factor: float = 10.0  # synthetic rows: at most this many times the training rows
    margin: float = 1.2  # rows are planned for min_events x margin expected test events


# the tasks of releases written before horizons were chosen: mortality_12m, no share or event minimum
LEGACY_RULES = TaskRules(horizons=(MORTALITY_HORIZON,), min_event_share=0.0, min_known_share=0.0, min_events=0)


@dataclass(frozen=True)
class Declarations:
    """A cohort's declared tasks (as the manifest records them) and why the other candidates are not."""

    tasks: dict[str, dict[str, Any]]
    not_declared: dict[str, str]


def mortality_name(horizon: float) -> str:
    return f"mortality_{horizon:g}m"


def mortality_labels(frame: pl.DataFrame, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """(known, died): rows whose status at the horizon is known, and whether they died by then."""
    time = frame[SURVIVAL_TIME].cast(pl.Float64).fill_null(np.nan).to_numpy()
    event = frame[SURVIVAL_EVENT].cast(pl.Float64).fill_null(np.nan).to_numpy()
    died = (event == 1) & (time <= horizon)
    return died | (time > horizon), died.astype(int)


def binary_task(train: pl.DataFrame, horizon: float, rules: TaskRules) -> Task | str:
    """Death within ``horizon`` months as a task, or why ``train`` does not support it."""
    known, died = mortality_labels(train, horizon)
    n_known, deaths = int(known.sum()), int(died.sum())
    if n_known < 2 or not 0 < deaths < n_known:
        return f"no deaths or no survivors by {horizon:g} months among the training rows whose status is known"
    if n_known / train.height < rules.min_known_share:
        return (f"status at {horizon:g} months is known for {n_known / train.height:.1%} of the training rows "
                f"(needs {rules.min_known_share:.0%})")  # fmt: skip
    share = deaths / n_known
    if min(share, 1 - share) < rules.min_event_share:
        return (f"deaths by {horizon:g} months are {share:.1%} of the {n_known} training rows whose status is known "
                f"(needs {rules.min_event_share:.0%} to {1 - rules.min_event_share:.0%})")  # fmt: skip
    return Task(
        mortality_name(horizon), BINARY,
        f"death within {horizon:g} months of diagnosis (vital_status_event = 1 and survival_months <= {horizon:g}); "
        f"patients censored before {horizon:g} months are left out; class 1 at p >= threshold (the training share "
        "of deaths)",
        horizon_months=float(horizon), threshold=round(share, 4),
    )  # fmt: skip


def treatment_task(arms: list[str] | tuple[str, ...], short: list[str] | None = None) -> Task:
    """The treatment task among ``arms``; ``short``: the arms left out for too few patients."""
    left_out = f" ({', '.join(short)} left out: too few patients)" if short else ""
    return Task(
        TREATMENT_TASK, MULTICLASS,
        f"the arm or regimen class ({TREATMENT}) among {len(arms)} arms{left_out}; rows with another or no arm "
        "left out; predict_proba columns follow `classes`",
        classes=tuple(arms),
    )  # fmt: skip


def next_line_task(classes: list[str] | tuple[str, ...], short: list[str] | None = None) -> Task:
    """The journey task among the second-line regimen ``classes``; ``short``: classes left out."""
    left_out = f" ({', '.join(short)} left out: too few patients)" if short else ""
    return Task(
        NEXT_LINE_TASK, MULTICLASS,
        f"the regimen class of the second line of therapy ({NEXT_LINE_CLASS}) among {len(classes)} classes"
        f"{left_out}, given the baseline and the first line (line_1_regimen_class, line_1_days); patients without "
        "a second line, or with another class, left out; predict_proba columns follow `classes`",
        classes=tuple(classes), outcome=NEXT_LINE_CLASS,
    )  # fmt: skip


def ttnt_task() -> Task:
    """Time to next treatment or death from the start of the first line (a journey cohort's survival task)."""
    return Task(
        TTNT_TASK, SURVIVAL,
        f"risk of starting a second line of therapy or dying (higher = sooner), judged against {TTNT_MONTHS} (months "
        f"from the start of line 1 to the start of line 2 or death) and {TTNT_EVENT} (0: censored at last "
        "follow-up); patients without a first line left out; the model sees the baseline and line_1_regimen_class",
        outcome=TTNT_MONTHS, event=TTNT_EVENT,
    )  # fmt: skip


def _arms(train: pl.DataFrame, column: str) -> list[str]:
    counts = train[column].drop_nulls().value_counts()
    return sorted(counts.filter(pl.col("count") >= MIN_ARM_ROWS)[column].cast(pl.String).to_list())


def candidate_tasks(train: pl.DataFrame, rules: TaskRules) -> tuple[list[Task], dict[str, str]]:
    """The tasks ``train`` supports before their events are counted (mortality horizons shortest
    first), and why the other mortality horizons and tasks are not candidates."""
    tasks: list[Task] = []
    rejected: dict[str, str] = {}
    for horizon in sorted(rules.horizons):
        task = binary_task(train, horizon, rules)
        if isinstance(task, Task):
            tasks.append(task)
        else:
            rejected[mortality_name(horizon)] = task
    if train[SURVIVAL_EVENT].cast(pl.Int64).sum() > 0:
        tasks.append(
            Task(
                OVERALL_SURVIVAL, SURVIVAL,
                "risk of death over follow-up (higher = worse), judged against survival_months and "
                "vital_status_event (censored patients kept)",
            )
        )  # fmt: skip
    else:
        rejected[OVERALL_SURVIVAL] = "no deaths in the training split"
    if TTNT_EVENT in train.columns and train[TTNT_MONTHS].drop_nulls().len():
        if train[TTNT_EVENT].cast(pl.Int64).fill_null(0).sum() > 0:
            tasks.append(ttnt_task())
        else:
            rejected[TTNT_TASK] = "no second line or death after a first line in the training split"
    for column, name, build in ((TREATMENT, TREATMENT_TASK, treatment_task),
                                (NEXT_LINE_CLASS, NEXT_LINE_TASK, next_line_task)):  # fmt: skip
        if column in train.columns and train[column].drop_nulls().len():
            arms = _arms(train, column)
            if len(arms) >= 2:
                tasks.append(build(arms))
            else:
                rejected[name] = f"fewer than two classes of {column} with {MIN_ARM_ROWS} training rows"
    return tasks, rejected


def in_task_order(reasons: dict[str, str]) -> dict[str, str]:
    """``reasons`` ordered as tasks are: mortality horizons shortest first, survival, time to next treatment,
    treatment, next line."""

    def key(item: tuple[str, str]) -> tuple[bool, bool, bool, bool, int, str]:
        name = item[0]
        return (name == NEXT_LINE_TASK, name == TREATMENT_TASK, name == TTNT_TASK, name == OVERALL_SURVIVAL,
                len(name), name)  # fmt: skip

    return dict(sorted(reasons.items(), key=key))


def task_events(task: Task, frame: pl.DataFrame) -> int:
    """The events of ``task`` in ``frame``: deaths by the horizon, deaths, or the smallest arm's patients."""
    if task.kind == BINARY:
        return int(mortality_labels(frame, task.horizon_months or MORTALITY_HORIZON)[1].sum())
    if task.kind == SURVIVAL:
        event = task.survival_columns[1]
        return int(frame[event].cast(pl.Int64).fill_null(0).sum()) if event in frame.columns else 0
    if task.label_column not in frame.columns:
        return 0
    arms = frame[task.label_column].cast(pl.String)
    return min((int((arms == arm).sum()) for arm in task.classes), default=0)


def event_unit(task: Task) -> str:
    if task.kind == BINARY:
        return f"deaths by {task.horizon_months:g} months"
    if task.name == TTNT_TASK:
        return "second lines or deaths"
    return "deaths" if task.kind == SURVIVAL else "patients in the smallest class"


def select_tasks(
    candidates: list[Task], events: Callable[[Task], float], rules: TaskRules, where: str
) -> tuple[dict[str, Task], dict[str, str]]:
    """The candidates with ``events(task) >= rules.min_events`` (at most ``max_binary`` mortality
    horizons, shortest first; arms short of events are left out of ``treatment``), and why the
    others are not declared; ``where`` says where the events were counted, for the reasons."""
    declared: dict[str, Task] = {}
    reasons: dict[str, str] = {}
    for task in candidates:
        if task.kind == MULTICLASS:
            counts = {arm: events(replace(task, classes=(arm,))) for arm in task.classes}
            arms = [arm for arm, n in counts.items() if n >= rules.min_events]
            if len(arms) < 2:
                shown = ", ".join(f"{arm} {n:.0f}" for arm, n in counts.items())
                reasons[task.name] = f"fewer than two arms with {rules.min_events} patients {where} ({shown})"
                continue
            build = next_line_task if task.name == NEXT_LINE_TASK else treatment_task
            task = build(arms, [arm for arm in task.classes if arm not in arms])
        n = events(task)
        binary = [t for t in declared.values() if t.kind == BINARY]
        if n < rules.min_events:
            reasons[task.name] = f"{n:.0f} {event_unit(task)} {where} (needs {rules.min_events})"
        elif task.kind == BINARY and len(binary) >= rules.max_binary:
            shorter = ", ".join(t.name for t in binary) or "none"
            reasons[task.name] = f"a shorter horizon is declared ({shorter}; max_binary: {rules.max_binary})"
        else:
            declared[task.name] = task
    return declared, reasons


def task_declarations(
    train: pl.DataFrame, test: pl.DataFrame | None = None, rules: TaskRules | None = None
) -> Declarations:
    """The tasks of a cohort from its release ``train`` split, each with the events it needs and has;
    with ``test``, only those whose test split holds ``rules.min_events`` events."""
    rules = rules or TaskRules()
    candidates, rejected = candidate_tasks(train, rules)
    if test is None:
        declared, reasons = select_tasks(candidates, lambda _: math.inf, rules, "")
    else:
        where = f"in the test split of {test.height} rows"
        declared, reasons = select_tasks(candidates, lambda t: task_events(t, test), rules, where)
    records = {}
    for name, task in declared.items():
        if task.kind == MULTICLASS:
            task = replace(task, restates=arm_restating_columns(train, task))
        counted = {"needed": rules.min_events, "train": task_events(task, train)}
        if test is not None:
            counted["test"] = task_events(task, test)
        records[name] = {**task.as_dict(), "events": counted}
    return Declarations(records, in_task_order({**rejected, **reasons}))


MAX_LEVELS = 20  # a column with more values is not checked for restating the arm
RESTATES = 0.99  # a column whose values give the arm for this share of the task's rows restates it


def arm_restating_columns(train: pl.DataFrame, task: Task) -> tuple[str, ...]:
    """Columns from which the arm can be read off, alone or in pairs (their values go with one arm for at
    least :data:`RESTATES` of the task's rows): the source columns a spec derived the arm from, such as
    rott2's ``hormon`` and ``chemo``. Models never see them, or the task would be answered by a lookup."""
    outcome = task.label_column
    rows = train.filter(pl.col(outcome).cast(pl.String).is_in(list(task.classes)))
    skip = {outcome, "patient_id", "cohort", SURVIVAL_TIME, SURVIVAL_EVENT}
    skip |= set(JOURNEY_COLUMNS) - set(SHOWN_TO.get(task.name, ()))  # what a model of this task never sees
    small = [c for c in rows.columns if c not in skip and not c.startswith("__")
             and 2 <= rows[c].n_unique() <= MAX_LEVELS]  # fmt: skip
    if rows.is_empty() or not small:
        return ()
    text = rows.select(pl.col(c).cast(pl.String) for c in [*small, outcome])

    def restates(columns: list[str]) -> bool:
        counts = text.group_by(*columns, outcome).len().group_by(*columns).agg(pl.col("len").max())
        return counts["len"].sum() >= RESTATES * rows.height

    found = [c for c in small if restates([c])]
    for i, first in enumerate(small):
        for second in small[i + 1 :]:
            if restates([first, second]):
                found += [first, second]
    return tuple(dict.fromkeys(found))


def declare_tasks(
    train: pl.DataFrame, test: pl.DataFrame | None = None, rules: TaskRules | None = None
) -> dict[str, dict[str, Any]]:
    """The tasks a cohort supports, from its training split (what a release manifest records)."""
    return task_declarations(train, test, rules).tasks


def protected_attributes(stress_suite: pl.DataFrame | None, frame: pl.DataFrame) -> list[str]:
    """The attributes twinned in the stress suite, else the schema's protected columns the data records."""
    if stress_suite is not None and "changed_attribute" in stress_suite.columns:
        twinned = stress_suite.filter(pl.col("stress_type") == TWIN)["changed_attribute"].drop_nulls().unique()
        if twinned.len():
            return sorted(twinned.to_list())
    return [c for c in PROTECTED_COLUMNS if c in frame.columns and frame[c].drop_nulls().n_unique() >= 2]
