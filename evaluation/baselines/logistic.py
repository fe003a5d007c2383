"""Logistic regression on the same features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from evaluation.baselines.inputs import binary_labels, feature_frame, split_columns


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
        X = feature_frame(X)
        categorical, numeric = split_columns(X, self.exclude)
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
        self.pipeline_.fit(X, binary_labels(y))
        self.feature_columns_ = categorical + numeric
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline_.predict_proba(feature_frame(X)[self.feature_columns_])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
