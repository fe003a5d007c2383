"""Guards against features that cannot transfer to a later period, decided on the
development periods only.

- Time-like features (a CRM's running lead number, a date stored as a number): when most of
  the latest development period lies beyond every value the training period saw, trees can
  only put those rows in their edge leaf: the feature encodes *when*, not *who*, and says
  nothing about the next period. They are excluded and reported.
- Monotone constraints where the direction is known: more buying intent (pricing views,
  demo requests, forms, as counts, decayed counts or flags) never lowers the score, an
  unsubscribe or a bouncing address never raises it. Under drift this keeps the trees from
  learning the quirks of one period against common sense.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ingest.contracts import INTENT_EVENT_TYPES
from features.spec import FeatureSpec

# Share of the later period's rows outside the training range that marks a time-like feature.
TIME_LIKE_SHARE = 0.9
_INCREASING = ("count", "decay", "intent")
_DECREASING_TYPES = ("unsubscribe", "email_bounce")


def time_like_features(
    train: pd.DataFrame, later: pd.DataFrame, spec: FeatureSpec, features: list[str]
) -> list[str]:
    """Numeric features whose values in ``later`` fall outside ``train``'s range for at least
    :data:`TIME_LIKE_SHARE` of its rows (engagement features are windows, never time-like)."""
    if later.empty or train.empty:
        return []
    out = []
    for name in features:
        feature = spec[name]
        if feature.kind != "numeric" or feature.boolean or feature.group != "fit":
            continue
        seen = train[name].to_numpy(dtype=np.float64, na_value=np.nan)
        values = later[name].to_numpy(dtype=np.float64, na_value=np.nan)
        seen, values = seen[~np.isnan(seen)], values[~np.isnan(values)]
        if seen.size == 0 or values.size == 0 or np.ptp(seen) == 0:
            continue
        outside = (values > seen.max()) | (values < seen.min())
        if outside.mean() >= TIME_LIKE_SHARE:
            out.append(name)
    return out


def monotone_constraints(spec: FeatureSpec, features: list[str]) -> list[int]:
    """LightGBM's ``monotone_constraints``, one per feature: +1 intent, -1 opt-outs, 0 else."""
    out = []
    for name in features:
        feature = spec[name]
        direction = 0
        if feature.family in _INCREASING and feature.event_type in INTENT_EVENT_TYPES:
            direction = 1
        elif feature.family in _INCREASING and feature.event_type in _DECREASING_TYPES:
            direction = -1
        out.append(direction)
    return out
