"""Stress cases: counterfactual twins, rare edge cases, subgroup upsampling, plausibility rules."""
