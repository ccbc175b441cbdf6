"""Cohorts: registry, specs, source readers and harmonization."""
