"""Drawing journeys from a fitted :class:`JourneyModel` for synthetic patients (see :mod:`synthesis`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import polars as pl

from pipeline.journeys.baseline import baseline
from pipeline.journeys.drugs import load_drug_vocabulary
from pipeline.journeys.model import (
    POOL_PREFIX,
    SYNTHETIC_SOURCE,
    JourneyModel,
    JourneySample,
    follow_up_bin,
    regimen_chain,
    start_chain,
)
from pipeline.journeys.schema import AGENT_CLASSES, EVENT_SCHEMA, LINE_SCHEMA, empty_events, empty_lines
from pipeline.journeys.tables import QuantileTable
from pipeline.synthesis.errors import ConditionError


def _grouped(columns: dict[str, np.ndarray]) -> list[tuple[tuple, np.ndarray]]:
    """Row indices grouped by the values of ``columns``, groups in sorted order."""
    names = list(columns)
    frame = pl.DataFrame({name: np.asarray(values) for name, values in columns.items()}).with_row_index("__row")
    groups = frame.group_by(names).agg(pl.col("__row")).sort(names)
    return [(row[:-1], np.asarray(row[-1], dtype=np.int64)) for row in groups.iter_rows()]


def _line_caps(model: JourneyModel, follow_up: np.ndarray, min_lines: int, max_lines: int | None) -> np.ndarray:
    """The most lines each patient may get: the model's, ``max_lines``, and what its follow-up can hold."""
    if min_lines < 0 or (max_lines is not None and max_lines < min_lines):
        raise ConditionError(f"line count conditions min_lines={min_lines}, max_lines={max_lines} are contradictory")
    if min_lines > model.max_lines:
        raise ConditionError(f"min_lines={min_lines}: the training journeys have at most {model.max_lines} lines")
    top = model.max_lines if max_lines is None else min(max_lines, model.max_lines)
    # L lines in order need L - 1 days between the earliest allowed start and the follow-up
    holds = np.where(np.isnan(follow_up), top, np.floor(follow_up) - model.min_start + 1)
    return np.clip(holds, 0, top).astype(np.int64)


def _line_counts(model: JourneyModel, rng: np.random.Generator, base: pl.DataFrame, follow_up: np.ndarray,
                 caps: np.ndarray, min_lines: int) -> np.ndarray:  # fmt: skip
    counts = np.zeros(base.height, dtype=np.int64)
    keys = {"follow_up": follow_up_bin(follow_up, model.follow_up_edges), "cancer": base["cancer"].to_numpy(),
            "stage": base["stage"].to_numpy(), "cap": caps}  # fmt: skip
    for (fu, cancer, stage, cap), rows in _grouped(keys):
        p = model.line_counts.probabilities({"follow_up": fu, "cancer": cancer, "stage": stage}).copy()
        p[:min_lines] = 0.0
        p[cap + 1 :] = 0.0
        counts[rows] = rng.choice(len(p), size=len(rows), p=p / p.sum())
    return counts


def _regimens(model: JourneyModel, rng: np.random.Generator, cancer: np.ndarray, stage: np.ndarray,
              pid: np.ndarray, position: np.ndarray) -> np.ndarray:  # fmt: skip
    """State codes (indices into ``model.states``) of every line, line by line."""
    state = np.zeros(len(pid), dtype=np.int64)
    first = np.flatnonzero(position == 1)
    for (c, s), rows in _grouped({"cancer": cancer[pid[first]], "stage": stage[pid[first]]}):
        p = model.first.probabilities({"cancer": c, "stage": s})
        state[first[rows]] = rng.choice(len(p), size=len(rows), p=p)
    for k in range(2, int(position.max(initial=0)) + 1):
        at = np.flatnonzero(position == k)
        for (c, previous), rows in _grouped({"cancer": cancer[pid[at]], "previous": state[at - 1]}):
            p = model.following.probabilities({"cancer": c, "previous": model.states[previous]})
            state[at[rows]] = rng.choice(len(p), size=len(rows), p=p)
    return state


def _days(table: QuantileTable, names: list[str], codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days for rows of the groups ``names[codes]``: one uniform per row, in row order."""
    uniforms = rng.random(len(codes))
    days = np.zeros(len(codes), dtype=np.int64)
    order = np.argsort(codes, kind="stable")
    for rows in np.split(order, np.flatnonzero(np.diff(codes[order])) + 1):
        if len(rows):
            days[rows] = table.days(names[codes[rows[0]]], uniforms[rows])
    return days


class _Times:
    """First starts, durations and gaps of every journey, placed in order and fitted into follow-up."""

    def __init__(self, model: JourneyModel, cancer: np.ndarray, stage: np.ndarray, bins: np.ndarray,
                 pid: np.ndarray, position: np.ndarray, counts: np.ndarray, state: np.ndarray) -> None:  # fmt: skip
        self.pid, self.counts = pid, counts
        self.offsets = np.cumsum(counts) - counts
        self.last = np.arange(len(pid)) == (self.offsets + counts - 1)[pid]
        self.tables = (model.first_start, model.durations, model.gaps)
        start_chains = {(c, s): start_chain(c, s) for c, s in set(zip(cancer.tolist(), stage.tolist(), strict=True))}
        line_keys = list(zip(state.tolist(), bins[pid].tolist(), np.minimum(position, 3).tolist(), strict=True))
        line_chains = {(s, b, p): regimen_chain(model.states[s], model.state_class[model.states[s]], b, p)
                       for s, b, p in set(line_keys)}  # fmt: skip

        def groups(table: QuantileTable, chains: dict, keys: list) -> tuple[list[str], np.ndarray]:
            """The group names of the table and each row's code into them."""
            found = {key: table.group_of(chain) or "" for key, chain in chains.items()}
            names = sorted(set(found.values()))
            code = {name: i for i, name in enumerate(names)}
            return names, np.array([code[found[key]] for key in keys], dtype=np.int64)

        self.groups = (
            groups(model.first_start, start_chains, list(zip(cancer.tolist(), stage.tolist(), strict=True))),
            groups(model.durations, line_chains, line_keys),
            groups(model.gaps, line_chains, line_keys),
        )

    def draw(self, rng: np.random.Generator, patients: np.ndarray, lines: np.ndarray, values: list) -> None:
        """(Re)draw the first start of ``patients`` and the duration and gap of ``lines``, in place."""
        for table, (names, codes), out, rows in zip(self.tables, self.groups, values, (patients, lines, lines),
                                                    strict=True):  # fmt: skip
            if len(rows):
                out[rows] = _days(table, names, codes[rows], rng)

    def place(self, first: np.ndarray, duration: np.ndarray, gap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends: each line starts its gap after the previous one ends."""
        step = duration + np.where(self.last, 0, gap)
        before = np.cumsum(step) - step
        starts = first[self.pid] + before - before[self.offsets[self.pid]]
        return starts, starts + duration

    def last_end(self, ends: np.ndarray) -> np.ndarray:
        out = np.full(len(self.counts), -np.inf)
        has = self.counts > 0
        out[has] = ends[(self.offsets + self.counts - 1)[has]]
        return out


def _compress(first: np.ndarray, duration: np.ndarray, gap: np.ndarray, i: int, offset: int, n: int,
              follow_up: int) -> None:  # fmt: skip
    """Fit patient ``i``'s journey into its follow-up: the first start moved no later than needed and
    durations and gaps (beyond their 1-day minimum) scaled down by one factor, in place."""
    rows = slice(offset, offset + n)
    start = min(int(first[i]), follow_up - (n - 1))
    spare_gaps = gap[rows][:-1] - 1
    total = int(duration[rows].sum() + spare_gaps.sum())
    scale = (follow_up - start - (n - 1)) / total if total > 0 else 0.0
    duration[rows] = np.floor(duration[rows] * scale)
    gap[offset : offset + n - 1] = 1 + np.floor(spare_gaps * scale)
    first[i] = start


@dataclass
class _Drawn:
    """Journeys drawn for some patients: per line its patient (row of the subset), position, state, days."""

    pid: np.ndarray
    position: np.ndarray
    state: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    last: np.ndarray
    redrawn: np.ndarray  # per patient: its first times did not fit its follow-up
    compressed: np.ndarray  # per patient: no draw fitted, the journey was compressed into it


def _draw(model: JourneyModel, rng: np.random.Generator, base: pl.DataFrame, follow_up: np.ndarray,
          caps: np.ndarray, min_lines: int) -> _Drawn:  # fmt: skip
    """Whole journeys (count, regimens, times) for the patients of ``base``; times redrawn until they fit."""
    counts = _line_counts(model, rng, base, follow_up, caps, min_lines)
    cancer, stage = base["cancer"].to_numpy().astype(str), base["stage"].to_numpy().astype(str)
    pid = np.repeat(np.arange(base.height), counts)
    position = np.arange(len(pid)) - np.repeat(np.cumsum(counts) - counts, counts) + 1
    state = _regimens(model, rng, cancer, stage, pid, position)
    bins = follow_up_bin(follow_up, model.follow_up_edges)
    times = _Times(model, cancer, stage, bins, pid, position, counts, state)
    values = [np.zeros(base.height, np.int64), np.zeros(len(pid), np.int64), np.zeros(len(pid), np.int64)]
    late, redrawn = np.ones(base.height, dtype=bool), np.zeros(base.height, dtype=bool)
    for attempt in range(model.settings.max_redraws + 1):
        times.draw(rng, np.flatnonzero(late), np.flatnonzero(late[pid]), values)
        starts, ends = times.place(*values)
        late = (counts > 0) & ~np.isnan(follow_up) & (times.last_end(ends) > follow_up)
        if not late.any() or attempt == model.settings.max_redraws:
            break
        redrawn |= late
    for i in np.flatnonzero(late):
        _compress(*values, int(i), int(times.offsets[i]), int(counts[i]), int(follow_up[i]))
    starts, ends = times.place(*values)
    return _Drawn(pid, position, state, starts, ends, times.last, redrawn, late)


def sample(
    model: JourneyModel, patients: pl.DataFrame, *, seed: int = 0, min_lines: int = 0, max_lines: int | None = None
) -> JourneySample:
    """Lines of therapy for every patient of ``patients`` (harmonized rows: cancer, stage, survival).

    ``min_lines``/``max_lines`` condition the number of lines exactly (each patient gets a count
    drawn from the model's distribution restricted to that range); a patient whose follow-up cannot
    hold ``min_lines`` lines in order is an error (:class:`ConditionError`). The times of a journey
    that ends after its patient's follow-up are drawn again (the count and regimens kept), up to
    ``max_redraws`` times; then they are compressed into the follow-up."""
    began = time.perf_counter()
    base = baseline(patients)
    follow_up = base["follow_up"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    caps = _line_caps(model, follow_up, min_lines, max_lines)
    short = np.flatnonzero(caps < min_lines)
    if short.size:
        first = int(short[0])
        raise ConditionError(f"{short.size} patient(s) have too short a follow-up for {min_lines} lines in order "
                             f"(first: {base['patient_id'][first]}, {follow_up[first]:g} days)")  # fmt: skip
    rng = np.random.default_rng(seed)
    drawn = _draw(model, rng, base, follow_up, caps, min_lines)
    redrawn, compressed = int(drawn.redrawn.sum()), int(drawn.compressed.sum())
    if not len(drawn.pid):
        return JourneySample(empty_lines(), base.height, redrawn, compressed, time.perf_counter() - began)
    parts = (drawn.pid, drawn.position, drawn.state, drawn.starts, drawn.ends, drawn.last)
    lines = _lines_frame(model, patients, base, *parts)
    return JourneySample(lines, base.height, redrawn, compressed, time.perf_counter() - began)


def _lines_frame(model: JourneyModel, patients: pl.DataFrame, base: pl.DataFrame, pid: np.ndarray,
                 position: np.ndarray, state: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                 last: np.ndarray) -> pl.DataFrame:  # fmt: skip
    labels = np.array(model.states, dtype=object)
    classes = np.array([model.state_class[s] for s in model.states], dtype=object)
    if "cohort" in patients.columns:
        cohorts = patients["cohort"].cast(pl.String)
    else:
        cohorts = pl.repeat(model.cohort, base.height, dtype=pl.String, eager=True)
    default_rules = next(iter(model.rule_sets.values()), SYNTHETIC_SOURCE)
    rules = pl.Series([model.rule_sets.get(c, default_rules) for c in base["cancer"].to_list()], dtype=pl.String)
    rows, is_last = pl.Series(pid), pl.Series(last)
    event = base["event"].gather(rows)
    following = pl.when(~is_last).then(pl.Series(np.roll(starts, -1) - starts))
    ended_by = (
        pl.when(~is_last).then(pl.lit("next_line")).when(event == 1).then(pl.lit("death"))
        .when(event == 0).then(pl.lit("censored")).otherwise(pl.lit("unknown"))
    )  # fmt: skip
    frame = pl.DataFrame(
        {
            "patient_id": base["patient_id"].gather(rows),
            "cohort": cohorts.gather(rows),
            "line": position,
            "regimen": labels[state].tolist(),
            "regimen_class": classes[state].tolist(),
            "start_day": starts,
            "end_day": ends,
            "time_to_next_treatment": pl.select(following).to_series(),
            "ended_by": pl.select(ended_by).to_series(),
            "rule_set": rules.gather(rows),
        }
    )
    return frame.select([pl.col(name).cast(dtype) for name, dtype in LINE_SCHEMA.items()])


def journey_events(lines: pl.DataFrame, patients: pl.DataFrame) -> pl.DataFrame:
    """The event table (``EVENT_SCHEMA``) of synthetic lines: one treatment event per agent of each
    line (a pooled ``other <class>`` regimen: no agent), and each patient's death or last contact at
    its follow-up."""
    if lines.is_empty() and patients.is_empty():
        return empty_events()
    classes = {name: drug.agent_class for name, drug in load_drug_vocabulary().drugs.items()}
    is_pool = pl.col("regimen").str.starts_with(POOL_PREFIX)
    agents = pl.when(is_pool).then(pl.lit([], pl.List(pl.String))).otherwise(pl.col("regimen").str.split("+"))
    treatments = (
        lines.with_columns(agent=agents)
        .explode("agent")
        .select(
            "patient_id", "cohort", "start_day", pl.col("end_day").alias("stop_day"),
            event_type=pl.lit("treatment"), agent=pl.col("agent"),
            agent_class=pl.when(is_pool & pl.col("regimen_class").is_in(list(AGENT_CLASSES)))
            .then(pl.col("regimen_class"))
            .otherwise(pl.col("agent").replace_strict(classes, default="other")),
            source_agent=pl.coalesce(pl.col("agent"), pl.col("regimen")),
        )
    )  # fmt: skip
    cohort = patients["cohort"].cast(pl.String) if "cohort" in patients.columns else pl.lit(None, pl.String)
    status = (
        baseline(patients)
        .with_columns(cohort=cohort)
        .filter(pl.col("follow_up").is_not_null())
        .select(
            "patient_id", "cohort", start_day=pl.col("follow_up"), event_type=pl.lit("status"),
            detail=pl.when(pl.col("event") == 1).then(pl.lit("death")).otherwise(pl.lit("last contact")),
        )
    )  # fmt: skip
    events = pl.concat([treatments, status], how="diagonal_relaxed").with_columns(source_file=pl.lit(SYNTHETIC_SOURCE))
    for name, dtype in EVENT_SCHEMA.items():
        if name not in events.columns:
            events = events.with_columns(pl.lit(None, dtype).alias(name))
    events = events.select([pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items()])
    return events.sort("patient_id", "start_day", "event_type", "agent", nulls_last=True)
