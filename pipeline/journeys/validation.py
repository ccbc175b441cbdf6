"""Journey validation: synthetic lines of therapy against real holdout lines, each metric beside
its noise floor (real training patients in the synthetic role), judged as the release gates judge.

Metrics (family ``journeys``; the reference is always the real holdout):

- ``lines_per_patient_tvd``: total variation distance of lines per patient (0 .. 6+);
- ``regimen_class_tvd`` per line (``line 1``, ``line 2``, ``line 3+``): regimen classes of the lines;
- ``transition_distance``: the line k -> k+1 transition matrix over regimens (regimens seen fewer
  than ``TRANSITION_MIN_COUNT`` times in training pooled into ``other <class>``, so that the rows rest
  on enough lines; and a stop state), each row's total variation distance weighted by the real
  share of its state;
- ``ttnt_km_max_gap`` per line (1, 2): the largest gap between Kaplan-Meier curves of time to next
  treatment (censored at follow-up), where both keep >= 10 patients at risk (``comparison_window``);
- ``duration_ks``: Kolmogorov-Smirnov distance of line durations;
- ``journey_c2st_auc``: detectability, a classifier two-sample test on sequence features
  (:mod:`pipeline.journeys.detectability`), gated at ``C2ST_BOUND``;
- ``temporal_violations`` (stop before start, out of order, after follow-up, unknown patient): counts;
- ``unique_journey_replay_rate`` / ``_excess``: journeys of >= 2 lines whose regimen sequence is
  unique in training, in synthetic journeys against the holdout's chance rate.

Verdicts follow :mod:`pipeline.validation.verdicts` (Holm over the rows, pass / fail /
inconclusive), one gate per row: a distance passes within ``FLOOR_FACTOR`` times its noise floor (and
at least ``MIN_BOUND``); temporal violations must be 0; replay excess at most ``REPLAY_BOUND``,
judged pessimistically as privacy gates are. Intervals: bootstrap over patients (distances),
Newcombe (replay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import polars as pl
from scipy import stats

from pipeline.intervals import Z95, auc_interval, rate_difference, wilson
from pipeline.journeys.detectability import journey_c2st
from pipeline.journeys.features import (
    STOP,
    JourneySet,
    bootstrap,
    class_matrix,
    count_matrix,
    durations,
    sequences,
    states,
    temporal_breaks,
    time_to_next,
    transition_matrix,
)
from pipeline.journeys.model import POOL_PREFIX
from pipeline.validation.gates import Gate
from pipeline.validation.metrics import OVERALL, Metric, metrics_frame
from pipeline.validation.survival import GRID_POINTS, comparison_window, km_at
from pipeline.validation.verdicts import INCONCLUSIVE, apply_gates, describe_failures

FAMILY = "journeys"
FLOOR_FACTOR = 2.0
MIN_BOUND = {"lines_per_patient_tvd": 0.05, "regimen_class_tvd": 0.05, "transition_distance": 0.10,
             "ttnt_km_max_gap": 0.10, "duration_ks": 0.05}  # fmt: skip
REPLAY_BOUND = 0.02
C2ST_BOUND = 0.75  # a classifier that tells synthetic journeys from real ones this well: not faithful
TRANSITION_MIN_COUNT = 20
MIN_ROWS = 30
LINE_TARGETS = {"line 1": (1, 1), "line 2": (2, 2), "line 3+": (3, None)}
KM_LINES = (1, 2)
ROUNDS = 100
KEY = "\x1f"


def tvd(a: np.ndarray, b: np.ndarray) -> float:
    """Total variation distance of two count vectors (NaN when either is empty)."""
    sa, sb = a.sum(), b.sum()
    return float("nan") if sa == 0 or sb == 0 else 0.5 * float(np.abs(a / sa - b / sb).sum())


def transition_distance(size: int) -> Callable[[np.ndarray, np.ndarray], float]:
    """The real-share-weighted TVD of the rows of two ``size x (size + 1)`` transition count matrices."""

    def distance(real: np.ndarray, candidate: np.ndarray) -> float:
        r, c = real.reshape(size, size + 1), candidate.reshape(size, size + 1)
        weights = r.sum(axis=1)
        if weights.sum() == 0:
            return float("nan")
        rows = [tvd(r[i], c[i]) if c[i].sum() else 1.0 for i in np.flatnonzero(weights)]
        return float(np.dot(weights[weights > 0] / weights.sum(), rows))

    return distance


def _interval(value: float, se: float) -> tuple[float | None, float | None]:
    if np.isnan(value) or np.isnan(se):
        return None, None
    return max(0.0, value - Z95 * se), value + Z95 * se


def _state_of(train: JourneySet, min_count: int) -> Callable[[str, str], str]:
    counts = Counter(train.lines["regimen"].to_list())
    return lambda regimen, regimen_class: regimen if counts[regimen] >= min_count else POOL_PREFIX + regimen_class


def _km_gap(real: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray]) -> float:
    horizon = comparison_window(real[0], candidate[0])
    if horizon <= 0:
        return float("nan")
    grid = np.linspace(0.0, horizon, GRID_POINTS)
    return float(np.abs(km_at(*candidate, grid)[0] - km_at(*real, grid)[0]).max())


def _ks(a: tuple[np.ndarray], b: tuple[np.ndarray]) -> float:
    return float(stats.ks_2samp(a[0], b[0]).statistic) if len(a[0]) and len(b[0]) else float("nan")


def _resampled(statistic: Callable, a: tuple, b: tuple, rng: np.random.Generator, rounds: int) -> tuple[float, float]:
    """(value, bootstrap standard error) of ``statistic`` on two tuples of row-aligned arrays."""
    value = statistic(a, b)
    if not len(a[0]) or not len(b[0]) or np.isnan(value):
        return value, float("nan")
    draws = []
    for _ in range(rounds):
        i, j = rng.integers(0, len(a[0]), len(a[0])), rng.integers(0, len(b[0]), len(b[0]))
        draws.append(statistic(tuple(x[i] for x in a), tuple(x[j] for x in b)))
    finite = np.asarray(draws)[np.isfinite(draws)]
    return value, float(np.std(finite, ddof=1)) if len(finite) > 1 else float("nan")


def distances(
    train: JourneySet, reference: JourneySet, candidate: JourneySet, *, seed: int, rounds: int, min_count: int
) -> list[Metric]:
    """The distance metrics of ``candidate`` journeys against ``reference`` (regimens pooled by ``train``)."""
    rng = np.random.default_rng(seed)
    metrics = []

    def add(name: str, target: str, value_se: tuple[float, float], rows: int) -> None:
        value, se = value_se
        lower, upper = _interval(value, se)
        metrics.append(Metric(FAMILY, name, value, target, lower=lower, upper=upper, rows=rows))

    add("lines_per_patient_tvd", OVERALL,
        bootstrap(tvd, count_matrix(reference), count_matrix(candidate), rng=rng, rounds=rounds),
        min(reference.n, candidate.n))  # fmt: skip
    classes = sorted(set(reference.lines["regimen_class"]) | set(candidate.lines["regimen_class"]))
    for target, lines in LINE_TARGETS.items():
        real, fake = class_matrix(reference, lines, classes), class_matrix(candidate, lines, classes)
        add("regimen_class_tvd", target, bootstrap(tvd, real, fake, rng=rng, rounds=rounds),
            int(min(real.sum(), fake.sum())))  # fmt: skip
    state_of = _state_of(train, min_count)
    real_states, fake_states = states(reference, state_of), states(candidate, state_of)
    vocabulary = [*sorted(set(real_states) | set(fake_states)), STOP]
    real, fake = (transition_matrix(j, s, vocabulary) for j, s in ((reference, real_states), (candidate, fake_states)))
    add("transition_distance", OVERALL,
        bootstrap(transition_distance(len(vocabulary)), real, fake, rng=rng, rounds=rounds),
        min(reference.lines.height, candidate.lines.height))  # fmt: skip
    for line in KM_LINES:
        a, b = time_to_next(reference, line), time_to_next(candidate, line)
        add("ttnt_km_max_gap", f"line {line}", _resampled(_km_gap, a, b, rng, rounds), min(len(a[0]), len(b[0])))
    a, b = (durations(reference),), (durations(candidate),)
    add("duration_ks", OVERALL, _resampled(_ks, a, b, rng, rounds), min(len(a[0]), len(b[0])))
    return metrics


def _replay_hits(train: JourneySet, journeys: JourneySet) -> tuple[int, int]:
    """(journeys of >= 2 lines whose sequence is unique in training, journeys of >= 2 lines)."""
    counts = Counter(sequences(train).to_list())
    found = sequences(journeys).to_list()
    return sum(counts.get(s) == 1 for s in found), len(found)


def replay(train: JourneySet, chance: JourneySet, candidate: JourneySet) -> list[Metric]:
    """Unique training journeys replayed by ``candidate``, against the chance rate of ``chance``."""
    hits, n = _replay_hits(train, candidate)
    chance_hits, n_chance = _replay_hits(train, chance)
    rate, base = hits / max(n, 1), chance_hits / max(n_chance, 1)
    rows = min(n, n_chance)
    return [
        Metric(FAMILY, "unique_journey_replay_rate", rate, baseline=base, lower=wilson(hits, n)[0],
               upper=wilson(hits, n)[1], rows=rows),
        Metric(FAMILY, "unique_journey_replay_excess", rate - base, lower=rate_difference(hits, n, chance_hits,
               n_chance)[0], upper=rate_difference(hits, n, chance_hits, n_chance)[1], rows=rows),
    ]  # fmt: skip


def violations(patients: pl.DataFrame, lines: pl.DataFrame) -> list[Metric]:
    """Temporal-rule violations (counts), by rule and in all."""
    breaks = temporal_breaks(patients, lines)
    rows = lines.height
    return [Metric(FAMILY, "temporal_violations", float(sum(breaks.values())), OVERALL, rows=rows)] + [
        Metric(FAMILY, "temporal_violations", float(n), rule, rows=rows) for rule, n in breaks.items()
    ]


def _gate(row: dict) -> Gate:
    metric, floor = row["metric"].split(KEY)[0], row["noise_floor"]
    if metric == "temporal_violations":
        return Gate(FAMILY, row["metric"], "max", 0.0, judge="pessimistic", ideal=0.0, min_rows=1)
    if metric == "journey_c2st_auc":
        return Gate(FAMILY, row["metric"], "max", C2ST_BOUND, judge="value", min_rows=MIN_ROWS)
    if metric == "unique_journey_replay_excess":
        return Gate(FAMILY, row["metric"], "max", REPLAY_BOUND, judge="pessimistic", ideal=0.0, min_rows=MIN_ROWS)
    bound = max(MIN_BOUND[metric], FLOOR_FACTOR * floor) if floor is not None else MIN_BOUND[metric]
    return Gate(FAMILY, row["metric"], "max", bound, judge="value", min_rows=MIN_ROWS)


def judge(frame: pl.DataFrame, *, alpha: float = 0.05) -> pl.DataFrame:
    """Verdicts by the release gates' rule (:func:`apply_gates`), one gate per row (see module). A
    distance that cannot be computed (too few lines on a side) is inconclusive, never failed."""
    keyed = frame.with_columns(metric=pl.concat_str("metric", pl.lit(KEY), "target"))
    gated = [row for row in keyed.iter_rows(named=True)
             if row["value"] is not None and not row["metric"].startswith("unique_journey_replay_rate")]  # fmt: skip
    judged = apply_gates(keyed, [_gate(row) for row in gated], alpha=alpha)
    uncomputed = pl.col("value").is_null() & ~pl.col("metric").str.starts_with("unique_journey_replay_rate")
    return judged.with_columns(
        metric=pl.col("metric").str.split(KEY).list.first(),
        verdict=pl.when(uncomputed).then(pl.lit(INCONCLUSIVE)).otherwise(pl.col("verdict")),
        blocking=pl.when(uncomputed).then(pl.lit(False)).otherwise(pl.col("blocking")),
    )


def validate_journeys(
    train: tuple[pl.DataFrame, pl.DataFrame],
    holdout: tuple[pl.DataFrame, pl.DataFrame],
    synthetic: tuple[pl.DataFrame, pl.DataFrame],
    *,
    cohort: str = "",
    synthesizer: str = "journeys",
    run_id: str = "",
    seed: int = 0,
    rounds: int = ROUNDS,
    alpha: float = 0.05,
    transition_min_count: int = TRANSITION_MIN_COUNT,
) -> pl.DataFrame:
    """Every journey metric of ``synthetic`` (patients, lines) against the real ``holdout``, with its
    noise floor (``train`` in the synthetic role; for replay, half the holdout against the other half;
    for temporal rules, the holdout's own lines) and its verdict: the long metric table (``METRIC_SCHEMA``).
    Real line tables may hold other patients' lines too (e.g. a whole cohort's): each side keeps its
    patients' lines."""
    t, h, s = (JourneySet.of(*pair) for pair in (train, holdout, synthetic))
    metrics = distances(t, h, s, seed=seed, rounds=rounds, min_count=transition_min_count)
    metrics += violations(*synthetic) + replay(t, h, s) + [detectability(h, s, seed=seed)]
    floor = distances(t, h, t, seed=seed + 1, rounds=0, min_count=transition_min_count)
    floor += violations(holdout[0], h.lines.drop("row", "follow_up")) + replay(t, *_halves(h, seed))
    floor.append(detectability(h, t, seed=seed + 1))
    floors = {(m.family, m.metric, m.target): m.value for m in floor}
    frame = metrics_frame(metrics, cohort=cohort, synthesizer=synthesizer, run_id=run_id, noise_floor=floors)
    return judge(frame, alpha=alpha)


def detectability(reference: JourneySet, candidate: JourneySet, *, seed: int) -> Metric:
    """``journey_c2st_auc`` of ``candidate`` against ``reference``, with its Hanley-McNeil interval."""
    auc, rows = journey_c2st(reference, candidate, seed=seed)
    lower, upper = auc_interval(auc, rows, rows) if rows else (None, None)
    return Metric(FAMILY, "journey_c2st_auc", None if np.isnan(auc) else auc, OVERALL, lower=lower, upper=upper,
                  rows=rows)  # fmt: skip


def _halves(journeys: JourneySet, seed: int) -> tuple[JourneySet, JourneySet]:
    """The holdout split in two (chance, unseen) for the replay noise floor."""
    order = np.random.default_rng(seed).permutation(journeys.n)
    half = journeys.n // 2
    parts = []
    for rows in (order[:half], order[half:]):
        ids = journeys.base["patient_id"].gather(np.sort(rows))
        base = journeys.base.filter(pl.col("patient_id").is_in(ids.implode())).drop("row").with_row_index("row")
        lines = journeys.lines.drop("row").join(base.select("patient_id", "row"), on="patient_id", how="inner")
        parts.append(JourneySet(base, lines.sort("row", "line")))
    return parts[0], parts[1]


def journey_failures(frame: pl.DataFrame) -> list[str]:
    """One line per blocking journey metric row (as :func:`describe_failures`)."""
    return describe_failures(frame)


def summary_table(frame: pl.DataFrame) -> pl.DataFrame:
    """The columns a person reads: metric, target, value, noise floor, bound, rows and verdict."""
    return frame.select("metric", "target", "value", "noise_floor", "baseline", "threshold", "rows", "verdict")
