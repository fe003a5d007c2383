"""Which touches each stage is credited to, and how much of it each gets.

A touch is credited to a lead's **sales-ready** moment when it falls in the episode's journey
``[journey_start, start)`` and to a **won deal** when it falls in ``[journey_start, close)``
of the episode the deal opened in: strictly before the stage, never after it. Journeys of one
lead never overlap (each starts at or after the previous moment and deal close), so every
touch is credited at most once per stage.

Within a journey of ``n`` touches in time order the credit of one stage is split by:

- **first touch**: all of it to the first touch;
- **last touch**: all of it to the last touch before the stage;
- **position-based (40/20/40)**: 40% to the first, 40% to the last, the remaining 20% shared
  equally by the touches between them; one touch gets all of it, two get half each.

Ties in time are broken by the touch's row in the events table, so each rule gives exactly one
unit of credit per journey that has touches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.marketing.crm_arrays import NEVER, CrmArrays
from evaluation.marketing.sales_ready import Episodes

_SLICE = 4_000_000  # touches looked up at a time
MODELS = ("first_touch", "last_touch", "position_based")
RULES = {
    "first_touch": "all the credit to the first touch of the journey",
    "last_touch": "all the credit to the last touch before the stage",
    "position_based": "40% to the first touch, 40% to the last, 20% shared equally by the "
    "touches between them (one touch: all; two: half each)",
}


@dataclass(frozen=True)
class Credit:
    """The touches credited to one stage: which touch (index into the crm's touch arrays),
    which journey (index into the episodes) and each model's weight."""

    touch: np.ndarray
    journey: np.ndarray
    weights: dict[str, np.ndarray]  # model -> weight per credited touch
    touches_per_journey: np.ndarray  # per episode: credited touches (0: none)
    sends_per_journey: np.ndarray


def journey_candidates(
    crm: CrmArrays, episodes: Episodes, until: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The touches that may be credited, each with the only journey it can belong to: the
    last of its lead's episodes whose journey starts at or before it, and ends after it
    (``until``: per episode, the latest stage end credited); as (touch index, episode)
    arrays. Found by a search over (lead, second) keys, then checked in exact
    nanoseconds: a touch in the same second as a journey's start but before it falls back to
    the journey before. Touches go in slices, so temporaries stay bounded on tens of millions
    of events."""
    touches, journeys = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    if not len(episodes) or not crm.touch_t.size:
        return touches[0], journeys[0]
    origin = int(crm.touch_t.min()) - 1
    keys = _keys(episodes.lead, episodes.journey_start, origin)
    starts = episodes.journey_start
    for low in range(0, crm.touch_t.size, _SLICE):
        rows = slice(low, low + _SLICE)
        lead, t = crm.touch_lead[rows].astype(np.int64), crm.touch_t[rows]
        found = np.searchsorted(keys, _keys(lead, t, origin), side="right") - 1
        ok = found >= 0
        found = np.where(ok, found, 0)
        ok &= (keys[found] >> 32) == lead
        early = ok & (t < starts[found])  # same second as the start, but before it
        if early.any():
            back = np.maximum(found[early] - 1, 0)
            same = (keys[back] >> 32) == lead[early]
            ok[early] = (found[early] > 0) & same & (starts[back] <= t[early])
            found[early] = back
        kept = np.flatnonzero(ok & (t < until[found]))
        touches.append(kept + low)
        journeys.append(found[kept])
    return np.concatenate(touches), np.concatenate(journeys)


def stage_credit(
    crm: CrmArrays,
    episodes: Episodes,
    stage_end: np.ndarray,
    candidates: tuple[np.ndarray, np.ndarray],
) -> Credit:
    """Credit for a stage reached at ``stage_end`` (per episode, ns; ``NEVER``: not reached):
    the touches in ``[journey_start, stage_end)`` of their journey (``candidates`` from
    :func:`journey_candidates`), weighted by every model."""
    touch, journey = candidates
    end = stage_end[journey]
    inside = (crm.touch_t[touch] < end) & (end != NEVER)
    touch, journey = touch[inside], journey[inside]
    t = crm.touch_t[touch]
    n_journeys = len(episodes)
    count = np.bincount(journey, minlength=n_journeys)
    sends = np.bincount(journey, weights=crm.touch_is_send[touch], minlength=n_journeys)
    first = _extreme(journey, t, touch, n_journeys, first=True)
    last = _extreme(journey, t, touch, n_journeys, first=False)
    is_first, is_last = first[journey] == touch, last[journey] == touch
    n = count[journey]
    middle = np.where(n > 2, 0.2 / np.maximum(n - 2, 1), 0.0)
    position = np.where(
        n == 1, 1.0, np.where(n == 2, 0.5, np.where(is_first | is_last, 0.4, middle))
    )
    return Credit(
        touch=touch,
        journey=journey,
        weights={
            "first_touch": is_first.astype(np.float64),
            "last_touch": is_last.astype(np.float64),
            "position_based": position,
        },
        touches_per_journey=count,
        sends_per_journey=sends.astype(np.int64),
    )


def _keys(lead: np.ndarray, t: np.ndarray, origin: int) -> np.ndarray:
    """(lead, whole second since ``origin``) packed in one int64 that sorts like the pair
    (times before ``origin`` clip to 0: they precede every touch anyway)."""
    seconds = np.clip((t - origin) // 1_000_000_000, 0, 2**32 - 1)
    return (lead.astype(np.int64) << 32) | seconds


def _extreme(
    journey: np.ndarray, t: np.ndarray, touch: np.ndarray, n: int, *, first: bool
) -> np.ndarray:
    """Per journey, the touch index of its earliest (``first``) or latest touch, ties broken
    by the lowest (earliest) or highest (latest) touch index."""
    if first:
        best_t = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(best_t, journey, t)
        pick = np.full(n, np.iinfo(np.int64).max)
        tied = t == best_t[journey]
        np.minimum.at(pick, journey[tied], touch[tied])
    else:
        best_t = np.full(n, np.iinfo(np.int64).min)
        np.maximum.at(best_t, journey, t)
        pick = np.full(n, -1, dtype=np.int64)
        tied = t == best_t[journey]
        np.maximum.at(pick, journey[tied], touch[tied])
    return pick
