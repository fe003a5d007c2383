"""Optional Optuna tuning of the LightGBM parameters within a trial and time budget.

Each trial trains with early stopping on the valid slice and is scored by valid ROC-AUC; the
calibration and holdout slices are never seen, so the holdout stays an honest estimate. The
sampler is seeded (TPE), trials run sequentially with fixed threads: same seed, same trials —
unless the time budget cuts the study short, which is logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from training.lightgbm_model import fit_booster
from training.training_config import TrainingConfig


def tune_params(
    train: pd.DataFrame,
    valid: pd.DataFrame,
    features: Sequence[str],
    categorical: Sequence[str],
    config: TrainingConfig,
    seed: int,
    *,
    trials: int,
    minutes: float,
) -> dict[str, Any]:
    """Best parameters found (merged over ``config.lgbm_params`` by the caller) and the trials."""
    import optuna
    from sklearn.metrics import roc_auc_score

    from models.encoding import encode_frame

    y_valid = valid["label"].to_numpy()

    def objective(trial: optuna.Trial) -> float:
        params = {
            **config.lgbm_params,
            "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.1, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 10, 200, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
            "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 50.0, log=True),
        }
        fitted = fit_booster(
            train, valid, features, categorical, params,
            seed=seed, num_threads=config.num_threads,
            num_boost_round=config.num_boost_round,
            early_stopping_rounds=config.early_stopping_rounds,
        )  # fmt: skip
        raw = fitted.booster.predict(
            encode_frame(valid, fitted.features, fitted.categories), raw_score=True
        )
        trial.set_user_attr("best_iteration", fitted.best_iteration)
        return float(roc_auc_score(y_valid, raw))

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=trials, timeout=minutes * 60.0)
    done = [t for t in study.trials if t.value is not None]
    return {
        "best_params": dict(study.best_params),
        "best_valid_roc_auc": float(study.best_value),
        "trials_requested": trials,
        "trials_completed": len(done),
        "stopped_by_time_budget": len(done) < trials,
        "trials": [{"number": t.number, "value": t.value, "params": t.params} for t in done],
        "valid_roc_auc_spread": float(np.ptp([t.value for t in done])) if done else 0.0,
    }
