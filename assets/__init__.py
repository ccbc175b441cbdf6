"""OncoBench's Dagster layer: assets, checks, resources and partitions over ``pipeline``."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Two Dagster features we use on purpose warn on every import of the definitions (in the code
# server, the daemon and every run); silenced here, before any asset module is imported, and
# only these two: partitioned checks (one verdict per cohort x synthesizer) and reading a
# cohort's partition of cohort x synthesizer assets (stress suites from the cohort's flow).
warnings.filterwarnings("ignore", r"Specifying a partitions_def on an AssetCheckSpec", PreviewWarning)
warnings.filterwarnings("ignore", r"Class `MultiToSingleDimensionPartitionMapping`", BetaWarning)
