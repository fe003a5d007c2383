"""The buying-state features of ``features.spec`` for every snapshot, after the main sweep
(``features.batch.kernels.sweep``) has written the rest: one more pass per lead over its
events, kept apart so the sweep's tiled stores stay as they are.

Per snapshot, in time order: the run of intent signals is carried forward event by event (a
gap of ``gap`` or more starts a new run); a window's counts are the events seen so far minus
those before its tail, a pointer that only moves forward (one pass over a lead's events, not
one per snapshot). Same rules as ``features.online.online_engine``.
"""

from __future__ import annotations

import numba
import numpy as np

from features.ingest.contracts import INTENT_EVENT_TYPES
from features.spec import FeatureSpec
from features.time_rule import DAY_NS, NAT_NS

# Positions in ``rows`` (output row of each feature, -1 if absent) and in ``settings``.
BURST, BURST_START, SEQUENCE, OPEN_RATE, CLICKS_PER_SEND = 0, 1, 2, 3, 4
N_ROWS = 5
RECENT_NS, BASELINE_NS, GAP_NS, SEQUENCE_NS, NURTURE_NS = 0, 1, 2, 3, 4
PRICING, DEMO, SEND, OPEN, CLICK = 5, 6, 7, 8, 9
N_SETTINGS = 10


@numba.njit(cache=True, nogil=True, error_model="numpy")
def sweep_buying_state(
    lead_low: int,
    lead_high: int,
    event_offsets: np.ndarray,
    event_ns: np.ndarray,
    event_code: np.ndarray,
    query_offsets: np.ndarray,
    query_ns: np.ndarray,
    active: np.ndarray,
    intent: np.ndarray,
    rows: np.ndarray,
    settings: np.ndarray,
    out: np.ndarray,
    destination: np.ndarray,
) -> None:
    """Buying-state features of the snapshots of leads ranked [lead_low, lead_high) into
    ``out[rows[k], destination[q - query_offsets[0]]]`` (offsets as in ``sweep_leads``)."""
    recent_ns, baseline_ns = settings[RECENT_NS], settings[BASELINE_NS]
    gap_ns, sequence_ns, nurture_ns = settings[GAP_NS], settings[SEQUENCE_NS], settings[NURTURE_NS]
    pricing, demo = settings[PRICING], settings[DEMO]
    # Each email code's slot in the nurture counts (sends, opens, clicks); -1: none.
    nurture_slot = np.full(len(active), -1, dtype=np.int64)
    for slot, position in enumerate((SEND, OPEN, CLICK)):
        if settings[position] >= 0:
            nurture_slot[settings[position]] = slot
    recent_days = recent_ns / DAY_NS
    baseline_days = baseline_ns / DAY_NS
    base = query_offsets[0]
    for lead in range(lead_low, lead_high):
        q_low, q_high = query_offsets[lead - lead_low], query_offsets[lead - lead_low + 1]
        e_low, e_high = event_offsets[lead], event_offsets[lead + 1]
        high = e_low
        run_start = NAT_NS
        last_intent = NAT_NS
        last_demo = NAT_NS
        # Counts up to ``high`` minus counts up to each window's tail (snapshots come in time
        # order, so every pointer only moves forward: one pass over the lead's events).
        active_seen = 0
        nurture_seen = np.zeros(3, dtype=np.int64)
        nurture_before = np.zeros(3, dtype=np.int64)
        recent_tail = baseline_tail = sequence_tail = nurture_tail = e_low
        active_before_recent = active_before_baseline = 0
        next_pricing = e_low
        for q in range(q_low, q_high):
            now = query_ns[q]
            while high < e_high and event_ns[high] <= now:
                code = event_code[high]
                if intent[code]:
                    if last_intent == NAT_NS or event_ns[high] - last_intent >= gap_ns:
                        run_start = event_ns[high]
                    last_intent = event_ns[high]
                if active[code]:
                    active_seen += 1
                if nurture_slot[code] >= 0:
                    nurture_seen[nurture_slot[code]] += 1
                if code == demo:
                    last_demo = event_ns[high]
                high += 1
            # An event is in a window of w when its age now - t < w.
            while recent_tail < high and now - event_ns[recent_tail] >= recent_ns:
                if active[event_code[recent_tail]]:
                    active_before_recent += 1
                recent_tail += 1
            while baseline_tail < high and now - event_ns[baseline_tail] >= baseline_ns:
                if active[event_code[baseline_tail]]:
                    active_before_baseline += 1
                baseline_tail += 1
            while nurture_tail < high and now - event_ns[nurture_tail] >= nurture_ns:
                slot = nurture_slot[event_code[nurture_tail]]
                if slot >= 0:
                    nurture_before[slot] += 1
                nurture_tail += 1
            while sequence_tail < high and now - event_ns[sequence_tail] >= sequence_ns:
                sequence_tail += 1
            next_pricing = max(next_pricing, sequence_tail)
            while next_pricing < high and event_code[next_pricing] != pricing:
                next_pricing += 1
            first_pricing = event_ns[next_pricing] if next_pricing < high else NAT_NS
            if last_demo != NAT_NS and now - last_demo >= sequence_ns:
                last_demo_in_window = NAT_NS
            else:
                last_demo_in_window = last_demo
            n_recent = active_seen - active_before_recent
            n_baseline = active_seen - active_before_baseline
            sends = nurture_seen[0] - nurture_before[0]
            opens = nurture_seen[1] - nurture_before[1]
            clicks = nurture_seen[2] - nurture_before[2]
            column = destination[q - base]
            if rows[BURST] >= 0:
                out[rows[BURST], column] = (n_recent / recent_days) / (
                    (n_baseline + 1) / baseline_days
                )
            if rows[BURST_START] >= 0:
                current = last_intent != NAT_NS and now - last_intent < gap_ns
                out[rows[BURST_START], column] = (now - run_start) / DAY_NS if current else np.nan
            if rows[SEQUENCE] >= 0:
                then = (
                    first_pricing != NAT_NS
                    and last_demo_in_window != NAT_NS
                    and last_demo_in_window >= first_pricing
                )
                out[rows[SEQUENCE], column] = 1.0 if then else 0.0
            if rows[OPEN_RATE] >= 0:
                out[rows[OPEN_RATE], column] = opens / sends if sends > 0 else np.nan
            if rows[CLICKS_PER_SEND] >= 0:
                out[rows[CLICKS_PER_SEND], column] = clicks / sends if sends > 0 else np.nan


def buying_state_layout(
    spec: FeatureSpec, computed: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, settings, intent)`` for a spec: the block row of each buying-state feature
    (-1 if absent; ``computed`` = the block's feature names in order), the windows and event
    codes the kernel needs, and which event codes are intent signals."""
    params, types = spec.params, spec.event_types
    row = {name: i for i, name in enumerate(computed)}
    families = {
        "burst": BURST, "burst_start": BURST_START, "sequence": SEQUENCE,
        "nurture_opens": OPEN_RATE, "nurture_clicks": CLICKS_PER_SEND,
    }  # fmt: skip
    rows = np.full(N_ROWS, -1, dtype=np.int64)
    for feature in spec.features:
        if feature.family in families:
            rows[families[feature.family]] = row[feature.name]
    settings = np.full(N_SETTINGS, -1, dtype=np.int64)
    settings[RECENT_NS] = params.burst_recent_days * DAY_NS
    settings[BASELINE_NS] = params.burst_baseline_days * DAY_NS
    settings[GAP_NS] = params.burst_gap_days * DAY_NS
    settings[SEQUENCE_NS] = params.sequence_window_days * DAY_NS
    settings[NURTURE_NS] = params.nurture_window_days * DAY_NS
    for position, name in (
        (PRICING, "pricing_page_view"), (DEMO, "demo_request"), (SEND, "email_send"),
        (OPEN, "email_open"), (CLICK, "email_click"),
    ):  # fmt: skip
        if name in types:
            settings[position] = types.index(name)
    intent = np.zeros(len(types) + 1, dtype=np.bool_)
    for name in INTENT_EVENT_TYPES:
        if name in types:
            intent[types.index(name)] = True
    return rows, settings, intent
