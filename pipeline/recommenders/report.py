"""The recommender report (``oncobench evaluate --recommender SPEC --report DIR``): Markdown and HTML with the
findings, concordance, contraindications, counterfactual twins, subgroups and stress cells of every cohort,
the flip-rate and subgroup plots, and the cases behind every failed or inconclusive finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from pipeline.evaluation.plots import flip_rate_png, subgroup_png
from pipeline.evaluation.report import FINDINGS_NOTE, gap_md, judged_md, md_table, score_md, write_figures
from pipeline.io import write_text_atomic
from pipeline.release.datasheet import datasheet_html


def _cases(cases: list[dict[str, Any]]) -> str:
    return md_table([{k: (str(v) if isinstance(v, dict | list) else v) for k, v in c.items()} for c in cases])


def cohort_markdown(cohort: str, block: dict[str, Any], images: dict[str, str]) -> list[str]:
    """The sections of one cohort; ``images`` maps a figure kind to its file name."""
    c, bad = block["concordance"], block["contraindicated"]
    findings = [{"finding": f["id"], "verdict": f["verdict"], "rule": f["rule"], "checked": f["checked"],
                 "failed": judged_md(f["breaches"]), "inconclusive": judged_md(f.get("inconclusive", []))}
                for f in block["findings"]]  # fmt: skip
    indications = [{"indication": k, "actionable patients": v} for k, v in c["indications"].items()]
    twins = [{k: e.get(k) for k in ("attribute", "mode", "pairs", "flips", "flip_rate", "ci_low", "ci_high")}
             for e in block["counterfactual"]]  # fmt: skip
    groups = [{"attribute": g["attribute"], "group": g["group"], "n": g["n"], "judged": g["judged"],
               "concordance": score_md(g["concordance"])} for g in block["subgroups"]["groups"]]  # fmt: skip
    cells = [{"type": x["type"], "cell": x["cell"], "n": x["n"], "concordance": score_md(x["concordance"]),
              "gap": gap_md(x["gap"], x.get("gap_ci_low"), x.get("gap_ci_high"))}
             for x in block["stress"]["cells"]]  # fmt: skip
    timing = block["timing"]
    lines = [f"## {cohort}", "", "### Findings", "", FINDINGS_NOTE, "", md_table(findings),
             "### Guideline concordance (test split)", "",
             f"{score_md(c)} over {c['n']} actionable patients of {c['patients']} ({c['discordant']} discordant)."
             if c["n"] else f"Not applicable: no indication of the table matches any of the {c['patients']} patients.",
             "", md_table(indications),
             "### Contraindicated recommendations", "",
             f"Test split: {bad['test']['patients']} of {bad['test']['of']}; stress suite: "
             f"{bad['stress_suite']['patients']} of {bad['stress_suite']['of']}.", "",
             "### Counterfactual twins", "", md_table(twins)]  # fmt: skip
    if "flip_rates" in images:
        lines += [f"![flip rates]({images['flip_rates']})", ""]
    steps = block.get("steps")
    if steps:  # a multi-step recommender (an agent)
        scores = [{"step": k.replace("_", " "), "score [95% CI]": score_md(steps[k]), "n": steps[k]["n"]}
                  for k in ("biomarker_recall", "biomarker_precision", "evidence_match")]  # fmt: skip
        scores.append({"step": "decision (concordance)", "score [95% CI]": score_md(c), "n": c["n"]})
        lines += ["### Steps (agent)", "", f"{steps['reported']} of {steps['of']} answers reported their steps.", "",
                  md_table(scores)]  # fmt: skip
        if steps["misses"]:
            lines += ["#### Review: steps that missed", "", _cases(steps["misses"])]
    lines += ["### Subgroups (actionable test patients)", "", md_table(groups)]
    if "subgroups" in images:
        lines += [f"![subgroups]({images['subgroups']})", ""]
    lines += ["### Stress cells", "", md_table(cells), "### Cost", "",
              f"{timing['recommendations']} recommendations ({timing['cached']} cached, {timing['calls']} calls) "
              f"in {timing['seconds']:.2f} s.", ""]  # fmt: skip
    for split, part in (("test split", bad["test"]), ("stress suite", bad["stress_suite"])):
        if part["cases"]:
            lines += [f"#### Review: contraindicated on the {split}", "", _cases(part["cases"])]
    if c["cases"]:
        lines += ["#### Review: discordant recommendations", "", _cases(c["cases"])]
    for finding in block["findings"]:
        for breach in finding["breaches"] + finding.get("inconclusive", []):
            if breach.get("cases"):
                lines += [f"#### Review ({breach['verdict']}): {finding['id']} — {breach['target']}", "",
                          _cases(breach["cases"])]  # fmt: skip
    return lines


def write_recommender_report(result: dict[str, Any], directory: Path | str) -> Path:
    """Write ``report.md``, ``report.html`` and the PNG figures into ``directory``; return the Markdown path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    recommender, guidelines = result["recommender"], result["guidelines"]
    lines = [f"# Recommender {recommender['name']} on OncoBench {result['release']}", "",
             f"Fingerprint `{recommender['fingerprint']}`; therapy table {guidelines['version']} "
             f"(sha256 `{guidelines['sha256'][:12]}`); config {result['config_version']}. Each patient's next line "
             "of therapy, judged against the table; Wilson 95% intervals, patients behind them.", ""]  # fmt: skip
    for cohort, block in result["cohorts"].items():
        figures = {"flip_rates": flip_rate_png(block["counterfactual"], f"{cohort}: recommendation flip rate"),
                   "subgroups": subgroup_png(block["subgroups"], f"{cohort}: concordance per subgroup")}  # fmt: skip
        images = write_figures(figures, directory, cohort)
        lines += cohort_markdown(cohort, block, images)
    text = "\n".join(lines) + "\n"
    write_text_atomic(text, directory / "report.md")
    write_text_atomic(datasheet_html(text, f"OncoBench recommender: {recommender['name']}"), directory / "report.html")
    return directory / "report.md"


def headline_frame(result: dict[str, Any]) -> pl.DataFrame:
    """One row per cohort: concordance with its interval, contraindicated rows, the largest flip, failed and
    inconclusive findings (the asset's headline table)."""
    rows = []
    for cohort, block in result["cohorts"].items():
        c, bad = block["concordance"], block["contraindicated"]
        flips = [e for e in block["counterfactual"] if e["flip_rate"] is not None]
        worst = max(flips, key=lambda e: e["flip_rate"], default=None)
        rows.append({
            "cohort": cohort, "concordance": c["value"], "ci_low": c["ci_low"], "ci_high": c["ci_high"],
            "actionable": c["n"], "contraindicated": bad["test"]["patients"] + bad["stress_suite"]["patients"],
            "max_flip": None if worst is None else f"{worst['attribute']} ({worst['mode']}) {worst['flip_rate']:.3f}",
            "failed": ", ".join(f["id"] for f in block["findings"] if f["verdict"] == "fail"),
            "inconclusive": ", ".join(f["id"] for f in block["findings"] if f["verdict"] == "inconclusive"),
        })  # fmt: skip
    return pl.DataFrame(rows)
