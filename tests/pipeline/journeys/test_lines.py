"""Lines of therapy on hand-made timelines: window, gap, maintenance, substitution, how lines end."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline.journeys.line_rules import LineRules, load_line_rules, parse_line_rules
from pipeline.journeys.lines import derive_lines, derive_patient_lines
from pipeline.journeys.schema import EVENT_SCHEMA, LINE_SCHEMA

RULES = LineRules("test@1", window_days=28, gap_days=180, substitutions=(frozenset({"cisplatin", "carboplatin"}),),
                  switch_maintenance=frozenset({"pemetrexed"}))  # fmt: skip


def _regimens(drugs: list[tuple[int, int | None, str]], rules: LineRules = RULES) -> list[tuple[int, str]]:
    return [(line.start, "+".join(sorted(line.regimen))) for line in derive_patient_lines(drugs, rules)]


def test_agents_within_the_window_form_one_regimen() -> None:
    drugs = [(0, 90, "carboplatin"), (0, 90, "paclitaxel"), (28, 90, "bevacizumab")]
    assert _regimens(drugs) == [(0, "bevacizumab+carboplatin+paclitaxel")]


def test_an_agent_added_after_the_window_starts_a_new_line_with_the_drugs_still_given() -> None:
    drugs = [(0, 40, "carboplatin"), (0, 120, "paclitaxel"), (60, 120, "gemcitabine")]
    assert _regimens(drugs) == [(0, "carboplatin+paclitaxel"), (60, "gemcitabine+paclitaxel")]


def test_a_gap_longer_than_the_rule_starts_a_new_line_even_for_the_same_drug() -> None:
    assert _regimens([(0, 90, "carboplatin"), (271, 300, "carboplatin")]) == [(0, "carboplatin"), (271, "carboplatin")]
    assert _regimens([(0, 90, "carboplatin"), (270, 300, "carboplatin")]) == [(0, "carboplatin")]  # 180 days: same


def test_maintenance_with_a_subset_of_the_regimen_is_the_same_line() -> None:
    drugs = [(0, 90, "cisplatin"), (0, 90, "vinorelbine"), (120, 300, "vinorelbine")]
    assert _regimens(drugs) == [(0, "cisplatin+vinorelbine")]


def test_switch_maintenance_and_substitution_within_a_class_are_the_same_line() -> None:
    assert _regimens([(0, 90, "cisplatin"), (0, 90, "paclitaxel"), (100, 200, "pemetrexed")]) == [
        (0, "cisplatin+paclitaxel")
    ]
    assert _regimens([(0, 40, "cisplatin"), (0, 90, "gemcitabine"), (45, 90, "carboplatin")]) == [
        (0, "cisplatin+gemcitabine")
    ]
    no_maintenance = LineRules("x@1", 28, 180, (), frozenset())
    assert len(_regimens([(0, 90, "cisplatin"), (100, 200, "pemetrexed")], no_maintenance)) == 2


def _events(rows: list[tuple]) -> pl.DataFrame:
    columns = ["patient_id", "start_day", "stop_day", "event_type", "agent", "agent_class"]
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(cohort=pl.lit("c")).select(
        [pl.col(c).cast(t) if c in frame.columns or c == "cohort" else pl.lit(None, t).alias(c)
         for c, t in EVENT_SCHEMA.items()]
    )  # fmt: skip


def test_line_table_ends_times_classes_and_why_lines_ended() -> None:
    events = _events([
        ("p1", 0, 90, "treatment", "carboplatin", "chemotherapy"),
        ("p1", 0, 90, "treatment", "paclitaxel", "chemotherapy"),
        ("p1", 10, 40, "radiation", None, None),  # never part of a line
        ("p1", 50, 50, "treatment", "dexamethasone", "other"),  # supportive care: never a line
        ("p1", 400, 500, "treatment", "olaparib", "targeted"),
        ("p2", 30, None, "treatment", "erlotinib", "targeted"),
        ("p3", 5, 20, "treatment", "pembrolizumab", "immunotherapy"),
        ("p3", 5, 20, "treatment", "carboplatin", "chemotherapy"),
    ])  # fmt: skip
    patients = pl.DataFrame({"patient_id": ["p1", "p2", "p3"], "primary_cancer_condition": ["HGSOC", "LUAD", None],
                             "survival_months": [20.0, 1.0, None], "vital_status_event": [1, 0, None]})  # fmt: skip
    lines = derive_lines(events, patients, cohort="c")
    assert lines.schema == pl.Schema(LINE_SCHEMA)
    rows = lines.select("patient_id", "line", "regimen", "regimen_class", "start_day", "end_day",
                        "time_to_next_treatment", "ended_by").rows()  # fmt: skip
    assert rows == [
        ("p1", 1, "carboplatin+paclitaxel", "chemotherapy", 0, 90, 400, "next_line"),
        ("p1", 2, "olaparib", "targeted", 400, 500, None, "death"),
        ("p2", 1, "erlotinib", "targeted", 30, 30, None, "censored"),
        ("p3", 1, "carboplatin+pembrolizumab", "chemo+immuno", 5, 20, None, "unknown"),
    ]
    assert lines["rule_set"].to_list() == ["ovarian@1.0.0", "ovarian@1.0.0", "nsclc@1.0.0", "default@1.0.0"]


def test_rule_file_is_versioned_and_checked() -> None:
    book = load_line_rules()
    assert book.version and book.default.window_days == 28 and book.default.gap_days == 180
    assert book.for_cancer("GBM").name.startswith("glioma@") and book.for_cancer("UNKNOWN") is book.default
    assert book.for_cancer("LUAD").substitutes("carboplatin", {"cisplatin"})
    with pytest.raises(ValueError, match="version"):
        parse_line_rules({"defaults": {}})
    with pytest.raises(ValueError, match="whole number"):
        parse_line_rules({"version": "1", "defaults": {"gap_days": -1}})
    with pytest.raises(ValueError, match="unknown keys"):
        parse_line_rules({"version": "1", "profiles": {"x": {"gap": 3}}})
