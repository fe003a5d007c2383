"""The cold-start points model: rules read the model's encoding, contributions add up to the
log-odds, the curve falls back to a prior without outcomes, and a bundle round-trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.encoding import encode_frame, fit_categories
from models.points import (
    DEFAULT_SLOPE,
    default_rules,
    fit_points_curve,
    points_by_rule,
    points_contributions,
)


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "decay_demo_request": [1.0, 0.0, np.nan],
            "decay_unsubscribe": [0.0, 1.0, 0.0],
            "seniority": pd.Series(["vp", None, "intern"], dtype="str"),
            "is_customer": [1.0, 0.0, np.nan],
            "industry": pd.Series(["saas"] * 3, dtype="str"),
        }
    )


def test_rules_score_each_column_once_and_unknowns_zero() -> None:
    frame = _frame()
    rules = default_rules(frame.columns)
    assert set(rules.features) == {
        "decay_demo_request", "decay_unsubscribe", "seniority", "is_customer",
    }  # fmt: skip
    features = rules.features
    categories = fit_categories(frame, ["seniority"])
    by_rule = points_by_rule(rules, features, encode_frame(frame, features, categories), categories)
    # The customer flag's "True", "1" and "1.0" keys name one level: 10 points, not 30.
    assert by_rule.sum(axis=1).tolist() == [50 + 15 + 10, -30.0, 0.0]


def test_contributions_sum_to_log_odds_around_the_average_lead() -> None:
    by_rule = np.array([[50.0, 15.0], [0.0, 5.0], [10.0, 0.0]])
    curve = {"slope": 0.03, "intercept": -2.0}
    contribs = points_contributions(by_rule, curve, by_rule.mean(axis=0))
    assert contribs[:, :-1].sum(axis=0) == pytest.approx([0.0, 0.0])  # centred
    assert contribs.sum(axis=1) == pytest.approx(0.03 * by_rule.sum(axis=1) - 2.0)


def test_curve_without_enough_outcomes_uses_the_prior() -> None:
    points = np.array([0.0, 10.0, 50.0, 5.0])
    curve = fit_points_curve(points, np.array([0, 0, 1, 0]))
    assert curve["fitted"] == 0.0 and curve["slope"] == DEFAULT_SLOPE
    average = 1 / (1 + np.exp(-(curve["slope"] * points.mean() + curve["intercept"])))
    assert average == pytest.approx(2 / 6)  # (wins + 1) / (rows + 2)
    rng = np.random.default_rng(0)
    many = rng.uniform(0, 60, 400)
    y = (rng.random(400) < 1 / (1 + np.exp(-(0.05 * many - 2)))).astype(int)
    fitted = fit_points_curve(many, y)
    assert fitted["fitted"] == 1.0 and 0.02 < fitted["slope"] < 0.09


def test_points_bundle_round_trips_and_marks_its_reasons(tmp_path) -> None:
    from features.spec import FeatureParams, build_feature_spec
    from models.bundle import LeadScoreModel
    from models.schema import EventIn, LeadIn

    spec = build_feature_spec([("seniority", "categorical", "Seniority")], (), FeatureParams())
    rules = default_rules(spec.names)
    features = rules.features
    model = LeadScoreModel(
        spec=spec, features=features, categories={"seniority": ["manager", "vp"]},
        booster_text="", calibrator={"method": "none"}, reference=[0.01, 0.05, 0.2],
        thresholds={"sales_ready": 0.1, "tiers": {"A": 80, "B": 60, "C": 30}},
        metadata={"model_kind": "points"},
        points={"rules": rules.to_dict(), "curve": {"slope": 0.04, "intercept": -3.0},
                "mean_points": [0.0] * len(features)},
    )  # fmt: skip
    loaded = LeadScoreModel.load(model.save(tmp_path / "bundle"))
    assert loaded.is_points_model and loaded.kind == "points"
    now = pd.Timestamp("2025-01-10", tz="UTC").to_pydatetime()
    lead = LeadIn(
        lead_id="a", as_of=now, attributes={"seniority": "vp"},
        events=[EventIn(event_type="demo_request", occurred_at=now)],
    )  # fmt: skip
    (score,) = loaded.score_leads([lead], explain_k=2)
    assert score.probability == pytest.approx(1 / (1 + np.exp(-(0.04 * 65 - 3.0))))
    top = score.reasons[0]
    assert top.feature == "demo_request" and "(points rule: +50 points)" in top.sentence
    with pytest.raises(AttributeError, match="no booster"):
        _ = loaded.booster
