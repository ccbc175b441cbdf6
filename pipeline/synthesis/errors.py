"""Errors of the synthesis package."""

from __future__ import annotations

from pipeline.errors import OncoBenchError


class SynthesisError(OncoBenchError):
    """A synthesizer was misused or cannot do what was asked."""


class ConditionError(SynthesisError):
    """A sampling condition names an unknown column or value, or one with no support."""


class ModelFileError(SynthesisError):
    """A model file that is refused: not ours, unsigned, altered, unsafe, or fitted on other data."""
