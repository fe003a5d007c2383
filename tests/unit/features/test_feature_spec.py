"""The declarative feature spec: naming, groups, reason groups, and the JSON round-trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from features.ingest.contracts import INTENT_EVENT_TYPES, KNOWN_EVENT_TYPES
from features.spec import Feature, FeatureParams, FeatureSpec, build_feature_spec
from features.time_rule import SECOND_NS, as_of_ns, timestamp_ns

ATTRS = [("industry", "categorical", "Industry"), ("annual_revenue", "numeric", "Annual revenue")]


def test_spec_names_follow_the_convention_for_every_family() -> None:
    spec = build_feature_spec(ATTRS, ["webinar_registered"], FeatureParams())
    names = set(spec.names)
    for event_type in (*KNOWN_EVENT_TYPES, "webinar_registered"):
        for window in (7, 30, 90):
            assert f"n_{event_type}_{window}d" in names
        assert f"days_since_{event_type}" in names
        assert f"decay_{event_type}" in names
    for event_type in INTENT_EVENT_TYPES:
        assert f"intent_{event_type}_30d" in names
    expected = {
        "decay_engagement",
        "trend_7d_vs_28d",
        "email_click_rate_90d",
        "active_days_30d",
        "tenure_days",
        "prior_lost_deals",
        "prior_wins",
        "is_recycled",
        "account_engaged_colleagues_30d",
        "industry",
        "annual_revenue",
    }
    assert expected <= names
    assert spec.names[:2] == ["industry", "annual_revenue"]
    assert spec.categorical == ["industry"]
    assert spec["industry"].group == "fit" and spec["n_web_visit_7d"].group == "engagement"


def test_every_feature_belongs_to_a_declared_reason_group() -> None:
    spec = build_feature_spec(ATTRS, ["webinar_registered"], with_opportunities=True)
    keys = [group.key for group in spec.reason_groups]
    assert len(keys) == len(set(keys))
    members = {key: [f.name for f in spec.features if f.reason_group == key] for key in keys}
    assert all(members.values())  # no empty group
    # Attributes are one reason each; every feature about one event type is one behaviour.
    assert members["industry"] == ["industry"]
    assert members["pricing_page_view"] == [
        "n_pricing_page_view_7d", "n_pricing_page_view_30d", "n_pricing_page_view_90d",
        "days_since_pricing_page_view", "decay_pricing_page_view",
        "intent_pricing_page_view_30d",
    ]  # fmt: skip
    assert "email_click_rate_90d" in members["email_click"]
    assert members["lost_deals"] == ["prior_lost_deals", "is_recycled"]
    assert members["open_opportunity"] == ["open_opportunity", "open_opportunity_days"]
    assert members["overall_activity"] == ["decay_engagement", "trend_7d_vs_28d", "active_days_30d"]
    assert spec.sentences("webinar_registered").group.label == "'webinar_registered' events"


def test_windows_and_half_life_come_from_params() -> None:
    spec = build_feature_spec(ATTRS, [], FeatureParams(windows=(3, 14), half_life_days=5.0))
    assert "n_web_visit_3d" in spec.names and "n_web_visit_14d" in spec.names
    assert "n_web_visit_7d" not in spec.names
    assert "half-life 5 days" in spec["decay_web_visit"].label


def test_static_spec_has_attributes_only() -> None:
    spec = build_feature_spec(ATTRS, ["web_visit"], static=True)
    assert spec.names == ["industry", "annual_revenue"]
    assert spec.static and spec.event_types == ()


def test_round_trip_through_json_is_lossless() -> None:
    spec = build_feature_spec(ATTRS, ["webinar_registered"], FeatureParams(windows=(7, 60)))
    again = FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert again.reason_groups == spec.reason_groups
    assert again.params.windows == (7, 60)
    assert again["n_webinar_registered_60d"] == spec["n_webinar_registered_60d"]


def test_bad_specs_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="not a snake_case identifier"):
        build_feature_spec(ATTRS, ["Email Opened"])
    feature = Feature("x", "fit", "numeric", "X", "attribute")
    with pytest.raises(ValueError, match="duplicate feature names: \\['x'\\]"):
        FeatureSpec((feature, feature), FeatureParams())
    data = build_feature_spec(ATTRS).to_dict()
    data["features"][0]["reason_group"] = "nowhere"
    with pytest.raises(ValueError, match="feature 'industry': reason group 'nowhere' is not"):
        FeatureSpec.from_dict(data)
    data = build_feature_spec(ATTRS).to_dict()
    data["version"] = 99
    with pytest.raises(ValueError, match="version 99"):
        FeatureSpec.from_dict(data)
    with pytest.raises(ValueError, match="half_life_days"):
        FeatureParams(half_life_days=0)
    for name in ("every_days", "trend_recent_days", "trend_previous_days", "active_window_days"):
        with pytest.raises(ValueError, match=f"FeatureParams.{name} must be > 0 days, got 0"):
            FeatureParams(**{name: 0})


def test_timestamp_ns_of_datetimes_equals_pandas_exactly() -> None:
    """The API's parsed datetimes take an integer fast path: it must agree with pandas to the
    nanosecond for aware (any offset), naive (= UTC), pre-1970 and sub-second values."""
    rng = np.random.default_rng(5)
    for _ in range(500):
        micros = int(rng.integers(-(10**15), 3 * 10**15))
        stamp = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
        offset = timezone(timedelta(minutes=int(rng.integers(-14 * 60, 14 * 60))))
        for value in (stamp, stamp.astimezone(offset), stamp.replace(tzinfo=None)):
            expected = pd.Timestamp(value)
            expected = expected.tz_localize("UTC") if expected.tzinfo is None else expected
            assert timestamp_ns(value, "t") == expected.as_unit("ns").value
    assert as_of_ns(datetime(2026, 1, 1, 0, 0, 1, 999_999, tzinfo=UTC)) % SECOND_NS == 0
