"""Olist funnel (temporal, real): honest out-of-time ROC-AUC, at least a logistic regression."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

TRAINING_CONFIG = Path(__file__).resolve().parents[2] / "training" / "configs" / "olist.yaml"

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(datasets):
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from training.pipeline import train_model
    from training.training_config import load_training_config
    from training.training_set import feature_params

    dataset = load_dataset(load_config("olist"), datasets)
    config = load_training_config(TRAINING_CONFIG)
    return train_model(dataset, feature_params(dataset, 90, 30), config, 42)


def test_holdout_is_later_than_training(trained) -> None:
    segments = trained.training_set.split.segments
    train_end = max(segments[n]["as_of"].max() for n in ("train", "valid", "calibration"))
    holdout_start = segments["holdout"]["as_of"].min()
    # Purged: every training label window closes before the holdout starts.
    assert train_end + pd.Timedelta(days=90) <= holdout_start
    assert trained.leakage.excluded == []


def test_out_of_time_auc_at_least_logistic_regression(trained) -> None:
    from sklearn.metrics import roc_auc_score

    from evaluation.baselines import LogisticBaseline

    # The baseline sees the rows the final booster was fit on (train + valid after refit).
    segments = trained.training_set.split.segments
    train = pd.concat([segments["train"], segments["valid"]])
    holdout = trained.holdout
    columns = trained.model.features
    baseline = LogisticBaseline().fit(train[columns], train["label"])
    lr_auc = roc_auc_score(holdout["label"], baseline.predict_proba(holdout[columns])[:, 1])
    auc = trained.metrics["roc_auc"]
    print(f"Olist out-of-time ROC-AUC: LightGBM {auc:.4f} vs LR {lr_auc:.4f} ({trained.metrics})")
    assert 0.5 < auc < 0.9
    # One real feature (origin) and 65 holdout conversions: the AUC's standard error is ~0.035,
    # so "at least LR" is checked up to a hundredth (measured: see the report / -s output).
    assert auc >= lr_auc - 0.01


@pytest.mark.parametrize("n_cutoffs", [3, 4, 6])
def test_rolling_origin_auc_at_least_logistic_regression(trained, n_cutoffs) -> None:
    from evaluation.backtest import rolling_origin_backtest
    from leadscore.commands.evaluate import refit_at_cutoffs
    from training.training_config import load_training_config

    # The holdout's 65 wins are decided by where two origins of 7 and 8 MQLs rank; later
    # periods, each refit on the deals closed before it, are the sturdier comparison. Cut-offs
    # whose training rows predate the first recorded deal (Dec 2017) are skipped, so 3, 4 and
    # 6 cut-offs test on 2, 2 and 4 periods: the claim must hold for every such design.
    config = load_training_config(TRAINING_CONFIG)
    table = rolling_origin_backtest(
        trained.training_set.table, 90, refit_at_cutoffs(trained.model, config),
        n_cutoffs=n_cutoffs,
    )  # fmt: skip
    auc = table.pivot_table(index="cutoff", columns="model", values="roc_auc")
    print(f"Olist rolling-origin ROC-AUC ({n_cutoffs} cut-offs):\n{auc.round(4).to_string()}")
    assert len(auc) >= 2 and table["test_wins"].min() >= 100
    assert auc["leadscore (LightGBM)"].mean() >= auc["logistic regression"].mean()
    assert auc["leadscore (LightGBM)"].mean() >= auc["default LightGBM (LGBMClassifier())"].mean()
