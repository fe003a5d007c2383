"""The best an observer of the simulated CRM can do: a Bayes filter over the simulator's own
generative process (``features.simulation``), given only what was observable up to as_of.

The oracle (``features.simulation.oracle``) knows each lead's latent state (out of market,
in market, opportunity) *and* its hidden rates. A model sees neither, only attributes,
engagement, emails and deals. This observer knows the process (every rate formula and
constant of the simulator) but not the lead's hidden draws: it integrates the part of fit that
attributes do not explain (an account effect shared by colleagues and a lead's own) and the
lead's engagement propensity over Gauss-Hermite grids, weighting each by the likelihood of
everything observed. Between the two, it says how much of the oracle's edge any model could
reach. Approximations (each makes it a little weaker than exact): the 0-3 days between an
intent signal and its opportunity are an Erlang(3) wait of the same mean, and an email's
open is matched to the latest delivered send of its campaign.
"""

from __future__ import annotations

import numba as nb
import numpy as np

N_PRE = 3  # Erlang stages between an intent signal and its opportunity (mean 1.5 days)
PRE_RATE = N_PRE / 1.5
IN_MARKET_AT_CREATION = 0.35  # SimulationConfig.start_in_market
SEND, DEAL_OPENED, DEAL_CLOSED = 6, 7, 8  # observation kinds after the 6 engagement types
FORM, DEMO = 4, 5  # engagement kinds that may be an intent signal (shares 0.4 and 0.6)


@nb.njit(cache=True)
def _expm(a: np.ndarray) -> np.ndarray:
    norm = np.abs(a).sum(axis=1).max()
    squarings = max(0, int(np.ceil(np.log2(max(norm, 1e-300)))) + 1)
    scaled = a / (2.0**squarings)
    out = np.eye(a.shape[0])
    for k in range(18, 0, -1):
        out = np.eye(a.shape[0]) + (scaled @ out) / k
    for _ in range(squarings):
        out = out @ out
    return out


@nb.njit(cache=True)
def _response(opened: bool, clicked: bool, p_open: float, p_click: float, age: float) -> float:
    """Likelihood of an email's response seen by as_of (opens come Exp(0.5 days) after)."""
    if opened:
        return p_open * (p_click if clicked else 1.0 - p_click)
    return 1.0 - p_open * (1.0 - np.exp(-age / 0.5))


@nb.njit(cache=True)
def filter_leads(
    starts, t, kind, campaign, opened, clicked, won, as_of, created,
    entry_base, exit_rate, opp_rate, close_rate, win, engagement, entry_scale,
    rates, campaign_entry, open_rate, click_rate,
):  # fmt: skip
    """Per lead: log-likelihood of its observations and P(out, in, pre-opportunity,
    opportunity) at as_of, for one value of its hidden parameters (arrays per lead)."""
    n = len(created)
    loglik = np.zeros(n)
    state = np.zeros((n, 4))
    k = 2 + N_PRE
    total = np.zeros(3)
    for i in range(n):
        for s in range(3):
            total[s] = rates[:, s].sum() * engagement[i]
        g = np.zeros((k, k))  # sub-generator: no observation while it runs
        g[0, 1] = entry_base[i]
        g[0, 0] = -(entry_base[i] + total[0])
        g[1, 0] = exit_rate[i]
        g[1, 1] = -(exit_rate[i] + opp_rate[i] + total[1])
        for j in range(N_PRE):
            g[2 + j, 2 + j] = -(PRE_RATE + total[1])
            if j + 1 < N_PRE:
                g[2 + j, 3 + j] = PRE_RATE
        p = np.zeros(k)
        p[0], p[1] = 1.0 - IN_MARKET_AT_CREATION, IN_MARKET_AT_CREATION
        boost = np.sqrt(min(max(engagement[i], 0.2), 3.0))
        now, in_opp, ll = created[i], False, 0.0
        for e in range(starts[i], starts[i + 1] + 1):
            last = e == starts[i + 1]
            at = as_of if last else max(t[e], now)
            if at > now:
                if in_opp:
                    ll -= (total[2] + close_rate[i]) * (at - now)
                else:
                    p = p @ _expm(g * (at - now))
                    z = p.sum()
                    ll += np.log(z)
                    p /= z
            now = at
            if last:
                break
            kd = kind[e]
            if kd == DEAL_OPENED:
                ll += np.log(max(p[1] * opp_rate[i] * 0.3 + p[k - 1] * PRE_RATE, 1e-300))
                in_opp = True
            elif kd == DEAL_CLOSED:
                ll += np.log(close_rate[i] * (win[i] if won[e] else 1.0 - win[i]))
                in_opp = False
                p[:] = 0.0
                p[0] = 1.0
            elif in_opp:
                if kd < SEND:
                    ll += np.log(rates[kd, 2] * engagement[i])
                else:
                    p_open = min(open_rate[1] * boost, 0.95)
                    ll += np.log(
                        _response(opened[e], clicked[e], p_open, click_rate[1], as_of - at)
                    )
            elif kd < SEND:
                new = p * (rates[kd, 1] * engagement[i])
                new[0] = p[0] * rates[kd, 0] * engagement[i]
                if kd in (FORM, DEMO):
                    new[2] += p[1] * opp_rate[i] * 0.7 * (0.4 if kd == FORM else 0.6)
                z = new.sum()
                ll += np.log(z)
                p = new / z
            else:  # a delivered email: it may move the lead in, then its response
                move = min(campaign_entry[campaign[e]] * entry_scale[i], 1.0)
                p[1] += p[0] * move
                p[0] *= 1.0 - move
                for s in range(k):
                    engaged = 1 if s > 0 else 0
                    p_open = min(open_rate[engaged] * boost, 0.95)
                    p[s] *= _response(
                        opened[e], clicked[e], p_open, click_rate[engaged], as_of - at
                    )
                z = p.sum()
                ll += np.log(z)
                p /= z
        loglik[i] = ll
        if in_opp:
            state[i, 3] = 1.0
        else:
            state[i, 0], state[i, 1], state[i, 2] = p[0], p[1], p[2:].sum()
    return loglik, state
