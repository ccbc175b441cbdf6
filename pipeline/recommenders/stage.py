"""The recommender evaluation stage: score one recommender on every cohort of a release.

:func:`evaluate_recommender_release` verifies the release before reading anything, asks the recommender for the
next line of every test patient and every stress-suite row (twins and cells), refuses the first bad answer
(naming the patient) before anything is scored, and returns the output contract with the answers to cache.
:func:`score_cohort` is the per-cohort work, also used on harmonized frames outside a release (bench/).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from pipeline.evaluation.energy import Emissions, track_emissions
from pipeline.evaluation.stage import open_release, read_cohorts
from pipeline.recommenders import metrics
from pipeline.recommenders.adapters import Answers, CallOptions, LoadedRecommender, load_recommender, recommend
from pipeline.recommenders.cache import AnswerCache, item_key
from pipeline.recommenders.config import RecommenderConfig, load_recommender_config
from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.interface import items as request_items
from pipeline.recommenders.regret import regret_block
from pipeline.recommenders.steps import steps_block
from pipeline.recommenders.truth import GuidelineTable
from pipeline.release.tasks import protected_attributes
from pipeline.warehouse import Warehouse

Progress = Callable[[str], None]


@dataclass
class RecommenderEvaluation:
    """The output contract (``result``), the answers to cache, and what it cost."""

    result: dict[str, Any]
    manifest_sha256: str
    config_version: str
    fingerprint: str
    new_answers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    emissions: Emissions = field(default_factory=Emissions)

    def findings(self, verdict: str) -> dict[str, list[str]]:
        """Per cohort, the ids of the findings with ``verdict`` (fail, inconclusive, ...)."""
        return {c: [f["id"] for f in b["findings"] if f["verdict"] == verdict]
                for c, b in self.result["cohorts"].items()}  # fmt: skip


def _timing(answers: Answers) -> dict[str, Any]:
    per = answers.seconds / answers.asked if answers.asked else None
    return {"recommendations": len(answers.recommendations), "asked": answers.asked, "cached": answers.cached,
            "calls": answers.calls, "seconds": round(answers.seconds, 3),
            "seconds_per_recommendation": None if per is None else round(per, 6)}  # fmt: skip


def _unique(items: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int]]:
    """Each distinct request once (a stress row may repeat a patient), and every row's position among them.

    Two different records under one patient id (never in a release) are asked as ``<id>~2``, ``<id>~3``, ..."""
    unique, position, seen, names = [], [], {}, {}
    for item in items:
        key = item_key(item)
        if key not in seen:
            pid = item["patient_id"]
            names[pid] = names.get(pid, 0) + 1
            seen[key] = len(unique)
            unique.append(item if names[pid] == 1 else {**item, "patient_id": f"{pid}~{names[pid]}"})
        position.append(seen[key])
    return unique, position


def score_cohort(
    recommender: LoadedRecommender,
    test: pl.DataFrame,
    stress: pl.DataFrame,
    reference: pl.DataFrame,
    protected: Sequence[str],
    *,
    table: GuidelineTable,
    config: RecommenderConfig,
    lines: pl.DataFrame | None = None,
    train_lines: pl.DataFrame | None = None,
    options: CallOptions | None = None,
    cache: AnswerCache | None = None,
    where: str = "",
) -> tuple[dict[str, Any], Answers]:
    """One cohort's block (see :mod:`pipeline.recommenders.metrics`) and the answers behind it; with the
    release's training journeys (``train_lines``, lines of the patients of ``reference``), the regret of the
    test recommendations by inverse simulation."""
    s = config.settings
    test_items, stress_items = request_items(test, lines), request_items(stress, lines)
    unique, position = _unique(test_items + stress_items)
    answers = recommend(recommender, unique, table, options or s.call_options(), cache, where)
    rows = [replace(answers.recommendations[i], patient_id=item["patient_id"])
            for i, item in zip(position, test_items + stress_items, strict=True)]  # fmt: skip
    test_recs, stress_recs = rows[: len(test_items)], rows[len(test_items) :]
    test_appraisals = metrics.appraise(table, test_items, test_recs)
    stress_appraisals = metrics.appraise(table, stress_items, stress_recs)
    concordance = metrics.concordance_block(test_appraisals, s.max_cases)
    common = {k: concordance[k] for k in ("value", "ci_low", "ci_high", "n")}
    counterfactual, cases = metrics.flip_block(stress, stress_recs, s.max_cases)
    block = {
        "concordance": concordance,
        "contraindicated": {
            "test": metrics.contraindication_block(test_appraisals, s.max_cases),
            "stress_suite": metrics.contraindication_block(stress_appraisals, s.max_cases),
        },
        "counterfactual": counterfactual,
        "stress": metrics.cells_block(
            common,
            test_appraisals,
            stress,
            stress_appraisals,
            rare_share=s.rare_cell_share,
            min_rows=s.min_cell_rows,
        ),
        "subgroups": metrics.subgroups_block(test, reference, test_appraisals, protected, s.min_group_rows),
        "timing": _timing(answers),
    }
    if train_lines is not None and not train_lines.is_empty():
        classes = [r.therapy_class for r in test_recs]
        block["regret"] = regret_block(table, reference, train_lines, test_items, classes, seed=s.seed)
    steps = steps_block(table, test_items, test_recs, s.max_cases)
    if steps is not None:  # a multi-step recommender (an agent) reported its steps
        block["steps"] = steps
    block["findings"] = metrics.findings(config.findings, block, cases, s.max_cases)
    return block, answers


def release_lines(directory: Path, cohort: str) -> dict[str, pl.DataFrame]:
    """A released cohort's synthetic lines of therapy by split (``train``, ``test``, ``stress_suite``: the twins'
    and the rare-journey edge cases' lines under their own ids); empty without journeys."""
    folder = Path(directory) / "cohorts" / cohort
    return {split: pl.read_parquet(folder / f"lines_{split}.parquet") for split in ("train", "test", "stress_suite")
            if (folder / f"lines_{split}.parquet").is_file()}  # fmt: skip


def evaluate_recommender_release(
    directory: Path | str,
    recommender: str | LoadedRecommender,
    *,
    cohorts: Sequence[str] | None = None,
    lines: pl.DataFrame | None = None,
    config: RecommenderConfig | None = None,
    table: GuidelineTable | None = None,
    options: CallOptions | None = None,
    store: Warehouse | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
) -> RecommenderEvaluation:
    """Score ``recommender`` on the release in ``directory``; raises before scoring anything when the release does
    not verify, a cohort is unknown, or an answer is refused."""
    say = progress or (lambda _: None)
    directory = Path(directory)
    config = config or load_recommender_config()
    table = table or load_guidelines()
    manifest, manifest_sha256 = open_release(directory, store)
    released = read_cohorts(directory, manifest, cohorts)
    loaded = recommender
    if not isinstance(loaded, LoadedRecommender):
        loaded = load_recommender(loaded, config.settings.seed)
    cache = AnswerCache(store if use_cache else None)
    blocks, new = {}, []
    with track_emissions(config.settings.emissions_country) as emissions:
        for cohort in released:
            say(f"{cohort.name}: recommendations of {loaded.name}")
            protected = list(cohort.entry.get("protected") or protected_attributes(cohort.stress, cohort.train))
            journeys = release_lines(directory, cohort.name)  # the release's synthetic journeys, when it has them
            known = [journeys[split] for split in ("test", "stress_suite") if split in journeys]
            history = lines if lines is not None else (pl.concat(known) if known else None)  # ids never repeat
            blocks[cohort.name], answers = score_cohort(
                loaded, cohort.test, cohort.stress, cohort.train, protected, table=table, config=config,
                lines=history, train_lines=journeys.get("train"), options=options, cache=cache,
                where=f" of cohort {cohort.name}",
            )  # fmt: skip
            new += answers.new
    asked = sum(b["timing"]["recommendations"] for b in blocks.values())
    result = {
        "release": manifest["release"],
        "energy": {
            **emissions.as_dict(),
            "kwh_per_recommendation": None if emissions.kwh is None or not asked else emissions.kwh / asked,
        },
        "recommender": {"name": loaded.name, "fingerprint": loaded.fingerprint},
        "guidelines": {"version": table.version, "sha256": table.sha256},
        "config_version": config.version,
        "cohorts": blocks,
    }
    return RecommenderEvaluation(result, manifest_sha256, config.version, loaded.fingerprint, new, emissions)
