"""The datasheet of a release (Gebru et al., "Datasheets for Datasets"), as Markdown and HTML."""

from __future__ import annotations

from typing import Any

import polars as pl
from markdown_it import MarkdownIt

HEADLINE_ORDER = ("column_shapes", "pair_trends", "c2st_auc", "tstr_auc", "tstr_auc_real", "tstr_c_index",
                  "tstr_c_index_real", "km_max_gap", "dcr_share", "mia_auc", "worst_representation_ratio")  # fmt: skip


# noise_floor: the same metric for real holdout patients against training (the best any generator can do);
# judged: the value a pass compared (the one-sided 95% end worse for patients, for privacy gates);
# verdict: pass, fail or inconclusive (pipeline/validation/verdicts.py); p_value: of "within the bound"
GATE_COLUMNS = ("metric", "target", "verdict", "value", "ci_lower", "ci_upper", "noise_floor", "judged", "rows",
                "bound", "threshold", "p_value")  # fmt: skip


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "_none_\n"
    frame = pl.DataFrame(rows)
    return frame.to_pandas().to_markdown(index=False, floatfmt=".3f") + "\n"


def _energy_lines(energy: dict[str, Any] | None) -> list[str]:
    """The section on what building the release consumed (absent when the manifest records nothing)."""
    if energy is None:
        return []
    if energy.get("kwh") is None:
        text = "The energy of the materializations this release was built from was not measured."
    else:
        text = (f"Building this release (the latest materialization of every asset of its cohorts: ingestion, "
                f"split, synthesizer, synthetic cohort, validation, stress suite) used {energy['kwh']:.3g} kWh and "
                f"emitted {energy['kg_co2e']:.3g} kg CO2e over {energy['runs']} Dagster runs "
                f"({energy['materializations']} materializations), measured offline with codecarbon.")  # fmt: skip
        if energy.get("not_measured"):
            text += f" {energy['not_measured']} materializations could not be measured and count as nothing."
    return ["## Energy and carbon", text, ""]


def _ingestion_lines(cohorts: dict[str, Any]) -> list[str]:
    """What ingestion kept of each real cohort, what it quarantined or left out, and its warnings."""
    recorded = {name: c["ingestion"] for name, c in cohorts.items() if c.get("ingestion")}
    if not recorded:
        return []
    rows = [{"cohort": name, "source patients": i["n_source_patients"], "filtered out": i["n_filtered_out"],
             "quarantined": i["n_quarantined"], "left out (no survival)": i["n_left_out"], "kept": i["n_patients"]}
            for name, i in recorded.items()]  # fmt: skip
    lines = ["Real patients kept by ingestion (rows with a defect are quarantined, never the whole study):", "",
             _table(rows)]  # fmt: skip
    for name, i in recorded.items():
        lines += [f"- **{name}**: {reason}" for reason in [*i["quarantined"], *i["warnings"]]]
    return [*lines, ""]


def _review_lines(cohorts: dict[str, Any]) -> list[str]:
    """What clinicians said about an earlier release of each cohort (``oncobench review``): its least plausible
    synthetic patients and the candidate rules they suggest (pipeline/review/feedback.py)."""
    reviewed = {name: c["clinician_review"] for name, c in cohorts.items() if c.get("clinician_review")}
    lines = ["## Clinician review", ""]
    if not reviewed:
        return [*lines, "No clinicians' review of an earlier release of these cohorts is on record (or that release "
                "is no longer on disk). `oncobench review RELEASE --cohort NAME` serves the review page; the next "
                "release lists the least plausible patients it found and the rules they suggest.", ""]  # fmt: skip
    lines += [
        "Clinicians compared pairs of an earlier release's synthetic patients (which is more plausible?); "
        "Bradley-Terry scores rank them (lower is less plausible, with a 95% bootstrap interval). Candidate "
        "rules are proposals: none applies until a person adds it to `config/plausibility_rules.yaml`.",
        "",
    ]
    for name, r in reviewed.items():
        reliability, agreement = r.get("split_half_reliability"), r.get("reviewer_agreement")
        lines += [f"**{name}** (release {r['release']}): {r['judgements']} judgements by {r['reviewers']} reviewer(s) "
                  f"of {r['patients_judged']} patients; split-half reliability "
                  f"{'not measured' if reliability is None else f'{reliability:.2f}'}; reviewer agreement "
                  f"{'not measured' if agreement is None else f'{agreement:.2f}'}.", "",
                  "Least plausible patients:", "", _table(r["least_plausible"]),
                  "Candidate rules:", "", _table(r["candidate_rules"])]  # fmt: skip
    return lines


PLOT_CAPTIONS = {
    "pair_trend_gaps": "pair-trend gaps (1 - similarity of each column pair; 0 = as in the real data)",
    "representation": "share of each protected subgroup, real against synthetic",
    "treatment_sequences": "the synthetic patients' regimen classes through lines 1 -> 2 -> 3 (shares of patients; "
    "against the real holdout: the journey metrics and the `synthetic_journeys` asset in the UI)",
}


def _plot_lines(files: list[dict[str, Any]]) -> list[str]:
    """The cohorts' figures (``cohorts/<cohort>/plots/<name>.png``), linked relative to the release."""
    plots = [f["path"] for f in files if f["path"].startswith("cohorts/") and f["path"].endswith(".png")]
    if not plots:
        return []
    lines = ["## Plots", ""]
    for path in plots:
        cohort, name = path.split("/")[1], path.rsplit("/", 1)[-1].removesuffix(".png")
        caption = PLOT_CAPTIONS.get(name, name.replace("_", " "))
        lines += [f"**{cohort}**: {caption}", "", f"![{cohort} {name}]({path})", ""]
    return lines


def _shares_text(shares: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) or "-"


def _journey_lines(cohorts: dict[str, Any]) -> list[str]:
    """The journeys section: per cohort with timelines, what its synthetic lines of therapy look like."""
    rows = [
        {"cohort": name, "patients with lines": f"{j['patients_with_lines']} of {j['patients']}", "lines": j["lines"],
         "lines per patient": _shares_text(j["lines_per_patient"]), "line 1": _shares_text(j["line_1_classes"]),
         "line 1 -> 2 (of line-1 patients)": _shares_text(j["line_1_to_2"]),
         "median days to next treatment": ", ".join(f"line {k}: {v:.0f}" for k, v in
                                                    j["median_days_to_next_treatment"].items()) or "-"}
        for name, c in cohorts.items() if (j := c.get("journeys"))
    ]  # fmt: skip
    if not rows:
        return []
    return [
        "## Journeys",
        "",
        "Cohorts learned from real treatment timelines ship synthetic lines of therapy beside their patients "
        "(`lines_train`, `lines_test`, and `lines_stress_suite`: each counterfactual twin carries its base "
        "patient's lines, since a twin holds the clinical picture fixed; test patients whose sequence of regimen "
        "classes is rarer than 2% are repeated as edge cases, cell `journey: <sequence>`, with their lines; other "
        "edge cases and upsampled rows have none). "
        "Lines follow the rule set named in each line row; journeys were validated against the real holdout's "
        "lines (lines per patient, regimen classes, transitions, time to next treatment, temporal rules, replay).",
        "",
        _table(rows),
    ]


def datasheet_markdown(manifest: dict[str, Any]) -> str:
    """The datasheet text: the seven sections of Datasheets for Datasets, then the metric tables."""
    version, cohorts, withheld = manifest["release"], manifest["cohorts"], manifest["withheld"]
    headline_rows = [
        {"cohort": name, "synthesizer": c["synthesizer"], **{k: c["headline"].get(k) for k in HEADLINE_ORDER}}
        for name, c in cohorts.items()
    ]
    gate_rows = [
        {"cohort": name, **{k: g.get(k) for k in GATE_COLUMNS}} for name, c in cohorts.items() for g in c["gates"]
    ]
    files = [{k: f.get(k) for k in ("path", "rows", "sha256")} for f in manifest["files"]]
    lines = [
        f"# OncoBench benchmark release {version}",
        "",
        f"Created {manifest['created_at']} from code revision `{manifest['code_revision']}` with validation config "
        f"{manifest['validation_config_version']}.",
        "",
        "## Motivation",
        "Clinical AI models in precision oncology score well on static test sets yet fail on the patients those sets "
        "under-represent, and may change a recommendation when only a protected attribute changes. Real patient data "
        "cannot be shared. This release provides synthetic cohorts that are measurably faithful and private, with "
        "stress cases built to expose such failures. It was created by the OncoBench pipeline.",
        "",
        "## Composition",
        "Each released cohort has synthetic `train` and `test` splits (one row per synthetic patient, harmonized "
        "oncology schema, no real patient) and a `stress_suite` (counterfactual twins, rare edge cases, subgroup "
        "upsampling, tagged by `stress_type`).",
        "",
        _table(
            [
                {
                    "cohort": n,
                    "synthesizer": c["synthesizer"],
                    "train_rows": c["rows"]["train"],
                    "test_rows": c["rows"]["test"],
                    "stress_rows": c["rows"]["stress_suite"],
                }
                for n, c in cohorts.items()
            ]
        ),
        "Withheld cohorts (a blocking gate failed; not shipped):",
        "",
        _table(
            [
                {"cohort": n, "synthesizer": w["synthesizer"], "reasons": "; ".join(w["reasons"])}
                for n, w in withheld.items()
            ]
        ),
        "## Collection process",
        "Real cohorts are public datasets (see each cohort's description in the manifest). They were read from their "
        "source, harmonized and split into training and holdout patients; a synthesizer was fitted on the training "
        "patients only and sampled. The input fingerprint in the manifest is a hash of the real data, never the data.",
        "",
        *_ingestion_lines(cohorts),
        "## Preprocessing",
        "Harmonization to one schema (types, units in months, allowed values, salted hashed identifiers); synthetic "
        "rows that break a clinical plausibility rule were redrawn; stress cases were checked against the same rules.",
        "",
        "## Uses",
        "Benchmarking clinical prediction models: train on `train`, evaluate on `test`, then measure per-subgroup "
        "performance on edge cases and upsampled rows, and the counterfactual flip rate on twins. Not for clinical "
        "decisions, and not a substitute for validation on real patients.",
        "",
        "## Distribution",
        "Versioned with DVC; fetch with `oncobench pull VERSION` and check with `oncobench verify DIR`. Synthetic "
        "data generated with sdv/ctgan is subject to their BUSL-1.1 licence terms.",
        "",
        "## Maintenance",
        "A release is frozen: a version is written once and never overwritten. Corrections come as new versions; "
        "`oncobench diff V1 V2` shows metric changes.",
        "",
        *_energy_lines(manifest.get("energy")),
        "## Headline metrics",
        "",
        _table(headline_rows),
        "## Gates",
        "",
        "Every gate says **pass**, **fail** or **inconclusive**. It fails only when its 95% interval puts it beyond "
        "the bound (`p_value` of \"within the bound\", rejected by Holm's procedure over all of the cohort's gates, "
        "so a synthesizer meeting every bound is withheld at most 5% of the time). It passes on evidence: for "
        "privacy, the one-sided 95% end worse for patients (`judged`) is within the bound; otherwise the value and "
        "its `noise_floor` (the same metric for real unseen patients: the best any generator can do here) are. "
        "Otherwise it is inconclusive (too few rows, or beyond the bound within noise), listed here, and blocking "
        "only for a privacy attack on the whole cohort. `bench/results/calibration.md` measures how often real "
        "unseen patients are withheld and how often planted failures are caught.",
        "",
        _table(gate_rows),
        *_journey_lines(cohorts),
        *_review_lines(cohorts),
        *_plot_lines(manifest["files"]),
        "## Files",
        "",
        _table(files),
    ]
    return "\n".join(lines) + "\n"


def datasheet_html(markdown: str, title: str) -> str:
    """The same datasheet as a standalone HTML page."""
    body = MarkdownIt("commonmark").enable("table").render(markdown)
    style = "body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}" \
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}"  # fmt: skip
    return f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style></head>" \
        f"<body>{body}</body></html>\n"  # fmt: skip
