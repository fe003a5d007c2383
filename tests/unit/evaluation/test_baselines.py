"""Baselines: rule points, logistic regression, naive-Bayes frequency and the comparison table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from evaluation.baselines import LogisticBaseline, NaiveBayesFrequency, RuleBasedPoints
from evaluation.comparison import compare_models
from evaluation.metrics import classification_metrics


def _features(n: int = 3000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A feature table where demo requests and seniority drive conversion."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    demo = rng.poisson(0.3, n) * rng.random(n)
    visits = rng.poisson(3, n) * rng.random(n)
    seniority = rng.choice(np.array(["c_level", "manager", "individual_contributor"]), n)
    logit = -2.5 + 2.0 * demo + 0.2 * visits + np.where(seniority == "c_level", 1.0, 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    X = pd.DataFrame(
        {
            "lead_id": pd.Series([f"L{i}" for i in range(n)], dtype="str"),
            "decay_demo_request": demo,
            "decay_web_visit": visits,
            "seniority": pd.Series(seniority, dtype="str"),
            "industry": pd.Series(rng.choice(np.array(["saas", "retail", None]), n), dtype="str"),
        }
    )
    return X, y


def test_rule_points_rank_demo_request_above_none() -> None:
    X = pd.DataFrame(
        {"decay_demo_request": [1.0, 0.0], "decay_web_visit": [0.0, 3.0], "seniority": ["vp", "vp"]}
    )
    points = RuleBasedPoints().points(X)
    assert points[0] == pytest.approx(50 + 15) and points[1] == pytest.approx(2 * 3 + 15)
    assert points[0] > points[1]


def test_rule_points_custom_tables_missing_and_unknown_values() -> None:
    model = RuleBasedPoints(
        event_points={"email_click": 4.0, "unsubscribe": -30.0},
        attribute_points={"company_size": {"5000+": 7.0}},
    )
    X = pd.DataFrame(
        {
            "decay_email_click": [2.0, np.nan, 0.0],
            "decay_unsubscribe": [0.0, 0.0, 1.0],
            "company_size": pd.Series(["5000+", None, "1-10"], dtype="str"),
        }
    )
    assert model.points(X).tolist() == pytest.approx([8 + 7, 0.0, -30.0])


def test_rule_points_static_mode_uses_numeric_points() -> None:
    X = pd.DataFrame({"total_visits": [1.0, 5.0], "lead_source": ["web", "web"]})
    model = RuleBasedPoints(attribute_points={}, numeric_points={"total_visits": 2.0})
    assert model.points(X).tolist() == [2.0, 10.0]
    with pytest.raises(KeyError, match="pages_viewed"):
        RuleBasedPoints(numeric_points={"pages_viewed": 1.0}).points(X)


def test_rule_points_fit_is_monotone_so_auc_comes_from_rules() -> None:
    X, y = _features()
    model = RuleBasedPoints().fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    points = model.points(X)
    order = np.argsort(points, kind="stable")
    assert np.all(np.diff(proba[order, 1]) >= -1e-12)  # never reverses the rule ranking
    assert classification_metrics(y, proba[:, 1])["roc_auc"] > 0.65
    assert clone(model).get_params()["event_points"] is None


def test_logistic_baseline_learns_and_ignores_unseen_categories() -> None:
    X, y = _features()
    model = LogisticBaseline().fit(X, y)
    auc = classification_metrics(y, model.predict_proba(X)[:, 1])["roc_auc"]
    assert auc > 0.7
    new = X.head(3).copy()
    new["seniority"] = pd.Series(["astronaut", None, "c_level"], dtype="str")
    new.loc[0, "decay_web_visit"] = np.nan
    proba = model.predict_proba(new)
    assert proba.shape == (3, 2) and np.all(np.isfinite(proba))
    assert "lead_id" not in model.feature_columns_


def test_naive_bayes_matches_hand_computed_log_odds() -> None:
    X = pd.DataFrame(
        {"source": pd.Series(["web", "web", "web", "partner", "partner"], dtype="str")}
    )
    y = np.array([1, 0, 0, 1, 1])
    model = NaiveBayesFrequency(alpha=1.0).fit(X, y)
    # 3 won, 2 lost; levels {web, partner} + 1 unseen slot -> k = 3.
    prior = np.log(3 / 2)
    web = np.log((1 + 1) / (3 + 3)) - np.log((2 + 1) / (2 + 3))
    partner = np.log((2 + 1) / (3 + 3)) - np.log((0 + 1) / (2 + 3))
    unseen = np.log(1 / (3 + 3)) - np.log(1 / (2 + 3))
    test = pd.DataFrame({"source": pd.Series(["web", "partner", "event"], dtype="str")})
    assert model.decision_function(test) == pytest.approx(
        [prior + web, prior + partner, prior + unseen]
    )
    proba = model.predict_proba(test)[:, 1]
    assert proba[1] == pytest.approx(1 / (1 + np.exp(-(prior + partner))))


def test_naive_bayes_bins_numerics_with_training_quantiles() -> None:
    X = pd.DataFrame({"visits": [0.0, 1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 40.0, np.nan, np.nan]})
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    model = NaiveBayesFrequency(n_bins=2).fit(X, y)
    assert model.edges_["visits"].tolist() == [6.5]  # median of the known values
    scores = model.decision_function(pd.DataFrame({"visits": [1000.0, -5.0, np.nan]}))
    assert scores[0] > scores[2] > scores[1]


def test_naive_bayes_rejects_single_class_and_missing_columns() -> None:
    X = pd.DataFrame({"a": ["x", "y"]})
    with pytest.raises(ValueError, match="both won and lost"):
        NaiveBayesFrequency().fit(X, [1, 1])
    model = NaiveBayesFrequency().fit(X, [1, 0])
    with pytest.raises(KeyError, match="'a'"):
        model.decision_function(pd.DataFrame({"b": ["x"]}))


def test_compare_models_table() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(9))
    truth = rng.beta(1, 6, 5000)
    y = (rng.random(5000) < truth).astype(int)
    noisy = np.clip(truth + rng.normal(0, 0.1, 5000), 0, 1)
    points = truth * 100  # raw points: not probabilities
    tiers = np.where(truth > np.quantile(truth, 0.9), "A", "D")
    table = compare_models(
        y, {"oracle": truth, "noisy": noisy, "points": points}, {"oracle": tiers}
    )
    by = table.set_index("model")
    assert by.loc["oracle", "roc_auc"] > by.loc["noisy", "roc_auc"]
    assert by.loc["oracle", "roc_auc"] == pytest.approx(by.loc["points", "roc_auc"])
    assert np.isnan(by.loc["points", "brier"]) and not by.loc["points", "probabilities"]
    assert by.loc["oracle", "top_tier_conversion"] == pytest.approx(y[tiers == "A"].mean())
    assert np.isnan(by.loc["noisy", "top_tier_conversion"])
    assert by.loc["oracle", "top_decile_lift"] > 2


def test_compare_models_reports_the_reference_gain_with_an_interval() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(10))
    truth = rng.beta(1, 6, 5000)
    y = (rng.random(5000) < truth).astype(int)
    noisy = np.clip(truth + rng.normal(0, 0.2, 5000), 0, 1)
    table = compare_models(y, {"oracle": truth, "noisy": noisy}, reference="oracle")
    by = table.set_index("model")
    gain = by.loc["noisy", "reference_auc_gain"]
    assert gain == pytest.approx(by.loc["oracle", "roc_auc"] - by.loc["noisy", "roc_auc"])
    assert 0 < by.loc["noisy", "reference_auc_gain_low"] < gain
    assert gain < by.loc["noisy", "reference_auc_gain_high"]
    assert np.isnan(by.loc["oracle", "reference_auc_gain"])  # no gain over itself
    with pytest.raises(KeyError, match="'model'"):
        compare_models(y, {"oracle": truth}, reference="model")
