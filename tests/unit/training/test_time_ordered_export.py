"""A static export whose rows are in time order, cut in time (train on the first rows, judge on
the last): the recipe must not lose to a logistic regression or to a default LGBMClassifier()
fitted on the same rows, and must beat the old recipe (early stopping on one slice, fit on the
oldest rows only). The export is made by ``time_ordered_export`` (drift, a running lead
number)."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from time_ordered_export import ATTRIBUTES, time_ordered_export


@pytest.fixture(scope="module")
def cut_in_time(tmp_path_factory):
    from features.ingest.dataset_config import DatasetConfig
    from features.ingest.loaders import load_dataset
    from features.spec import FeatureParams
    from features.trainset.feature_table import build_feature_table, feature_spec_for

    folder = tmp_path_factory.mktemp("export")
    time_ordered_export().to_csv(folder / "export.csv", index=False)
    config = DatasetConfig(
        name="timed_export", mode="static",
        leads={"path": "export.csv", "columns": {"lead_id": "Lead ID", "label": "Converted"},
               "attributes": ATTRIBUTES},
    )  # fmt: skip
    dataset = load_dataset(config, folder)
    spec = feature_spec_for(dataset, FeatureParams())
    table = build_feature_table(dataset, FeatureParams(), spec=spec)
    n = len(table)
    train, valid = table.iloc[: int(0.6 * n)], table.iloc[int(0.6 * n) : int(0.75 * n)]
    holdout = table.iloc[int(0.85 * n) :]  # the last rows, after a gap
    return spec, train.reset_index(drop=True), valid.reset_index(drop=True), holdout


def _auc(fitted, holdout) -> float:
    from models.encoding import encode_frame

    raw = fitted.booster.predict(encode_frame(holdout, fitted.features, fitted.categories))
    return float(roc_auc_score(holdout["label"], raw))


def test_recipe_holds_up_on_the_later_rows(cut_in_time) -> None:
    from evaluation.baselines import DefaultLightGBM, LogisticBaseline
    from training.recipe import fit_recipe
    from training.training_config import TrainingConfig

    spec, train, valid, holdout = cut_in_time
    config = TrainingConfig()
    features = spec.names
    recipe = fit_recipe(
        train, valid, features, spec, config, dict(config.lgbm_params), seed=1,
        horizon_days=90, temporal=False,
    )  # fmt: skip
    # The running lead number says when, not who: every later row lies beyond the training range.
    assert recipe.excluded_time_like == ["lead_number"]
    assert recipe.fit_segments == ["train", "valid"]
    rows = pd.concat([train, valid], ignore_index=True)
    y = holdout["label"]
    lr = LogisticBaseline().fit(rows[features], rows["label"]).predict_proba(holdout[features])
    default = DefaultLightGBM().fit(rows[features], rows["label"])
    lr_auc = roc_auc_score(y, lr[:, 1])
    default_auc = roc_auc_score(y, default.predict_proba(holdout[features])[:, 1])
    old = config.model_copy(update={"validation": "valid_slice", "monotone": False})
    before = fit_recipe(
        train, valid, features, spec, old, dict(config.lgbm_params), seed=1, horizon_days=90,
        temporal=False,
    )  # fmt: skip
    auc, old_auc = _auc(recipe.fitted, holdout), _auc(before.fitted, holdout)
    print(f"later rows: recipe {auc:.4f}, old recipe {old_auc:.4f}, LR {lr_auc:.4f}, "
          f"default LGBMClassifier {default_auc:.4f}")  # fmt: skip
    assert auc >= old_auc + 0.01
    assert auc >= default_auc
    # The truth is a logistic model: LR is the right family; the trees must come within noise.
    assert auc >= lr_auc - 0.005
