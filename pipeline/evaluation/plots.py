"""Evaluation figures as PNG bytes: per-group scores with intervals, flip rates per attribute, calibration,
feature attributions."""

from __future__ import annotations

from typing import Any

import numpy as np

from pipeline.plots import plt, to_png

MAX_GROUPS = 40
MAX_SMALL_GROUPS = 8  # groups too small to judge, shown without intervals


def _interval(scores: list[dict[str, Any]]) -> np.ndarray:
    """Error-bar lengths (below, above) from value and interval; 0 where the interval is unknown."""
    low = [s["value"] - s["ci_low"] if s["ci_low"] is not None else 0.0 for s in scores]
    high = [s["ci_high"] - s["value"] if s["ci_high"] is not None else 0.0 for s in scores]
    return np.array([low, high])


def subgroup_png(subgroups: dict[str, Any], title: str) -> bytes | None:
    """The task's score per group (single attributes and intersections): judged groups with 95% intervals,
    then, in grey and without intervals, the largest groups too small (rows or events) to judge."""
    metric = subgroups["metric"]
    scored = [g for g in subgroups["groups"] if g[metric]["value"] is not None]
    judged = [g for g in scored if g["judged"]][:MAX_GROUPS]
    small = sorted((g for g in scored if not g["judged"]), key=lambda g: -g["n"])[:MAX_SMALL_GROUPS]
    groups = judged + small
    if not groups:
        return None
    labels = [f"{g['attribute']}={g['group']} (n={g['n']})".replace("$", r"\$") for g in groups]
    y = np.arange(len(groups))
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(groups) + 1.4), dpi=90)
    if judged:
        scores = [g[metric] for g in judged]
        axis.barh(y[: len(judged)], [s["value"] for s in scores], xerr=_interval(scores), color="#1f77b4",
                  alpha=0.8, capsize=2, label="judged (95% interval)")  # fmt: skip
    if small:
        axis.barh(y[len(judged) :], [g[metric]["value"] for g in small], color="#aaaaaa", alpha=0.8,
                  label="not judged: too few rows or events")  # fmt: skip
    if subgroups.get("overall") is not None:
        axis.axvline(subgroups["overall"], color="black", ls="--", lw=1, label="whole test split")
    axis.legend(fontsize=7)
    axis.set_yticks(y, labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel(metric)
    axis.set_title(title, fontsize=9)
    return to_png(figure)


def flip_rate_png(counterfactual: list[dict[str, Any]], title: str) -> bytes | None:
    """Flip rate per attribute and mode with Wilson 95% intervals."""
    entries = [e for e in counterfactual if e["flip_rate"] is not None]
    if not entries:
        return None
    attributes = sorted({e["attribute"] for e in entries})
    x = np.arange(len(attributes))
    figure, axis = plt.subplots(figsize=(max(4.5, 1.2 * len(attributes) + 2), 3.2), dpi=90)
    for offset, (mode, colour) in zip((-0.2, 0.2), (("pure", "#d62728"), ("consistent", "#ff7f0e")), strict=True):
        chosen = {e["attribute"]: e for e in entries if e["mode"] == mode}
        present = [i for i, a in enumerate(attributes) if a in chosen]
        if not present:
            continue
        scores = [{"value": chosen[attributes[i]]["flip_rate"], "ci_low": chosen[attributes[i]]["ci_low"],
                   "ci_high": chosen[attributes[i]]["ci_high"]} for i in present]  # fmt: skip
        axis.bar(x[present] + offset, [s["value"] for s in scores], width=0.4, yerr=_interval(scores),
                 color=colour, label=mode, capsize=3)  # fmt: skip
    axis.set_xticks(x, attributes, fontsize=8)
    axis.set_ylabel("flip rate")
    axis.set_ylim(0, max(0.05, max(e["ci_high"] or 0 for e in entries) * 1.15))
    axis.legend(fontsize=7)
    axis.set_title(title, fontsize=9)
    return to_png(figure)


def calibration_png(curves: dict[str, list[dict[str, float]]], title: str) -> bytes | None:
    """Observed against predicted rate per decile of the prediction, one line per cohort (or model)."""
    curves = {name: curve for name, curve in curves.items() if curve}
    if not curves:
        return None
    figure, axis = plt.subplots(figsize=(4.6, 4.2), dpi=90)
    axis.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="ideal")
    for name, curve in curves.items():
        axis.plot([c["predicted"] for c in curve], [c["observed"] for c in curve], marker="o", ms=3, label=name)
    axis.set_xlabel("mean predicted probability")
    axis.set_ylabel("observed rate")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(fontsize=7)
    axis.set_title(title, fontsize=9)
    return to_png(figure)


def explanation_png(explanations: dict[str, Any] | None, title: str) -> bytes | None:
    """Mean |attribution| per feature with bootstrap 95% intervals, largest first; protected attributes and
    their proxies in red (listed even when the model ignores them), the top-k cut as a dotted line."""
    features = (explanations or {}).get("features") or []
    if not features:
        return None
    scores = [{"value": f["mean_abs"], "ci_low": f["ci_low"], "ci_high": f["ci_high"]} for f in features]
    labels = [(f["feature"] + (f" ({f['role']})" if f["role"] else "")).replace("$", r"\$") for f in features]
    colours = ["#d62728" if f["role"] else "#1f77b4" for f in features]
    y = np.arange(len(features))
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(features) + 1.4), dpi=90)
    axis.barh(y, [s["value"] for s in scores], xerr=_interval(scores), color=colours, alpha=0.85, capsize=2)
    ranked = sorted((f["mean_abs"] for f in features), reverse=True)
    k = explanations["top_k"]
    if len(ranked) > k:
        axis.axvline((ranked[k - 1] + ranked[k]) / 2, color="black", ls=":", lw=1, label=f"top {k}")
        axis.legend(fontsize=7)
    axis.set_yticks(y, labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel(f"mean |attribution| of {explanations['output']}")
    faithful = explanations.get("faithfulness") or {}
    if faithful.get("ratio") is not None and faithful.get("ci_low") is not None:
        title += f"\nfaithfulness (top {faithful['k']} vs random {faithful['k']} deleted): {faithful['ratio']:.2f} "
        title += f"[{faithful['ci_low']:.2f}, {faithful['ci_high']:.2f}]"
    axis.set_title(title, fontsize=9)
    return to_png(figure)
