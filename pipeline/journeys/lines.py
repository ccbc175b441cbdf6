"""Lines of therapy from drug events, by the rules of ``config/lines_of_therapy.yaml``.

The rules (Meng et al., J Biomed Inform 2019; Merck's public line-of-therapy algorithm) are
stated in the rules file. Per line: its number, regimen (its agents, sorted, joined by '+'),
regimen class, start and end day (the last day a drug of the line is given, before the next line
starts), time to next treatment (days from this line's start to the next line's start) and why
it ended: ``next_line``; else, from the patient's survival, ``death`` (died with no later line)
or ``censored`` (alive at last follow-up with no later line); ``unknown`` without survival.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.journeys.drugs import load_drug_vocabulary
from pipeline.journeys.line_rules import LineRuleBook, LineRules, load_line_rules
from pipeline.journeys.schema import AGENT_CLASSES, LINE_SCHEMA, empty_lines

DAYS_PER_MONTH = 30.4375
CLASS_SHORT = {"chemotherapy": "chemo", "targeted": "targeted", "immunotherapy": "immuno", "hormone": "hormone",
               "other": "other"}  # fmt: skip


@dataclass
class _Line:
    start: int
    regimen: set[str]
    last_day: int
    given_until: dict[str, int] = field(default_factory=dict)  # agent -> last day given

    def give(self, agent: str, start: int, end: int) -> None:
        self.given_until[agent] = max(self.given_until.get(agent, end), end)
        self.last_day = max(self.last_day, end)


def _continues(line: _Line, agent: str, start: int, rules: LineRules) -> bool:
    """The drug stays in ``line``: within its window, given before, a substitute or maintenance."""
    if start - line.start <= rules.window_days:
        line.regimen.add(agent)
        return True
    given = set(line.given_until)
    return agent in given or rules.substitutes(agent, given) or agent in rules.switch_maintenance


def derive_patient_lines(drugs: list[tuple[int, int | None, str]], rules: LineRules) -> list[_Line]:
    """The lines of one patient's drug events ``(start, stop, agent)``."""
    lines: list[_Line] = []
    for start, stop, agent in sorted(drugs, key=lambda d: (d[0], d[2], d[1] if d[1] is not None else d[0])):
        end = max(start, stop if stop is not None else start)
        line = lines[-1] if lines else None
        if line is None or start - line.last_day > rules.gap_days:
            lines.append(_Line(start, {agent}, end))
        elif not _continues(line, agent, start, rules):
            still_given = {a for a, until in line.given_until.items() if until >= start}
            lines.append(_Line(start, {agent, *still_given}, end, {a: line.given_until[a] for a in still_given}))
        lines[-1].give(agent, start, end)
    return lines


def regimen_class(agents: set[str], classes: dict[str, str]) -> str:
    """``chemotherapy`` for one class, ``chemo+targeted`` for several."""
    found = [c for c in AGENT_CLASSES if c in {classes.get(a, "other") for a in agents}]
    return found[0] if len(found) == 1 else "+".join(CLASS_SHORT[c] for c in found)


def _ended_by(has_next: bool, event: int | None) -> str:
    if has_next:
        return "next_line"
    return {1: "death", 0: "censored"}.get(event, "unknown") if event is not None else "unknown"


def _line_rows(patient: str, lines: list[_Line], death_day: int | None, event: int | None,
               classes: dict[str, str], rules: LineRules) -> list[tuple]:  # fmt: skip
    rows = []
    for number, line in enumerate(lines, start=1):
        following = lines[number] if number < len(lines) else None
        end = line.last_day if following is None else min(line.last_day, following.start - 1)
        end = max(line.start, min(end, death_day) if death_day is not None else end)
        rows.append((patient, number, "+".join(sorted(line.regimen)), regimen_class(line.regimen, classes),
                     line.start, end, following.start - line.start if following else None,
                     _ended_by(following is not None, event), rules.name))  # fmt: skip
    return rows


def derive_lines(
    events: pl.DataFrame, patients: pl.DataFrame, *, cohort: str, rule_book: LineRuleBook | None = None
) -> pl.DataFrame:
    """Lines of every patient with drug events; ``patients`` gives cancer type and survival."""
    rule_book = rule_book or load_line_rules()
    supportive = load_drug_vocabulary().supportive()
    drugs = events.filter(
        (pl.col("event_type") == "treatment") & pl.col("agent").is_not_null() & ~pl.col("agent").is_in(supportive)
    )
    if drugs.height == 0:
        return empty_lines()
    classes = dict(drugs.select("agent", pl.col("agent_class").cast(pl.String)).unique("agent").iter_rows())
    about = _patient_facts(patients)
    rows = []
    for (patient,), group in drugs.group_by("patient_id", maintain_order=True):
        code, death_day, event = about.get(patient, (None, None, None))
        rules = rule_book.for_cancer(code)
        lines = derive_patient_lines(list(group.select("start_day", "stop_day", "agent").iter_rows()), rules)
        rows += _line_rows(str(patient), lines, death_day if event == 1 else None, event, classes, rules)
    columns = [c for c in LINE_SCHEMA if c != "cohort"]
    frame = pl.DataFrame(rows, schema=columns, orient="row").with_columns(cohort=pl.lit(cohort))
    return frame.select([pl.col(n).cast(t) for n, t in LINE_SCHEMA.items()]).sort("patient_id", "line")


def _patient_facts(patients: pl.DataFrame) -> dict[str, tuple[str | None, int | None, int | None]]:
    """patient id -> (OncoTree code, survival in days, vital status event)."""

    def column(name: str, dtype: pl.DataType) -> pl.Expr:
        return pl.col(name).cast(dtype) if name in patients.columns else pl.lit(None, dtype)

    facts = patients.select(
        "patient_id",
        column("primary_cancer_condition", pl.String()),
        (column("survival_months", pl.Float64()) * DAYS_PER_MONTH).round().cast(pl.Int32),
        column("vital_status_event", pl.Int8()),
    )
    return {row[0]: row[1:] for row in facts.iter_rows()}
