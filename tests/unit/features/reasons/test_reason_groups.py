"""Reason groups of the spec: what each behaviour and fact reads like, missing values told
honestly, and the sentence rules checked when the spec is built or loaded."""

from __future__ import annotations

import json
import math

import pytest

from features.reasons.reason_sentences import GroupSentences, ReasonGroup, SentenceRule
from features.spec import FeatureParams, FeatureSpec, build_feature_spec

ATTRS = [
    ("industry", "categorical", "Industry"),
    ("annual_revenue", "numeric", "Annual revenue"),
    ("department", "categorical", "Department"),
    ("is_customer", "boolean", "Is customer"),
    ("occupation", "categorical", "What is your current occupation"),
    ("lead_source", "categorical", "Lead Source"),
]
NAN = math.nan


@pytest.fixture(scope="module")
def spec() -> FeatureSpec:
    return build_feature_spec(ATTRS, ["webinar_registered"], with_opportunities=True)


def events(event_type: str, n7: float, n30: float, n90: float, days: float) -> dict[str, float]:
    values = {
        f"n_{event_type}_7d": n7,
        f"n_{event_type}_30d": n30,
        f"n_{event_type}_90d": n90,
        f"days_since_{event_type}": days,
        f"decay_{event_type}": 0.5,
    }
    if event_type in ("pricing_page_view", "demo_request", "form_submit"):
        values[f"intent_{event_type}_30d"] = 1.0 if n30 else 0.0
    return values


@pytest.mark.parametrize(
    ("key", "values", "sentence"),
    [
        ("pricing_page_view", events("pricing_page_view", 3, 3, 4, 2.5),
         "Viewed the pricing page 3 times in the last 7 days (last one 2 days ago)"),
        ("pricing_page_view", events("pricing_page_view", 0, 2, 5, 9),
         "Viewed the pricing page twice in the last 30 days (last one 9 days ago)"),
        ("demo_request", events("demo_request", 1, 1, 1, 1.3), "Requested a demo yesterday"),
        ("demo_request", events("demo_request", 0, 0, 1, 40), "Requested a demo 5 weeks ago"),
        ("email_open", events("email_open", 1, 2, 2, 6), "Opened an email 6 days ago, twice in the last 90 days"),
        ("email_open", events("email_open", 0, 1, 3, 12), "Opened an email 12 days ago, 3 times in the last 90 days"),
        ("email_open", events("email_open", 0, 0, 0, 60), "No email opened in 2 months"),
        ("email_open", events("email_open", 0, 0, 0, NAN), "No email opened yet"),
        ("webinar_attended", events("webinar_attended", 0, 0, 2, 50),
         "Attended 2 webinars in the last 90 days (last one 7 weeks ago)"),
        ("webinar_registered", events("webinar_registered", 0, 2, 2, 20),
         "Had 2 'webinar_registered' events in the last 30 days (last one 2 weeks ago)"),
        ("industry", {"industry": "financial_services"}, "Industry: financial services"),
        ("annual_revenue", {"annual_revenue": 50_000_000.0}, "Annual revenue: 50 M"),
        ("is_customer", {"is_customer": 1.0}, "Is customer: yes"),
        ("is_customer", {"is_customer": 0.0}, "Is customer: no"),
        ("tenure", {"tenure_days": 100.0}, "Became a lead 3 months ago"),
        ("prior_wins", {"prior_wins": 2.0}, "Bought twice before"),
        ("prior_wins", {"prior_wins": 0.0}, "Has not bought before"),
        ("lost_deals", {"prior_lost_deals": 1.0, "is_recycled": 1.0}, "Lost 1 earlier deal"),
        ("open_opportunity", {"open_opportunity": 1.0, "open_opportunity_days": 12.0},
         "Has an open sales opportunity, opened 12 days ago"),
        ("open_opportunity", {"open_opportunity": 0.0, "open_opportunity_days": NAN},
         "No open sales opportunity"),
        ("overall_activity",
         {"decay_engagement": 2.0, "trend_7d_vs_28d": 0.3, "active_days_30d": 5.0},
         "Active on 5 days in the last 30 days, more active in the last 7 days than in the 28 "
         "before"),
        ("overall_activity",
         {"decay_engagement": 0.01, "trend_7d_vs_28d": 0.0, "active_days_30d": 0.0},
         "No activity in the last 30 days"),
        ("account_colleagues", {"account_engaged_colleagues_30d": 1.0},
         "1 colleague at the same company engaged in the last 30 days"),
    ],
)  # fmt: skip
def test_each_group_says_what_happened(
    spec: FeatureSpec, key: str, values: dict, sentence: str
) -> None:
    group = spec.sentences(key)
    assert set(values) == set(group.features)
    assert group.sentence(values) == sentence


@pytest.mark.parametrize(
    ("key", "values", "sentence"),
    [
        ("department", {"department": None}, "No department recorded"),
        ("annual_revenue", {"annual_revenue": NAN}, "No annual revenue recorded"),
        ("lead_source", {"lead_source": None}, "No lead source recorded"),
        ("tenure", {"tenure_days": NAN}, "No creation date recorded"),
        ("is_customer", {"is_customer": NAN}, "Is customer: not recorded"),
        ("occupation", {"occupation": None}, "What is your current occupation: not recorded"),
        ("account_colleagues", {"account_engaged_colleagues_30d": NAN},
         "No information about colleagues at the same company"),
    ],
)  # fmt: skip
def test_missing_values_are_told_honestly(
    spec: FeatureSpec, key: str, values: dict, sentence: str
) -> None:
    group = spec.sentences(key)
    assert group.is_missing(values)
    text = group.sentence(values)
    assert text == sentence
    assert "unknown" not in text.lower() and "nan" not in text.lower()


def test_braces_in_a_label_are_text() -> None:
    spec = build_feature_spec([("size", "numeric", "Size {m2}")], [], static=True)
    assert spec.sentences("size").sentence({"size": 12.0}) == "Size {m2}: 12"
    assert spec.sentences("size").sentence({"size": NAN}) == "No size {m2} recorded"


def test_a_behaviour_named_like_an_attribute_gets_its_own_key() -> None:
    spec = build_feature_spec([("web_visit", "numeric", "Web visit")], [])
    attribute = spec.sentences("web_visit")
    behaviour = spec.sentences("web_visit_events")
    assert attribute.features == ("web_visit",)
    assert "n_web_visit_7d" in behaviour.features


def test_version_1_bundles_get_todays_reason_groups(spec: FeatureSpec) -> None:
    data = json.loads(json.dumps(spec.to_dict()))
    data["version"] = 1
    del data["reason_groups"]
    for feature in data["features"]:
        del feature["reason_group"]
        feature["template"] = "{value}"  # version 1 carried one template per feature
    assert FeatureSpec.from_dict(data) == spec


def test_sentence_rules_are_checked_when_the_spec_is_built() -> None:
    def group(*rules: SentenceRule, missing: str = "No x recorded") -> ReasonGroup:
        return ReasonGroup("x", "X", rules, missing, "x")

    with pytest.raises(ValueError, match="'y' is not a feature of the group"):
        GroupSentences(group(SentenceRule("{y}")), ["x"])
    with pytest.raises(ValueError, match="unknown format 'fancy' for 'x'"):
        GroupSentences(group(SentenceRule("{x:fancy}")), ["x"])
    with pytest.raises(ValueError, match="condition 'x = 1'"):
        GroupSentences(group(SentenceRule("a", ("x = 1",)), SentenceRule("b")), ["x"])
    with pytest.raises(ValueError, match="last sentence rule must have no condition"):
        GroupSentences(group(SentenceRule("a", ("x > 0",))), ["x"])
    with pytest.raises(ValueError, match="missing sentence cannot name a value"):
        GroupSentences(group(SentenceRule("{x}"), missing="{x} is gone"), ["x"])
    with pytest.raises(ValueError, match="headline 'x' is not one of its features"):
        GroupSentences(group(SentenceRule("a")), ["z"])
    ok = GroupSentences(
        group(SentenceRule("{x:num} left", ("x > 0",)), SentenceRule("none")), ["x"]
    )
    assert ok.sentence({"x": 2.0}) == "2 left"
    assert ok.sentence({"x": 0.0}) == "none"
    assert ok.sentence({"x": NAN}) == "No x recorded"


def test_windows_from_params_shape_the_sentences() -> None:
    spec = build_feature_spec([], ["web_visit"], FeatureParams(windows=(3, 14)))
    group = spec.sentences("web_visit")
    values = {
        "n_web_visit_3d": 0.0, "n_web_visit_14d": 4.0, "days_since_web_visit": 5.0,
        "decay_web_visit": 1.0,
    }  # fmt: skip
    assert (
        group.sentence(values)
        == "Visited the website 4 times in the last 14 days (last one 5 days ago)"
    )
