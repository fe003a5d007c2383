"""Feature building on a Dask cluster: the batch engine run per partition of whole accounts.

Dask (``dask.distributed``) does the scheduling; this module only decides how to cut the
inputs so that each task is independent: a partition holds whole accounts (account roll-ups
need every colleague), with their events, deals and snapshots. Each worker runs the very same
:func:`features.batch.batch_engine.compute_features`, so results are identical to the local engine, row
for row (a test holds them equal). Rows come back in the order of ``snapshots``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.lead_keys import positions_in
from features.spec import FeatureSpec


def partition_leads(leads: pd.DataFrame, n_partitions: int) -> np.ndarray:
    """Partition number of each lead; all leads of an account share one. Leads without an
    account are spread by position."""
    if n_partitions < 1:
        raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
    n = len(leads)
    if c.ACCOUNT_ID in leads.columns:
        account = pd.factorize(leads[c.ACCOUNT_ID], use_na_sentinel=True)[0]
    else:
        account = np.full(n, -1)
    group = np.where(account >= 0, account, np.arange(n))
    return (group % n_partitions).astype(np.int64)


def split_by_partition(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    snapshots: pd.DataFrame,
    n_partitions: int,
    open_deals: pd.DataFrame | None = None,
) -> Iterator[tuple[np.ndarray, tuple[pd.DataFrame, ...]]]:
    """Yield ``(snapshot positions, (leads, events, outcomes, snapshots, open_deals))`` per
    partition."""
    lead_part = partition_leads(leads, n_partitions)

    def parts_of(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        part = lead_part[positions_in(frame[c.LEAD_ID], leads[c.LEAD_ID])] if len(frame) else (
            np.zeros(0, dtype=np.int64)
        )  # fmt: skip
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(n_partitions + 1))
        return order, bounds

    if open_deals is None:
        open_deals = outcomes.iloc[:0][[c.LEAD_ID, c.OPENED_AT]]
    tables = [leads, events, outcomes, snapshots, open_deals]
    cuts = [parts_of(frame) for frame in tables]
    for k in range(n_partitions):
        pieces = tuple(
            frame.iloc[order[bounds[k] : bounds[k + 1]]].reset_index(drop=True)
            for frame, (order, bounds) in zip(tables, cuts, strict=True)
        )
        snap_order, snap_bounds = cuts[3]
        positions = snap_order[snap_bounds[k] : snap_bounds[k + 1]]
        if len(pieces[3]):
            yield positions, pieces


def compute_features_distributed(
    client: Any,
    spec: FeatureSpec,
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    snapshots: pd.DataFrame,
    *,
    open_deals: pd.DataFrame | None = None,
    n_partitions: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Same result as :func:`compute_features`, computed by the workers of a
    ``dask.distributed.Client``. ``progress(n)`` receives the leads of each finished partition."""
    from distributed import as_completed

    if n_partitions is None:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        n_partitions = 4 * workers  # a few tasks per worker keep both busy to the end
    futures, positions, n_leads = {}, {}, {}
    # Keys unique to this call, for the pieces too: hashed keys made equal pieces (an empty
    # open-deals piece) and ids reused across calls share a key, and a key released by one
    # use while scattered again for another failed a task (KeyError on a worker, seen once).
    call = uuid.uuid4().hex
    for k, (rows, pieces) in enumerate(
        split_by_partition(leads, events, outcomes, snapshots, n_partitions, open_deals)
    ):
        *remote, remote_open = client.scatter(list(pieces), hash=False)
        future = client.submit(  # one thread per task: Dask already runs tasks in parallel
            compute_features, spec, *remote, open_deals=remote_open, threads=1,
            key=f"features-{k}-{call}",
        )  # fmt: skip
        futures[future.key] = future
        positions[future.key] = rows
        n_leads[future.key] = len(pieces[0])
    results = {}
    for future in as_completed(list(futures.values())):
        results[future.key] = future.result()
        if progress is not None:
            progress(n_leads[future.key])
    if not results:
        return compute_features(spec, leads, events, outcomes, snapshots, open_deals=open_deals)
    keys = list(results)
    frame = pd.concat([results[key] for key in keys], ignore_index=True)
    rows = np.concatenate([positions[key] for key in keys])
    restore = np.empty_like(rows)
    restore[rows] = np.arange(rows.size)
    return frame.iloc[restore].reset_index(drop=True)
