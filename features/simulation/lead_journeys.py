"""The simulator's generative process: each lead's walk through the latent buying states
(see ``features.simulation.simulator``) and the engagement it emits while in them.

- :func:`walk_states`: a continuous-time Markov chain per lead, from creation to the end of
  history, as sorted state intervals.
- :func:`emit_events`: Poisson engagement streams whose intensity depends on the state, intent
  signals just before opportunities, the nurture emails (``features.simulation.campaigns``) and
  the responses to them.
"""

from __future__ import annotations

import numpy as np

from features.simulation.campaigns import Sends, base_market_entry
from features.simulation.oracle import IN, OPP, OUT, WON
from features.simulation.population import People
from features.simulation.simulation_config import SimulationConfig

# Engagement intensity per day in each state (OUT, IN, OPP) for a lead of propensity 1.
ENGAGEMENT_RATES: dict[str, tuple[float, float, float]] = {
    "web_visit": (0.004, 0.040, 0.030),
    "pricing_page_view": (0.0003, 0.012, 0.008),
    "content_download": (0.001, 0.006, 0.003),
    "webinar_attended": (0.0004, 0.003, 0.002),
    "form_submit": (0.0002, 0.003, 0.002),
    "demo_request": (0.00005, 0.0015, 0.001),
}
CHANNEL = {
    "email_send": "email",
    "email_open": "email",
    "email_click": "email",
    "email_bounce": "email",
    "unsubscribe": "email",
    "web_visit": "web",
    "pricing_page_view": "web",
    "content_download": "web",
    "form_submit": "web",
    "demo_request": "web",
    "webinar_attended": "webinar",
}
EVENT_TYPES = tuple(CHANNEL)
# Touches counted before a purchase: everything the lead did, not what we sent.
TOUCH_TYPES = tuple(t for t in CHANNEL if t not in ("email_send", "email_bounce"))


def walk_states(
    config: SimulationConfig, rng: np.random.Generator, people: People, sends: Sends
) -> dict[str, np.ndarray]:
    """Run every lead's chain from creation to the end of history; return state intervals.

    Out of market, a lead leaves at its base rate or at the first later send that moves it
    into the market (``sends.moves_into_market``), whichever comes first; ``cause`` is the
    campaign whose send started an interval (-1 for none)."""
    n, end = people.n, float(config.days)
    state = np.where(rng.random(n) < config.start_in_market, IN, OUT)
    now = people.created.copy()
    active = np.arange(n)
    leads, states, starts, ends, nexts, causes = [], [], [], [], [], []
    exit_rate = np.stack(
        [base_market_entry(config, people), people.b + people.lam, people.mu], axis=1
    )  # total leaving rate of OUT, IN, OPP (OUT: without the campaigns' sends)
    moves = sends.moves_into_market
    move_lead, move_t, move_campaign = sends.lead[moves], sends.t[moves], sends.campaign[moves]
    span = end + 1.0  # sends are sorted by lead, then time: so are these keys
    move_key = move_lead * span + move_t
    cause = np.full(n, -1, dtype=np.int16)
    while active.size:
        s = state[active]
        hold = rng.exponential(1.0, active.size) / exit_rate[active, s]
        # The first send after now that would move the lead in, if it is out of market.
        pos = np.zeros(active.size, dtype=np.int64)
        wait = np.full(active.size, np.inf)
        if move_key.size:
            pos = np.searchsorted(move_key, active * span + now[active], side="right")
            pos = np.minimum(pos, move_key.size - 1)
            pending = (s == OUT) & (move_lead[pos] == active) & (move_t[pos] > now[active])
            wait[pending] = move_t[pos[pending]] - now[active][pending]
        moved = wait < hold
        stop = np.minimum(now[active] + hold, end)
        stop[moved] = move_t[pos[moved]]  # exactly at the send (its response sees the move)
        u = rng.random(active.size)
        nxt = np.select(
            [s == OUT, s == IN],
            [
                np.full(active.size, IN),
                np.where(u < people.b[active] / exit_rate[active, IN], OUT, OPP),
            ],
            np.where(u < people.w[active], WON, OUT),
        )
        nxt = np.where(moved, IN, nxt)
        nxt = np.where(stop >= end, -1, nxt)  # censored at the end of history
        leads.append(active)
        states.append(s)
        starts.append(now[active])
        ends.append(stop)
        nexts.append(nxt)
        causes.append(cause[active])
        now[active] = stop
        state[active] = np.where(nxt == WON, OUT, nxt)  # a buyer goes back to nurture
        cause[active] = np.where(moved, move_campaign[pos] if move_key.size else -1, -1)
        active = active[nxt >= 0]
    order_keys = [np.concatenate(x) for x in (leads, states, starts, ends, nexts, causes)]
    lead, st, start, stop, nxt, cause_of = order_keys
    order = np.lexsort((start, lead))
    return {
        "lead": lead[order],
        "state": st[order],
        "start": start[order],
        "end": stop[order],
        "next": nxt[order],
        "cause": cause_of[order],
    }


def _poisson_times(
    rng: np.random.Generator, lead: np.ndarray, start: np.ndarray, end: np.ndarray, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    counts = rng.poisson(rate * (end - start))
    idx = np.repeat(np.arange(len(lead)), counts)
    times = start[idx] + rng.random(idx.size) * (end - start)[idx]
    return lead[idx], times


def emit_events(
    config: SimulationConfig,
    rng: np.random.Generator,
    people: People,
    walk: dict[str, np.ndarray],
    sends: Sends,
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Engagement from the state intervals, the nurture emails and the responses to them:
    per batch of events their leads, times, type codes and campaign codes (-1: none)."""
    end = float(config.days)
    leads, times, types, campaigns = [], [], [], []

    def add(lead: np.ndarray, t: np.ndarray, kind: str, campaign: np.ndarray | None = None) -> None:
        keep = t < end
        leads.append(lead[keep])
        times.append(t[keep])
        types.append(np.full(int(keep.sum()), EVENT_TYPES.index(kind), dtype=np.int8))
        codes = np.full(t.size, -1, np.int16) if campaign is None else campaign
        campaigns.append(codes[keep])

    lead, state = walk["lead"], walk["state"]
    scale = people.engagement[lead]
    for kind, by_state in ENGAGEMENT_RATES.items():
        rate = np.asarray(by_state)[state] * scale
        add(*_poisson_times(rng, lead, walk["start"], walk["end"], rate), kind)
    # Sales-ready: most opportunities open right after a demo request or a form.
    opp = state == OPP
    signal = opp & (rng.random(len(state)) < config.intent_before_opportunity)
    before = walk["start"][signal] - rng.random(int(signal.sum())) * 3.0
    t_ok = before >= people.created[lead[signal]]
    kind = np.where(rng.random(int(signal.sum())) < 0.6, "demo_request", "form_submit")
    for k in ("demo_request", "form_submit"):
        sel = t_ok & (kind == k)
        add(lead[signal][sel], before[sel], k)

    # Nurture emails and their responses, which depend on the state at send time; every
    # response carries the campaign of its email.
    add(sends.lead, sends.t, "email_send", sends.campaign)
    bounced = sends.bounced
    add(sends.lead[bounced], sends.t[bounced] + 1e-4, "email_bounce", sends.campaign[bounced])
    ok = ~bounced
    send_lead, send_t, unsub = sends.lead[ok], sends.t[ok], sends.unsubscribed[ok]
    campaign = sends.campaign[ok]
    engaged = state_at(walk, send_lead, send_t) != OUT
    boost = np.clip(people.engagement[send_lead], 0.2, 3.0)
    p_open = np.where(engaged, config.open_rate[1], config.open_rate[0]) * np.sqrt(boost)
    opened = rng.random(send_lead.size) < np.clip(p_open, 0, 0.95)
    open_t = send_t + rng.exponential(0.5, send_lead.size)
    add(send_lead[opened], open_t[opened], "email_open", campaign[opened])
    p_click = np.where(engaged, config.click_rate[1], config.click_rate[0])
    clicked = opened & (rng.random(send_lead.size) < p_click)
    add(
        send_lead[clicked],
        open_t[clicked] + rng.exponential(0.02, send_lead.size)[clicked],
        "email_click",
        campaign[clicked],
    )
    add(send_lead[unsub], open_t[unsub] + 0.01, "unsubscribe", campaign[unsub])
    return leads, times, types, campaigns


def state_at(walk: dict[str, np.ndarray], lead: np.ndarray, t: np.ndarray) -> np.ndarray:
    """State of each lead at time t (intervals are sorted by lead, start)."""
    key = walk["lead"].astype(np.float64) * 1e5 + walk["start"]
    pos = np.searchsorted(key, lead.astype(np.float64) * 1e5 + t, side="right") - 1
    return walk["state"][np.clip(pos, 0, None)]
