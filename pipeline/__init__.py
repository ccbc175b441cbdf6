"""OncoBench domain library: cohorts, synthesis, validation, stress cases, releases.

Never imports dagster; the Dagster layer lives in ``assets/``.
"""

__version__ = "0.1.0"
