"""When leads became sales-ready: every sales-ready episode of every lead, re-entries included.

A **signal** is a moment that makes a lead sales-ready under the agreed definition: an intent
event (pricing page, demo request, form) when no model is given, or a time at which the
model's probability was at or above its sales-ready threshold (``model_signals``). An
opportunity opening is a signal too (a lead sales bought into was sales-ready by then).

A lead is in one stage at a time: nurture -> sales-ready -> opportunity -> won or lost -> back
in nurture (a customer, or a lost lead recycled). A signal starts a new **episode** when the
lead is in nurture: it is the lead's first signal, or a deal closed since its previous
signal, or the previous signal is more than ``quiet_days`` old (the lead went quiet and was
recycled). Signals while a deal is open are not new episodes. An episode's deal is the one
that opened in it; a later episode of the same lead is a **re-entry**: after a won deal (a
customer came back), after a lost one, or after going quiet.

Each episode also carries its **journey**: the touches credited to it are those from
``journey_start`` (the later of the lead's previous sales-ready moment, the close of its
previous deal and ``lookback_days`` before this moment) up to, strictly before, the moment —
a touch counts only before the stage it is credited for.

All of it is sorts, cumulative sums and searches over arrays: no loop over leads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.marketing.crm_arrays import NEVER, CrmArrays
from features.time_rule import DAY_NS

REENTRY_KINDS = ("first", "after_won", "after_lost", "after_quiet")
# At equal times: a close, then an opening, then a signal; the close of a deal known only by
# its close (opened and closed at once) comes last, so that deal's own moment precedes it.
_CLOSE, _OPEN, _SIGNAL, _INSTANT_CLOSE = 0, 1, 2, 3


@dataclass(frozen=True)
class Episodes:
    """Sales-ready episodes sorted by lead, then time; one entry per episode."""

    lead: np.ndarray
    start: np.ndarray  # the sales-ready moment, ns
    via_opportunity: np.ndarray  # the moment was an opportunity opening, no earlier signal
    number: np.ndarray  # 0: the lead's first episode; 1, 2, ...: re-entries
    reentry: np.ndarray  # index into REENTRY_KINDS
    journey_start: np.ndarray  # ns: touches in [journey_start, start) are credited to it
    last_signal: np.ndarray  # ns: the episode's last signal (it goes quiet quiet_days after)
    deal: np.ndarray  # index into the deal arrays, -1: no opportunity opened in it
    quiet_ns: int
    definition: str  # how the sales-ready moment was defined, for the report

    def __len__(self) -> int:
        return int(self.lead.size)


def sales_ready_episodes(
    crm: CrmArrays,
    signal_lead: np.ndarray,
    signal_t: np.ndarray,
    *,
    definition: str,
    quiet_days: float = 90.0,
    lookback_days: float = 60.0,
) -> Episodes:
    """Episodes from the signals (lead positions and ns times) and the deals of ``crm``."""
    deals = np.arange(crm.deal_lead.size)
    closed = crm.deal_close != NEVER
    lead = np.r_[crm.deal_lead[closed], crm.deal_lead, signal_lead].astype(np.int64)
    when = np.r_[crm.deal_close[closed], crm.deal_open, signal_t].astype(np.int64)
    instant = crm.deal_close[closed] == crm.deal_open[closed]
    kind = np.r_[
        np.where(instant, _INSTANT_CLOSE, _CLOSE), np.full(deals.size, _OPEN),
        np.full(signal_t.size, _SIGNAL),
    ].astype(np.int8)  # fmt: skip
    deal = np.r_[deals[closed], deals, np.full(signal_t.size, -1)]
    order = np.lexsort((kind, when, lead))
    lead, when, kind, deal = lead[order], when[order], kind[order], deal[order]
    n = lead.size
    index = np.arange(n)
    run_start = np.maximum.accumulate(np.where(_firsts(lead), index, 0)) if n else index

    def so_far(mask: np.ndarray) -> np.ndarray:
        """Items of ``mask`` in the lead's run up to and including each item."""
        total = np.cumsum(mask)
        return total - total[run_start] + mask[run_start]

    is_close = (kind == _CLOSE) | (kind == _INSTANT_CLOSE)
    open_now = so_far(kind == _OPEN) - so_far(is_close)
    eligible = ((kind == _SIGNAL) & (open_now <= 0)) | ((kind == _OPEN) & (open_now <= 1))
    last_close = np.maximum.accumulate(np.where(is_close, index, -1)) if n else index
    last_close = np.where(last_close >= run_start, last_close, -1)

    items = np.flatnonzero(eligible)
    quiet_ns = int(quiet_days * DAY_NS)
    if not items.size:  # no signal and no deal at all
        none = np.zeros(0, dtype=np.int64)
        return Episodes(none.astype(np.int32), none, none.astype(bool), none.astype(np.int32),
                        none.astype(np.int8), none, none, none, quiet_ns, definition)  # fmt: skip
    prev = np.r_[-1, items[:-1]]
    has_prev = (prev >= 0) & (prev >= run_start[items])
    starts = ~has_prev | (when[items] - when[np.maximum(prev, 0)] > quiet_ns)
    starts |= last_close[items] > prev
    episode_of = np.cumsum(starts) - 1
    first_item = items[starts]
    last_item = items[np.r_[starts[1:], True]]

    ep_lead = lead[first_item]
    ep_start = when[first_item]
    number = _rank_in_runs(ep_lead)
    close_item = last_close[first_item]
    after_close = (number > 0) & (close_item >= 0) & (close_item > prev[starts])
    closed_won = np.zeros(first_item.size, dtype=bool)
    has_close = close_item >= 0
    closed_won[has_close] = crm.deal_won[deal[close_item[has_close]]]
    reentry = np.select(
        [number == 0, after_close & closed_won, after_close], [0, 1, 2], default=3
    ).astype(np.int8)

    opens = kind[items] == _OPEN
    ep_deal = np.full(first_item.size, -1, dtype=np.int64)
    with_deal, first_open = np.unique(episode_of[opens], return_index=True)
    ep_deal[with_deal] = deal[items[opens][first_open]]

    previous_start = np.r_[np.iinfo(np.int64).min, ep_start[:-1]]
    previous_start = np.where(number > 0, previous_start, np.iinfo(np.int64).min)
    close_time = np.where(close_item >= 0, when[np.maximum(close_item, 0)], np.iinfo(np.int64).min)
    lookback = ep_start - int(lookback_days * DAY_NS)
    journey_start = np.maximum.reduce([previous_start, close_time, lookback])
    return Episodes(
        lead=ep_lead.astype(np.int32),
        start=ep_start,
        via_opportunity=kind[first_item] == _OPEN,
        number=number.astype(np.int32),
        reentry=reentry,
        journey_start=journey_start,
        last_signal=when[last_item],
        deal=ep_deal,
        quiet_ns=quiet_ns,
        definition=definition,
    )


@dataclass(frozen=True)
class EpisodeDeals:
    """Per episode, the deal that opened in it (``NEVER`` / false / 0 where none did)."""

    has_deal: np.ndarray
    open: np.ndarray  # ns
    close: np.ndarray  # ns, NEVER while open or without a deal
    won: np.ndarray  # closed won
    lost: np.ndarray  # closed lost
    amount: np.ndarray  # revenue of a won deal, else 0


def episode_deals(crm: CrmArrays, episodes: Episodes) -> EpisodeDeals:
    """The deal facts of every episode, read through a sentinel row for "no deal"."""
    row = np.where(episodes.deal >= 0, episodes.deal, crm.deal_lead.size)
    close = np.r_[crm.deal_close, NEVER][row]
    won = np.r_[crm.deal_won, False][row]
    closed = close != NEVER
    return EpisodeDeals(
        has_deal=episodes.deal >= 0,
        open=np.r_[crm.deal_open, NEVER][row],
        close=close,
        won=closed & won,
        lost=closed & ~won & (episodes.deal >= 0),
        amount=np.where(closed & won, np.r_[crm.deal_amount, 0.0][row], 0.0),
    )


def intent_signals(crm: CrmArrays) -> tuple[np.ndarray, np.ndarray]:
    """The model-free signals: every intent event, at or after its lead's creation (a lead
    cannot be sales-ready before it is a lead; earlier intent counts from creation)."""
    return crm.intent_lead, np.maximum(crm.intent_t, crm.created[crm.intent_lead])


INTENT_DEFINITION = (
    "the first intent event (pricing-page view, demo request or form) or opportunity opening "
    "of a lead in nurture (no model given)"
)


def _firsts(values: np.ndarray) -> np.ndarray:
    """True where a run of equal values begins."""
    return np.r_[True, values[1:] != values[:-1]] if values.size else values.astype(bool)


def _rank_in_runs(values: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values."""
    index = np.arange(values.size)
    return (
        index - np.maximum.accumulate(np.where(_firsts(values), index, 0)) if values.size else index
    )
