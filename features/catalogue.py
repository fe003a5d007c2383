"""The catalogue of features: which features a data set's declarations give, with their
labels (``features.spec.build_feature_spec`` turns them into the spec).

Attributes give one fit feature each; lead history (tenure, earlier deals) and open
opportunities follow; every event type gets counts per window, recency, decay and (intent
types) an intent flag; then the overall engagement and the buying-state features.
"""

from __future__ import annotations

from collections.abc import Iterable

from features.ingest.contracts import INTENT_EVENT_TYPES, KNOWN_EVENT_TYPES
from features.spec import Feature, FeatureParams

# Known types' nouns in feature labels ("Days since last pricing page view").
_NOUNS: dict[str, str] = {
    "email_send": "email sent",
    "email_open": "email open",
    "email_click": "email click",
    "email_bounce": "email bounce",
    "unsubscribe": "unsubscribe",
    "web_visit": "website visit",
    "pricing_page_view": "pricing page view",
    "content_download": "content download",
    "webinar_attended": "webinar attended",
    "form_submit": "form submission",
    "demo_request": "demo request",
}


def declared_features(
    attributes: Iterable[tuple[str, str, str]],
    event_types: Iterable[str],
    params: FeatureParams,
    *,
    static: bool,
    with_events: bool,
    with_opportunities: bool,
) -> tuple[list[Feature], tuple[str, ...]]:
    """The features, in spec order, and the event-type vocabulary (see ``build_feature_spec``)."""
    features = [_attribute_feature(name, kind, label) for name, kind, label in attributes]
    types: tuple[str, ...] = ()
    if not static:
        features += _history_features()
        if with_opportunities:
            features += _opportunity_features()
    if not static and with_events:
        types = _vocabulary(event_types)
        for event_type in types:
            features += _event_type_features(event_type, params)
        features += _overall_features(params)
        features += _buying_state_features(params)
    return features, types


def _vocabulary(event_types: Iterable[str]) -> tuple[str, ...]:
    extra = set()
    for event_type in event_types:
        if not isinstance(event_type, str) or not event_type.isidentifier():
            raise ValueError(
                f"events.event_type: {event_type!r} is not a snake_case identifier "
                "(the loaders canonicalise types; map it in the dataset config)"
            )
        extra.add(event_type)
    return KNOWN_EVENT_TYPES + tuple(sorted(extra - set(KNOWN_EVENT_TYPES)))


def _attribute_feature(name: str, kind: str, label: str) -> Feature:
    if kind == "categorical":
        return Feature(name, "fit", "categorical", label, "attribute")
    return Feature(name, "fit", "numeric", label, "attribute", boolean=kind == "boolean")


def _history_features() -> list[Feature]:
    return [
        Feature("tenure_days", "fit", "numeric", "Days since the lead was created", "tenure"),
        Feature("prior_lost_deals", "fit", "numeric", "Earlier lost deals", "prior_lost"),
        Feature("prior_wins", "fit", "numeric", "Earlier won deals", "prior_wins"),
        Feature(
            "is_recycled", "fit", "numeric", "Recycled lead (an earlier deal was lost)",
            "recycled", boolean=True,
        ),
    ]  # fmt: skip


def _opportunity_features() -> list[Feature]:
    # Open at as_of: opened_at <= as_of < closed_at (or never closed). Only dates known at
    # as_of are used; whether and how the deal ends is not.
    return [
        Feature(
            "open_opportunity", "engagement", "numeric", "Open opportunity", "open_opportunity",
            boolean=True,
        ),
        Feature(
            "open_opportunity_days", "engagement", "numeric",
            "Days since the open opportunity was opened", "open_opportunity_days",
        ),
    ]  # fmt: skip


def _event_type_features(event_type: str, params: FeatureParams) -> list[Feature]:
    noun = _NOUNS.get(event_type, f"'{event_type}' event")
    features = [
        Feature(
            f"n_{event_type}_{window}d", "engagement", "numeric",
            f"{noun.capitalize()}s in the last {window} days", "count", event_type, window,
        )
        for window in params.windows
    ]  # fmt: skip
    features.append(
        Feature(
            f"days_since_{event_type}", "engagement", "numeric", f"Days since last {noun}",
            "recency", event_type,
        )
    )  # fmt: skip
    features.append(
        Feature(
            f"decay_{event_type}", "engagement", "numeric",
            f"Recent {noun}s (decayed, half-life {params.half_life_days:g} days)", "decay",
            event_type,
        )
    )  # fmt: skip
    if event_type in INTENT_EVENT_TYPES:
        window = params.intent_window_days
        features.append(
            Feature(
                f"intent_{event_type}_{window}d", "engagement", "numeric",
                f"Buying intent: {noun} in the last {window} days", "intent", event_type,
                window, boolean=True,
            )
        )  # fmt: skip
    return features


def _overall_features(params: FeatureParams) -> list[Feature]:
    recent, previous = params.trend_recent_days, params.trend_previous_days
    clicks, active = params.click_rate_window_days, params.active_window_days
    return [
        Feature(
            "decay_engagement", "engagement", "numeric", "Overall recent engagement (decayed)",
            "decay_engagement",
        ),
        Feature(
            f"trend_{recent}d_vs_{previous}d", "engagement", "numeric",
            f"Engagement trend: events/day last {recent} days minus the {previous} before",
            "trend", None, recent,
        ),
        Feature(
            f"email_click_rate_{clicks}d", "engagement", "numeric",
            f"Email click rate (clicks per open, last {clicks} days)", "click_rate", None,
            clicks,
        ),
        Feature(
            f"active_days_{active}d", "engagement", "numeric",
            f"Distinct active days in the last {active} days", "active_days", None, active,
        ),
        Feature(
            f"account_engaged_colleagues_{params.account_window_days}d", "engagement",
            "numeric", "Engaged colleagues at the same account", "account_colleagues", None,
            params.account_window_days,
        ),
    ]  # fmt: skip


def _buying_state_features(params: FeatureParams) -> list[Feature]:
    """What an analyst reads a buying state from: engagement against the lead's own baseline,
    how long its current run of intent signals has lasted, pricing then a demo, and how it
    answers nurture emails (computed per lead by ``features.online`` and
    ``features.batch.kernels.buying_state``)."""
    recent, baseline = params.burst_recent_days, params.burst_baseline_days
    gap, sequence, nurture = (
        params.burst_gap_days,
        params.sequence_window_days,
        params.nurture_window_days,
    )
    return [
        Feature(
            f"burst_{recent}d_vs_{baseline}d", "engagement", "numeric",
            f"Engagement burst: rate in the last {recent} days over its own {baseline}-day rate",
            "burst", None, recent,
        ),
        Feature(
            "days_since_intent_burst_start", "engagement", "numeric",
            "Days since the current run of buying signals began", "burst_start", None, gap,
        ),
        Feature(
            f"pricing_then_demo_{sequence}d", "engagement", "numeric",
            f"Viewed pricing, then asked for a demo (last {sequence} days)", "sequence", None,
            sequence, boolean=True,
        ),
        Feature(
            f"email_open_rate_{nurture}d", "engagement", "numeric",
            f"Nurture emails opened per email sent (last {nurture} days)", "nurture_opens",
            None, nurture,
        ),
        Feature(
            f"email_clicks_per_send_{nurture}d", "engagement", "numeric",
            f"Email clicks per email sent (last {nurture} days)", "nurture_clicks", None,
            nurture,
        ),
    ]  # fmt: skip
