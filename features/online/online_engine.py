"""Online engine: one lead's attributes and events -> its feature row, at request time.

Built once from a :class:`~features.spec.FeatureSpec` (the serving process rebuilds it from the
spec bundled with the model); each request is a handful of numpy operations on the lead's own
arrays, no DataFrames. The time rule and missing-value semantics are those of
``features.spec`` and identical to the batch engine (a parity test holds them equal).

Account roll-up online: the request may carry ``account_engaged_colleagues`` (the number of
other leads at the same account with an engagement event in the account window, as the CRM or
the batch engine computed it); without it the feature is NaN, which the model treats as
missing, exactly like a lead without an account.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.ingest.contracts import INTENT_EVENT_TYPES
from features.spec import PASSIVE_EVENT_TYPES, FeatureSpec
from features.time_rule import DAY_NS, SECOND_NS, as_of_ns, timestamp_ns


def event_times_ns(event_times: Any, field_name: str = "event_times") -> np.ndarray:
    """Event times as int64 epoch nanoseconds: datetime64 arrays as they are, numbers as epoch
    seconds. Missing times raise naming ``field_name``."""
    times = np.asarray(event_times)
    if times.dtype.kind == "M":
        if np.isnat(times).any():
            bad = np.flatnonzero(np.isnat(times))[:5].tolist()
            raise ValueError(f"{field_name}: missing timestamps at positions {bad}")
        return times.astype("datetime64[ns]").astype(np.int64)
    if times.size == 0:
        return np.empty(0, dtype=np.int64)
    if times.dtype.kind in "iuf":
        seconds = times.astype(np.float64)
        if not np.isfinite(seconds).all():
            bad = np.flatnonzero(~np.isfinite(seconds))[:5].tolist()
            raise ValueError(f"{field_name}: missing epoch seconds at positions {bad}")
        return np.round(seconds * SECOND_NS).astype(np.int64)
    raise ValueError(
        f"{field_name}: expected datetime64 values or epoch seconds, got dtype {times.dtype}"
    )


class OnlineEngine:
    """Computes the spec's features for one lead from plain arrays (see module docstring)."""

    def __init__(self, spec: FeatureSpec) -> None:
        if spec.static:
            self._types: tuple[str, ...] = ()
        else:
            self._types = spec.event_types
        self.spec = spec
        self._codes = {event_type: i for i, event_type in enumerate(self._types)}
        self._other = len(self._types)  # types the spec never saw: overall features only
        passive = [self._codes[t] for t in PASSIVE_EVENT_TYPES if t in self._codes]
        self._active = np.ones(len(self._types) + 1, dtype=bool)
        self._active[passive] = False
        self._params = spec.params
        self._opportunities = any(
            f.family in ("open_opportunity", "open_opportunity_days") for f in spec.features
        )

    @property
    def feature_names(self) -> list[str]:
        return self.spec.names

    def codes(self, event_types: Any, field_name: str = "event_types") -> np.ndarray:
        """Event types -> integer codes of the spec vocabulary (unknown types share one code)."""
        values = np.asarray(event_types, dtype=object)
        lookup, other = self._codes, self._other
        try:
            return np.fromiter(
                (lookup.get(v, other) if v.__class__ is str else _bad(v) for v in values),
                dtype=np.intp,
                count=values.size,
            )
        except _BadType:
            bad = [v for v in values.tolist() if not isinstance(v, str)][:5]
            raise ValueError(
                f"{field_name}: every event type must be a string; got {bad!r}"
            ) from None

    def compute(
        self,
        attributes: Mapping[str, Any],
        event_times: Any,
        event_types: Any,
        as_of: Any,
        *,
        created_at: Any = None,
        outcome_closed_at: Any = None,
        outcome_won: Any = None,
        opportunity_opened_at: Any = None,
        opportunity_closed_at: Any = None,
        account_engaged_colleagues: float | None = None,
    ) -> dict[str, Any]:
        """The feature row ``{name: value}`` in spec order (categoricals str or None).

        ``event_times``/``event_types`` are parallel arrays of the lead's events (any order;
        events after ``as_of`` are ignored); ``outcome_closed_at``/``outcome_won`` are its
        closed deals (ones after ``as_of`` ignored); ``opportunity_opened_at`` /
        ``opportunity_closed_at`` are its deals with a known open date (datetime64; NaT close:
        still open).
        """
        spec = self.spec
        row: dict[str, Any] = {}
        for feature in spec.of_family("attribute"):
            value = attributes.get(feature.name)
            try:
                row[feature.name] = _attribute_value(value, feature.kind, feature.boolean)
            except ValueError as exc:
                raise ValueError(f"attributes.{feature.name}: {exc}") from None
        if spec.static:
            return {name: row[name] for name in spec.names}
        now = as_of_ns(as_of)
        times = event_times_ns(event_times)
        codes = self.codes(event_types)
        if times.shape != codes.shape:
            raise ValueError(
                f"event_times and event_types differ in length: {times.size} vs {codes.size}"
            )
        row.update(self._history(now, created_at, outcome_closed_at, outcome_won))
        if self._opportunities:
            row.update(_open_opportunity(now, opportunity_opened_at, opportunity_closed_at))
        if self._types:
            seen = times <= now
            row.update(self._engagement(now - times[seen], codes[seen]))
        for feature in spec.of_family("account_colleagues"):
            colleagues = account_engaged_colleagues
            row[feature.name] = math.nan if colleagues is None else float(colleagues)
        return {name: row[name] for name in spec.names}

    def _history(self, now: int, created_at: Any, closed_at: Any, won: Any) -> dict[str, float]:
        tenure = math.nan
        if created_at is not None:
            tenure = (now - timestamp_ns(created_at, "created_at")) / DAY_NS
        lost = wins = 0
        if closed_at is not None and len(closed_at):
            closed = event_times_ns(closed_at, "outcome_closed_at")
            flags = np.asarray(won, dtype=bool)
            if flags.shape != closed.shape:
                raise ValueError("outcome_closed_at and outcome_won differ in length")
            before = closed <= now
            wins = int(np.count_nonzero(flags & before))
            lost = int(np.count_nonzero(~flags & before))
        return {
            "tenure_days": tenure,
            "prior_lost_deals": float(lost),
            "prior_wins": float(wins),
            "is_recycled": 1.0 if lost else 0.0,
        }

    def _engagement(self, age: np.ndarray, codes: np.ndarray) -> dict[str, float]:
        params, n_codes = self._params, self._other + 1
        row: dict[str, float] = {}
        counts = {
            window: np.bincount(codes[age < window * DAY_NS], minlength=n_codes)
            for window in {
                *params.windows,
                params.intent_window_days,
                params.click_rate_window_days,
            }
        }
        newest = np.full(n_codes, -1, dtype=np.int64)
        if age.size:
            np.minimum.at(newest.view(np.uint64), codes, age.view(np.uint64))
        weights = np.exp2(-(age / DAY_NS) / params.half_life_days)
        decay = np.bincount(codes, weights=weights, minlength=n_codes)
        for i, event_type in enumerate(self._types):
            for window in params.windows:
                row[f"n_{event_type}_{window}d"] = float(counts[window][i])
            row[f"days_since_{event_type}"] = math.nan if newest[i] < 0 else newest[i] / DAY_NS
            row[f"decay_{event_type}"] = float(decay[i])
            if event_type in INTENT_EVENT_TYPES:
                flag = counts[params.intent_window_days][i] > 0
                row[f"intent_{event_type}_{params.intent_window_days}d"] = 1.0 if flag else 0.0
        active = self._active[codes]
        row["decay_engagement"] = float(decay[self._active].sum())
        active_age = age[active]
        recent, previous = params.trend_recent_days, params.trend_previous_days
        n_recent = np.count_nonzero(active_age < recent * DAY_NS)
        n_previous = np.count_nonzero(active_age < (recent + previous) * DAY_NS) - n_recent
        row[f"trend_{recent}d_vs_{previous}d"] = n_recent / recent - n_previous / previous
        clicks = counts[params.click_rate_window_days]
        opens = clicks[self._codes["email_open"]] if "email_open" in self._codes else 0
        n_clicks = clicks[self._codes["email_click"]] if "email_click" in self._codes else 0
        row[f"email_click_rate_{params.click_rate_window_days}d"] = (
            n_clicks / opens if opens else math.nan
        )
        window_age = active_age[active_age < params.active_window_days * DAY_NS]
        row[f"active_days_{params.active_window_days}d"] = float(
            np.unique(window_age // DAY_NS).size
        )
        row.update(self._buying_state(age, codes, active_age))
        return row

    def _buying_state(
        self, age: np.ndarray, codes: np.ndarray, active_age: np.ndarray
    ) -> dict[str, float]:
        """The ``features.spec`` buying-state features (same rules as the batch kernel
        ``features.batch.kernels.buying_state``)."""
        params, lookup = self._params, self._codes
        recent, baseline = params.burst_recent_days, params.burst_baseline_days
        n_recent = np.count_nonzero(active_age < recent * DAY_NS)
        n_baseline = np.count_nonzero(active_age < baseline * DAY_NS)
        row = {
            f"burst_{recent}d_vs_{baseline}d": (n_recent / recent) / ((n_baseline + 1) / baseline)
        }
        # The current run of intent signals: back from the newest while gaps stay short.
        intent = np.isin(codes, [lookup[t] for t in INTENT_EVENT_TYPES if t in lookup])
        ages = np.sort(age[intent])
        gap = params.burst_gap_days * DAY_NS
        start = math.nan
        if ages.size and ages[0] < gap:
            breaks = np.flatnonzero(np.diff(ages) >= gap)
            start = ages[breaks[0] if breaks.size else -1] / DAY_NS
        row["days_since_intent_burst_start"] = start
        window = params.sequence_window_days * DAY_NS
        pricing = age[(codes == lookup.get("pricing_page_view", -1)) & (age < window)]
        demo = age[(codes == lookup.get("demo_request", -1)) & (age < window)]
        then = bool(pricing.size and demo.size and demo.min() <= pricing.max())
        row[f"pricing_then_demo_{params.sequence_window_days}d"] = 1.0 if then else 0.0
        nurture = age < params.nurture_window_days * DAY_NS
        sends = np.count_nonzero(nurture & (codes == lookup.get("email_send", -1)))
        opens = np.count_nonzero(nurture & (codes == lookup.get("email_open", -1)))
        clicks = np.count_nonzero(nurture & (codes == lookup.get("email_click", -1)))
        days = params.nurture_window_days
        row[f"email_open_rate_{days}d"] = opens / sends if sends else math.nan
        row[f"email_clicks_per_send_{days}d"] = clicks / sends if sends else math.nan
        return row


class _BadType(Exception):
    pass


def _open_opportunity(now: int, opened_at: Any, closed_at: Any) -> dict[str, float]:
    """Is a deal open at ``now`` (opened_at <= now < closed_at), and days since the latest such
    opening (the batch engine's rule)."""
    if opened_at is None or not len(opened_at):
        return {"open_opportunity": 0.0, "open_opportunity_days": math.nan}
    opened = event_times_ns(opened_at, "opportunity_opened_at")
    closed = np.asarray(
        closed_at if closed_at is not None else np.full(opened.size, np.datetime64("NaT")),
        dtype="datetime64[ns]",
    )
    if closed.shape != opened.shape:
        raise ValueError("opportunity_opened_at and opportunity_closed_at differ in length")
    closed_ns = np.where(np.isnat(closed), np.iinfo(np.int64).max, closed.astype(np.int64))
    is_open = (opened <= now) & (closed_ns > now)
    if not is_open.any():
        return {"open_opportunity": 0.0, "open_opportunity_days": math.nan}
    return {
        "open_opportunity": 1.0,
        "open_opportunity_days": (now - int(opened[is_open].max())) / DAY_NS,
    }


def _bad(value: Any) -> int:
    raise _BadType(value)


def _attribute_value(value: Any, kind: str, boolean: bool = False) -> Any:
    """Attribute value as the engines emit it: str/None for categoricals, float/NaN otherwise.
    Errors say what was expected, never the value (it may be personal data)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None if kind == "categorical" else math.nan
    if value is pd.NA or value is pd.NaT:
        return None if kind == "categorical" else math.nan
    if kind == "categorical":
        return str(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in {"true", "yes"}:
            return 1.0
        if lowered in {"false", "no"}:
            return 0.0
    if boolean and not (isinstance(value, bool) or value in (0, 1)):
        raise ValueError("expected true/false (or yes/no, 1/0)")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number, got {type(value).__name__}") from None
    except OverflowError:
        raise ValueError("too large: numbers are read as float64") from None
    if not math.isfinite(number):
        raise ValueError("expected a finite number, not NaN or an infinity")
    return number
