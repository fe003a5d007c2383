"""End-to-end training on a small static table: leak excluded, reproducible bytes, minimum
data, bundle round trip, outputs consistent with the SHAP contributions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from features.ingest.activity_tables import empty_events, empty_outcomes
from features.ingest.dataset import Attribute, Dataset
from features.ingest.dataset_config import AttributeType, DatasetConfig, LeadsSource
from features.spec import FeatureParams
from models.bundle import LeadScoreModel
from training.pipeline import train_model
from training.training_config import TrainingConfig
from training.training_set import InsufficientDataError

ATTRS = (
    Attribute("industry", "Industry", AttributeType.categorical),
    Attribute("visits", "Visits", AttributeType.numeric),
    Attribute("noise", "Noise", AttributeType.numeric),
    Attribute("newsletter", "Newsletter", AttributeType.boolean),
    Attribute("tags", "Tags", AttributeType.categorical),
)
FAST = TrainingConfig(num_boost_round=200, early_stopping_rounds=20, cv_folds=0)


def static_dataset(n: int = 2500, seed: int = 0) -> Dataset:
    """Leads whose conversion depends on industry and visits; 'tags' is a sales-filled leak."""
    rng = np.random.default_rng(seed)
    industry = rng.choice(np.array(["saas", "retail", "finance", "gov", None], dtype=object), n)
    effect = pd.Series(industry).map({"saas": 1.5, "finance": 0.5, "retail": -1.0}).fillna(0)
    visits = rng.poisson(3, n).astype(float)
    logit = -1.0 + effect.to_numpy() + 0.6 * (visits - 3)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    tags = np.where(y == 1, "closed won", "lost").astype(object)
    tags[rng.random(n) < 0.3] = None
    leads = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i}" for i in range(n)], dtype="str"),
            "label": y,
            "industry": pd.Series(industry, dtype="str"),
            "visits": visits,
            "noise": rng.normal(size=n),
            "newsletter": (rng.random(n) < 0.5).astype(float),
            "tags": pd.Series(tags, dtype="str"),
        }
    )
    config = DatasetConfig(
        name="synthetic",
        mode="static",
        leads=LeadsSource(
            path="leads.csv",
            columns={"lead_id": "lead_id", "label": "label"},
            attributes={a.source: a.type for a in ATTRS},
            post_outcome=["Lead Grade"],
        ),
    )
    return Dataset(config, leads, empty_events(), empty_outcomes(), ATTRS)


@pytest.fixture(scope="module")
def trained():
    return train_model(static_dataset(), FeatureParams(), FAST, seed=7)


def test_training_excludes_the_leak_and_learns(trained) -> None:
    assert trained.leakage.excluded == ["tags"]
    assert "tags" not in trained.model.features
    assert "Lead Grade" in set(trained.leakage.table()["feature"])
    assert trained.metrics["roc_auc"] > 0.7
    assert trained.model.metadata["holdout_metrics"]["roc_auc"] == trained.metrics["roc_auc"]
    assert trained.fitted.best_iteration < FAST.num_boost_round  # early stopping acted
    assert trained.model.booster.num_trees() == trained.fitted.best_iteration


def test_same_seed_same_bytes_and_metrics(trained) -> None:
    again = train_model(static_dataset(), FeatureParams(), FAST, seed=7)
    assert again.model.booster_text == trained.model.booster_text
    assert again.metrics == trained.metrics
    assert again.model.thresholds == trained.model.thresholds
    other = train_model(static_dataset(), FeatureParams(), FAST, seed=8)
    assert other.model.booster_text != trained.model.booster_text


def test_minimum_data_error_names_counts() -> None:
    config = FAST.model_copy(update={"min_train_positives": 100_000, "cold_start": "refuse"})
    with pytest.raises(
        InsufficientDataError, match=r"training positives: found [\d,]+, need 100,000"
    ):
        train_model(static_dataset(), FeatureParams(), config, seed=7)


def test_cold_start_without_any_points_rule_says_both_reasons() -> None:
    # This static table has no decayed counts and no scored attribute: nothing to serve.
    config = FAST.model_copy(update={"min_train_positives": 100_000})
    with pytest.raises(InsufficientDataError, match=r"need 100,000.*no points rule applies"):
        train_model(static_dataset(), FeatureParams(), config, seed=7)


def test_bundle_round_trip_scores_identically(trained, tmp_path) -> None:
    frame = trained.holdout
    before = trained.model.score_features(frame, explain_k=3)
    trained.model.save(tmp_path / "bundle")
    loaded = LeadScoreModel.load(tmp_path / "bundle")
    pd.testing.assert_frame_equal(loaded.score_features(frame, explain_k=3), before)


def test_outputs_follow_contributions(trained) -> None:
    model = trained.model
    frame = trained.holdout
    out = model.score_features(frame, explain_k=2)
    X = model.encode(frame)
    contribs = model.booster.predict(X, pred_contrib=True)
    raw = contribs.sum(axis=1)
    # Probability is the calibrated booster margin; scores are percentiles, monotone in it.
    order = np.argsort(raw)
    assert np.all(np.diff(out["probability"].to_numpy()[order]) >= -1e-12)
    assert np.all(np.diff(out["score"].to_numpy()[order]) >= 0)
    assert out["score"].between(1, 99).all()
    assert set(out["tier"]) <= {"A", "B", "C", "D"}
    cut = model.thresholds["tiers"]
    assert (out.loc[out["score"] >= cut["A"], "tier"] == "A").all()
    assert (out.loc[out["score"] < cut["C"], "tier"] == "D").all()
    assert (out["sales_ready"] == (out["probability"] >= model.thresholds["sales_ready"])).all()
    # Static datasets only have fit features: fit = 100*sigmoid(sum of SHAP), engagement 50.
    expected_fit = 100 / (1 + np.exp(-contribs[:, :-1].sum(axis=1)))
    np.testing.assert_allclose(out["fit"], np.round(expected_fit, 1))
    assert (out["engagement"] == 50.0).all()
    # Reasons are the two largest |SHAP| features, in order, with matching impacts.
    first = json.loads(out["reasons"].iloc[0])
    top = np.argsort(-np.abs(contribs[0, :-1]))[:2]
    assert [r["feature"] for r in first] == [model.features[i] for i in top]
    assert first[0]["impact"] == pytest.approx(contribs[0, top[0]], abs=1e-4)
    assert first[0]["direction"] == ("up" if contribs[0, top[0]] >= 0 else "down")


def test_unknown_categories_are_nan_and_missing_has_its_own_code(trained) -> None:
    from models.encoding import MISSING

    model = trained.model
    assert model.categories["industry"][-1] == MISSING  # training had missing industries
    frame = trained.holdout.head(20).copy()
    one, other, missing = frame.copy(), frame.copy(), frame.copy()
    one["industry"] = "never seen"
    other["industry"] = "also new"
    missing["industry"] = pd.Series([None] * len(frame), dtype="str", index=frame.index)
    column = model.features.index("industry")
    assert np.isnan(model.encode(one)[:, column]).all()
    assert (model.encode(missing)[:, column] == len(model.categories["industry"]) - 1).all()
    np.testing.assert_array_equal(model.predict_proba(one), model.predict_proba(other))


def test_tuning_is_seeded_and_recorded() -> None:
    dataset = static_dataset(n=1500)
    config = FAST.model_copy(update={"num_boost_round": 60})
    first = train_model(dataset, FeatureParams(), config, seed=5, tune_trials=3, tune_minutes=2)
    again = train_model(dataset, FeatureParams(), config, seed=5, tune_trials=3, tune_minutes=2)
    assert first.tuning["trials_completed"] == 3
    assert first.tuning["best_params"] == again.tuning["best_params"]
    assert first.model.booster_text == again.model.booster_text
    for key, value in first.tuning["best_params"].items():
        assert first.fitted.params[key] == value  # the final model uses the best trial


def _campaign(tmp_path, order_by: str | None):
    from telemarketing_export import write_telemarketing_csv

    from features.ingest.loaders import load_dataset

    write_telemarketing_csv(tmp_path / "campaign.csv", n=3000)
    attributes = {"age": "numeric", "job": "categorical", "housing": "boolean", "loan": "boolean",
                  "contact": "categorical", "balance": "numeric", "campaign": "numeric",
                  "poutcome": "categorical"}  # fmt: skip
    config = DatasetConfig(
        name="campaign", mode="static", order_by=order_by,
        leads=LeadsSource(path="campaign.csv", csv_options={"sep": ";"}, columns={"label": "y"},
                          attributes=attributes, post_outcome=["duration"]),
    )  # fmt: skip
    return load_dataset(config, tmp_path)


def test_rows_in_time_order_are_validated_out_of_time(tmp_path) -> None:
    config = FAST.model_copy(update={"cv_folds": 3})
    ordered = train_model(_campaign(tmp_path, "row"), FeatureParams(), config, seed=7)
    shuffled = train_model(_campaign(tmp_path, None), FeatureParams(), config, seed=7)
    split = ordered.training_set.split
    assert split.kind == "out of time (rows in file order)"
    holdout_ids = split.segments["holdout"]["lead_id"]
    assert holdout_ids.tolist() == [f"row-{i}" for i in range(2551, 3001)]  # the latest rows
    assert shuffled.training_set.split.kind == "random (stratified)"
    # Same rows, same random cross-validation; the later period is harder than a random one.
    assert ordered.cv_auc == shuffled.cv_auc
    assert ordered.metrics["roc_auc"] < shuffled.metrics["roc_auc"]
    rates = split.label_rates()
    assert rates["holdout"] > 1.5 * rates["train"]
    (drift,) = ordered.warnings
    assert drift.startswith(f"the label rate drifts: {rates['train']:.1%} in train")
    assert shuffled.warnings == []
    assert ordered.model.metadata["split_kind"] == split.kind
    assert ordered.model.metadata["generated_ids"] is True
    assert ordered.model.metadata["leakage"][0]["feature"] == "duration"


def test_a_holdout_too_good_to_be_true_is_warned_about() -> None:
    result = train_model(static_dataset(), FeatureParams(), FAST, seed=7, allow_features=["tags"])
    assert result.metrics["roc_auc"] >= 0.9
    assert any(
        w.startswith("holdout ROC-AUC") and "too good to be true" in w for w in result.warnings
    )
    assert "tags" in result.model.features
