"""The per-field frequency model open-source CRMs score with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from evaluation.baselines.inputs import binary_labels, feature_frame, split_columns, two_columns


class NaiveBayesFrequency(ClassifierMixin, BaseEstimator):
    """Per-field won/lost frequency model with Laplace smoothing, log-odds summed.

    For each field f and value v: log P(v | won) - log P(v | lost), with
    P(v | c) = (count(v, c) + alpha) / (count(c) + alpha × n_levels(f)), where n_levels includes
    one slot for unseen values. Numeric fields are cut into quantile bins learned in ``fit``
    (missing is its own slot; n_levels is then the number of bins + 1). Score = prior log-odds + Σ field log-odds, mapped through the
    logistic function. Like the CRM heuristic, it ignores that fields are correlated, so its
    probabilities are over-confident; its ranking is the point.
    """

    def __init__(
        self,
        exclude: Sequence[str] = ("lead_id", "as_of", "label"),
        alpha: float = 1.0,
        n_bins: int = 5,
    ) -> None:
        self.exclude = exclude
        self.alpha = alpha
        self.n_bins = n_bins

    def _categories(self, X: pd.DataFrame, column: str) -> np.ndarray:
        """A categorical column as strings, missing as its own level."""
        values = X[column]
        return values.astype(object).where(values.notna(), "(missing)").astype(str).to_numpy()

    def _bins(self, X: pd.DataFrame, column: str) -> np.ndarray:
        """Quantile-bin index of a numeric column; ``len(edges) + 1`` is the missing slot.

        Integer codes, not labels: formatting thousands of numbers as strings per column was
        most of the fitting time on a real feature table.
        """
        values = X[column].to_numpy(dtype=float)
        edges = self.edges_[column]
        return np.where(np.isnan(values), edges.size + 1, np.digitize(values, edges))

    def _log_odds(
        self, codes: np.ndarray, y: np.ndarray, n_slots: int, k: int
    ) -> tuple[np.ndarray, float]:
        """Smoothed log P(level | won) - log P(level | lost) per slot, and for an unseen level."""
        n_won, n_lost = self.class_counts_
        won = np.bincount(codes, weights=y, minlength=n_slots)
        lost = np.bincount(codes, minlength=n_slots) - won
        won_denominator = n_won + self.alpha * k
        lost_denominator = n_lost + self.alpha * k
        log_odds = np.log((won + self.alpha) / won_denominator) - np.log(
            (lost + self.alpha) / lost_denominator
        )
        unseen = float(np.log(self.alpha / won_denominator) - np.log(self.alpha / lost_denominator))
        return log_odds, unseen

    def fit(self, X: pd.DataFrame, y: Any) -> NaiveBayesFrequency:
        X = feature_frame(X)
        y_arr = binary_labels(y)
        categorical, numeric = split_columns(X, self.exclude)
        n_won, n_lost = int(y_arr.sum()), int(y_arr.size - y_arr.sum())
        if n_won == 0 or n_lost == 0:
            raise ValueError("NaiveBayesFrequency needs both won and lost rows in training")
        self.class_counts_ = (n_won, n_lost)
        self.prior_log_odds_ = float(np.log(n_won / n_lost))
        self.log_odds_: dict[str, dict[str, float]] = {}
        self.unseen_log_odds_: dict[str, float] = {}
        for column in categorical:
            levels, codes = np.unique(self._categories(X, column), return_inverse=True)
            # k counts one extra slot for values unseen in training.
            log_odds, unseen = self._log_odds(codes, y_arr, levels.size, levels.size + 1)
            self.log_odds_[column] = dict(zip(levels.tolist(), log_odds.tolist(), strict=True))
            self.unseen_log_odds_[column] = unseen
        self.edges_: dict[str, np.ndarray] = {}
        self.bin_log_odds_: dict[str, np.ndarray] = {}
        qs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
        for column in numeric:
            values = X[column].to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            self.edges_[column] = np.unique(np.quantile(values, qs)) if values.size else qs[:0]
            slots = self.edges_[column].size + 2  # bins plus the missing slot; none unseen
            self.bin_log_odds_[column] = self._log_odds(self._bins(X, column), y_arr, slots, slots)[
                0
            ]
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Summed log-odds per row (prior + every field)."""
        X = feature_frame(X)
        missing = [c for c in [*self.log_odds_, *self.bin_log_odds_] if c not in X.columns]
        if missing:
            raise KeyError(f"NaiveBayesFrequency: feature column(s) missing: {missing}")
        total = np.full(len(X), self.prior_log_odds_)
        for column, table in self.log_odds_.items():
            levels = pd.Series(self._categories(X, column))
            total += levels.map(table).fillna(self.unseen_log_odds_[column]).to_numpy(dtype=float)
        for column, bin_table in self.bin_log_odds_.items():
            total += bin_table[self._bins(X, column)]
        return total

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return two_columns(1.0 / (1.0 + np.exp(-self.decision_function(X))))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(int)
