"""Is the set of patients left out of a study a fair sample of it? Loud when it is not.

Patients are left out for a defect (quarantine) or for missing survival. When those left out
differ from those kept beyond chance, in the event rate or in a protected attribute, the
cohort is biased by its own ingestion: a warning says how (two-sided tests, Bonferroni over
the attributes tested, at :data:`ALPHA`). A cohort in which every patient kept died, or none
did, cannot define survival and is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from pipeline.cohorts.report import IngestReport
from pipeline.errors import CohortDataError
from pipeline.schema import CORE_BY_NAME, PROTECTED_COLUMNS

ALPHA = 0.01  # family-wise level of the left-out-versus-kept tests
MIN_LEFT_OUT = 5  # fewer patients left out than this are not tested


def check_left_out(core: dict[str, pl.Series], keep: pl.Series, report: IngestReport, *, file: str) -> None:
    """Refuse a cohort whose kept patients all died or all lived; warn when the left-out set is biased."""
    event = core["vital_status_event"]
    kept_events = event.filter(keep).drop_nulls()
    if kept_events.len() and kept_events.n_unique() == 1:
        outcome = "died" if int(kept_events[0]) == 1 else "is alive or censored"
        left = int((~keep).sum())
        hint = f"; {left} patients were left out (see the report): the spec may leave out the others" if left else ""
        raise CohortDataError(
            f"every one of the {kept_events.len()} patients kept {outcome}: survival cannot be benchmarked "
            f"without both events and censored patients{hint}",
            file=file,
            column="vital_status_event",
        )
    left_out = ~keep
    if int(left_out.sum()) > int(keep.sum()):
        report.warn(f"most patients were left out ({int(left_out.sum())} of {keep.len()}; see the report): "
                    "what is kept may not represent the study")  # fmt: skip
    if int(left_out.sum()) < MIN_LEFT_OUT or int(keep.sum()) < MIN_LEFT_OUT:
        return
    tests = [_event_test(event, left_out)]
    tests += [_attribute_test(core[name], left_out, name) for name in PROTECTED_COLUMNS if name in core]
    tests = [t for t in tests if t is not None]
    for test in tests:
        test["p_adjusted"] = min(1.0, test["p_value"] * len(tests))
        if test["p_adjusted"] < ALPHA:
            report.left_out_bias.append(test)
            report.warn(
                f"the {int(left_out.sum())} patients left out differ from the {int(keep.sum())} kept in "
                f"{test['what']} ({test['detail']}; p = {test['p_adjusted']:.2g} after Bonferroni): "
                "the cohort is biased by what ingestion left out"
            )


def _event_test(event: pl.Series, left_out: pl.Series) -> dict[str, Any] | None:
    known = event.is_not_null()
    out, kept = event.filter(left_out & known), event.filter(~left_out & known)
    if out.len() < MIN_LEFT_OUT:
        return None
    table = np.array([[int(out.sum()), out.len() - int(out.sum())], [int(kept.sum()), kept.len() - int(kept.sum())]])
    p_value = float(stats.fisher_exact(table).pvalue)
    detail = f"died: {out.mean():.0%} of {out.len()} left out vs {kept.mean():.0%} of {kept.len()} kept"
    return {"what": "event rate", "attribute": "vital_status_event", "detail": detail, "p_value": p_value}


def _attribute_test(values: pl.Series, left_out: pl.Series, name: str) -> dict[str, Any] | None:
    known = values.is_not_null()
    out, kept = values.filter(left_out & known), values.filter(~left_out & known)
    if out.len() < MIN_LEFT_OUT or kept.len() < MIN_LEFT_OUT:
        return None
    if CORE_BY_NAME[name].dtype.is_numeric():
        p_value = float(stats.mannwhitneyu(out.to_numpy(), kept.to_numpy()).pvalue)
        detail = f"median {out.median():.1f} left out vs {kept.median():.1f} kept"
        return {"what": name, "attribute": name, "detail": detail, "p_value": p_value}
    levels = sorted(set(out.cast(pl.String).to_list()) | set(kept.cast(pl.String).to_list()))
    if len(levels) < 2:
        return None
    table = np.array([[int((s.cast(pl.String) == level).sum()) for level in levels] for s in (out, kept)])
    exact = len(levels) == 2  # small groups: Fisher's exact test; more levels: chi-square
    p_value = float(stats.fisher_exact(table).pvalue if exact else stats.chi2_contingency(table).pvalue)
    shares = ", ".join(f"{level} {table[0, i] / out.len():.0%} vs {table[1, i] / kept.len():.0%}"
                       for i, level in enumerate(levels))  # fmt: skip
    return {"what": name, "attribute": name, "detail": f"left out vs kept: {shares}", "p_value": p_value}
