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

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from features.reasons.reason_groups import declare_reason_groups
from features.reasons.reason_sentences import GroupSentences, ReasonGroup

Group = Literal["fit", "engagement"]
Kind = Literal["numeric", "categorical"]

# Events the company sends or that signal disengagement: not "engagement" for the overall
# features (decayed engagement, trend, active days, account roll-up). They keep their own counts.
PASSIVE_EVENT_TYPES = ("email_send", "email_bounce", "unsubscribe")

# 2: features carry their reason group and the spec its reason groups (version 1 bundles are
# upgraded on load by declaring the groups their features would get today).
SPEC_VERSION = 2
_UPGRADABLE_VERSIONS = (1,)


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
    """One model input: name, group, kind, human label, its reason group, and the parameters
    engines need. ``group`` (fit or engagement) feeds the sub-scores; ``reason_group`` is the
    key of the :class:`ReasonGroup` whose reason its contribution adds to."""

    name: str
    group: Group
    kind: Kind
    label: str
    family: str
    event_type: str | None = None
    window_days: int | None = None
    boolean: bool = False  # a 0/1 flag
    reason_group: str = ""


@dataclass(frozen=True)
class FeatureSpec:
    """The ordered feature list, its reason groups, and the vocabulary and parameters that
    produced it."""

    features: tuple[Feature, ...]
    params: FeatureParams
    event_types: tuple[str, ...] = ()
    static: bool = False
    reason_groups: tuple[ReasonGroup, ...] = ()
    version: int = SPEC_VERSION
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    _sentences: dict[str, GroupSentences] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        names = [feature.name for feature in self.features]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"feature spec has duplicate feature names: {duplicates}")
        self._index.update({name: i for i, name in enumerate(names)})
        members: dict[str, list[str]] = {group.key: [] for group in self.reason_groups}
        if len(members) != len(self.reason_groups):
            raise ValueError("feature spec has duplicate reason group keys")
        for feature in self.features:
            if feature.reason_group not in members:
                raise ValueError(
                    f"feature {feature.name!r}: reason group {feature.reason_group!r} is not "
                    f"declared (groups: {sorted(members)})"
                )
            members[feature.reason_group].append(feature.name)
        for group in self.reason_groups:
            self._sentences[group.key] = GroupSentences(group, members[group.key])

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

    def sentences(self, key: str) -> GroupSentences:
        """The reason group ``key`` with its features, ready to say its sentence for a lead."""
        return self._sentences[key]

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
            "reason_groups": [asdict(group) for group in self.reason_groups],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Rebuild a spec written by ``to_dict``; a version-1 spec (no reason groups) gets the
        groups its features are declared with today; other versions are refused."""
        version = data.get("version")
        if version != SPEC_VERSION and version not in _UPGRADABLE_VERSIONS:
            raise ValueError(f"feature spec version {version!r} not supported ({SPEC_VERSION})")
        params = dict(data["params"])
        params["windows"] = tuple(params["windows"])
        feature_params = FeatureParams(**params)
        fields = {f.name for f in dataclasses.fields(Feature)}
        features = [
            Feature(**{k: v for k, v in feature.items() if k in fields})
            for feature in data["features"]
        ]
        if version == SPEC_VERSION:
            groups = tuple(ReasonGroup.from_dict(group) for group in data["reason_groups"])
        else:
            features, groups = declare_reason_groups(features, feature_params)
        return cls(
            features=tuple(features),
            params=feature_params,
            event_types=tuple(data["event_types"]),
            static=bool(data["static"]),
            reason_groups=groups,
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
    Every feature is declared with its reason group (``features.reasons.reason_groups``).
    """
    # Imported here: the catalogue builds its features from this module's classes.
    from features.catalogue import declared_features

    params = params or FeatureParams()
    features, types = declared_features(
        attributes, event_types, params,
        static=static, with_events=with_events, with_opportunities=with_opportunities,
    )  # fmt: skip
    grouped, groups = declare_reason_groups(features, params)
    return FeatureSpec(tuple(grouped), params, types, static=static, reason_groups=groups)
