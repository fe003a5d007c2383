"""Sales-ready episodes: first moments, re-entries after a win, a loss or going quiet, signals
inside an open deal ignored, journeys bounded by the previous stage and the lookback; the
vectorised episodes equal a lead-by-lead loop on a random CRM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from marketing_support import DAY, at, dataset_from_frames, dataset_of, reference_episodes

from evaluation.marketing.crm_arrays import crm_arrays
from evaluation.marketing.sales_ready import (
    REENTRY_KINDS,
    intent_signals,
    sales_ready_episodes,
)
from features.ingest import contracts as c
from features.time_rule import DAY_NS


def _episodes(dataset, **options):
    crm = crm_arrays(dataset, "lead_source")
    return crm, sales_ready_episodes(crm, *intent_signals(crm), definition="test", **options)


def _ns(days: float) -> int:
    return at(days).value


def test_stages_and_reentries_of_hand_made_leads() -> None:
    dataset = dataset_of(
        leads=[("A", 0, "web"), ("B", 0, "event"), ("C", 0, None), ("D", 0, "web")],
        events=[
            ("A", 9, "pricing_page_view"), ("A", 19, "demo_request"),
            ("A", 45, "pricing_page_view"),  # while A's deal is open: not a new moment
            ("A", 69, "form_submit"),  # after A's won deal closed: a customer came back
            ("A", 244, "pricing_page_view"),  # 175 days later: quiet, recycled, back again
            ("B", 60, "pricing_page_view"),  # the moment B's lost deal closed
            ("C", 5, "web_visit"),  # no intent: never sales-ready
        ],
        deals=[("A", 31, 60, True, 500.0), ("B", 31, 60, False), ("D", None, 120, True, 80.0)],
    )  # fmt: skip
    _, ep = _episodes(dataset, quiet_days=90, lookback_days=60)
    got = pd.DataFrame(
        {
            "lead": ep.lead, "start": ep.start, "number": ep.number,
            "reentry": [REENTRY_KINDS[k] for k in ep.reentry], "via": ep.via_opportunity,
            "deal": ep.deal, "journey_start": ep.journey_start,
        }
    )  # fmt: skip
    expected = pd.DataFrame(
        [
            (0, _ns(9), 0, "first", False, 0, _ns(9) - 60 * DAY_NS),
            (0, _ns(69), 1, "after_won", False, -1, _ns(60)),  # the close bounds the journey
            (0, _ns(244), 2, "after_quiet", False, -1, _ns(244) - 60 * DAY_NS),
            (1, _ns(31), 0, "first", True, 1, _ns(31) - 60 * DAY_NS),
            (1, _ns(60), 1, "after_lost", False, -1, _ns(60)),
            (3, _ns(120), 0, "first", True, 2, _ns(120) - 60 * DAY_NS),  # open date unknown
        ],
        columns=got.columns,
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # A's first episode's last signal is its deal opening (day 31), after the demo request.
    assert ep.last_signal[0] == _ns(31)


def test_previous_moment_bounds_the_journey_and_quiet_is_strict() -> None:
    dataset = dataset_of(
        leads=[("A", 0, "web")],
        events=[("A", 10, "pricing_page_view"), ("A", 100, "pricing_page_view"),
                ("A", 131, "form_submit")],
    )  # fmt: skip
    _, ep = _episodes(dataset, quiet_days=90, lookback_days=60)
    # Day 100 is exactly 90 days after day 10: not more than quiet_days, the same episode.
    assert ep.start.tolist() == [_ns(10)]
    _, ep = _episodes(dataset, quiet_days=30, lookback_days=365)
    assert ep.start.tolist() == [_ns(10), _ns(100), _ns(131)]
    assert ep.journey_start.tolist() == [_ns(10) - 365 * DAY_NS, _ns(10), _ns(100)]
    assert [REENTRY_KINDS[k] for k in ep.reentry] == ["first", "after_quiet", "after_quiet"]


def test_intent_before_creation_counts_from_creation() -> None:
    dataset = dataset_of(leads=[("A", 10, "web")], events=[("A", 8, "demo_request")])
    _, ep = _episodes(dataset)
    assert ep.start.tolist() == [_ns(10)]


@pytest.mark.parametrize("seed", [3, 11])
def test_episodes_equal_a_lead_by_lead_loop(crm_factory, open_deals_factory, seed: int) -> None:
    leads, events, outcomes = crm_factory(300, seed=seed)
    leads = leads.assign(lead_source=leads["industry"])
    open_deals = open_deals_factory(leads, seed)
    # Open deals that opened before a closed deal of the lead closed would overlap it: kept,
    # the episodes must cope (a second deal opened while one is open starts nothing).
    dataset = dataset_from_frames(leads, events, outcomes, open_deals)
    crm = crm_arrays(dataset, "lead_source")
    signals = intent_signals(crm)
    for quiet, lookback in ((90, 60), (20, 400)):
        ep = sales_ready_episodes(
            crm, *signals, definition="", quiet_days=quiet, lookback_days=lookback
        )
        ref = reference_episodes(crm, *signals, quiet * DAY_NS, lookback * DAY_NS)
        assert len(ep) == len(ref) > 100
        for name in ("lead", "start", "via_opportunity", "number", "reentry", "journey_start",
                     "last_signal", "deal"):  # fmt: skip
            assert getattr(ep, name).tolist() == [getattr(r, name) for r in ref], name
        assert set(ep.reentry.tolist()) == {0, 1, 2, 3}


def test_unknown_leads_are_named() -> None:
    dataset = dataset_of(leads=[("A", 0, "web")], events=[("A", 1, "web_visit")])
    events = pd.concat(
        [dataset.events, dataset.events.assign(**{c.LEAD_ID: "ghost"})], ignore_index=True
    )
    broken = dataset_from_frames(dataset.leads, events, dataset.outcomes)
    with pytest.raises(
        ValueError, match=r"events.lead_id: lead not in the leads table: 1 row.*ghost"
    ):
        crm_arrays(broken, "lead_source")


def test_sub_second_times_stay_exact() -> None:
    dataset = dataset_of(leads=[("A", 0, "web")], events=[("A", 5, "demo_request")])
    events = dataset.events.copy()
    events[c.OCCURRED_AT] = events[c.OCCURRED_AT] + pd.Timedelta(nanoseconds=7)
    crm, ep = _episodes(dataset_from_frames(dataset.leads, events, dataset.outcomes))
    assert ep.start.tolist() == [_ns(5) + 7] and crm.intent_t.tolist() == [_ns(5) + 7]
    assert pd.Timedelta(days=1) == DAY
    assert np.issubdtype(ep.start.dtype, np.int64)
