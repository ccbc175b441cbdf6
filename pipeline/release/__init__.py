"""Frozen benchmark releases: build, verify, record, track with DVC, pull."""
