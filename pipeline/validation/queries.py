"""SQL over the DuckDB table ``validation_metrics`` (the README shows the same queries)."""

SCOREBOARD_SQL = """
SELECT cohort, synthesizer,
       round(max(value) FILTER (metric = 'column_shapes'), 3) AS shapes,
       round(max(value) FILTER (metric = 'pair_trends'), 3) AS pairs,
       round(max(value) FILTER (metric = 'c2st_auc'), 3) AS c2st,
       round(max(value) FILTER (metric = 'tstr_c_index'), 3) AS c_index,
       round(max(value) FILTER (metric = 'dcr_share'), 3) AS dcr_share,
       round(max(value) FILTER (metric = 'mia_auc'), 3) AS mia,
       NOT bool_or(blocking) FILTER (gate) AS gates_passed
FROM validation_metrics GROUP BY ALL ORDER BY cohort, synthesizer
"""

# Most faithful: highest mean of column shapes and pair trends. Most private: DCR share and
# membership-inference AUC closest to 0.5 (chance). Only synthesizers that passed every gate.
LEADERBOARD_SQL = """
WITH overall AS (
    SELECT cohort, synthesizer,
           avg(value) FILTER (metric IN ('column_shapes', 'pair_trends')) AS fidelity,
           max(abs(value - 0.5)) FILTER (metric IN ('dcr_share', 'mia_auc')) AS privacy_gap,
           NOT bool_or(blocking) FILTER (gate) AS gates_passed
    FROM validation_metrics GROUP BY ALL
)
SELECT cohort,
       arg_max(synthesizer, fidelity) AS most_faithful,
       round(max(fidelity), 3) AS fidelity,
       arg_min(synthesizer, privacy_gap) AS most_private,
       round(min(privacy_gap), 3) AS privacy_gap
FROM overall WHERE gates_passed GROUP BY cohort ORDER BY cohort
"""
