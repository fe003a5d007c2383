"""The training recipe: which rows, which parameters and how many rounds (see DESIGN.md
"Training, validation"), chosen on the development periods (train + valid) only.

``rolling_origin`` (the default): drop time-like features, choose among
``config.candidate_params`` and the number of rounds by rolling-origin validation over the
development periods (``training.rolling_validation``), keep monotone constraints where the
direction is known, and fit the final booster on every development row, the latest included.
``valid_slice`` (and any Dask or tuned run): early stopping on the valid slice, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from features.spec import FeatureSpec
from training.drift_guards import monotone_constraints, time_like_features
from training.lightgbm_model import FittedBooster, fit_booster
from training.rolling_validation import choose_by_validation, rolling_folds
from training.training_config import TrainingConfig


@dataclass
class RecipeResult:
    """The fitted booster, the rows it learnt from and what was chosen on the way."""

    fitted: FittedBooster
    fit_segments: list[str]
    excluded_time_like: list[str] = field(default_factory=list)
    choice: dict[str, Any] = field(default_factory=dict)


def fit_recipe(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: list[str],
    spec: FeatureSpec,
    config: TrainingConfig,
    lgbm_params: dict[str, Any],
    *,
    seed: int,
    horizon_days: int,
    temporal: bool,
    fit: Callable[..., FittedBooster] = fit_booster,
    choose: bool = True,
) -> RecipeResult:
    """Fit the booster by ``config.validation`` (``choose=False``: the valid-slice recipe
    with ``lgbm_params`` as given, e.g. after tuning or on Dask)."""
    categorical = spec.categorical
    if config.validation == "valid_slice" or not choose:
        fitted = fit(
            train, valid, features, categorical, lgbm_params,
            seed=seed, num_threads=config.num_threads, num_boost_round=config.num_boost_round,
            early_stopping_rounds=config.early_stopping_rounds,
        )  # fmt: skip
        if not config.refit_with_valid:
            return RecipeResult(fitted, ["train"])
        refit = fit(
            pd.concat([train, valid], ignore_index=True), None, features, categorical,
            lgbm_params, seed=seed, num_threads=config.num_threads,
            num_boost_round=fitted.best_iteration, early_stopping_rounds=1,
        )  # fmt: skip
        best = fitted.best_iteration
        return RecipeResult(
            FittedBooster(refit.booster, refit.features, refit.categories, best, refit.params),
            ["train", "valid"],
        )
    time_like = time_like_features(train, valid, spec, features)
    features = [name for name in features if name not in time_like]
    base = dict(lgbm_params)
    if config.monotone:
        base["monotone_constraints"] = monotone_constraints(spec, features)
    development = pd.concat([train, valid], ignore_index=True)
    folds = [
        (development.iloc[a], development.iloc[b], None)
        for a, b in (
            rolling_folds(development, horizon_days, config.rolling_folds) if temporal else []
        )
    ] or [(train, valid, None)]
    candidates = [{**base, **overrides} for overrides in config.candidate_params] or [base]
    tuned = config.model_copy(update={"lgbm_params": {}})
    choice = choose_by_validation(folds, features, categorical, candidates, tuned, seed)
    fitted = fit(
        development, None, features, categorical, choice.params,
        seed=seed, num_threads=config.num_threads, num_boost_round=choice.rounds,
        early_stopping_rounds=1,
    )  # fmt: skip
    summary = {
        "folds": choice.folds,
        "rounds": choice.rounds,
        "validation_roc_auc": choice.valid_auc,
        "candidates": [
            {**c, "params": {k: v for k, v in c["params"].items() if k != "monotone_constraints"}}
            for c in choice.candidates
        ],
    }
    return RecipeResult(fitted, ["train", "valid"], time_like, summary)
