"""Inverse simulation in a planted world: the simulator recovers the planted effect of a matched line, and regret
ranks the guideline reference above a recommender that ignores biomarkers."""

from __future__ import annotations

import math

import pytest

from pipeline.recommenders.guidelines_file import load_guidelines
from pipeline.recommenders.planted_world import planted_world
from pipeline.recommenders.references import reference_recommender
from pipeline.recommenders.simulator import OutcomeSimulator, bootstrap_fits, mean_regret

TABLE = load_guidelines()


@pytest.fixture(scope="module")
def world():
    return planted_world(TABLE, 800, seed=3)


def test_the_simulator_recovers_the_planted_effect_of_a_matched_line(world) -> None:
    model = OutcomeSimulator.fit(world.lines).model
    assert abs(model.params_.loc[("lambda_", "matched")] - math.log(2.0)) < 0.25
    assert world.lines["matched"].mean() > 0.1 and world.lines["event"].mean() > 0.5


def test_regret_separates_the_guideline_from_a_recommender_that_ignores_biomarkers(world) -> None:
    fits = bootstrap_fits(world.lines, 4, seed=0)
    people = [TABLE.patient(i) for i in world.items]
    guideline = [a["therapy_class"] for a in reference_recommender("guideline").recommend(world.items)]
    ignoring = [TABLE.default(p).therapy_class for p in people]
    fair = mean_regret(fits, TABLE, people, guideline, world.ages, world.stage_iv)
    faulty = mean_regret(fits, TABLE, people, ignoring, world.ages, world.stage_iv)
    assert fair["n"] > 100 and fair["verdict"] != "fail"
    assert faulty["value"] > fair["value"] + 30 and faulty["verdict"] == "fail"
