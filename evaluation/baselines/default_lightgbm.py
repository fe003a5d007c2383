"""LightGBM with its default settings: what anyone would try first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from evaluation.baselines.inputs import binary_labels, feature_frame, split_columns


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

        X = feature_frame(X)
        categorical, numeric = split_columns(X, self.exclude)
        self.feature_columns_ = categorical + numeric
        self.levels_ = {
            column: sorted(str(v) for v in X[column].dropna().unique()) for column in categorical
        }
        self.model_ = LGBMClassifier(random_state=self.seed, n_jobs=1, verbose=-1)
        self.model_.fit(self._matrix(X), binary_labels(y))
        self.classes_ = np.array([0, 1])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._matrix(feature_frame(X)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)
