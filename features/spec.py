"""The declarative feature spec: what each feature is, how it reads, and the engines' parameters.

The spec is plain data (JSON round-trip via ``to_dict``/``from_dict``) because the trained
model bundles it and the serving process rebuilds the online engine from it; the batch engine
(``features.batch.batch_engine``) and the online engine (``features.online.online_engine``) both compute exactly the
features listed here, in this order.

Point-in-time rule, shared by both engines and the label (``features.trainset.snapshots``):
``as_of`` is truncated to whole seconds; a feature at ``as_of`` sees events with
``occurred_at <= as_of`` and outcomes with ``closed_at <= as_of``; a window of ``w`` days holds
events with ``as_of - w days < occurred_at <= as_of``.

Opportunities (when deals carry ``opened_at``): ``open_opportunity`` is 1 when a deal opened at
or before ``as_of`` has not closed by then (``closed_at > as_of``, or still open at export);
``open_opportunity_days`` counts from the latest such opening and is NaN when none is open.

Missing values: ``days_since_*`` is NaN when the lead never had such an event;
``email_click_rate_90d`` is NaN without an email open in the window; ``tenure_days`` is NaN
without ``created_at``; ``account_engaged_colleagues_30d`` is NaN when the lead has no account
(or, online, when the request does not carry the count); ``days_since_intent_burst_start`` is
NaN when the lead's last intent signal is older than ``burst_gap_days``; the email open and
click rates per send are NaN without an email sent in the window. Categorical attributes are strings
with missing as NA; numeric and boolean attributes are float64 (boolean as 0/1) with NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from features.ingest.contracts import INTENT_EVENT_TYPES, KNOWN_EVENT_TYPES

Group = Literal["fit", "engagement"]
Kind = Literal["numeric", "categorical"]

# Events the company sends or that signal disengagement: not "engagement" for the overall
# features (decayed engagement, trend, active days, account roll-up). They keep their own counts.
PASSIVE_EVENT_TYPES = ("email_send", "email_bounce", "unsubscribe")

SPEC_VERSION = 1

# Known types get specific wording: (noun phrase for counts, phrase for recency).
_WORDING: dict[str, tuple[str, str]] = {
    "email_send": ("Was sent {value} emails", "email sent"),
    "email_open": ("Opened {value} emails", "email open"),
    "email_click": ("Clicked {value} email links", "email click"),
    "email_bounce": ("Had {value} emails bounce", "email bounce"),
    "unsubscribe": ("Unsubscribed {value} times", "unsubscribe"),
    "web_visit": ("Visited the website {value} times", "website visit"),
    "pricing_page_view": ("Viewed the pricing page {value} times", "pricing page view"),
    "content_download": ("Downloaded content {value} times", "content download"),
    "webinar_attended": ("Attended {value} webinars", "webinar attended"),
    "form_submit": ("Submitted {value} forms", "form submission"),
    "demo_request": ("Requested a demo {value} times", "demo request"),
}


_POSITIVE_DAYS = (
    "horizon_days", "every_days", "trend_recent_days", "trend_previous_days",
    "intent_window_days", "click_rate_window_days", "active_window_days", "account_window_days",
    "burst_recent_days", "burst_baseline_days", "burst_gap_days", "sequence_window_days",
    "nurture_window_days",
)  # fmt: skip


@dataclass(frozen=True)
class FeatureParams:
    """Numeric knobs of the spec. Callers build it from Settings and the dataset's snapshots."""

    windows: tuple[int, ...] = (7, 30, 90)
    half_life_days: float = 14.0
    horizon_days: int = 90
    every_days: int = 30
    trend_recent_days: int = 7
    trend_previous_days: int = 28
    intent_window_days: int = 30
    click_rate_window_days: int = 90
    active_window_days: int = 30
    account_window_days: int = 30
    # Buying state: a burst against the lead's own baseline, the current run of intent
    # signals (a gap this long ends it), pricing then demo, replies to nurture emails.
    burst_recent_days: int = 14
    burst_baseline_days: int = 180
    burst_gap_days: int = 14
    sequence_window_days: int = 30
    nurture_window_days: int = 60

    def __post_init__(self) -> None:
        if not self.windows or any(w <= 0 for w in self.windows):
            raise ValueError(f"FeatureParams.windows must be positive days, got {self.windows}")
        if self.half_life_days <= 0:
            raise ValueError(f"FeatureParams.half_life_days must be > 0, got {self.half_life_days}")
        # Each is a window or a divisor: zero or negative days mean nothing.
        for name in _POSITIVE_DAYS:
            days = getattr(self, name)
            if days <= 0:
                raise ValueError(f"FeatureParams.{name} must be > 0 days, got {days}")


@dataclass(frozen=True)
class Feature:
    """One model input: name, group, kind, how it reads, and the parameters engines need."""

    name: str
    group: Group
    kind: Kind
    label: str
    template: str
    family: str
    event_type: str | None = None
    window_days: int | None = None
    boolean: bool = False  # a 0/1 flag: read as no/yes in sentences

    def sentence(self, value: Any) -> str:
        """The explanation sentence for a value (numbers shown compactly, flags as yes/no)."""
        if self.boolean and isinstance(value, int | float) and not math.isnan(value):
            value = "yes" if value else "no"
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, float):
            value = f"{value:.2g}" if abs(value) < 1 else f"{value:.1f}"
        return self.template.format(value=value)


@dataclass(frozen=True)
class FeatureSpec:
    """The ordered feature list plus the vocabulary and parameters that produced it."""

    features: tuple[Feature, ...]
    params: FeatureParams
    event_types: tuple[str, ...] = ()
    static: bool = False
    version: int = SPEC_VERSION
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = [feature.name for feature in self.features]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"feature spec has duplicate feature names: {duplicates}")
        self._index.update({name: i for i, name in enumerate(names)})

    @property
    def names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def __getitem__(self, name: str) -> Feature:
        return self.features[self._index[name]]

    def of_family(self, family: str) -> list[Feature]:
        return [feature for feature in self.features if feature.family == family]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (bundled with the model)."""
        params = asdict(self.params)
        params["windows"] = list(params["windows"])
        return {
            "version": self.version,
            "static": self.static,
            "event_types": list(self.event_types),
            "params": params,
            "features": [asdict(feature) for feature in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Rebuild a spec written by ``to_dict``; refuses other versions with a clear error."""
        version = data.get("version")
        if version != SPEC_VERSION:
            raise ValueError(f"feature spec version {version!r} not supported ({SPEC_VERSION})")
        params = dict(data["params"])
        params["windows"] = tuple(params["windows"])
        return cls(
            features=tuple(Feature(**feature) for feature in data["features"]),
            params=FeatureParams(**params),
            event_types=tuple(data["event_types"]),
            static=bool(data["static"]),
        )


def build_feature_spec(
    attributes: Iterable[tuple[str, str, str]],
    event_types: Iterable[str] = (),
    params: FeatureParams | None = None,
    *,
    static: bool = False,
    with_events: bool = True,
    with_opportunities: bool = False,
) -> FeatureSpec:
    """Build the spec from declared attributes ``(name, type, human label)`` and the event types
    seen in the training data (unioned with the known types; unknown ones get generic wording).

    Static mode yields attribute features only: there is no time to compute anything else at.
    ``with_events=False`` (a dataset without an events table) keeps attributes and deal history
    but no engagement features, which would be constants. ``with_opportunities`` (deals carry
    the date their opportunity opened) adds whether an opportunity is open at ``as_of``.
    """
    params = params or FeatureParams()
    features = [_attribute_feature(name, kind, label) for name, kind, label in attributes]
    if static:
        return FeatureSpec(tuple(features), params, (), static=True)
    features += _history_features()
    if with_opportunities:
        features += _opportunity_features()
    if not with_events:
        return FeatureSpec(tuple(features), params, ())
    types = _vocabulary(event_types)
    for event_type in types:
        features += _event_type_features(event_type, params)
    features += _overall_features(params)
    features += _buying_state_features(params)
    return FeatureSpec(tuple(features), params, types)


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
        return Feature(name, "fit", "categorical", label, f"{label}: {{value}}", "attribute")
    if kind == "boolean":
        return Feature(
            name, "fit", "numeric", label, f"{label}: {{value}}", "attribute", boolean=True
        )
    return Feature(name, "fit", "numeric", label, f"{label} is {{value}}", "attribute")


def _history_features() -> list[Feature]:
    return [
        Feature(
            "tenure_days", "fit", "numeric", "Days since the lead was created",
            "Became a lead {value} days ago", "tenure",
        ),
        Feature(
            "prior_lost_deals", "fit", "numeric", "Earlier lost deals",
            "Had {value} earlier deals that were lost", "prior_lost",
        ),
        Feature(
            "prior_wins", "fit", "numeric", "Earlier won deals",
            "Already bought {value} times before", "prior_wins",
        ),
        Feature(
            "is_recycled", "fit", "numeric", "Recycled lead (an earlier deal was lost)",
            "Recycled lead (earlier deal lost): {value}", "recycled", boolean=True,
        ),
    ]  # fmt: skip


def _opportunity_features() -> list[Feature]:
    # Open at as_of: opened_at <= as_of < closed_at (or never closed). Only dates known at
    # as_of are used; whether and how the deal ends is not.
    return [
        Feature(
            "open_opportunity", "engagement", "numeric", "Open opportunity",
            "Has an open sales opportunity: {value}", "open_opportunity", boolean=True,
        ),
        Feature(
            "open_opportunity_days", "engagement", "numeric",
            "Days since the open opportunity was opened",
            "Its open opportunity was opened {value} days ago", "open_opportunity_days",
        ),
    ]  # fmt: skip


def _event_type_features(event_type: str, params: FeatureParams) -> list[Feature]:
    known = _WORDING.get(event_type)
    noun = known[1] if known else f"'{event_type}' event"
    features = []
    for window in params.windows:
        if known:
            template = f"{known[0]} in the last {window} days"
        else:
            template = f"{{value}} '{event_type}' events in the last {window} days"
        features.append(
            Feature(
                f"n_{event_type}_{window}d", "engagement", "numeric",
                f"{noun.capitalize()}s in the last {window} days", template, "count",
                event_type, window,
            )
        )  # fmt: skip
    features.append(
        Feature(
            f"days_since_{event_type}", "engagement", "numeric", f"Days since last {noun}",
            f"Last {noun} was {{value}} days ago", "recency", event_type,
        )
    )  # fmt: skip
    features.append(
        Feature(
            f"decay_{event_type}", "engagement", "numeric",
            f"Recent {noun}s (decayed, half-life {params.half_life_days:g} days)",
            f"Recent {noun} activity {{value}} (1 = one {noun} today; halves every "
            f"{params.half_life_days:g} days)", "decay", event_type,
        )
    )  # fmt: skip
    if event_type in INTENT_EVENT_TYPES:
        window = params.intent_window_days
        features.append(
            Feature(
                f"intent_{event_type}_{window}d", "engagement", "numeric",
                f"Buying intent: {noun} in the last {window} days",
                f"Showed buying intent ({noun} in the last {window} days): {{value}}",
                "intent", event_type, window, boolean=True,
            )
        )  # fmt: skip
    return features


def _overall_features(params: FeatureParams) -> list[Feature]:
    recent, previous = params.trend_recent_days, params.trend_previous_days
    return [
        Feature(
            "decay_engagement", "engagement", "numeric", "Overall recent engagement (decayed)",
            "Overall recent engagement {value} (1 = one action today; older ones count less)",
            "decay_engagement",
        ),
        Feature(
            f"trend_{recent}d_vs_{previous}d", "engagement", "numeric",
            f"Engagement trend: events/day last {recent} days minus the {previous} before",
            f"Engagement changed by {{value}} events/day vs the previous {previous} days",
            "trend", None, recent,
        ),
        Feature(
            f"email_click_rate_{params.click_rate_window_days}d", "engagement", "numeric",
            f"Email click rate (clicks per open, last {params.click_rate_window_days} days)",
            f"Clicked {{value}} of opened emails in the last {params.click_rate_window_days} days",
            "click_rate", None, params.click_rate_window_days,
        ),
        Feature(
            f"active_days_{params.active_window_days}d", "engagement", "numeric",
            f"Distinct active days in the last {params.active_window_days} days",
            f"Was active on {{value}} days in the last {params.active_window_days} days",
            "active_days", None, params.active_window_days,
        ),
        Feature(
            f"account_engaged_colleagues_{params.account_window_days}d", "engagement",
            "numeric", "Engaged colleagues at the same account",
            f"{{value}} colleagues at the same account engaged in the last "
            f"{params.account_window_days} days",
            "account_colleagues", None, params.account_window_days,
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
            f"Engaged {{value}}x its usual rate in the last {recent} days (its own "
            f"{baseline}-day average = 1)", "burst", None, recent,
        ),
        Feature(
            "days_since_intent_burst_start", "engagement", "numeric",
            "Days since the current run of buying signals began",
            f"Its current run of buying signals (pricing, demo, forms; no gap of {gap} days) "
            "began {value} days ago", "burst_start", None, gap,
        ),
        Feature(
            f"pricing_then_demo_{sequence}d", "engagement", "numeric",
            f"Viewed pricing, then asked for a demo (last {sequence} days)",
            f"Viewed the pricing page and then requested a demo in the last {sequence} days: "
            "{value}", "sequence", None, sequence, boolean=True,
        ),
        Feature(
            f"email_open_rate_{nurture}d", "engagement", "numeric",
            f"Nurture emails opened per email sent (last {nurture} days)",
            f"Opened {{value}} of the emails sent in the last {nurture} days",
            "nurture_opens", None, nurture,
        ),
        Feature(
            f"email_clicks_per_send_{nurture}d", "engagement", "numeric",
            f"Email clicks per email sent (last {nurture} days)",
            f"Clicked {{value}} links per email sent in the last {nurture} days",
            "nurture_clicks", None, nurture,
        ),
    ]  # fmt: skip
