"""How a feature spec maps onto the batch kernel's arrays: which computed feature goes to
which row of the (features x snapshots) block, the windows and settings the sweep needs, and
which event codes are engagement. Built once per spec (``features.batch.grouping.Prepared``)."""

from __future__ import annotations

import numpy as np

from features.batch.kernels import sweep as kernel
from features.batch.kernels.buying_state import buying_state_layout
from features.spec import PASSIVE_EVENT_TYPES, FeatureSpec
from features.time_rule import DAY_NS


def computed_names(spec: FeatureSpec) -> list[str]:
    """The features the kernel computes (all but the declared attributes), in spec order."""
    return [f.name for f in spec.features if f.family != "attribute"]


class Layout:
    """Where the kernel writes each computed feature: its row in the (features x snapshots)
    block, or -1 when the spec does not have it (see ``features.batch.kernels.sweep``)."""

    def __init__(self, spec: FeatureSpec) -> None:
        params, types = spec.params, spec.event_types
        row = {name: i for i, name in enumerate(computed_names(spec))}
        recent, previous = params.trend_recent_days, params.trend_previous_days
        windows = sorted(
            {*params.windows, params.intent_window_days, params.click_rate_window_days,
             recent, recent + previous}
        ) if types else []  # fmt: skip
        self.window_ns = np.array(windows, dtype=np.int64) * DAY_NS
        n_codes = len(types) + 1
        self.counts = np.full((len(windows), n_codes), -1, dtype=np.int64)
        self.recency = np.full(n_codes, -1, dtype=np.int64)
        self.decay = np.full(n_codes, -1, dtype=np.int64)
        self.intent = np.full(n_codes, -1, dtype=np.int64)
        for feature in spec.features:
            if feature.event_type is None or feature.family == "attribute":
                continue
            code = types.index(feature.event_type)
            if feature.family == "count":
                self.counts[windows.index(feature.window_days), code] = row[feature.name]
            elif feature.family in ("recency", "decay", "intent"):
                getattr(self, feature.family)[code] = row[feature.name]
        scalar_families = {
            "tenure": kernel.TENURE, "prior_lost": kernel.LOST, "prior_wins": kernel.WINS,
            "recycled": kernel.RECYCLED, "open_opportunity": kernel.OPEN,
            "open_opportunity_days": kernel.OPEN_DAYS, "trend": kernel.TREND,
            "click_rate": kernel.CLICK_RATE, "decay_engagement": kernel.DECAY_ENGAGEMENT,
            "active_days": kernel.ACTIVE_DAYS, "account_colleagues": kernel.COLLEAGUES,
        }  # fmt: skip
        self.scalars = np.full(kernel.N_SCALARS, -1, dtype=np.int64)
        for feature in spec.features:
            if feature.family in scalar_families:
                self.scalars[scalar_families[feature.family]] = row[feature.name]
        self.settings = np.zeros(kernel.N_SETTINGS, dtype=np.int64)
        if windows:
            self.settings[kernel.RECENT_W] = windows.index(recent)
            self.settings[kernel.BOTH_W] = windows.index(recent + previous)
            self.settings[kernel.CLICK_W] = windows.index(params.click_rate_window_days)
            self.settings[kernel.INTENT_W] = windows.index(params.intent_window_days)
        self.settings[kernel.OPEN_CODE] = types.index("email_open") if "email_open" in types else -1
        self.settings[kernel.CLICK_CODE] = (
            types.index("email_click") if "email_click" in types else -1
        )
        self.settings[kernel.RECENT_DAYS] = recent
        self.settings[kernel.PREVIOUS_DAYS] = previous
        self.settings[kernel.ACTIVE_WINDOW_NS] = params.active_window_days * DAY_NS
        self.settings[kernel.ACCOUNT_WINDOW_NS] = params.account_window_days * DAY_NS
        # The buying-state features: a second kernel's, written after the sweep's.
        self.buying_rows, self.buying_settings, self.intent_codes = buying_state_layout(
            spec, computed_names(spec)
        )


def active_codes(spec: FeatureSpec) -> np.ndarray:
    """Per event code, whether it is engagement (passive types like sends are not)."""
    active = np.ones(len(spec.event_types) + 1, dtype=bool)
    for passive in PASSIVE_EVENT_TYPES:
        if passive in spec.event_types:
            active[spec.event_types.index(passive)] = False
    return active


def has_opportunity_features(spec: FeatureSpec) -> bool:
    return any(f.family in ("open_opportunity", "open_opportunity_days") for f in spec.features)
