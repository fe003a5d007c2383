"""Baselines the model must beat, scored on the same feature table and holdout.

- ``RuleBasedPoints``: the classic marketing-automation points model (points per event type on
  decayed counts, plus attribute points).
- ``LogisticBaseline``: logistic regression on the same features.
- ``NaiveBayesFrequency``: per-field won/lost counts, log-odds summed (as open-source CRMs do).
- ``DefaultLightGBM``: ``lightgbm.LGBMClassifier()`` with its default settings on the same rows
  (categoricals as pandas categories): what anyone would try first; the recipe must beat it.
- The oracle (true propensity from the simulator) is just another score column passed to
  ``evaluation.comparison.compare_models``.
"""

from evaluation.baselines.default_lightgbm import DefaultLightGBM
from evaluation.baselines.logistic import LogisticBaseline
from evaluation.baselines.naive_bayes import NaiveBayesFrequency
from evaluation.baselines.rule_points import RuleBasedPoints

__all__ = ["DefaultLightGBM", "LogisticBaseline", "NaiveBayesFrequency", "RuleBasedPoints"]
