"""The rule-based points baseline (marketing automation's lead scoring)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression

from evaluation.baselines.inputs import binary_labels, feature_frame, two_columns
from models.encoding import encode_frame, fit_categories
from models.points import default_rules, points_by_rule


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
        X = feature_frame(X)
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
        y_arr = binary_labels(y)
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        self.calibrator_.fit(self.points(X), y_arr)
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """[P(lost), P(won)] from the points via the fitted monotone map."""
        return two_columns(self.calibrator_.predict(self.points(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
