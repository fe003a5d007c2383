"""Reason groups of the buying-state features (``features.spec._buying_state_features``).

Each is one story: the engagement burst against the lead's own usual rate; the current run of
buying signals; pricing then a demo; and the replies to nurture emails (opens and clicks per
email sent are one reason, as the email features of one event type are).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from features.reasons.reason_sentences import ReasonGroup, SentenceRule

if TYPE_CHECKING:
    from features.spec import Feature, FeatureParams

BUYING_STATE_FAMILIES = ("burst", "burst_start", "sequence", "nurture_opens", "nurture_clicks")


def buying_state_group(
    feature: Feature, features: Sequence[Feature], params: FeatureParams
) -> tuple[str, ReasonGroup]:
    """The key and group of one buying-state feature (``feature.family`` in
    :data:`BUYING_STATE_FAMILIES`)."""
    name, family = feature.name, feature.family
    if family == "burst":
        recent, baseline = params.burst_recent_days, params.burst_baseline_days
        rules = (
            SentenceRule(
                f"Engaged {{{name}:num}} times its usual rate in the last {recent} days "
                f"(its {baseline}-day average)",
                (f"{name} > 0",),
            ),
            SentenceRule(f"No engagement in the last {recent} days"),
        )
        return "engagement_burst", ReasonGroup(
            "engagement_burst", "Engagement against its usual rate", rules,
            "No engagement history recorded", name,
        )  # fmt: skip
    if family == "burst_start":
        rules = (SentenceRule(f"Its current run of buying signals began {{{name}:ago}}"),)
        # Missing: the last pricing view, demo request or form is older than the gap.
        return "buying_signals", ReasonGroup(
            "buying_signals", "Current run of buying signals", rules,
            f"No buying signal (pricing, demo, form) in the last {params.burst_gap_days} days",
            name,
        )  # fmt: skip
    if family == "sequence":
        days = params.sequence_window_days
        rules = (
            SentenceRule(
                f"Viewed the pricing page, then requested a demo in the last {days} days",
                (f"{name} == 1",),
            ),
            SentenceRule(f"No demo request after a pricing page view in the last {days} days"),
        )
        return "pricing_then_demo", ReasonGroup(
            "pricing_then_demo", "Pricing, then a demo", rules, "No pricing then demo recorded",
            name,
        )  # fmt: skip
    return "nurture_replies", _nurture_group(features, params)


def _nurture_group(features: Sequence[Feature], params: FeatureParams) -> ReasonGroup:
    by_family = {f.family: f.name for f in features if f.family.startswith("nurture_")}
    opens, clicks = by_family.get("nurture_opens"), by_family.get("nurture_clicks")
    days = params.nurture_window_days
    rules = []
    if opens is not None and clicks is not None:
        rules.append(
            SentenceRule(
                f"{{{opens}:num}} opens and {{{clicks}:num}} clicks per email sent in the "
                f"last {days} days",
                (f"{clicks} > 0",),
            )
        )
    if opens is not None:
        rules.append(SentenceRule(f"{{{opens}:num}} opens per email sent in the last {days} days"))
    if clicks is not None:
        rules.append(
            SentenceRule(f"{{{clicks}:num}} clicks per email sent in the last {days} days")
        )
    headline = opens or clicks
    assert headline is not None
    return ReasonGroup(
        "nurture_replies", "Replies to nurture emails", tuple(rules),
        f"No email sent in the last {days} days", headline,
    )  # fmt: skip
