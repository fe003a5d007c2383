"""The alert rules: which alerts a stored lead's score change raises. Pure functions of the
previous and current score, what the lead did, and what the rules remember about the lead.

- ``lead.sales_ready``: the score became sales-ready (the model's agreed threshold) while the
  rule was armed. Firing disarms it; it re-arms once the lead is no longer sales-ready and its
  score fell ``ready_margin`` points below the lowest score it had while sales-ready
  (hysteresis), and it never fires twice within ``cooldown_hours``: a lead hovering at the
  threshold does not flap.
- ``lead.reemerged``: the lead engages again after a quiet spell (no engagement for
  ``quiet_days``, counted from its previous engagement or its creation) or after a deal of
  its closed (won: a customer; lost: recycled), and its score rises into tier
  ``reemerged_tier`` or better from below it. Once per episode: an episode starts with the
  first engagement after the quiet spell or the closed deal and lasts while the lead keeps
  engaging.
- ``lead.tier_changed``: the tier differs from the previous score's.
- ``lead.score_changed``: the score moved by at least ``score_change`` points.

A lead's first stored score is its baseline: it raises ``lead.sales_ready`` or
``lead.reemerged`` only when the lead's latest engagement is at most ``news_hours`` old
(importing a CRM's history announces nothing; a new lead that arrives hot does).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from common.settings import Settings
from store.score_records import StoreScore

HOUR_MICROS = 3_600 * 1_000_000
DAY_MICROS = 24 * HOUR_MICROS
TIERS = ("A", "B", "C", "D")
LEAD_TYPES = ("lead.sales_ready", "lead.reemerged", "lead.tier_changed", "lead.score_changed")
MODEL_TYPES = ("model.promoted", "model.rolled_back")
TEST_TYPE = "webhook.test"
EVENT_TYPES = (*LEAD_TYPES, *MODEL_TYPES)


@dataclass(frozen=True)
class AlertPolicy:
    """The thresholds of the rules (from settings) and where the sales page is."""

    ready_margin: int = 5
    cooldown_hours: float = 24.0
    quiet_days: float = 90.0
    reemerged_tier: str = "B"
    score_change: int = 10
    news_hours: float = 24.0
    public_url: str = "http://localhost:3000"

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertPolicy:
        return cls(
            ready_margin=settings.alert_ready_margin,
            cooldown_hours=settings.alert_cooldown_hours,
            quiet_days=settings.alert_quiet_days,
            reemerged_tier=settings.alert_reemerged_tier,
            score_change=settings.alert_score_change,
            news_hours=settings.alert_news_hours,
            public_url=settings.public_url,
        )

    def lead_link(self, lead_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/sales#lead={quote(lead_id, safe='')}"


@dataclass(frozen=True)
class AlertState:
    """What the rules remember about one lead (times in UTC epoch microseconds)."""

    armed: bool = True
    ready_floor: int | None = None
    last_ready_at: int | None = None
    episode: int | None = None


@dataclass(frozen=True)
class Activity:
    """When the lead was created, engaged (sorted) and had deals closed (sorted)."""

    created_at: int
    engaged_at: list[int] = field(default_factory=list)
    closed_at: list[int] = field(default_factory=list)


def tier_rank(tier: str) -> int:
    return TIERS.index(tier) if tier in TIERS else len(TIERS)


def episode_start(activity: Activity, quiet_days: float, as_of: int) -> int | None:
    """When the lead's current re-emergence began: the first engagement of its current run
    of engagement, if that run follows a quiet spell or a closed deal; None when the lead is
    not engaging now or never went quiet."""
    quiet = quiet_days * DAY_MICROS
    times = activity.engaged_at[: bisect_right(activity.engaged_at, as_of)]
    if not times or as_of - times[-1] >= quiet:
        return None
    closes = activity.closed_at[: bisect_right(activity.closed_at, as_of)]

    def closed_between(start: int, end: int) -> bool:  # a deal closed in (start, end]
        return bisect_right(closes, end) > bisect_right(closes, start)

    for i in range(len(times) - 1, 0, -1):
        if times[i] - times[i - 1] >= quiet or closed_between(times[i - 1], times[i]):
            return times[i]
    first = times[0]
    if first - activity.created_at >= quiet or bisect_left(closes, first + 1) > 0:
        return first
    return None


def lead_alerts(
    previous: dict[str, Any] | None,
    current: StoreScore,
    state: AlertState,
    activity: Activity | None,
    policy: AlertPolicy,
) -> tuple[list[str], AlertState]:
    """The alert types one score change raises, and the rules' new state for the lead."""
    now = current.scored_at
    first = previous is None
    newsworthy = not first or (
        activity is not None
        and bool(activity.engaged_at)
        and now - activity.engaged_at[-1] <= policy.news_hours * HOUR_MICROS
    )
    types: list[str] = []
    armed, floor, last_ready = state.armed, state.ready_floor, state.last_ready_at
    if current.sales_ready:
        if armed:
            cooled = last_ready is None or now - last_ready >= policy.cooldown_hours * HOUR_MICROS
            if cooled and newsworthy:
                types.append("lead.sales_ready")
                last_ready = now
            armed, floor = False, current.score
        else:
            floor = current.score if floor is None else min(floor, current.score)
    elif not armed and (floor is None or current.score <= floor - policy.ready_margin):
        armed, floor = True, None
    episode = state.episode
    wanted = tier_rank(policy.reemerged_tier)
    rose = tier_rank(current.tier) <= wanted and (first or tier_rank(previous["tier"]) > wanted)
    if rose and activity is not None and newsworthy:
        start = episode_start(activity, policy.quiet_days, current.as_of)
        if start is not None and start != episode:
            types.append("lead.reemerged")
            episode = start
    if not first:
        if previous["tier"] != current.tier:
            types.append("lead.tier_changed")
        if abs(current.score - previous["score"]) >= policy.score_change:
            types.append("lead.score_changed")
    return types, replace(
        state, armed=armed, ready_floor=floor, last_ready_at=last_ready, episode=episode
    )


def needs_activity(
    previous: dict[str, Any] | None, current: StoreScore, policy: AlertPolicy
) -> bool:
    """Whether the rules need the lead's activity for this change (only a first score or a
    rise into the re-emergence tiers do: most changes read no events)."""
    wanted = tier_rank(policy.reemerged_tier)
    if previous is None:
        return current.sales_ready or tier_rank(current.tier) <= wanted
    return tier_rank(current.tier) <= wanted < tier_rank(previous["tier"])


def model_event_type(version: str, previous_version: str) -> str:
    """``model.promoted`` for a newer registry version, ``model.rolled_back`` for an older
    one (rollback moves the champion back to a previous version)."""
    try:
        newer = int(version) > int(previous_version)
    except ValueError:
        newer = version > previous_version
    return "model.promoted" if newer else "model.rolled_back"
