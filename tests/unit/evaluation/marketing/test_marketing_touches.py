"""Touch credit: the three attribution rules on a hand-made journey, touches only strictly
before the stage they are credited for, equality with a journey-by-journey loop on a random
CRM, and the point-in-time rule: what happens later never changes an earlier stage's credit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from marketing_support import (
    at,
    dataset_from_frames,
    dataset_of,
    reference_episodes,
    reference_weights,
)

from evaluation.marketing.crm_arrays import NEVER, crm_arrays
from evaluation.marketing.sales_ready import episode_deals, intent_signals, sales_ready_episodes
from evaluation.marketing.touches import MODELS, journey_candidates, stage_credit
from features.ingest import contracts as c
from features.time_rule import DAY_NS


def _credits(dataset, lookback_days: float = 60.0, quiet_days: float = 90.0):
    crm = crm_arrays(dataset, "lead_source")
    ep = sales_ready_episodes(
        crm, *intent_signals(crm), definition="", lookback_days=lookback_days,
        quiet_days=quiet_days,
    )  # fmt: skip
    deals = episode_deals(crm, ep)
    won_end = np.where(deals.won, deals.close, NEVER)
    candidates = journey_candidates(crm, ep, np.where(deals.won, won_end, ep.start))
    return (
        crm,
        ep,
        stage_credit(crm, ep, ep.start, candidates),
        stage_credit(crm, ep, won_end, candidates),
    )


def _by_campaign(crm, credit, model: str) -> dict[str, float]:
    names = [*crm.campaigns, "-"]
    out: dict[str, float] = {}
    for touch, weight in zip(credit.touch, credit.weights[model], strict=True):
        name = names[crm.touch_campaign[touch]]
        out[name] = round(out.get(name, 0.0) + weight, 10)
    return out


def test_rules_on_one_journey_and_only_before_the_stage() -> None:
    dataset = dataset_of(
        leads=[("A", 0, "web")],
        events=[
            ("A", 1, "email_send", "old", "email"),  # before the 60-day lookback of day 70
            ("A", 20, "email_send", "n1", "email"),
            ("A", 30, "email_open", "n1", "email"),
            ("A", 40, "email_bounce", "n2", "email"),  # never delivered: not a touch
            ("A", 50, "webinar_attended", "w", "webinar"),
            ("A", 60, "email_click", "n3", "email"),
            ("A", 70, "pricing_page_view"),  # the sales-ready moment itself: not credited
            ("A", 80, "email_open", "after", "email"),  # after sales-ready, before the win
            ("A", 95, "email_open", "late", "email"),  # after the win
        ],
        deals=[("A", 85, 90, True, 1000.0)],
    )  # fmt: skip
    crm, ep, ready, won = _credits(dataset)
    assert len(ep) == 1
    assert _by_campaign(crm, ready, "first_touch") == {"n1": 1.0, "w": 0.0, "n3": 0.0}
    assert _by_campaign(crm, ready, "last_touch") == {"n1": 0.0, "w": 0.0, "n3": 1.0}
    # Four touches: 40% first, 40% last, 20% shared by the two in the middle.
    assert _by_campaign(crm, ready, "position_based") == {"n1": 0.5, "w": 0.1, "n3": 0.4}
    assert ready.touches_per_journey.tolist() == [4] and ready.sends_per_journey.tolist() == [1]
    # The win's journey runs on to the close: the open at day 80 counts, day 95 does not.
    # Six touches (the pricing-page view, without a campaign, is one before the win): the
    # first send 40% and its open 5%, the last 40%, the three others 5% each.
    assert _by_campaign(crm, won, "position_based") == {
        "n1": 0.45,
        "w": 0.05,
        "n3": 0.05,
        "-": 0.05,
        "after": 0.4,
    }
    assert won.touches_per_journey.tolist() == [6]


@pytest.mark.parametrize(("n", "expected"), [(1, [1.0]), (2, [0.5, 0.5]), (3, [0.4, 0.2, 0.4])])
def test_short_journeys(n: int, expected: list[float]) -> None:
    events = [("A", 10 + i, "email_open", f"c{i}", "email") for i in range(n)]
    dataset = dataset_of(leads=[("A", 0, None)], events=[*events, ("A", 30, "demo_request")])
    crm, _, ready, _ = _credits(dataset)
    order = np.argsort(crm.touch_t[ready.touch])
    assert ready.weights["position_based"][order].tolist() == pytest.approx(expected)
    assert ready.weights["first_touch"].sum() == ready.weights["last_touch"].sum() == 1.0


def test_equal_times_split_by_row_and_a_same_second_start_falls_back() -> None:
    """Two touches at the same instant: the first row is the first touch. A touch in the
    same second as the next journey's start but before it in nanoseconds belongs to the
    journey before."""
    first_moment = at(10)
    dataset = dataset_of(
        leads=[("A", 0, None)],
        events=[("A", 5, "email_open", "x", "email"), ("A", 5, "email_open", "y", "email"),
                ("A", 10, "demo_request"), ("A", 200, "form_submit")],
    )  # fmt: skip
    events = dataset.events.copy()
    # A touch 0.4 s after the first moment's second began, and the first moment 0.6 s in.
    events.loc[2, c.OCCURRED_AT] = first_moment + pd.Timedelta(milliseconds=600)
    touch = events.iloc[[0]].assign(
        **{c.OCCURRED_AT: first_moment + pd.Timedelta(milliseconds=400), c.CAMPAIGN: "z"}
    )
    dataset = dataset_from_frames(dataset.leads, pd.concat([events, touch], ignore_index=True),
                                  dataset.outcomes)  # fmt: skip
    crm, ep, ready, _ = _credits(dataset, lookback_days=400, quiet_days=30)
    assert len(ep) == 2
    names = np.asarray([*crm.campaigns, "-"])[crm.touch_campaign[ready.touch]]
    credited = dict(zip(names, ready.weights["first_touch"], strict=True))
    assert credited["x"] == 1.0 and credited["y"] == 0.0
    # The touch 0.2 s before the first moment is in the first journey, the moment itself is
    # not a touch of either (it is the second journey's start: strictly after it only).
    assert ready.journey[names == "z"].tolist() == [0]


@pytest.mark.parametrize("seed", [5, 8])
def test_credit_equals_a_journey_by_journey_loop(crm_factory, open_deals_factory, seed) -> None:
    leads, events, outcomes = crm_factory(250, seed=seed)
    rng = np.random.default_rng(seed)
    events = events.assign(
        **{c.CAMPAIGN: pd.Series(rng.choice(["a", "b", "c", None], len(events)), dtype="str")}
    )
    dataset = dataset_from_frames(
        leads.assign(lead_source=leads["industry"]), events, outcomes,
        open_deals_factory(leads, seed),
    )  # fmt: skip
    crm, ep, ready, won = _credits(dataset, lookback_days=45, quiet_days=60)
    ref = reference_episodes(crm, *intent_signals(crm), 60 * DAY_NS, 45 * DAY_NS)
    assert [r.start for r in ref] == ep.start.tolist()
    won_end = [crm.deal_close[r.deal] if r.deal >= 0 and crm.deal_won[r.deal] else None
               for r in ref]  # fmt: skip
    for credit, ends in ((ready, [r.start for r in ref]), (won, won_end)):
        expected = {model: {} for model in MODELS}
        for j, (episode, end) in enumerate(zip(ref, ends, strict=True)):
            if end is None:
                continue
            mine = [(int(crm.touch_t[i]), i) for i in np.flatnonzero(crm.touch_lead == episode.lead)
                    if episode.journey_start <= crm.touch_t[i] < end]  # fmt: skip
            for model, weights in reference_weights(mine).items():
                expected[model].update({(j, i): w for i, w in weights.items()})
        for model in MODELS:
            got = dict(zip(zip(credit.journey.tolist(), credit.touch.tolist(), strict=True),
                           credit.weights[model].tolist(), strict=True))  # fmt: skip
            assert got.keys() == expected[model].keys()
            assert got == pytest.approx(expected[model])
    assert ready.touch.size > 500 and won.touch.size > 50


def test_later_data_never_changes_earlier_credit(crm_factory) -> None:
    """Cut the data at T (events and deals after T removed, deals closing after T still open
    at T): every sales-ready moment up to T keeps exactly its credited touches and weights,
    and so does every win up to T."""
    leads, events, outcomes = crm_factory(300, seed=9)
    leads = leads.assign(lead_source=leads["industry"])
    full = dataset_from_frames(leads, events, outcomes)
    cut = pd.Timestamp("2024-07-01", tz="UTC")
    known = outcomes[outcomes[c.OPENED_AT].fillna(outcomes[c.CLOSED_AT]) <= cut]
    still_open = known[(known[c.CLOSED_AT] > cut) & known[c.OPENED_AT].notna()]
    # Leads that exist at T (one created later may have rows dated before it: unknown at T).
    existing = leads[leads[c.CREATED_AT] <= cut]
    ids = set(existing[c.LEAD_ID])
    past = dataset_from_frames(
        existing,
        events[(events[c.OCCURRED_AT] <= cut) & events[c.LEAD_ID].isin(ids)],
        known[(known[c.CLOSED_AT] <= cut) & known[c.LEAD_ID].isin(ids)],
        still_open.loc[still_open[c.LEAD_ID].isin(ids), [c.LEAD_ID, c.OPENED_AT]],
    )
    results = []
    for dataset in (full, past):
        crm, ep, ready, won = _credits(dataset)
        lead_ids = dataset.leads[c.LEAD_ID].to_numpy()
        stage = {"ready": ready, "won": won}
        rows = set()
        for name, credit in stage.items():
            for j, i, w in zip(credit.journey, credit.touch, credit.weights["position_based"],
                               strict=True):  # fmt: skip
                end = ep.start[j] if name == "ready" else crm.deal_close[ep.deal[j]]
                lead = lead_ids[ep.lead[j]]
                if end <= cut.value and lead in ids:
                    touch = (lead_ids[crm.touch_lead[i]], int(crm.touch_t[i]))
                    rows.add((name, lead, int(ep.start[j]), touch, round(w, 12)))
        results.append(rows)
    assert results[0] == results[1] and len(results[0]) > 300
