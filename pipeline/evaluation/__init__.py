"""Evaluation harness: score a clinical model on a release (performance, subgroups, twins, adversarial, stress).

The stage function is :func:`pipeline.evaluation.stage.evaluate_release`; the CLI command
``oncobench evaluate`` and the ``model_evaluation`` asset call it and add only I/O and printing.
"""
