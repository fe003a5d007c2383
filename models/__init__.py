"""The deployable model: pyfunc bundle, scoring, explanations and registry helpers."""
