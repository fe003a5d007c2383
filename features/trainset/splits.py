"""Honest splits of labelled snapshots: out of time (train, valid, calibration, holdout in
time order, with every label window closed before the next segment starts); for static tables
in time order (``order_by``), the earliest rows first; for tables without time, stratified at
random. And the label rate per segment, with a warning when it drifts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.time_rule import DAY_NS

DEFAULT_FRACTIONS: Mapping[str, float] = {
    "train": 0.6,
    "valid": 0.15,
    "calibration": 0.1,
    "holdout": 0.15,
}


@dataclass(frozen=True)
class Split:
    """Named segments (in time order for out-of-time splits) and what purging removed;
    ``kind`` says how it was cut (for reports)."""

    segments: dict[str, pd.DataFrame]
    purged: dict[str, int] = field(default_factory=dict)
    starts: dict[str, pd.Timestamp] = field(default_factory=dict)
    kind: str = "out of time"

    def label_rates(self) -> dict[str, float]:
        """Share of positive rows per segment (NaN for an empty one)."""
        return {
            name: float(frame[c.LABEL].mean()) if len(frame) else float("nan")
            for name, frame in self.segments.items()
        }

    def summary(self) -> str:
        parts = []
        for name, frame in self.segments.items():
            positives = int(frame[c.LABEL].sum()) if len(frame) else 0
            start = self.starts.get(name)
            since = f" from {start:%Y-%m-%d}" if start is not None else ""
            purged = self.purged.get(name, 0)
            dropped = f", {purged:,} purged" if purged else ""
            parts.append(f"{name}: {len(frame):,} rows, {positives:,} positive{since}{dropped}")
        return "; ".join(parts)


def _check_fractions(fractions: Mapping[str, float]) -> None:
    if not fractions or any(f <= 0 for f in fractions.values()):
        raise ValueError(f"split fractions must be positive, got {dict(fractions)}")


def split_out_of_time(
    snapshots: pd.DataFrame,
    horizon_days: int,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
) -> Split:
    """Cut labelled snapshots into consecutive as_of periods holding about ``fractions`` of the
    rows; each earlier segment keeps only snapshots whose label window ends at or before the
    next segment's first as_of (the rest are purged and counted), so no label of an earlier
    segment looks into a later one."""
    _check_fractions(fractions)
    names = list(fractions)
    as_of = snapshots[c.AS_OF].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    dates, per_date = np.unique(as_of, return_counts=True)
    if dates.size < len(names):
        raise ValueError(
            f"snapshots.as_of: {dates.size} distinct as_of dates cannot make "
            f"{len(names)} time segments {names}"
        )
    horizon_ns = horizon_days * DAY_NS
    cuts = _segment_cuts(dates, per_date, [fractions[n] for n in names], horizon_ns)
    if cuts is None:
        raise ValueError(
            f"out-of-time split: {dates.size} as_of dates cannot make {len(names)} segments "
            f"{names} that keep rows after purging label windows of {horizon_days} days: use "
            "more history, a shorter horizon or fewer segments"
        )
    segments, purged, starts = {}, {}, {}
    for i, name in enumerate(names):
        low, high = dates[cuts[i]], dates[cuts[i + 1] - 1]
        in_segment = (as_of >= low) & (as_of <= high)
        keep = in_segment.copy()
        if i + 1 < len(names):
            keep &= as_of + horizon_ns <= dates[cuts[i + 1]]
        segments[name] = snapshots.loc[keep].reset_index(drop=True)
        purged[name] = int(in_segment.sum() - keep.sum())
        starts[name] = pd.Timestamp(low, tz="UTC")
    empty = [name for name, frame in segments.items() if frame.empty]
    if empty:
        raise ValueError(
            f"out-of-time split: segment(s) {empty} empty after purging label windows of "
            f"{horizon_days} days ({dates.size} as_of dates): use more history, a shorter "
            "horizon or fewer segments"
        )
    return Split(segments, purged, starts)


def _segment_cuts(
    dates: np.ndarray, per_date: np.ndarray, fractions: list[float], horizon_ns: int
) -> list[int] | None:
    """First date index of each segment (plus the end), such that the rows each segment
    *keeps after purging* are as close as possible to ``fractions``.

    Purging costs the last ``horizon`` of every segment but the last, so cutting on raw row
    shares would starve short segments. Instead: the largest scale ``s`` for which segments
    laid out in time order each keep at least ``s * fraction * rows`` (bisection; a layout is
    greedy: each segment ends at the first date where it keeps enough)."""
    total = float(per_date.sum())
    weights = np.asarray(fractions, dtype=float) / sum(fractions)
    m = dates.size

    def kept(a: int, b: int) -> float:
        mask = dates[a:b] + horizon_ns <= dates[b]
        return float(per_date[a:b][mask].sum())

    def layout(scale: float) -> list[int] | None:
        cuts = [0]
        for weight in weights[:-1]:
            need = max(scale * weight * total, 1.0)
            a = cuts[-1]
            end = next((b for b in range(a + 1, m) if kept(a, b) >= need), None)
            if end is None:
                return None
            cuts.append(end)
        if float(per_date[cuts[-1] :].sum()) < max(scale * weights[-1] * total, 1.0):
            return None
        return [*cuts, m]

    best = layout(0.0)
    if best is None:
        return None
    low, high = 0.0, 1.0
    for _ in range(30):
        mid = (low + high) / 2
        candidate = layout(mid)
        if candidate is None:
            high = mid
        else:
            low, best = mid, candidate
    return best


def sortable(keys: pd.Series) -> np.ndarray:
    """Order keys (dates or numbers) as numbers that sort the same way."""
    if isinstance(keys.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(keys):
        return keys.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return keys.to_numpy(dtype=np.float64)


def split_in_order(
    labelled: pd.DataFrame,
    order: np.ndarray,
    fractions: Mapping[str, float] = DEFAULT_FRACTIONS,
    *,
    keys: pd.Series | None = None,
) -> Split:
    """Static rows cut in time order: ``order`` ranks the rows (0 = earliest); the first
    ``fractions["train"]`` of them train, the last ``fractions["holdout"]`` are the holdout.
    With ``keys`` (the ``order_by`` column's dates or numbers) a cut never splits equal keys,
    so no segment shares a day with the next."""
    _check_fractions(fractions)
    names = list(fractions)
    weights = np.array([fractions[n] for n in names], dtype=float)
    rows = np.argsort(np.asarray(order), kind="stable")
    bounds = list(np.round(np.cumsum(weights / weights.sum())[:-1] * len(rows)).astype(int))
    kind = "out of time (rows in file order)"
    dated = False
    if keys is not None:
        stamps = sortable(keys)[rows]
        # Move each cut forward to where the key changes.
        bounds = [
            int(np.searchsorted(stamps, stamps[b - 1], side="right")) if b else 0 for b in bounds
        ]
        kind = f"out of time (by {keys.name})"
        dated = not pd.api.types.is_numeric_dtype(keys)
    edges = [0, *bounds, len(rows)]
    segments, starts = {}, {}
    for i, name in enumerate(names):
        taken = rows[edges[i] : edges[i + 1]]
        segments[name] = labelled.iloc[taken].reset_index(drop=True)
        if dated and len(taken):
            starts[name] = pd.Timestamp(keys.iloc[taken[0]])
    empty = [name for name, frame in segments.items() if frame.empty]
    if empty:
        distinct = f", {len(np.unique(stamps))} distinct {keys.name}" if keys is not None else ""
        raise ValueError(
            f"out-of-time split: segment(s) {empty} empty ({len(rows)} rows{distinct}): use "
            "more rows or fewer segments"
        )
    return Split(segments, {name: 0 for name in names}, starts, kind=kind)


def label_drift(split: Split, min_ratio: float = 1.5, min_z: float = 3.0) -> str | None:
    """A warning when the label rate of the holdout differs from the training segment's by at
    least ``min_ratio`` times (either way) and by more than chance (two-proportion z-test,
    ``|z| >= min_z``): then the holdout's period is not the one the model learnt from, and
    neither the model nor its validation can be taken at face value. None otherwise."""
    train, holdout = split.segments["train"], split.segments["holdout"]
    if not len(train) or not len(holdout):
        return None
    p1, p2 = float(train[c.LABEL].mean()), float(holdout[c.LABEL].mean())
    n1, n2 = len(train), len(holdout)
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p2 - p1) / se if se > 0 else 0.0
    low, high = sorted((p1, p2))
    if abs(z) < min_z or (low > 0 and high / low < min_ratio):
        return None
    rates = ", ".join(f"{name} {rate:.1%}" for name, rate in split.label_rates().items())
    return (
        f"the label rate drifts: {p1:.1%} in train, {p2:.1%} in the holdout ({rates}); the "
        "later period converts differently from the one the model learnt from"
    )


def split_static(
    labelled: pd.DataFrame, fractions: Mapping[str, float] = DEFAULT_FRACTIONS, seed: int = 0
) -> Split:
    """Stratified random split (static datasets: no time to split on), seeded."""
    _check_fractions(fractions)
    names = list(fractions)
    weights = np.array([fractions[n] for n in names], dtype=float)
    weights /= weights.sum()
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    label = labelled[c.LABEL].to_numpy()
    assignment = np.empty(len(labelled), dtype=np.intp)
    for value in np.unique(label):
        rows = rng.permutation(np.flatnonzero(label == value))
        bounds = np.round(np.cumsum(weights) * rows.size).astype(int)
        assignment[rows] = np.searchsorted(bounds, np.arange(rows.size), side="right")
    segments = {
        name: labelled.loc[assignment == i].reset_index(drop=True) for i, name in enumerate(names)
    }
    return Split(segments, {name: 0 for name in names}, kind="random (stratified)")
