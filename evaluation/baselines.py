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

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.encoding import encode_frame, fit_categories
from models.points import default_rules, points_by_rule


def _frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"baselines take a feature DataFrame, got {type(X).__name__}")
    return X


def _labels(y: Any) -> np.ndarray:
    y_arr = np.asarray(y, dtype=float).ravel()
    bad = np.flatnonzero(~np.isin(y_arr, (0.0, 1.0)))
    if bad.size:
        raise ValueError(f"label must be 0/1: {bad.size} row(s) are not, e.g. rows {bad[:5]}")
    return y_arr.astype(np.int8)


def _two_columns(p1: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p1, p1])


class RuleBasedPoints(ClassifierMixin, BaseEstimator):
    """Marketing-automation points: score = Σ event_points[t] × decay_t + Σ attribute points.

    Event points use the ``decay_{type}`` columns present in the table (types without a column
    contribute nothing). In static mode (no ``decay_`` columns, e.g. a Kaggle export)
    ``numeric_points`` weight numeric engagement columns directly (default:
    ``models.points.STATIC_NUMERIC_POINTS``), e.g. ``{"total_visits": 1,
    "time_on_site_minutes": 0.1}``. Unknown attribute values and missing values score 0. ``fit`` learns only a monotone (isotonic) map from points to probability on
    the training data, so the ranking — and the AUC — comes from the rules alone.
    """

    def __init__(
        self,
        event_points: Mapping[str, float] | None = None,
        attribute_points: Mapping[str, Mapping[str, float]] | None = None,
        numeric_points: Mapping[str, float] | None = None,
    ) -> None:
        self.event_points = event_points
        self.attribute_points = attribute_points
        self.numeric_points = numeric_points

    def points(self, X: pd.DataFrame) -> np.ndarray:
        """The raw rule score per row (no fitting needed), by the served points model's code
        (``models.points``)."""
        X = _frame(X)
        for column in self.numeric_points or {}:
            if column not in X.columns:
                raise KeyError(f"numeric_points column {column!r} not in the feature table")
        rules = default_rules(
            X.columns, self.event_points, self.attribute_points, self.numeric_points
        )
        features = rules.features
        categorical = [name for name in features if not is_numeric_dtype(X[name].dtype)]
        categories = fit_categories(X, categorical)
        encoded = encode_frame(X, features, categories)
        return points_by_rule(rules, features, encoded, categories).sum(axis=1)

    def fit(self, X: pd.DataFrame, y: Any) -> RuleBasedPoints:
        """Learn the monotone map from points to conversion probability."""
        y_arr = _labels(y)
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self.calibrator_.fit(self.points(X), y_arr)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """[P(lost), P(won)] from the points via the fitted monotone map."""
        return _two_columns(self.calibrator_.predict(self.points(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


def _split_columns(X: pd.DataFrame, exclude: Sequence[str]) -> tuple[list[str], list[str]]:
    """Categorical (text/category/bool) and numeric feature columns, minus ``exclude``."""
    categorical, numeric = [], []
    for column in X.columns:
        if column in exclude:
            continue
        dtype = X[column].dtype
        if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
            categorical.append(column)
        else:
            numeric.append(column)
    return categorical, numeric


class _ToObject(BaseEstimator):
    """Cast categoricals to object strings with a missing marker (OneHotEncoder dislikes mixes)."""

    def fit(self, X: Any, y: Any = None) -> _ToObject:
        return self

    def transform(self, X: Any) -> np.ndarray:
        frame = pd.DataFrame(X)
        return (
            frame.astype(object)
            .where(frame.notna(), "(missing)")
            .astype(str)
            .to_numpy(dtype=object)
        )


class LogisticBaseline(ClassifierMixin, BaseEstimator):
    """Logistic regression on the same features: one-hot categoricals (rare levels pooled,
    unseen levels ignored), numerics median-imputed with missing indicators and scaled."""

    def __init__(
        self,
        exclude: Sequence[str] = ("lead_id", "as_of", "label"),
        C: float = 1.0,
        min_frequency: int = 20,
        max_iter: int = 2000,
    ) -> None:
        self.exclude = exclude
        self.C = C
        self.min_frequency = min_frequency
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: Any) -> LogisticBaseline:
        X = _frame(X)
        categorical, numeric = _split_columns(X, self.exclude)
        if not categorical and not numeric:
            raise ValueError("LogisticBaseline: no feature columns left after exclusions")
        transformers = []
        if categorical:
            encoder = OneHotEncoder(
                handle_unknown="infrequent_if_exist", min_frequency=self.min_frequency
            )
            transformers.append(("cat", make_pipeline(_ToObject(), encoder), categorical))
        if numeric:
            numeric_steps = make_pipeline(
                SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                StandardScaler(),
            )
            transformers.append(("num", numeric_steps, numeric))
        self.pipeline_ = Pipeline(
            [
                ("features", ColumnTransformer(transformers)),
                ("model", LogisticRegression(C=self.C, max_iter=self.max_iter)),
            ]
        )
        self.pipeline_.fit(X, _labels(y))
        self.feature_columns_ = categorical + numeric
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(_frame(X)[self.feature_columns_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


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
        X = _frame(X)
        y_arr = _labels(y)
        categorical, numeric = _split_columns(X, self.exclude)
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
        X = _frame(X)
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
        return _two_columns(1.0 / (1.0 + np.exp(-self.decision_function(X))))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.decision_function(X) >= 0).astype(int)


class DefaultLightGBM(ClassifierMixin, BaseEstimator):
    """``LGBMClassifier()`` with LightGBM's default settings (only the seed and one thread are
    fixed, for reproducible numbers); text, category and boolean columns become pandas
    categories with the training levels (unseen levels are missing)."""

    def __init__(
        self, exclude: Sequence[str] = ("lead_id", "as_of", "label"), seed: int = 0
    ) -> None:
        self.exclude = exclude
        self.seed = seed

    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        out = {}
        for column in self.feature_columns_:
            values = X[column]
            if column in self.levels_:
                text = values.astype(object).where(values.notna(), None)
                out[column] = pd.Categorical(
                    [None if v is None else str(v) for v in text], categories=self.levels_[column]
                )
            else:
                out[column] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return pd.DataFrame(out, index=X.index)

    def fit(self, X: pd.DataFrame, y: Any) -> DefaultLightGBM:
        from lightgbm import LGBMClassifier

        X = _frame(X)
        categorical, numeric = _split_columns(X, self.exclude)
        self.feature_columns_ = categorical + numeric
        self.levels_ = {
            column: sorted(str(v) for v in X[column].dropna().unique()) for column in categorical
        }
        self.model_ = LGBMClassifier(random_state=self.seed, n_jobs=1, verbose=-1)
        self.model_.fit(self._matrix(X), _labels(y))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._matrix(_frame(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
