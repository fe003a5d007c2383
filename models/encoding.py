"""Feature frames / rows -> the float matrix the booster reads, with stored category mappings.

Categories are coded by their position in the sorted list of values seen in the training
slice; unknown values map to NaN, which LightGBM routes as missing. Missing is different: when
the training slice has missing values in a column, missing gets its own category
(:data:`MISSING`), because "not answered" is often informative (Olist's unknown origin,
X Education's "Select") and LightGBM can only send NaN to the "other" side of a categorical
split, never isolate it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

MISSING = "\x00missing"  # cannot collide with a real CRM value


def fit_categories(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """Sorted distinct non-missing values of each categorical column (the training slice)."""
    out = {}
    for name in columns:
        values = sorted(str(v) for v in frame[name].dropna().unique().tolist())
        out[name] = [*values, MISSING] if frame[name].isna().any() else values
    return out


def encode_frame(
    frame: pd.DataFrame, features: Sequence[str], categories: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """(rows, features) float64 matrix: numeric as is, categoricals as codes (unknown -> NaN)."""
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise ValueError(f"feature frame lacks model features: {missing[:10]}")
    out = np.empty((len(frame), len(features)), dtype=np.float64)
    for j, name in enumerate(features):
        column = frame[name]
        if name in categories:
            values = column.astype("object")
            if MISSING in categories[name]:
                values = values.where(values.notna(), MISSING)
            codes = pd.Categorical(values, categories=categories[name]).codes
            out[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            try:
                out[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                bad = column[pd.to_numeric(column, errors="coerce").isna() & column.notna()]
                raise ValueError(
                    f"feature {name!r}: expected numbers, got e.g. {bad.head(3).tolist()}"
                ) from exc
    return out


class RowEncoder:
    """Encodes feature dicts (the online engine's output) without building a DataFrame."""

    def __init__(self, features: Sequence[str], categories: Mapping[str, Sequence[str]]) -> None:
        self.features = list(features)
        self._lookup = {
            name: {value: float(i) for i, value in enumerate(values)}
            for name, values in categories.items()
        }
        # Code of missing per column (NaN when training never saw it missing).
        self._missing = {name: lookup.get(MISSING, np.nan) for name, lookup in self._lookup.items()}

    def encode(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """(len(rows), features) float64 matrix; same coding as :func:`encode_frame`."""
        out = np.empty((len(rows), len(self.features)), dtype=np.float64)
        nan = np.nan
        for j, name in enumerate(self.features):
            lookup = self._lookup.get(name)
            if lookup is None:
                for i, row in enumerate(rows):
                    value = row[name]
                    out[i, j] = nan if value is None else float(value)
            else:
                missing = self._missing[name]
                for i, row in enumerate(rows):
                    value = row[name]
                    out[i, j] = missing if value is None else lookup.get(str(value), nan)
        return out
