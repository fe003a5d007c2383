"""What every baseline checks and splits its inputs with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def feature_frame(X: Any) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"baselines take a feature DataFrame, got {type(X).__name__}")
    return X


def binary_labels(y: Any) -> np.ndarray:
    y_arr = np.asarray(y, dtype=float).ravel()
    bad = np.flatnonzero(~np.isin(y_arr, (0.0, 1.0)))
    if bad.size:
        raise ValueError(f"label must be 0/1: {bad.size} row(s) are not, e.g. rows {bad[:5]}")
    return y_arr.astype(np.int8)


def two_columns(p1: np.ndarray) -> np.ndarray:
    return np.column_stack([1.0 - p1, p1])


def split_columns(X: pd.DataFrame, exclude: Sequence[str]) -> tuple[list[str], list[str]]:
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
