"""``train_model``: dataset -> features -> split -> checks -> LightGBM -> calibration -> bundle.

Pure orchestration: no MLflow here (``training.tracking`` records the result), so tests and
notebooks can train in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from features.spec import FeatureParams, FeatureSpec
from features.trainset.splits import Split, label_drift
from models.bundle import LeadScoreModel
from models.calibrator import apply_calibrator
from training.fit_calibration import fit_calibrator
from training.holdout_metrics import holdout_metrics
from training.leakage import LeakageReport, audit_leakage
from training.lightgbm_model import FittedBooster, fit_booster, user_params
from training.recipe import fit_recipe
from training.thresholds import build_thresholds, reference_distribution
from training.training_config import TrainingConfig
from training.training_set import (
    InsufficientDataError,
    TrainingSet,
    build_training_set,
    check_minimum_data,
    dataset_fingerprint,
    segment_keys_hash,
)


@dataclass(frozen=True)
class Seeds:
    """Independent seeds for each random choice, all derived from the one settings seed."""

    split: int
    leakage: int
    booster: int
    cv: int
    tuning: int

    @classmethod
    def from_seed(cls, seed: int) -> Seeds:
        state = np.random.SeedSequence(seed).generate_state(5, dtype=np.uint32)
        return cls(*(int(s) % (2**31 - 1) for s in state))


@dataclass
class TrainResult:
    """The trained bundle plus everything a run should record about it."""

    model: LeadScoreModel
    training_set: TrainingSet
    leakage: LeakageReport
    fitted: FittedBooster | None  # None for a cold-start points model
    metrics: dict[str, float]
    cv_auc: list[float] = field(default_factory=list)
    tuning: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def holdout(self) -> pd.DataFrame:
        return self.training_set.segment("holdout")

    @property
    def example_rows(self) -> pd.DataFrame:
        """Rows to draw input examples from: the holdout, or the latest rows without one."""
        holdout = self.holdout
        return holdout if len(holdout) else self.training_set.table.tail(10)


def train_model(
    dataset: Dataset,
    params: FeatureParams,
    config: TrainingConfig,
    seed: int,
    *,
    allow_features: Iterable[str] = (),
    tune_trials: int = 0,
    tune_minutes: float = 5.0,
    client: Any | None = None,
) -> TrainResult:
    """Train, calibrate and package one model (see DESIGN.md "Training, validation").

    With a ``dask.distributed`` ``client``, features are built and the booster is trained on
    the cluster (``lightgbm.dask``); everything else is the same pipeline.
    """
    seeds = Seeds.from_seed(seed)
    compute = None
    if client is not None:
        if tune_trials > 0:
            raise ValueError("tuning runs locally: use --tune without --engine dask")
        from features.batch.dask_features import compute_features_distributed

        compute = partial(compute_features_distributed, client)
    training_set = build_training_set(dataset, params, config, seeds.split, compute=compute)
    try:
        if training_set.split_problem:
            raise InsufficientDataError(training_set.split_problem)
        check_minimum_data(training_set.split, config)
    except InsufficientDataError as exc:
        if config.cold_start != "points":
            raise
        return _cold_start(dataset, training_set, config, str(exc))
    spec = training_set.spec
    train = training_set.segment("train")
    valid = training_set.segment("valid")
    leakage = audit_leakage(
        train,
        spec,
        config,
        seeds.leakage,
        valid=valid,
        allow=allow_features,
        post_outcome=dataset.config.leads.post_outcome,
    )
    features = [name for name in spec.names if name not in set(leakage.excluded)]
    lgbm_params = dict(config.lgbm_params)
    tuning: dict[str, Any] = {}
    if tune_trials > 0:
        from training.tuning import tune_params

        tuning = tune_params(
            train, valid, features, spec.categorical, config, seeds.tuning,
            trials=tune_trials, minutes=tune_minutes,
        )  # fmt: skip
        lgbm_params.update(tuning["best_params"])
    fit = fit_booster
    if client is not None:
        from training.lightgbm_dask import fit_booster_dask

        fit = partial(fit_booster_dask, client)
    recipe = fit_recipe(
        train, valid, features, spec, config, lgbm_params, seed=seeds.booster,
        horizon_days=params.horizon_days, temporal=not dataset.static, fit=fit,
        choose=client is None and tune_trials == 0,
    )  # fmt: skip
    fitted = recipe.fitted
    features = list(fitted.features)
    lgbm_params = user_params(fitted.params)  # what CV refits with
    model = package_model(fitted, spec, training_set, config)
    holdout = training_set.segment("holdout")
    metrics = holdout_metrics(holdout[c.LABEL].to_numpy(), model.predict_proba(holdout))
    cv_auc: list[float] = []
    if dataset.static and config.cv_folds >= 2:
        cv_auc = cross_validated_auc(
            training_set.table, features, spec.categorical, lgbm_params, config, seeds.cv
        )
        metrics["cv_roc_auc"] = float(np.mean(cv_auc))
    fingerprint = dataset_fingerprint(dataset)
    warnings = validation_warnings(metrics["roc_auc"], training_set.split, config)
    model.metadata.update(
        {
            "trained_at": datetime.now(UTC).isoformat(),
            "holdout_metrics": metrics,
            "holdout_keys_sha256": segment_keys_hash(holdout),
            "dataset": dataset.config.name,
            "dataset_fingerprint": fingerprint,
            "best_iteration": fitted.best_iteration,
            "refit_with_valid": recipe.fit_segments == ["train", "valid"],
            "fit_segments": recipe.fit_segments,
            "lgbm_params": lgbm_params,
            "recipe": recipe.choice,
            "excluded_features": leakage.excluded,
            "leakage": leakage.records(),
            "excluded_time_like": recipe.excluded_time_like,
            "split": training_set.split.summary(),
            "split_kind": training_set.split.kind,
            "generated_ids": dataset.config.generated_ids,
            "warnings": warnings,
            "engine": "local" if client is None else "dask",
        }
    )
    return TrainResult(
        model, training_set, leakage, fitted, metrics, cv_auc, tuning, fingerprint, warnings
    )


def validation_warnings(holdout_auc: float, split: Split, config: TrainingConfig) -> list[str]:
    """What a reader of the validation must not miss: a holdout AUC too good to be true for
    lead scoring (a leak the audit did not catch is the likeliest cause), and a label rate that
    drifts between the training segment and the holdout."""
    warnings = []
    if holdout_auc >= config.too_good_auc:
        warnings.append(
            f"holdout ROC-AUC {holdout_auc:.3f} is too good to be true for lead scoring (at "
            f"least {config.too_good_auc}): look for a column filled in after the outcome that "
            "the leakage audit did not catch, and declare it post_outcome"
        )
    drift = label_drift(split)
    if drift:
        warnings.append(drift)
    return warnings


def _cold_start(
    dataset: Dataset, training_set: TrainingSet, config: TrainingConfig, reason: str
) -> TrainResult:
    """The points model in a TrainResult (no booster, no audit: rules use no label)."""
    from training.cold_start import build_points_model

    try:
        model, metrics = build_points_model(training_set, config, reason)
    except ValueError as exc:
        raise InsufficientDataError(f"{reason}; {exc}") from exc
    holdout = training_set.segment("holdout")
    fingerprint = dataset_fingerprint(dataset)
    model.metadata.update(
        {
            "trained_at": datetime.now(UTC).isoformat(),
            "holdout_metrics": metrics,
            "holdout_keys_sha256": segment_keys_hash(holdout),
            "dataset": dataset.config.name,
            "dataset_fingerprint": fingerprint,
            "split": training_set.split.summary(),
            "engine": "local",
        }
    )
    return TrainResult(model, training_set, LeakageReport(()), None, metrics, [], {}, fingerprint)


def package_model(
    fitted: FittedBooster, spec: FeatureSpec, training_set: TrainingSet, config: TrainingConfig
) -> LeadScoreModel:
    """Calibrate on the calibration slice and bundle booster, spec and thresholds."""
    calibration = training_set.segment("calibration")
    raw = fitted.booster.predict(
        _encode(calibration, fitted), raw_score=True, num_threads=config.num_threads
    )
    y = calibration[c.LABEL].to_numpy()
    calibrator = fit_calibrator(raw, y, config.calibration)
    probability = apply_calibrator(calibrator, raw)
    return LeadScoreModel(
        spec=spec,
        features=list(fitted.features),
        categories=fitted.categories,
        booster_text=fitted.model_text,
        calibrator=calibrator,
        reference=reference_distribution(probability),
        thresholds=build_thresholds(probability, y, config),
        metadata={"explain_k": config.explain_k},
    )


def cross_validated_auc(
    table: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    lgbm_params: dict[str, Any],
    config: TrainingConfig,
    seed: int,
) -> list[float]:
    """Static mode: stratified k-fold ROC-AUC; each fold early-stops on 15 % of its training
    part, so no fold sees its test rows before scoring them."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, train_test_split

    y = table[c.LABEL].to_numpy()
    folds = StratifiedKFold(config.cv_folds, shuffle=True, random_state=seed)
    scores = []
    for fold_train, fold_test in folds.split(np.zeros(len(y)), y):
        inner, stop = train_test_split(
            fold_train, test_size=0.15, stratify=y[fold_train], random_state=seed
        )
        fitted = fit_booster(
            table.iloc[inner], table.iloc[stop], features, categorical, lgbm_params,
            seed=seed, num_threads=config.num_threads,
            num_boost_round=config.num_boost_round,
            early_stopping_rounds=config.early_stopping_rounds,
        )  # fmt: skip
        test = table.iloc[fold_test]
        raw = fitted.booster.predict(_encode(test, fitted), raw_score=True)
        scores.append(float(roc_auc_score(y[fold_test], raw)))
    return scores


def _encode(frame: pd.DataFrame, fitted: FittedBooster) -> np.ndarray:
    from models.encoding import encode_frame

    return encode_frame(frame, fitted.features, fitted.categories)
