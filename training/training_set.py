"""Training sets: the labelled feature table, its splits and the minimum-data check."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.spec import FeatureParams, FeatureSpec
from features.trainset.feature_table import build_feature_table, feature_spec_for
from features.trainset.splits import (
    Split,
    sortable,
    split_in_order,
    split_out_of_time,
    split_static,
)
from training.training_config import TrainingConfig


class InsufficientDataError(ValueError):
    """Too few examples or conversions to train and validate a model honestly."""


@dataclass(frozen=True)
class TrainingSet:
    """The labelled feature table, its spec and the named segments."""

    table: pd.DataFrame
    spec: FeatureSpec
    split: Split
    # Why the table could not be split out of time (too little history): then every row is
    # in "train" and the other segments are empty; only a cold-start points model can use it.
    split_problem: str | None = None

    def segment(self, name: str) -> pd.DataFrame:
        return self.split.segments[name]


def feature_params(dataset: Dataset, horizon_days: int, every_days: int) -> FeatureParams:
    """FeatureParams from the dataset config, falling back to settings."""
    snapshots = dataset.config.snapshots
    return FeatureParams(
        horizon_days=snapshots.horizon_days or horizon_days,
        every_days=snapshots.every_days or every_days,
    )


def build_training_set(
    dataset: Dataset,
    params: FeatureParams,
    config: TrainingConfig,
    seed: int,
    *,
    compute: Callable[..., pd.DataFrame] | None = None,
) -> TrainingSet:
    """Features for every labelled snapshot, split out of time (static: stratified random).
    ``compute`` is the feature engine (default: the local batch engine)."""
    spec = feature_spec_for(dataset, params)
    if compute is None:
        table = build_feature_table(dataset, params, spec=spec)
    else:
        table = build_feature_table(dataset, params, spec=spec, compute=compute)
    try:
        if dataset.static and dataset.config.order_by:
            split = split_static_in_order(dataset, table, config)
        elif dataset.static:
            split = split_static(table, config.fractions, seed=seed)
        else:
            split = split_out_of_time_purged(table, params.horizon_days, config)
    except ValueError as exc:
        empty = table.head(0)
        segments = {name: table if name == "train" else empty for name in config.fractions}
        problem = f"not enough history to validate out of time: {exc}"
        return TrainingSet(table, spec, Split(segments, {}), problem)
    return TrainingSet(table, spec, split)


def split_static_in_order(dataset: Dataset, table: pd.DataFrame, config: TrainingConfig) -> Split:
    """Static rows in time order (``order_by``): by their row in the file, or by the
    ``order_by`` column's dates or numbers (ties keep file order)."""
    position = pd.Index(dataset.leads[c.LEAD_ID]).get_indexer(table[c.LEAD_ID])
    if c.ORDER_KEY not in dataset.leads:
        return split_in_order(table, position, config.fractions)
    keys = dataset.leads[c.ORDER_KEY].iloc[position].reset_index(drop=True)
    order = np.lexsort((position, sortable(keys)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return split_in_order(table, rank, config.fractions, keys=keys.rename(dataset.config.order_by))


def split_out_of_time_purged(
    table: pd.DataFrame, horizon_days: int, config: TrainingConfig
) -> Split:
    """Out-of-time split with purging between all segments, or only before the holdout."""
    if config.purge == "all":
        return split_out_of_time(table, horizon_days, config.fractions)
    fractions = dict(config.fractions)
    holdout_share = fractions.pop("holdout")
    outer = split_out_of_time(
        table, horizon_days, {"development": sum(fractions.values()), "holdout": holdout_share}
    )
    inner = split_out_of_time(outer.segments["development"], 0, fractions)
    return Split(
        segments={**inner.segments, "holdout": outer.segments["holdout"]},
        purged={**inner.purged, "calibration": outer.purged["development"], "holdout": 0},
        starts={**inner.starts, "holdout": outer.starts["holdout"]},
        kind="out of time (purged before the holdout)",
    )


def check_minimum_data(split: Split, config: TrainingConfig) -> None:
    """Refuse to train when a segment is too small; the message lists found vs needed."""
    train = split.segments["train"]
    holdout = split.segments["holdout"]
    checks = [
        ("training examples", len(train), config.min_train_rows),
        ("training positives", int(train[c.LABEL].sum()), config.min_train_positives),
        ("holdout positives", int(holdout[c.LABEL].sum()), config.min_holdout_positives),
    ]
    short = [
        f"{what}: found {found:,}, need {need:,}" for what, found, need in checks if found < need
    ]
    if short:
        raise InsufficientDataError(
            "not enough data to train and validate: "
            + "; ".join(short)
            + f" (split: {split.summary()}). Add history or closed deals, or lower the minimums "
            "in the training config."
        )


def dataset_fingerprint(dataset: Dataset) -> str:
    """SHA-256 over the canonical tables (row order and dtypes included): same data, same hash."""
    digest = hashlib.sha256()
    for name in ("leads", "events", "outcomes"):
        frame: pd.DataFrame = getattr(dataset, name)
        digest.update(name.encode())
        digest.update(",".join(map(str, frame.columns)).encode())
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        digest.update(np.ascontiguousarray(hashed).tobytes())
    return digest.hexdigest()


def segment_keys_hash(frame: pd.DataFrame) -> str:
    """Hash of the (lead_id, as_of) keys of a segment: proves two evaluations used one holdout."""
    keys = frame[[c.LEAD_ID, AS_OF]]
    hashed = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    return hashlib.sha256(np.ascontiguousarray(hashed).tobytes()).hexdigest()
