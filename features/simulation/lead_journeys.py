"""The simulator's generative process: each lead's walk through the latent buying states
(see ``features.simulation.simulator``) and the engagement it emits while in them.

- :func:`walk_states`: a continuous-time Markov chain per lead, from creation to the end of
  history, as sorted state intervals.
- :func:`emit_events`: Poisson engagement streams whose intensity depends on the state, intent
  signals just before opportunities, nurture emails on a cadence and the responses to them.
"""

from __future__ import annotations

import numpy as np

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
    config: SimulationConfig, rng: np.random.Generator, people: People
) -> dict[str, np.ndarray]:
    """Run every lead's chain from creation to the end of history; return state intervals."""
    n, end = people.n, float(config.days)
    state = np.where(rng.random(n) < config.start_in_market, IN, OUT)
    now = people.created.copy()
    active = np.arange(n)
    leads, states, starts, ends, nexts = [], [], [], [], []
    exit_rate = np.stack(
        [people.a, people.b + people.lam, people.mu], axis=1
    )  # total leaving rate of OUT, IN, OPP
    while active.size:
        s = state[active]
        hold = rng.exponential(1.0, active.size) / exit_rate[active, s]
        stop = np.minimum(now[active] + hold, end)
        u = rng.random(active.size)
        nxt = np.select(
            [s == OUT, s == IN],
            [
                np.full(active.size, IN),
                np.where(u < people.b[active] / exit_rate[active, IN], OUT, OPP),
            ],
            np.where(u < people.w[active], WON, OUT),
        )
        nxt = np.where(stop >= end, -1, nxt)  # censored at the end of history
        leads.append(active)
        states.append(s)
        starts.append(now[active])
        ends.append(stop)
        nexts.append(nxt)
        now[active] = stop
        state[active] = np.where(nxt == WON, OUT, nxt)  # a buyer goes back to nurture
        active = active[nxt >= 0]
    order_keys = [np.concatenate(x) for x in (leads, states, starts, ends, nexts)]
    lead, st, start, stop, nxt = order_keys
    order = np.lexsort((start, lead))
    return {
        "lead": lead[order],
        "state": st[order],
        "start": start[order],
        "end": stop[order],
        "next": nxt[order],
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
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Engagement from the state intervals, nurture emails and their responses."""
    end = float(config.days)
    leads, times, types = [], [], []

    def add(lead: np.ndarray, t: np.ndarray, kind: str) -> None:
        keep = t < end
        leads.append(lead[keep])
        times.append(t[keep])
        types.append(np.full(int(keep.sum()), EVENT_TYPES.index(kind), dtype=np.int8))

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

    # Nurture emails on a cadence from creation; responses depend on the state at send time.
    span = end - people.created
    n_sends = rng.poisson(span / config.email_every_days)
    send_lead = np.repeat(np.arange(people.n), n_sends)
    send_t = people.created[send_lead] + rng.random(send_lead.size) * span[send_lead]
    order = np.lexsort((send_t, send_lead))
    send_lead, send_t = send_lead[order], send_t[order]
    unsub = rng.random(send_lead.size) < config.unsubscribe_rate
    # Sends after a lead's first unsubscribe never happen: exclusive cumulative count per lead.
    cum = np.cumsum(unsub)
    first = np.r_[0, np.flatnonzero(np.diff(send_lead)) + 1]
    base = np.repeat(cum[first] - unsub[first], np.diff(np.r_[first, send_lead.size]))
    sent = (cum - unsub - base) == 0
    send_lead, send_t, unsub = send_lead[sent], send_t[sent], unsub[sent]
    add(send_lead, send_t, "email_send")
    bounced = people.bad_address[send_lead]
    add(send_lead[bounced], send_t[bounced] + 1e-4, "email_bounce")
    ok = ~bounced
    send_lead, send_t, unsub = send_lead[ok], send_t[ok], unsub[ok]
    engaged = state_at(walk, send_lead, send_t) != OUT
    boost = np.clip(people.engagement[send_lead], 0.2, 3.0)
    p_open = np.where(engaged, config.open_rate[1], config.open_rate[0]) * np.sqrt(boost)
    opened = rng.random(send_lead.size) < np.clip(p_open, 0, 0.95)
    open_t = send_t + rng.exponential(0.5, send_lead.size)
    add(send_lead[opened], open_t[opened], "email_open")
    p_click = np.where(engaged, config.click_rate[1], config.click_rate[0])
    clicked = opened & (rng.random(send_lead.size) < p_click)
    add(
        send_lead[clicked],
        open_t[clicked] + rng.exponential(0.02, send_lead.size)[clicked],
        "email_click",
    )
    add(send_lead[unsub], open_t[unsub] + 0.01, "unsubscribe")
    return leads, times, types


def state_at(walk: dict[str, np.ndarray], lead: np.ndarray, t: np.ndarray) -> np.ndarray:
    """State of each lead at time t (intervals are sorted by lead, start)."""
    key = walk["lead"].astype(np.float64) * 1e5 + walk["start"]
    pos = np.searchsorted(key, lead.astype(np.float64) * 1e5 + t, side="right") - 1
    return walk["state"][np.clip(pos, 0, None)]
