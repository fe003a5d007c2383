"""Which features tell the same story, and how each story is told: the spec's reason groups.

``features.spec.build_feature_spec`` calls :func:`declare_reason_groups` so that the spec
carries, for every feature, the key of its group, and for every group its sentences (see
``features.reasons.reason_sentences`` for the rule language). The grouping:

- every declared attribute is a reason of its own ("Industry: software", "No department
  recorded"): fit attributes are facts, one each;
- every feature about one event type (its counts per window, days since the last one, its
  decayed count, its intent flag) is one behaviour: "Viewed the pricing page 3 times in the
  last 7 days (last one 2 days ago)", "Requested a demo yesterday", "Opened an email 6 days
  ago, twice in the last 90 days", "No email opened in 4 months"; the email click rate joins
  the email clicks;
- decayed overall engagement, the trend and the active days are the lead's overall activity;
- the buying-state features tell four stories (``features.reasons.buying_state_reasons``);
- tenure, earlier purchases, earlier lost deals (with the recycled flag), the open opportunity
  and the engaged colleagues are one reason each.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING

from features.reasons.buying_state_reasons import BUYING_STATE_FAMILIES, buying_state_group
from features.reasons.reason_sentences import ReasonGroup, SentenceRule

if TYPE_CHECKING:
    from features.spec import Feature, FeatureParams

# Known event types: (one event, several events with {n}, none, short label).
_EVENT_WORDING: dict[str, tuple[str, str, str, str]] = {
    "email_send": ("Was sent an email", "Was sent {n:plural email}", "No email sent", "Emails sent"),
    "email_open": ("Opened an email", "Opened {n:plural email}", "No email opened", "Email opens"),
    "email_click": (
        "Clicked an email link", "Clicked {n:plural email link}", "No email link clicked",
        "Email clicks",
    ),
    "email_bounce": (
        "Had an email bounce", "Had {n:plural email} bounce", "No email bounced", "Email bounces",
    ),
    "unsubscribe": ("Unsubscribed", "Unsubscribed {n:times}", "No unsubscribe", "Unsubscribes"),
    "web_visit": (
        "Visited the website", "Visited the website {n:times}", "No website visit",
        "Website visits",
    ),
    "pricing_page_view": (
        "Viewed the pricing page", "Viewed the pricing page {n:times}", "No pricing page view",
        "Pricing page views",
    ),
    "content_download": (
        "Downloaded content", "Downloaded content {n:times}", "No content downloaded",
        "Content downloads",
    ),
    "webinar_attended": (
        "Attended a webinar", "Attended {n:plural webinar}", "No webinar attended",
        "Webinars attended",
    ),
    "form_submit": (
        "Submitted a form", "Submitted {n:plural form}", "No form submitted", "Forms submitted",
    ),
    "demo_request": (
        "Requested a demo", "Requested a demo {n:times}", "No demo requested", "Demo requests",
    ),
}  # fmt: skip
_EVENT_FAMILIES = ("count", "recency", "decay", "intent")
_OVERALL_FAMILIES = ("decay_engagement", "trend", "active_days")
# Labels that read badly after "No ...": questions and yes/no fields ("Do Not Email").
_QUESTION_WORDS = frozenset(
    ("do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "how", "what",
     "which", "why", "when", "where", "who", "can", "will", "would", "should")
)  # fmt: skip


def declare_reason_groups(
    features: Sequence[Feature], params: FeatureParams
) -> tuple[list[Feature], tuple[ReasonGroup, ...]]:
    """The features with their ``reason_group`` set, and the groups in spec order."""
    attributes = {f.name for f in features if f.family == "attribute"}
    by_family: dict[str, list[Feature]] = {}
    for feature in features:
        by_family.setdefault(feature.family, []).append(feature)
    groups: dict[str, ReasonGroup] = {}
    renamed: dict[str, str] = {}  # a behaviour named like an attribute gets another key
    assigned = []
    for feature in features:
        key, group = _group_of(feature, features, by_family, params)
        if feature.family != "attribute" and key in attributes:
            if key not in renamed:
                renamed[key] = _free_key(key, attributes | set(groups))
            key = renamed[key]
            group = dataclasses.replace(group, key=key)
        groups.setdefault(key, group)
        assigned.append(dataclasses.replace(feature, reason_group=key))
    return assigned, tuple(groups.values())


def _free_key(key: str, taken: set[str]) -> str:
    """``key`` is an attribute's name too: the behaviour gets ``key_events`` (or a number)."""
    candidate, n = f"{key}_events", 2
    while candidate in taken:
        candidate, n = f"{key}_events_{n}", n + 1
    return candidate


def _group_of(
    feature: Feature,
    features: Sequence[Feature],
    by_family: dict[str, list[Feature]],
    params: FeatureParams,
) -> tuple[str, ReasonGroup]:
    family = feature.family
    if family == "attribute":
        return feature.name, _attribute_group(feature)
    if family in _EVENT_FAMILIES or (family == "click_rate" and _has_type(features, "email_click")):
        event_type = "email_click" if family == "click_rate" else str(feature.event_type)
        return event_type, _event_group(event_type, features)
    if family in _OVERALL_FAMILIES or family == "click_rate":
        return "overall_activity", _overall_group(features, params)
    if family == "tenure":
        return "tenure", _group(
            "tenure", "Time as a lead", feature.name,
            [SentenceRule(f"Became a lead {{{feature.name}:ago}}")],
            "No creation date recorded",
        )  # fmt: skip
    if family == "prior_wins":
        n = feature.name
        return "prior_wins", _group(
            "prior_wins", "Earlier purchases", n,
            [SentenceRule(f"Bought {{{n}:times}} before", (f"{n} > 0",)),
             SentenceRule("Has not bought before")],
            "No purchase history recorded",
        )  # fmt: skip
    if family in ("prior_lost", "recycled"):
        lost = by_family.get("prior_lost", [])
        rules = [
            SentenceRule("Recycled lead (an earlier deal was lost)", (f"{feature.name} == 1",))
        ]
        if lost:
            n = lost[0].name
            rules = [SentenceRule(f"Lost {{{n}:plural earlier deal}}", (f"{n} > 0",))]
        rules.append(SentenceRule("No earlier deal lost"))
        headline = (lost or [feature])[0].name
        return "lost_deals", _group(
            "lost_deals", "Earlier lost deals", headline, rules, "No deal history recorded"
        )
    if family in ("open_opportunity", "open_opportunity_days"):
        return "open_opportunity", _opportunity_group(by_family)
    if family == "account_colleagues":
        n, days = feature.name, feature.window_days
        return "account_colleagues", _group(
            "account_colleagues", "Colleagues engaged", n,
            [SentenceRule(
                f"{{{n}:plural colleague}} at the same company engaged in the last {days} days",
                (f"{n} > 0",),
             ),
             SentenceRule(f"No colleague at the same company engaged in the last {days} days")],
            "No information about colleagues at the same company",
        )  # fmt: skip
    if family in BUYING_STATE_FAMILIES:
        return buying_state_group(feature, features, params)
    label = _escape(feature.label)
    return feature.name, _group(
        feature.name, feature.label, feature.name,
        [SentenceRule(f"{label}: {{{feature.name}}}")], f"{label}: not recorded",
    )  # fmt: skip


def _group(
    key: str, label: str, headline: str, rules: list[SentenceRule], missing: str
) -> ReasonGroup:
    return ReasonGroup(key, label, tuple(rules), missing, headline)


def _has_type(features: Sequence[Feature], event_type: str) -> bool:
    return any(f.event_type == event_type and f.family == "count" for f in features)


def _attribute_group(feature: Feature) -> ReasonGroup:
    name, label = feature.name, _escape(feature.label)
    if feature.boolean:
        rules = [SentenceRule(f"{label}: yes", (f"{name} == 1",)), SentenceRule(f"{label}: no")]
    elif feature.kind == "categorical":
        rules = [SentenceRule(f"{label}: {{{name}:text}}")]
    else:
        rules = [SentenceRule(f"{label}: {{{name}:num}}")]
    return _group(name, feature.label, name, rules, _missing_attribute(label, feature.boolean))


def _missing_attribute(label: str, boolean: bool) -> str:
    """ "No department recorded"; questions and yes/no fields read "<label>: not recorded"."""
    words = label.split() or [label]
    if boolean or len(words) > 4 or words[0].lower() in _QUESTION_WORDS or label.endswith("?"):
        return f"{label}: not recorded"
    lowered = [w[0].lower() + w[1:] if w[1:].islower() else w for w in words]
    return f"No {' '.join(lowered)} recorded"


def _event_group(event_type: str, features: Sequence[Feature]) -> ReasonGroup:
    once, several, none, label = _EVENT_WORDING.get(
        event_type,
        (
            f"Had a '{event_type}' event",
            f"Had {{n:plural '{event_type}' event}}",
            f"No '{event_type}' event",
            f"'{event_type}' events",
        ),
    )
    counts = {
        f.window_days: f.name
        for f in features
        if f.family == "count" and f.event_type == event_type
    }
    windows = sorted(counts)
    recency = f"days_since_{event_type}"
    rules = []
    if windows:
        longest, widest = counts[windows[-1]], windows[-1]
        rules.append(SentenceRule(f"{once} {{{recency}:ago}}", (f"{longest} == 1",)))
        for window in windows:
            count = counts[window]
            if window != widest:  # the only one this recent, more before
                rules.append(
                    SentenceRule(
                        f"{once} {{{recency}:ago}}, {{{longest}:times}} in the last {widest} days",
                        (f"{count} == 1",),
                    )
                )
            rules.append(
                SentenceRule(
                    f"{several.replace('{n:', f'{{{count}:')} in the last {window} days "
                    f"(last one {{{recency}:ago}})",
                    (f"{count} > 0",),
                )
            )
    rules += [SentenceRule(f"{none} in {{{recency}:span}}"), SentenceRule(f"{none} yet")]
    headline = counts[windows[-1]] if windows else recency
    return _group(event_type, label, headline, rules, f"No {label[0].lower()}{label[1:]} recorded")


def _overall_group(features: Sequence[Feature], params: FeatureParams) -> ReasonGroup:
    by_family = {f.family: f for f in features if f.family in _OVERALL_FAMILIES}
    active, trend = by_family.get("active_days"), by_family.get("trend")
    window = params.active_window_days
    rules = []
    if active is not None:
        days = f"Active on {{{active.name}:plural day}} in the last {window} days"
        busy = f"in the last {params.trend_recent_days} days than in the {params.trend_previous_days} before"
        if trend is not None:
            rules += [
                SentenceRule(
                    f"{days}, more active {busy}", (f"{active.name} > 0", f"{trend.name} > 0")
                ),
                SentenceRule(
                    f"{days}, less active {busy}", (f"{active.name} > 0", f"{trend.name} < 0")
                ),
            ]
        rules.append(SentenceRule(days, (f"{active.name} > 0",)))
    rules.append(SentenceRule(f"No activity in the last {window} days"))
    headline = (active or next(iter(by_family.values()))).name
    return _group("overall_activity", "Overall activity", headline, rules, "No activity recorded")


def _opportunity_group(by_family: dict[str, list[Feature]]) -> ReasonGroup:
    flags = by_family.get("open_opportunity", [])
    flag = flags[0].name if flags else None
    days = by_family.get("open_opportunity_days", [])
    rules = []
    if flag is not None:
        if days:
            rules.append(
                SentenceRule(
                    f"Has an open sales opportunity, opened {{{days[0].name}:ago}}",
                    (f"{flag} == 1",),
                )
            )
        rules.append(SentenceRule("Has an open sales opportunity", (f"{flag} == 1",)))
    rules.append(SentenceRule("No open sales opportunity"))
    headline = flag or days[0].name
    return _group(
        "open_opportunity", "Open opportunity", headline, rules, "No open sales opportunity"
    )


def _escape(text: str) -> str:
    """Literal text inside a ``str.format`` template."""
    return text.replace("{", "{{").replace("}", "}}")
