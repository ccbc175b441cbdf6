"""Synthesizers: one interface, three engines (ctgan, flow, copula)."""
