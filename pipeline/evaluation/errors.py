"""Typed errors of the evaluation harness; the CLI turns every one into exit status 2."""

from __future__ import annotations

from pipeline.errors import OncoBenchError


class EvaluationError(OncoBenchError):
    """An evaluation that cannot run: unknown task or cohort, a release that does not verify, a bad config."""


class ModelError(EvaluationError):
    """A model under test that cannot be imported, raises, or returns bad predictions; names the model and row."""
