"""X Education (static, real): Tags found by the audit alone; CV ROC-AUC >= 0.87 without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(datasets):
    from features.ingest.dataset_config import load_config
    from features.ingest.loaders import load_dataset
    from training.pipeline import train_model
    from training.training_config import TrainingConfig
    from training.training_set import feature_params

    dataset = load_dataset(load_config("xeducation"), datasets)
    return dataset, train_model(dataset, feature_params(dataset, 90, 30), TrainingConfig(), 42)


def test_audit_finds_tags_alone(trained) -> None:
    dataset, result = trained
    assert result.leakage.excluded == ["tags"]
    findings = {f.feature: f for f in result.leakage.findings}
    tags = findings["tags"]
    # Caught three ways: alone where populated, by its name, and by what the model makes of it.
    assert tags.auc_populated >= 0.95
    assert "name has 'tags'" in tags.reason and "the model leans on it" in tags.reason
    assert tags.auc_with >= 0.95 and tags.auc_without < 0.9
    # The strongest honest feature stays in, though the model leans on it most.
    time_on_site = findings["total_time_spent_on_website"]
    assert not time_on_site.excluded and time_on_site.reason == ""
    assert time_on_site.auc_with - time_on_site.auc_without > 0.04
    assert result.warnings == []  # honest: not too good, and no drift
    # Every other leaky column of the README is declared post-outcome, hence reported.
    declared = set(result.leakage.table()["feature"]) - {"tags"}
    assert declared == set(dataset.config.leads.post_outcome)
    assert len(declared) == 8


def test_validated_out_of_time_by_lead_number(trained) -> None:
    dataset, result = trained
    split = result.training_set.split
    assert split.kind == "out of time (by Lead Number)"
    numbers = dataset.leads.set_index("lead_id")["order_key"]
    train_last = numbers[split.segments["train"]["lead_id"]].max()
    assert train_last < numbers[split.segments["holdout"]["lead_id"]].min()


def test_cross_validated_auc_reaches_target(trained) -> None:
    _, result = trained
    print(f"X Education: CV ROC-AUC {np.mean(result.cv_auc):.4f} folds {result.cv_auc}")
    print(f"X Education: holdout {result.metrics}")
    assert np.mean(result.cv_auc) >= 0.87
    assert result.metrics["roc_auc"] >= 0.85


def test_beats_logistic_regression_on_the_same_features(trained) -> None:
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    from evaluation.baselines import DefaultLightGBM, LogisticBaseline
    from training.pipeline import Seeds

    _, result = trained
    columns = result.model.features
    # On the same five folds as the model's cross-validation: it beats LR on every one.
    table = result.training_set.table
    y = table["label"].to_numpy()
    folds = StratifiedKFold(5, shuffle=True, random_state=Seeds.from_seed(42).cv)
    lr_cv = []
    for fit_rows, test_rows in folds.split(table, y):
        baseline = LogisticBaseline().fit(table.iloc[fit_rows][columns], y[fit_rows])
        p = baseline.predict_proba(table.iloc[test_rows][columns])[:, 1]
        lr_cv.append(roc_auc_score(y[test_rows], p))
    print(f"X Education CV: LightGBM {np.round(result.cv_auc, 4)} vs LR {np.round(lr_cv, 4)}")
    assert all(ours > theirs for ours, theirs in zip(result.cv_auc, lr_cv, strict=True))
    # On the out-of-time holdout (the latest 1,386 leads; an AUC's standard error there is
    # ~0.009), it is at least LR and the default LGBMClassifier up to a hundredth. The
    # baselines learn from the rows the booster learnt from.
    segments = result.model.metadata["fit_segments"]
    train = pd.concat([result.training_set.segment(name) for name in segments])
    holdout = result.holdout
    baseline = LogisticBaseline().fit(train[columns], train["label"])
    lr_auc = roc_auc_score(holdout["label"], baseline.predict_proba(holdout[columns])[:, 1])
    default = DefaultLightGBM().fit(train[columns], train["label"])
    default_auc = roc_auc_score(holdout["label"], default.predict_proba(holdout[columns])[:, 1])
    print(
        f"X Education holdout: LightGBM {result.metrics['roc_auc']:.4f} vs LR {lr_auc:.4f}, "
        f"default LGBMClassifier {default_auc:.4f}"
    )
    assert result.metrics["roc_auc"] >= lr_auc - 0.01
    assert result.metrics["roc_auc"] >= default_auc - 0.01
