"""The alert rules as pure functions: sales-ready with hysteresis and cool-down, re-emergence
once per episode (after a quiet spell or a closed deal), tier and score changes, a first
score that announces only news."""

from __future__ import annotations

import dataclasses

from store.alert_rules import (
    DAY_MICROS,
    HOUR_MICROS,
    Activity,
    AlertPolicy,
    AlertState,
    episode_start,
    lead_alerts,
    model_event_type,
)
from store.score_records import StoreScore

T0 = 1_767_225_600_000_000
POLICY = AlertPolicy(ready_margin=5, cooldown_hours=24, quiet_days=90, score_change=10)


def _score(score: int, at: int, *, ready: bool | None = None, cause: str = "change") -> StoreScore:
    tier = "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 30 else "D"
    return StoreScore(
        lead_id="L1", as_of=at, scored_at=at, model_version="1", probability=score / 100,
        score=score, tier=tier, sales_ready=score >= 70 if ready is None else ready,
        fit=0.0, engagement=0.0, revision=1, cause=cause,
    )  # fmt: skip


def _previous(score: StoreScore) -> dict:
    return score.current_row()


def _walk(scores: list[int], step_hours: float = 1.0, policy: AlertPolicy = POLICY):
    """Score a lead through ``scores`` (one per step) and collect the alerts of each step."""
    state, previous, out = AlertState(), None, []
    activity = Activity(T0 - 400 * DAY_MICROS, [T0 - HOUR_MICROS])
    for i, value in enumerate(scores):
        current = _score(value, T0 + int(i * step_hours * HOUR_MICROS))
        types, state = lead_alerts(previous, current, state, activity, policy)
        out.append([t for t in types if t == "lead.sales_ready"])
        previous = _previous(current)
    return out


def test_crossing_the_threshold_upwards_alerts_once() -> None:
    assert _walk([50, 60, 72, 75, 80]) == [[], [], ["lead.sales_ready"], [], []]


def test_hovering_at_the_threshold_does_not_flap() -> None:
    # 69/71 around the threshold (70), for days: one alert, not one per crossing.
    hovering = [60] + [71, 69, 71, 68, 72, 69, 71, 67] * 5
    alerts = _walk(hovering, step_hours=12)
    assert sum(len(a) for a in alerts) == 1


def test_a_real_drop_and_a_later_rise_is_a_new_alert() -> None:
    # Down by more than the margin below its sales-ready scores, back up after the cool-down.
    alerts = _walk([60, 75, 40, 76], step_hours=25)
    assert alerts == [[], ["lead.sales_ready"], [], ["lead.sales_ready"]]
    # The same rise within the cool-down is not announced twice.
    assert _walk([60, 75, 40, 76], step_hours=2)[3] == []


def test_a_first_score_announces_only_news() -> None:
    hot = _score(90, T0)
    recent = Activity(T0 - 400 * DAY_MICROS, [T0 - HOUR_MICROS])
    types, state = lead_alerts(None, hot, AlertState(), recent, POLICY)
    assert "lead.sales_ready" in types and not state.armed
    # Imported history: the latest engagement is a month old: the baseline, no alert, and
    # the rule is disarmed (the lead was already sales-ready).
    old = Activity(T0 - 400 * DAY_MICROS, [T0 - 30 * DAY_MICROS])
    types, state = lead_alerts(None, hot, AlertState(), old, POLICY)
    assert types == [] and not state.armed


def test_tier_and_score_changes() -> None:
    before = _previous(_score(55, T0))
    types, _ = lead_alerts(before, _score(61, T0 + 1), AlertState(), None, POLICY)
    assert types == ["lead.tier_changed"]  # C -> B, moved 6 points (< 10)
    types, _ = lead_alerts(before, _score(44, T0 + 1), AlertState(), None, POLICY)
    assert types == ["lead.score_changed"]  # 11 points, same tier


def test_episode_after_a_quiet_spell_or_a_closed_deal() -> None:
    days = [0, 10, 20, 150, 151]  # quiet for 130 days between 20 and 150
    activity = Activity(T0, [T0 + d * DAY_MICROS for d in days])
    assert episode_start(activity, 90, T0 + 152 * DAY_MICROS) == T0 + 150 * DAY_MICROS
    # Not engaging any more (quiet again since 151): no current episode.
    assert episode_start(activity, 90, T0 + 300 * DAY_MICROS) is None
    # Never quiet: engaged every 30 days since creation.
    steady = Activity(T0, [T0 + d * DAY_MICROS for d in range(0, 400, 30)])
    assert episode_start(steady, 90, T0 + 391 * DAY_MICROS) is None
    # A won deal closed on day 100, engagement again from day 130: the customer is back.
    customer = dataclasses.replace(steady, closed_at=[T0 + 100 * DAY_MICROS])
    assert episode_start(customer, 90, T0 + 391 * DAY_MICROS) == T0 + 120 * DAY_MICROS
    # A lead created long before its first engagement was quiet too.
    late = Activity(T0, [T0 + 100 * DAY_MICROS])
    assert episode_start(late, 90, T0 + 101 * DAY_MICROS) == T0 + 100 * DAY_MICROS


def test_reemerged_fires_once_per_episode_when_the_lead_rises_into_tier_b() -> None:
    activity = Activity(T0, [T0, T0 + 200 * DAY_MICROS, T0 + 201 * DAY_MICROS])
    state, previous, fired = AlertState(), _previous(_score(20, T0 + DAY_MICROS)), []
    # Rises to B, slips to C, back to B, within one episode (started on day 200).
    for day, value in [(200, 40), (201, 65), (202, 55), (203, 66), (204, 85)]:
        current = _score(value, T0 + day * DAY_MICROS)
        types, state = lead_alerts(previous, current, state, activity, POLICY)
        fired.append("lead.reemerged" in types)
        previous = _previous(current)
    assert fired == [False, True, False, False, False]
    assert state.episode == T0 + 200 * DAY_MICROS


def test_model_versions_say_promoted_or_rolled_back() -> None:
    assert model_event_type("4", "3") == "model.promoted"
    assert model_event_type("3", "4") == "model.rolled_back"
    assert model_event_type("10", "9") == "model.promoted"  # numbers, not text
