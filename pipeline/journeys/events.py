"""Raw event rows -> the harmonized event table of one cohort (schema: :data:`EVENT_SCHEMA`).

Steps, in order: rows with a defect are quarantined by file and reason (no patient id, no start
day, a day that is not a number of days, a stop before the start); source ids are salted and
hashed exactly as the patient table hashes them, and events of patients not in the patient
table are left out and counted; drug names become generic agents (:mod:`agent_names`), one event
per agent of a combination; exact duplicates are dropped and counted. Days before day 0 are kept.
"""

from __future__ import annotations

import polars as pl

from pipeline.cohorts.identifiers import hash_patient_ids
from pipeline.cohorts.quarantine import MAX_QUARANTINED_SHARE, Quarantine
from pipeline.journeys.agent_names import resolve_agent
from pipeline.journeys.drugs import load_drug_vocabulary
from pipeline.journeys.report import JourneyReport
from pipeline.journeys.schema import EVENT_SCHEMA, empty_events
from pipeline.journeys.vocabulary import indication_map

MAX_ABS_DAY = 100 * 366  # a day further than a century from day 0 is not a day
CONTENT = ("patient_id", "event_type", "start_day", "stop_day", "agent", "source_agent", "detail",
           "numeric_value", "indication")  # fmt: skip


def _days(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Days as Int32 (rounded) and where a value is present but not a day."""
    number = values.str.strip_chars().cast(pl.Float64, strict=False)
    valid = number.is_finite().fill_null(False) & (number.abs() <= MAX_ABS_DAY)
    days = pl.select(pl.when(valid).then(number.round()).cast(pl.Int32)).to_series()
    return days, values.is_not_null() & ~valid


def _quarantine(frame: pl.DataFrame, report: JourneyReport) -> pl.DataFrame:
    """Rows without a defect; the others counted by file and reason."""
    kept = []
    for (file,), rows in frame.group_by("source_file", maintain_order=True):
        quarantine = Quarantine(str(file), rows=rows["source_row"])
        start, stop = rows["start"], rows["stop"]
        quarantine.add(rows["source_id"].is_null(), rows["source_id"], "patient id", "patient id is empty")
        quarantine.add(start.is_null(), start, "start day", "missing start day")
        quarantine.add(rows["__start_bad"], start, "start day", "start is not a number of days")
        quarantine.add(rows["__stop_bad"], stop, "stop day", "stop is not a number of days")
        quarantine.add(rows["stop_day"] < rows["start_day"], stop, "stop day", "stop day before start day")
        report.count(str(file), "quarantined", quarantine.n_rows)
        if quarantine.n_rows > MAX_QUARANTINED_SHARE * rows.height:
            report.warn(f"{file}: {quarantine.n_rows} of {rows.height} rows quarantined, more than "
                        f"{MAX_QUARANTINED_SHARE:.0%}: is a day column missing or named differently?")  # fmt: skip
        report.quarantined += [{"file": str(file), **reason.as_dict()} for reason in quarantine.reasons]
        kept.append(rows.filter(~quarantine.mask))
    return pl.concat(kept)


def _with_patient_ids(
    frame: pl.DataFrame, *, cohort: str, salt: str, patient_ids: pl.Series, report: JourneyReport
) -> pl.DataFrame:
    """Hashed ids (as the patient table hashes them); events of patients not in it left out, counted."""
    ids = frame["source_id"].unique()
    lookup = pl.DataFrame({"source_id": ids, "patient_id": hash_patient_ids(ids, cohort=cohort, salt=salt)})
    frame = frame.join(lookup, on="source_id", how="left")
    known = frame["patient_id"].is_in(patient_ids.implode())
    for file, n in frame.filter(~known).group_by("source_file").len().iter_rows():
        report.count(str(file), "not_in_patients", n)
    report.n_source_ids_not_in_patients = frame.filter(~known)["source_id"].n_unique()
    return frame.filter(known).drop("source_id")


def _agent_table(names: list[str], report: JourneyReport) -> pl.DataFrame:
    """Every written drug name -> its agents (one row each), their class and how they matched."""
    vocabulary = load_drug_vocabulary()
    rows = []
    for name in names:
        resolution = resolve_agent(name)
        for agent in resolution.agents:
            drug = vocabulary.drug(agent)
            how = "unknown" if agent in resolution.unknown else resolution.how
            rows.append((name, agent, drug.agent_class if drug else "other", how))
    return pl.DataFrame(rows, schema={"source_agent": pl.String, "agent": pl.String, "agent_class": pl.String,
                                      "__how": pl.String}, orient="row")  # fmt: skip


def _with_agents(frame: pl.DataFrame, report: JourneyReport) -> pl.DataFrame:
    """Drug events get their generic agents, one event per agent; the rest keep a null agent."""
    is_drug = (pl.col("event_type") == "treatment") & pl.col("source_agent").is_not_null()
    names = frame.filter(is_drug)["source_agent"].unique(maintain_order=True).to_list()
    table = _agent_table(names, report)
    drugs = frame.filter(is_drug).join(table, on="source_agent", how="left", maintain_order="left")
    others = frame.filter(~is_drug).with_columns(agent=pl.lit(None, pl.String), agent_class=pl.lit(None, pl.String),
                                                  __how=pl.lit(None, pl.String))  # fmt: skip
    added = (
        drugs.group_by("source_file")
        .len()
        .join(frame.filter(is_drug).group_by("source_file").len(), on="source_file", suffix="_rows")
    )
    for file, n, rows in added.iter_rows():
        report.count(str(file), "added_by_combinations", n - rows)
    return pl.concat([drugs, others]).sort("__order", maintain_order=True)


def _record_agents(events: pl.DataFrame, report: JourneyReport) -> None:
    drugs = events.filter(pl.col("__how").is_not_null())
    report.n_drug_events = drugs.height
    report.agents_by_match = dict(drugs.group_by("__how").len().sort("__how").iter_rows())
    unknown = drugs.filter(pl.col("__how") == "unknown").group_by("agent").len()
    report.unknown_agents = dict(unknown.sort("len", "agent", descending=[True, False]).iter_rows())
    for how, target in (("fuzzy", report.fuzzy_mapped), ("blinded", report.blinded)):
        counts = drugs.filter(pl.col("__how") == how).group_by("source_agent", "agent").len().sort("source_agent")
        target += [{"source": s, "agent": a, "rows": n} for s, a, n in counts.iter_rows()]
    treatments = events.filter(pl.col("event_type") == "treatment")
    report.n_treatments_without_agent = treatments["agent"].null_count()


def _drop_duplicates(frame: pl.DataFrame, report: JourneyReport) -> pl.DataFrame:
    first = frame.select(pl.struct(list(CONTENT)).is_first_distinct()).to_series()
    for file, n in frame.filter(~first).group_by("source_file").len().iter_rows():
        report.count(str(file), "duplicates", n)
    return frame.filter(first)


def harmonize_events(
    raw: pl.DataFrame, *, cohort: str, salt: str, patient_ids: pl.Series, report: JourneyReport
) -> pl.DataFrame:
    """The event table of raw event rows (module docstring); ``patient_ids`` are the patient table's."""
    for file, n in raw.group_by("source_file", maintain_order=True).len().iter_rows():
        report.count(str(file), "rows", n)
    if raw.height == 0:
        return empty_events()
    start_day, start_bad = _days(raw["start"])
    stop_day, stop_bad = _days(raw["stop"])
    frame = raw.with_row_index("__order").with_columns(
        source_id=pl.col("source_id").str.strip_chars(), start_day=start_day, stop_day=stop_day,
        __start_bad=start_bad, __stop_bad=stop_bad,
    )  # fmt: skip
    frame = _quarantine(frame, report)
    frame = _with_patient_ids(frame, cohort=cohort, salt=salt, patient_ids=patient_ids, report=report)
    frame = _with_agents(frame, report)
    frame = _drop_duplicates(frame.with_columns(
        numeric_value=pl.col("value").str.strip_chars().cast(pl.Float64, strict=False),
        indication=pl.col("indication").str.to_lowercase().replace(indication_map()),
    ), report)  # fmt: skip
    _record_agents(frame, report)
    for file, n in frame.group_by("source_file").len().iter_rows():
        report.count(str(file), "events", n)
    events = (
        frame.with_columns(cohort=pl.lit(cohort))
        .select([pl.col(name).cast(dtype) for name, dtype in EVENT_SCHEMA.items()])
        .sort("patient_id", "start_day", "event_type", "agent", "source_file", "source_row", nulls_last=True)
    )
    report.n_events, report.n_patients_with_events = events.height, events["patient_id"].n_unique()
    report.n_before_day_zero = int((events["start_day"] < 0).sum())
    report.n_stop_next_day = int((events["stop_day"] == events["start_day"] + 1).sum())
    report.event_types = {str(t): n for t, n in events.group_by("event_type").len().sort("event_type").iter_rows()}
    return events
