"""LightGBM fitting: native categoricals, early stopping, reproducible bytes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.encoding import encode_frame, fit_categories

# Fixed so that one seed and one dataset give byte-identical models.
_DETERMINISM = {
    "objective": "binary",
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
}


@dataclass(frozen=True)
class FittedBooster:
    """A trained booster (truncated at its best iteration) and what it was trained on."""

    booster: Any
    features: list[str]
    categories: dict[str, list[str]]
    best_iteration: int
    params: dict[str, Any]

    @property
    def model_text(self) -> str:
        return self.booster.model_to_string()


def booster_params(params: Mapping[str, Any], seed: int, num_threads: int) -> dict[str, Any]:
    """User parameters plus the fixed determinism settings and the one seed."""
    return {**params, **_DETERMINISM, "seed": seed, "num_threads": num_threads}


def user_params(full: Mapping[str, Any]) -> dict[str, Any]:
    """The modelling parameters of a fitted booster's params (the fixed determinism
    settings, seed and threads taken out: ``booster_params`` adds them back)."""
    fixed = {*_DETERMINISM, "seed", "num_threads"}
    return {key: value for key, value in full.items() if key not in fixed}


def fit_booster(
    train: pd.DataFrame,
    valid: pd.DataFrame | None,
    features: Sequence[str],
    categorical: Sequence[str],
    params: Mapping[str, Any],
    *,
    seed: int,
    num_threads: int,
    num_boost_round: int,
    early_stopping_rounds: int,
    label: str = "label",
    weight: np.ndarray | None = None,
) -> FittedBooster:
    """Train on ``train`` with early stopping on ``valid`` (``None``: exactly
    ``num_boost_round`` rounds); categories mapped from ``train``; ``weight`` per training
    row (e.g. recency weights), uniform when ``None``."""
    import lightgbm as lgb

    features = list(features)
    categorical = [name for name in categorical if name in features]
    categories = fit_categories(train, categorical)
    full = booster_params(params, seed, num_threads)
    cat_index = [features.index(name) for name in categorical]
    dtrain = lgb.Dataset(
        encode_frame(train, features, categories),
        label=train[label].to_numpy(dtype=np.float64),
        weight=weight,
        feature_name=features,
        categorical_feature=cat_index,
        free_raw_data=True,
        params={"verbosity": -1},
    )
    if valid is None:
        booster = lgb.train(full, dtrain, num_boost_round=num_boost_round)
    else:
        dvalid = lgb.Dataset(
            encode_frame(valid, features, categories),
            label=valid[label].to_numpy(dtype=np.float64),
            reference=dtrain,
        )
        booster = lgb.train(
            full,
            dtrain,
            num_boost_round=num_boost_round,
            valid_sets=[dvalid],
            valid_names=["valid"],
            callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
        )
    best = booster.best_iteration or booster.current_iteration()
    # Keep only the trees early stopping chose, so the stored text is the served model.
    trimmed = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
    return FittedBooster(trimmed, features, categories, int(best), full)
