"""OncoBench's Dagster layer: assets, checks, resources and partitions over ``pipeline``."""
