"""Validation of a synthetic cohort against real training and holdout rows."""
