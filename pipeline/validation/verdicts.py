"""Three verdicts for the release gates: pass, fail or inconclusive, with a stated false-alarm rate.

Each gated row is a test of "the true value lies within the bound". It **fails** only when the
evidence says otherwise: the one-sided p-value of the value against the bound (a normal
approximation of the row's 95% interval; exact counts are judged as counted) is rejected by
Holm's step-down procedure over all gated rows of the cohort, so the family of gates withholds a
synthesizer that meets every bound with probability at most ``family_alpha``. A row that does not
fail **passes** when the evidence says it is within the bound:

- privacy (``judge: pessimistic``): the value lies within the bound and the attack has the power
  to tell: at the gate's ``ideal`` (what a generator that leaks nothing scores, e.g. an AUC of
  0.5) the end of the one-sided 95% interval that is worse for patients would still lie within
  the bound (``judged``), so the minimum rows follow from the bound and the interval, not from a
  fixed count; without an ideal, the realized end must lie within. The burden of proof is the
  synthesizer's, so an attack on the whole cohort that cannot tell is **inconclusive and blocking**;
- every other gate (``judge: value``): the value lies within the bound and so does its noise
  floor (real unseen patients of the same cohort); otherwise the gate cannot tell at this size.

Otherwise (too few rows, a value beyond the bound but within noise, a noise floor beyond the
bound) the row is **inconclusive**: listed in the check, the datasheet and the manifest, and
blocking only for privacy attacks on the whole cohort.
"""

from __future__ import annotations

import math

import polars as pl

from pipeline.intervals import Z95
from pipeline.validation.gates import Gate
from pipeline.validation.metrics import OVERALL

Z90 = 1.6448536269514722  # one-sided 95%
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"


def holm_rejections(p_values: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure: which hypotheses are rejected at family-wise level ``alpha``."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    rejected = [False] * len(p_values)
    for rank, index in enumerate(order):
        if p_values[index] > alpha / (len(p_values) - rank):
            break
        rejected[index] = True
    return rejected


def _normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def beyond_p_value(value: float, bound: str, threshold: float, lower: float | None, upper: float | None) -> float:
    """One-sided p-value of "the true value is within the bound" given the estimate and its 95%
    interval (the side facing away from the bound gives the standard error); 0 or 1 without one."""
    sign = 1.0 if bound == "max" else -1.0
    excess = sign * (value - threshold)
    near = lower if bound == "max" else upper
    if near is None or math.isnan(near):
        return 0.0 if excess > 0 else 1.0
    se = abs(value - near) / Z95
    if se == 0:
        return 0.0 if excess > 0 else 1.0
    return _normal_tail(excess / se)


def _beyond(value: float, bound: str, threshold: float) -> bool:
    return value > threshold if bound == "max" else value < threshold


def _safe_end(row: dict, gate: Gate) -> float:
    """The end of the one-sided 95% interval that is worse for patients, around the gate's ideal when
    it has one (the attack's detection limit), else around the value (the value without an interval)."""
    value, far = row["value"], row["ci_upper"] if gate.bound == "max" else row["ci_lower"]
    centre = value if gate.ideal is None else gate.ideal
    if far is None:
        return centre
    return centre + (far - value) * Z90 / Z95


def _verdict_on_evidence(row: dict, gate: Gate) -> tuple[str, float | None]:
    """(verdict before Holm, the value compared for a pass)."""
    if row["value"] is None:
        return FAIL, None
    if (row["rows"] or 0) < (gate.min_rows or 1):
        return INCONCLUSIVE, row["value"]
    if gate.judges == "pessimistic":
        judged = _safe_end(row, gate)
        unclear = _beyond(judged, gate.bound, gate.threshold) or _beyond(row["value"], gate.bound, gate.threshold)
        return (INCONCLUSIVE if unclear else PASS), judged
    floor = row["noise_floor"]
    unclear = _beyond(row["value"], gate.bound, gate.threshold) or (
        floor is not None and _beyond(floor, gate.bound, gate.threshold)
    )
    return (INCONCLUSIVE if unclear else PASS), row["value"]


def is_blocking(family: str, target: str | None, verdict: str) -> bool:
    """A failed gate withholds the cohort; so does an inconclusive privacy attack on the whole cohort
    (per subgroup or per column, an inconclusive attack is listed, not blocking)."""
    return verdict == FAIL or (verdict == INCONCLUSIVE and family == "privacy" and target == OVERALL)


def gate_of(row: dict, by_key: dict[tuple[str, str, str | None], Gate]) -> Gate | None:
    """The gate (of ``by_key``, gates by :attr:`Gate.key`) that judges a metric row: one naming the
    row's target, else the metric's own."""
    family, metric = row["family"], row["metric"]
    return by_key.get((family, metric, row.get("target"))) or by_key.get((family, metric, None))


def apply_gates(metrics: pl.DataFrame, gates: list[Gate], *, alpha: float = 0.05) -> pl.DataFrame:
    """Fill threshold, bound, min_rows, judged, p_value, verdict, blocking and passed for the rows a
    gate covers. A gate whose metric is missing altogether adds a failed "(not computed)" row, so a
    gate never passes by omission."""
    result = metrics
    for gate in gates:
        covered = (pl.col("family") == gate.family) & (pl.col("metric") == gate.metric)
        if gate.target is not None:
            covered &= pl.col("target") == gate.target
        if result.filter(covered).is_empty():  # a gate naming a target misses that row: a not-computed row
            template = metrics.select("cohort", "synthesizer", "run_id").head(1)
            missing = template.with_columns(
                family=pl.lit(gate.family), metric=pl.lit(gate.metric), target=pl.lit(gate.target or "(not computed)")
            )
            result = pl.concat([result, missing], how="diagonal_relaxed")
    rows, by_key = result.to_dicts(), {g.key: g for g in gates}
    judging = {i: gate for i, row in enumerate(rows) if (gate := gate_of(row, by_key)) is not None}
    p_values = []
    for i, gate in judging.items():
        row = rows[i]
        enough = row["value"] is not None and (row["rows"] or 0) >= (gate.min_rows or 1)
        interval = row["ci_lower"], row["ci_upper"]
        p_values.append(beyond_p_value(row["value"], gate.bound, gate.threshold, *interval) if enough else 1.0)
    rejected = holm_rejections(p_values, alpha) if judging else []
    for (i, gate), p, reject in zip(judging.items(), p_values, rejected, strict=True):
        row = rows[i]
        verdict, judged = _verdict_on_evidence(row, gate)
        if reject:
            verdict = FAIL
        row.update(
            threshold=gate.threshold, bound=gate.bound, min_rows=gate.min_rows or 1, judged=judged,
            p_value=p, verdict=verdict, gate=True, passed=verdict == PASS,
            blocking=is_blocking(row["family"], row["target"], verdict),
        )  # fmt: skip
    return pl.DataFrame(rows, schema=metrics.schema)


def blocking_gates(metrics: pl.DataFrame) -> pl.DataFrame:
    """The gated rows that keep the cohort out of a release."""
    return metrics.filter(pl.col("gate") & pl.col("blocking").fill_null(~pl.col("passed")))


failed_gates = blocking_gates


def _describe(row: dict) -> str:
    """Why a gated row did not pass, in one line."""
    where = f"{row['family']}.{row['metric']} [{row['target']}]"
    if row["value"] is None:
        return f"{where} = not computed"
    value, op, bound, threshold = (
        f"{row['value']:.4g}",
        "<=" if row["bound"] == "max" else ">=",
        row["bound"],
        row["threshold"],
    )
    judged, floor = row["judged"], row["noise_floor"]
    if (row["rows"] or 0) < (row["min_rows"] or 1):
        return f"{where} = {value}: too few rows to tell ({row['rows'] or 0} < {row['min_rows']})"
    if row["verdict"] == FAIL:
        return f"{where} = {value}, must be {op} {threshold:g} (beyond it at p = {row['p_value']:.2g}, Holm)"
    if _beyond(row["value"], bound, threshold):
        return f"{where} = {value} is beyond {threshold:g} but within sampling noise"
    if floor is not None and _beyond(floor, bound, threshold):
        return f"{where} = {value}: the noise floor {floor:.4g} is itself beyond {threshold:g}"
    if judged is not None and _beyond(judged, bound, threshold):
        end = f"a one-sided 95% end of {judged:.4g}, not {op} {threshold:g}"
        return f"{where} = {value}: too little evidence at this size ({end})"
    return f"{where} = {value}: inconclusive"


def describe_failures(metrics: pl.DataFrame) -> list[str]:
    """One line per blocking gate row: metric, target, value and why it blocks."""
    return [_describe(row) for row in blocking_gates(metrics).iter_rows(named=True)]


def describe_inconclusive(metrics: pl.DataFrame) -> list[str]:
    """One line per inconclusive gate row that does not block (listed, never silently passed)."""
    rows = metrics.filter(pl.col("gate") & (pl.col("verdict") == INCONCLUSIVE) & ~pl.col("blocking"))
    return [_describe(row) for row in rows.iter_rows(named=True)]
