"""Journeys for synthetic patients: lines of therapy drawn for each patient's baseline.

The model (:func:`fit`, on real training patients and their lines of therapy) is a Markov chain
over regimens with its times drawn from empirical distributions, every part a table of counts or
quantiles (:mod:`pipeline.journeys.tables`):

- the **number of lines** given the patient's follow-up (octile of the training follow-up),
  cancer type and stage, smoothed level by level toward the coarser cells (0 lines included);
- the **first regimen** given cancer type and stage, and **each next regimen** given cancer type
  and the previous regimen (first order), smoothed toward the later-line regimens of the cancer
  type and of the cohort. Regimens seen fewer than ``min_regimen_count`` times in training are
  pooled into ``other <class>`` (``other chemotherapy``): a rare regimen is never emitted;
- **times** in days: the first line's start given cancer type and stage, each line's duration
  given its regimen (or class, or all lines) and the gap to the next line given the regimen that
  ends, each within the patient's follow-up bin where that cell holds enough lines; each a
  quantile table of the real values.

:func:`sample` (:mod:`pipeline.journeys.sampling`) draws, per synthetic patient: the number of
lines (exactly within ``min_lines`` .. ``max_lines`` when asked, and never more than its follow-up
can hold), the regimens, then the times, redrawn until the journey ends by the patient's follow-up
(``survival_months`` in days); the few that still do not fit are compressed into it. Lines are in
order (each ends before the next starts), no day lies after follow-up and none before the earliest
real first line (or day 0). The last line ended by death when the patient died, else is censored.
Seeded and deterministic; saved as JSON (:mod:`pipeline.journeys.model_file`).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from pipeline.journeys.baseline import baseline
from pipeline.journeys.model import (
    POOL_PREFIX,
    JourneyModel,
    JourneySample,
    JourneySettings,
    follow_up_bin,
    regimen_chain,
    start_chain,
)
from pipeline.journeys.sampling import journey_events, sample
from pipeline.journeys.tables import BackoffTable, QuantileTable

__all__ = ["JourneyModel", "JourneySample", "JourneySettings", "fit", "journey_events", "sample"]


def _strings(frame: pl.DataFrame, column: str) -> list[str]:
    return [str(v) for v in frame[column].to_list()]


def _follow_up_edges(base: pl.DataFrame, bins: int) -> list[float]:
    """Quantile edges of the known follow-up days (``bins`` bins; ties merged)."""
    known = base["follow_up"].drop_nulls().to_numpy().astype(float)
    return sorted(set(np.quantile(known, np.arange(1, bins) / bins).round(1).tolist())) if known.size else []


def _real_lines(lines: pl.DataFrame, base: pl.DataFrame, edges: list[float], min_count: int) -> pl.DataFrame:
    """Lines of known patients with their baseline, state (a rare regimen pooled), follow-up bin and next start."""
    real = lines.join(base, on="patient_id", how="inner").sort("patient_id", "line")
    kept = real.group_by("regimen").len().filter(pl.col("len") >= min_count)["regimen"]
    follow_up = real["follow_up"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    return real.with_columns(
        state=pl.when(pl.col("regimen").is_in(kept.implode()))
        .then(pl.col("regimen"))
        .otherwise(POOL_PREFIX + pl.col("regimen_class")),
        fu=pl.Series(follow_up_bin(follow_up, edges), dtype=pl.String),
        next_start=pl.col("start_day").shift(-1).over("patient_id"),
    ).with_columns(following=pl.col("state").shift(-1).over("patient_id"))


def _count_table(base: pl.DataFrame, real: pl.DataFrame, edges: list[float], s: JourneySettings) -> BackoffTable:
    """Lines per patient (0 included) given follow-up bin, cancer type and stage."""
    per_patient = base.join(real.group_by("patient_id").agg(n=pl.len()), on="patient_id", how="left")
    counts = per_patient["n"].fill_null(0).to_list()
    follow_up = per_patient["follow_up"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    keys = {"follow_up": follow_up_bin(follow_up, edges).tolist(), "cancer": _strings(per_patient, "cancer"),
            "stage": _strings(per_patient, "stage")}  # fmt: skip
    return BackoffTable.fit(
        keys, [str(n) for n in counts], support=[str(n) for n in range(max(counts, default=0) + 1)],
        levels=[[], ["follow_up"], ["follow_up", "cancer"], ["follow_up", "cancer", "stage"]],
        prior=s.prior, strength=s.strength,
    )  # fmt: skip


def fit(
    patients: pl.DataFrame,
    lines: pl.DataFrame,
    *,
    seed: int = 0,
    settings: JourneySettings | None = None,
    cohort: str | None = None,
) -> JourneyModel:
    """Fit on real training patients (harmonized rows) and their lines (:func:`derive_lines` output).

    Lines of patients not in ``patients`` are left out (``summary['lines_left_out']``). ``seed`` is
    recorded (the fit itself is deterministic)."""
    s = settings or JourneySettings()
    base = baseline(patients).unique("patient_id", keep="first", maintain_order=True)
    edges = _follow_up_edges(base, s.follow_up_bins)
    real = _real_lines(lines, base, edges, s.min_regimen_count)
    state_class = dict(sorted(real.select("state", "regimen_class").unique("state", keep="first").iter_rows()))
    states = sorted(state_class)
    firsts = real.filter(pl.col("line") == pl.col("line").min().over("patient_id"))
    pairs = real.drop_nulls("following")
    smoothing = {"support": states, "prior": s.prior, "strength": s.strength}
    first = BackoffTable.fit({"cancer": _strings(firsts, "cancer"), "stage": _strings(firsts, "stage")},
                             _strings(firsts, "state"), levels=[[], ["cancer"], ["cancer", "stage"]],
                             **smoothing)  # fmt: skip
    following = BackoffTable.fit({"cancer": _strings(pairs, "cancer"), "previous": _strings(pairs, "state")},
                                 _strings(pairs, "following"), levels=[[], ["cancer"], ["cancer", "previous"]],
                                 **smoothing)  # fmt: skip
    min_start = min(0, int(firsts["start_day"].min())) if firsts.height else 0
    durations = real.select((pl.col("end_day") - pl.col("start_day")).clip(0).alias("days"), "state",
                            "regimen_class", "fu", "line")  # fmt: skip
    gaps = pairs.select(
        (pl.col("next_start") - pl.col("end_day")).clip(1).alias("days"), "state", "regimen_class", "fu", "line"
    )
    line_counts = _count_table(base, real, edges, s)
    n_regimens, n_kept = real["regimen"].n_unique(), real.filter(pl.col("state") == pl.col("regimen"))["regimen"]
    return JourneyModel(
        cohort=cohort or (str(lines["cohort"][0]) if "cohort" in lines.columns and lines.height else None),
        seed=seed, settings=s, states=states, state_class=state_class, follow_up_edges=edges, min_start=min_start,
        line_counts=line_counts, first=first, following=following,
        first_start=QuantileTable.fit(firsts["start_day"].to_numpy(), _start_chains(firsts), offset=min_start,
                                      min_rows=s.min_quantile_rows),
        durations=QuantileTable.fit(durations["days"].to_numpy(), _regimen_chains(durations), offset=0,
                                    min_rows=s.min_quantile_rows),
        gaps=QuantileTable.fit(gaps["days"].to_numpy(), _regimen_chains(gaps), offset=1, min_rows=s.min_quantile_rows),
        rule_sets=_rule_sets(real),
        summary={"patients": base.height, "patients_with_lines": real["patient_id"].n_unique(), "lines": real.height,
                 "lines_left_out": lines.height - real.height, "regimens": n_regimens,
                 "regimens_kept": n_kept.n_unique(), "states": len(states), "max_lines": len(line_counts.support) - 1},
    )  # fmt: skip


def _start_chains(frame: pl.DataFrame) -> list[list[str]]:
    return [start_chain(c, s) for c, s in frame.select("cancer", "stage").iter_rows()]


def _regimen_chains(frame: pl.DataFrame) -> list[list[str]]:
    return [regimen_chain(*row) for row in frame.select("state", "regimen_class", "fu", "line").iter_rows()]


def _rule_sets(real: pl.DataFrame) -> dict[str, str]:
    if real.is_empty() or "rule_set" not in real.columns:
        return {}
    counts = (
        real.group_by("cancer", "rule_set").len().sort("len", "cancer", "rule_set", descending=[True, False, False])
    )
    return dict(counts.unique("cancer", keep="first", maintain_order=True).select("cancer", "rule_set").iter_rows())
