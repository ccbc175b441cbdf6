"""The evaluation report (``oncobench evaluate --report DIR``): Markdown and HTML with tables and plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from pipeline.evaluation.plots import calibration_png, explanation_png, flip_rate_png, subgroup_png
from pipeline.io import write_bytes_atomic, write_text_atomic
from pipeline.release.datasheet import datasheet_html

FINDINGS_NOTE = (
    "Each finding is a verdict on 95% intervals, widened for the number of scores it compares (Bonferroni): "
    "**fail** when an interval lies entirely beyond the bound, **pass** when every interval lies within it, "
    "**inconclusive** otherwise (the evidence cannot tell, e.g. groups with few events). The adversarial "
    "search is judged on its value; a finding whose score the task lacks is **not applicable**. Intervals shown "
    "are the widened ones."
)


def md_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_none_\n"
    return pl.DataFrame(rows, strict=False).to_pandas().to_markdown(index=False, floatfmt=".3f") + "\n"


def score_md(s: dict[str, Any] | None) -> str:
    if not s or s.get("value") is None:
        return "-"
    interval = f" [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if s.get("ci_low") is not None else ""
    return f"{s['value']:.3f}{interval}"


def gap_md(value: float | None, low: float | None, high: float | None) -> str:
    return score_md({"value": value, "ci_low": low, "ci_high": high})


def judged_md(candidates: list[dict[str, Any]]) -> str:
    """Candidates as ``target = value [judged interval]`` (the interval after the Bonferroni widening)."""
    shown = [f"{c['target']} = {c['value']:.3f}" + (" [{:.3f}, {:.3f}]".format(*c["interval"]) if c["interval"] else "")
             for c in candidates[:5]]  # fmt: skip
    return "; ".join(shown) + (f"; and {len(candidates) - 5} more" if len(candidates) > 5 else "") or "-"


def _fairness(entry: dict[str, Any]) -> dict[str, Any]:
    row = {"attribute": entry["attribute"], "judged": entry.get("judged"), "n": entry.get("n")}
    for name in ("demographic_parity_difference", "equalized_odds_difference"):
        row[name] = gap_md(entry[name], entry.get(f"{name}_ci_low"), entry.get(f"{name}_ci_high"))
    row["groups left out (too few rows or events)"] = ", ".join(entry.get("groups_excluded", [])) or "-"
    return row


def explanation_markdown(block: dict[str, Any] | None) -> list[str]:
    """The explanations section: how attributions were made, their faithfulness, the top features and the
    protected attributes and proxies with their top-k margin."""
    if not block:
        return ["_no explanations (explain_rows is 0 or the split is empty)_", ""]
    f = block["faithfulness"]
    change = {k: "-" if f.get(k) is None else f"{f[k]:.3f}" for k in ("top_change", "random_change")}
    ratio = {k: "-" if f.get(k) is None else f"{f[k]:.2f}" for k in ("ratio", "ci_low", "ci_high")}
    text = (f"Permutation Shapley values of the model's {block['output']} on {block['rows']} test rows against "
            f"{block['background']} train rows ({block['draws']} per row, each with its own feature order; "
            f"{block['evaluations']} model evaluations in {block['seconds']:.1f} s). Faithfulness (deletion test): "
            f"replacing each row's top {f['k']} features by background values moves its score by "
            f"{change['top_change']} on average, {change['random_change']} for {f['k']} random features: ratio "
            f"{ratio['ratio']} [{ratio['ci_low']}, {ratio['ci_high']}] (95% bootstrap interval; above 1: the "
            "attributions point at what moves the score).")  # fmt: skip
    top = [{"rank": e["rank"], "feature": e["feature"], "role": e["role"] or "-", "mean abs. attribution [95% CI]":
            score_md({"value": e["mean_abs"], "ci_low": e["ci_low"], "ci_high": e["ci_high"]}), "share": e["share"]}
           for e in block["features"]]  # fmt: skip
    protected = [{"feature": e["feature"], "role": e["role"], "rank": e["rank"], "share": e["share"],
                  f"top-{block['top_k']} margin [95% CI]": gap_md(e["margin"], e["margin_ci_low"], e["margin_ci_high"])}
                 for e in block["protected"]]  # fmt: skip
    return [text, "", md_table(top), f"Protected attributes and proxies (margin > 0: among the top {block['top_k']}):",
            "", md_table(protected)]  # fmt: skip


def cohort_markdown(cohort: str, block: dict[str, Any], images: dict[str, str]) -> list[str]:
    """The sections of one cohort; ``images`` maps a figure kind to its file name."""
    metric = block["subgroups"]["metric"]
    performance = [{"score": k, "value [95% CI]": score_md(v), "n": v["n"]} for k, v in block["performance"].items()
                   if isinstance(v, dict) and "value" in v]  # fmt: skip
    groups = [{"attribute": g["attribute"], "group": g["group"], "n": g["n"], "events": g.get("events"),
               "judged": g["judged"], "expected": g.get("expected"),
               **{k: score_md(v) for k, v in g.items() if isinstance(v, dict)}}
              for g in block["subgroups"]["groups"]]  # fmt: skip
    worst = block["subgroups"]["worst"]
    twins = [{k: e[k] for k in ("attribute", "mode", "pairs", "flips", "flip_rate", "ci_low", "ci_high",
                                "mean_abs_change", "js_divergence")} for e in block["counterfactual"]]  # fmt: skip
    adversarial = block["adversarial"]
    worst_cases = [{"base patient": w["base_patient_id"], "change": w["change"],
                    "attribute changes": "; ".join(f"{a}: {f} -> {t}" for a, (f, t) in w["changes"].items()) or "-",
                    "evaluations": w["evaluations"]} for w in adversarial["worst"]]  # fmt: skip
    cells = [{"type": c["type"], "cell": c["cell"], "n": c["n"], metric: score_md(c[metric]),
              "gap": gap_md(c["gap"], c.get("gap_ci_low"), c.get("gap_ci_high"))}
             for c in block["stress"]["cells"]]  # fmt: skip
    findings = [{"finding": f["id"], "verdict": f.get("verdict", "pass" if f["passed"] else "fail"), "rule": f["rule"],
                 "checked": f["checked"], "failed": judged_md(f["breaches"]),
                 "inconclusive": judged_md(f.get("inconclusive", [])), "not judged": len(f.get("not_judged", []))}
                for f in block["findings"]]  # fmt: skip
    lines = [f"## {cohort}", "", "### Findings", "", FINDINGS_NOTE, "", md_table(findings),
             "### Performance (test split)", "", md_table(performance)]  # fmt: skip
    if "calibration" in images:
        lines += [f"![calibration]({images['calibration']})", ""]
    lines += ["### Subgroups", "", f"Worst judged group: {worst['attribute']}={worst['group']} "
              f"({metric} {score_md(worst)}, {gap_md(worst['gap'], worst.get('gap_ci_low'), worst.get('gap_ci_high'))} "
              f"below the {worst.get('expected', '-')} its own predictions lead one to expect)" if worst
              else "No judged group.",
              "", md_table([_fairness(f) for f in block["subgroups"]["fairness"]]), md_table(groups)]  # fmt: skip
    if "subgroups" in images:
        lines += [f"![subgroups]({images['subgroups']})", ""]
    lines += ["### Counterfactual twins", "", md_table(twins)]
    if "flip_rates" in images:
        lines += [f"![flip rates]({images['flip_rates']})", ""]
    lines += ["### Explanations", "", *explanation_markdown(block.get("explanations"))]
    if "explanations" in images:
        lines += [f"![explanations]({images['explanations']})", ""]
    lines += ["### Adversarial search", "",
              f"{adversarial['searched']} patients, budget {adversarial['budget']} evaluations each, "
              f"{adversarial['evaluations']} spent in {adversarial['seconds']:.1f} s; attributes: "
              f"{', '.join(adversarial['attributes']) or '-'}.", "", md_table(worst_cases),
              "### Stress cells", "", f"Common cells (test split): {metric} {score_md(block['stress']['common'])}", "",
              md_table(cells)]  # fmt: skip
    for finding in block["findings"]:
        for breach in finding["breaches"] + finding.get("inconclusive", []):
            if breach["cases"]:
                lines += [f"#### Review ({breach['verdict']}): {finding['id']} — {breach['target']}", "", md_table(
                    [{k: (str(v) if isinstance(v, dict | list) else v) for k, v in case.items()}
                     for case in breach["cases"]])]  # fmt: skip
    return lines


INLINE_MARKDOWN = 999  # the Dagster UI renders Markdown metadata inline only under 1,000 characters


def verdict_markdown(verdicts: pl.DataFrame, limit: int = INLINE_MARKDOWN) -> str:
    """A short Markdown table of :func:`pipeline.evaluation.records.verdicts`: model, cohort, task, score with
    its interval, findings passed/failed/inconclusive and the verdict, in leaderboard order; rows that would
    take it past ``limit`` characters are counted in a last line instead of shown."""
    if verdicts.is_empty():
        return "_no evaluation recorded_"
    # the verdict before the wide score column: a user sees it without scrolling
    lines = ["| model | cohort | task | verdict | findings pass/fail/inconclusive | score [95% CI] |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    rows = verdicts.to_dicts()
    for shown, row in enumerate(rows):
        verdict = f"**{row['verdict']}**" if row["verdict"] == "fail" else row["verdict"]
        line = (f"| {row['model']} | {row['cohort']} | {row['task']} | {verdict} | {_counts(row)} | "
                f"{row['metric']} {score_md(row)} |")  # fmt: skip
        left = len(rows) - shown - 1
        if len("\n".join([*lines, line]) + (_more(left) if left else "")) > limit:
            return "\n".join(lines) + _more(left + 1)
        lines.append(line)
    return "\n".join(lines)


def _counts(row: dict[str, Any]) -> str:
    counts = (row["passed"], row["failed"], row["inconclusive"])
    return "-" if None in counts else "/".join(map(str, counts))


def _more(rows: int) -> str:
    return f"\n\n_and {rows} more in the table `leaderboard`_"


def write_figures(figures: dict[str, bytes | None], directory: Path, cohort: str) -> dict[str, str]:
    """Write each drawn figure as ``<cohort>_<kind>.png`` in ``directory``; kind -> file name of those written."""
    images = {}
    for kind, image in figures.items():
        if image is not None:
            name = f"{cohort}_{kind}.png"
            write_bytes_atomic(image, directory / name)
            images[kind] = name
    return images


def write_report(result: dict[str, Any], directory: Path | str) -> Path:
    """Write ``report.md``, ``report.html`` and the PNG figures into ``directory``; return the Markdown path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model, task = result["model"], result["task"]
    lines = [f"# Evaluation of {model['name']} on OncoBench {result['release']}: {task}", "",
             f"Model fingerprint `{model['fingerprint']}`. Scores on the release's synthetic test split, with "
             "bootstrap 95% intervals (Wilson for flip rates) and the rows behind them.", ""]  # fmt: skip
    for cohort, block in result["cohorts"].items():
        figures = {
            "calibration": calibration_png({cohort: block["performance"].get("calibration_curve", [])},
                                           f"{cohort}: calibration"),
            "subgroups": subgroup_png(block["subgroups"], f"{cohort}: {block['subgroups']['metric']} per subgroup"),
            "flip_rates": flip_rate_png(block["counterfactual"], f"{cohort}: counterfactual flip rate"),
            "explanations": explanation_png(block.get("explanations"), f"{cohort}: attributions ({task})"),
        }  # fmt: skip
        images = write_figures(figures, directory, cohort)
        lines += cohort_markdown(cohort, block, images)
    text = "\n".join(lines) + "\n"
    write_text_atomic(text, directory / "report.md")
    write_text_atomic(datasheet_html(text, f"OncoBench evaluation: {model['name']}"), directory / "report.html")
    return directory / "report.md"
