"""The simulator's ground truth: each lead's latent 4-state chain and the oracle.

States OUT (nurture) -> IN (in market) -> OPP (open opportunity) -> WON, with WON absorbing
here: the first passage into WON is the label event. :func:`oracle_probability` returns, for
a (lead, as_of) pair, the exact probability that a won deal closes in
``(as_of, as_of + horizon]`` *given the latent state at as_of* (``expm(Q * horizon)``). It is
the best any model could do without seeing the future, and is never a feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from features.ingest import contracts as c

OUT, IN, OPP, WON = 0, 1, 2, 3
STATE_NAMES = ("out_of_market", "in_market", "opportunity", "won")


def generator_matrices(
    a: np.ndarray, b: np.ndarray, lam: np.ndarray, mu: np.ndarray, w: np.ndarray
) -> np.ndarray:
    """(n, 4, 4) generators with WON absorbing: first passage into WON is the label event."""
    q = np.zeros((len(a), 4, 4))
    q[:, OUT, IN] = a
    q[:, OUT, OUT] = -a
    q[:, IN, OUT] = b
    q[:, IN, OPP] = lam
    q[:, IN, IN] = -(b + lam)
    q[:, OPP, WON] = mu * w
    q[:, OPP, OUT] = mu * (1 - w)
    q[:, OPP, OPP] = -mu
    return q


def expm_batched(a: np.ndarray) -> np.ndarray:
    """exp(A) for a stack of small matrices: scaling and squaring with a Taylor series.

    scipy's expm loops over the stack in Python-level overhead; this stays vectorised. After
    scaling, ||A|| <= 1/2, where 18 Taylor terms are exact to double precision."""
    norm = np.abs(a).sum(axis=-1).max(axis=-1)
    squarings = np.maximum(0, np.ceil(np.log2(np.maximum(norm, 1e-300))) + 1).astype(int)
    scaled = a / (2.0**squarings)[:, None, None]
    eye = np.broadcast_to(np.eye(a.shape[-1]), a.shape)
    out = eye.copy()
    for k in range(18, 0, -1):  # Horner: I + A/1 (I + A/2 (I + ...))
        out = eye + (scaled @ out) / k
    for step in range(int(squarings.max(initial=0))):
        square = step < squarings
        out[square] = out[square] @ out[square]
    return out


def win_within(q: np.ndarray, state: np.ndarray, days: np.ndarray) -> np.ndarray:
    """P(WON reached within ``days`` from ``state``)."""
    out = np.empty(len(q))
    for lo in range(0, len(q), 50_000):  # bound the (n, 4, 4) temporaries
        hi = lo + 50_000
        p = expm_batched(q[lo:hi] * days[lo:hi, None, None])
        out[lo:hi] = p[np.arange(len(p)), state[lo:hi], WON]
    return np.clip(out, 0.0, 1.0)


def oracle_probability(
    truth: pd.DataFrame, lead_ids: Any, as_of: Any, horizon_days: float
) -> np.ndarray:
    """True P(a won deal closes in (as_of, as_of + horizon]) for each (lead, as_of) pair, given
    the latent state at as_of. NaN where the lead did not exist yet or is unknown."""
    lead_ids = np.asarray(lead_ids, dtype=object)
    as_of_ns = pd.to_datetime(pd.Series(as_of), utc=True).to_numpy("datetime64[ns]").view("i8")
    frame = truth.sort_values([c.LEAD_ID, "start"], kind="stable")
    codes = pd.Index(frame[c.LEAD_ID].unique())
    lead_code = codes.get_indexer(frame[c.LEAD_ID])
    query_code = codes.get_indexer(pd.Index(lead_ids))
    start = frame["start"].to_numpy("datetime64[ns]").view("i8")
    # Interval containing as_of: the last one of that lead starting at or before it.
    span = np.int64(1) << np.int64(62)
    keys = lead_code.astype(np.int64) * (span >> np.int64(20)) + (start >> np.int64(20))
    query = query_code.astype(np.int64) * (span >> np.int64(20)) + (as_of_ns >> np.int64(20))
    pos = np.searchsorted(keys, query, side="right") - 1
    valid = (query_code >= 0) & (pos >= 0)
    pos = np.where(valid, pos, 0)
    valid &= lead_code[pos] == query_code
    # Shift granularity (~1 ms) must not move as_of across an interval start: check exactly.
    valid &= start[pos] <= as_of_ns
    out = np.full(len(lead_ids), np.nan)
    if not valid.any():
        return out
    rows = frame.iloc[pos[valid]]
    q = generator_matrices(*(rows[k].to_numpy(float) for k in ("a", "b", "lam", "mu", "w")))
    state = rows["state"].to_numpy(np.int64)
    out[valid] = win_within(q, state, np.full(len(rows), float(horizon_days)))
    return out
