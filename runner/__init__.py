"""Drives a Dagster instance from outside the definitions: the daemon, launches as the UI makes them, `make demo`."""
