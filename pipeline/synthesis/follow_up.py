"""A study's end of observation, carried into synthetic patients.

A real cohort records no death after its last observed event and no time beyond its longest
follow-up: patients still alive then are censored (administrative censoring). A generator that
extrapolates its hazard past that point invents deaths the study could never have seen (on colon,
the flow's survival curve fell to 0 at 102 months where every real patient still alive was
censored). Synthetic rows are observed as the study would have observed them: a time beyond the
longest follow-up is censored there, and a death after the last death the study recorded becomes
a censoring at that time.
"""

from __future__ import annotations

import polars as pl

TIME, EVENT = "survival_months", "vital_status_event"


def follow_up_limits(frame: pl.DataFrame) -> tuple[float, float] | None:
    """(time of the last recorded death, longest follow-up) of a cohort, or None without outcomes."""
    if TIME not in frame.columns or EVENT not in frame.columns:
        return None
    rows = frame.select(pl.col(TIME).cast(pl.Float64), pl.col(EVENT).cast(pl.Float64)).drop_nulls()
    deaths = rows.filter(pl.col(EVENT) > 0)[TIME]
    if rows.is_empty() or deaths.is_empty():
        return None
    return float(deaths.max()), float(rows[TIME].max())


def censor_beyond_follow_up(
    frame: pl.DataFrame, limits: tuple[float, float] | None, *, event_fixed: bool = False
) -> tuple[pl.DataFrame, int]:
    """``frame`` observed within the study's limits, and how many rows that changed.

    ``event_fixed`` (the sample was conditioned on the event): the event is kept as drawn and a late
    death is moved to the study's last recorded death instead of being censored.
    """
    if limits is None or TIME not in frame.columns or EVENT not in frame.columns:
        return frame, 0
    last_death, longest = limits
    time, event = pl.col(TIME), pl.col(EVENT)
    late_death = ((event.cast(pl.Float64) > 0) & (time.cast(pl.Float64) > last_death)).fill_null(False)
    beyond = (time.cast(pl.Float64) > longest).fill_null(False)
    changed = int(frame.select((late_death | beyond).sum()).item())
    if not changed:
        return frame, 0
    if event_fixed:
        new_time = pl.when(late_death).then(pl.lit(last_death)).when(beyond).then(pl.lit(longest)).otherwise(time)
        return frame.with_columns(new_time.cast(frame.schema[TIME]).alias(TIME)), changed
    new_time = pl.when(beyond).then(pl.lit(longest)).otherwise(time)
    new_event = pl.when(late_death | beyond).then(pl.lit(0)).otherwise(event)
    censored = frame.with_columns(
        new_time.cast(frame.schema[TIME]).alias(TIME), new_event.cast(frame.schema[EVENT]).alias(EVENT)
    )
    return censored, changed
