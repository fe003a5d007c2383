"""Training examples in time: (lead, as_of) snapshots and their labels (their out-of-time
splits are ``features.trainset.splits``).

Rules (shared with the engines, see ``features.spec``): as_of is a whole second; a lead has a
snapshot only once it exists (``created_at <= as_of``); the label is 1 iff a won deal closed in
``(as_of, as_of + horizon]``; a snapshot is labelled only when that whole window is observed
(``as_of + horizon <= observed_until``), otherwise it is what you would *score* today, not
train on. Leads that already won (a won deal closed ``<= as_of``) are excluded unless the
target is a repeat purchase.

The periodic grid is aligned to the Unix epoch (as_of = k * every_days days, 00:00 UTC), so a
lead's snapshots never depend on which other leads were loaded with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from features.batch.grouping import Grouped, utc_datetimes
from features.batch.kernels import snapshot_grid as snapshot_kernel
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.ingest.dataset_config import SnapshotConfig
from features.ingest.lead_keys import positions_in
from features.time_rule import DAY_NS


@dataclass
class SnapshotCounts:
    """How many snapshots were laid, and what became of them."""

    labelled: int = 0
    positives: int = 0
    unlabelled: int = 0
    excluded_already_won: int = 0

    def summary(self) -> str:
        return (
            f"{self.labelled:,} labelled snapshots ({self.positives:,} positive), "
            f"{self.unlabelled:,} not yet labellable, "
            f"{self.excluded_already_won:,} excluded (lead already won)"
        )


@dataclass(frozen=True)
class SnapshotSet:
    """Labelled snapshots (to train on) and unlabelled ones (window not yet observed)."""

    labelled: pd.DataFrame  # lead_id, as_of, label (int8)
    unlabelled: pd.DataFrame  # lead_id, as_of
    observed_until: pd.Timestamp | None
    excluded_already_won: int = 0

    def summary(self) -> str:
        positives = int(self.labelled[c.LABEL].sum()) if len(self.labelled) else 0
        counts = SnapshotCounts(
            len(self.labelled), positives, len(self.unlabelled), self.excluded_already_won
        )
        return counts.summary()


def observed_until_of(dataset: Dataset) -> pd.Timestamp:
    """The last timestamp seen in any table: the end of what the data can tell."""
    candidates = [
        dataset.leads[c.CREATED_AT].max() if c.CREATED_AT in dataset.leads else pd.NaT,
        dataset.events[c.OCCURRED_AT].max(),
        dataset.outcomes[c.CLOSED_AT].max(),
    ]
    present = [stamp for stamp in candidates if not pd.isna(stamp)]
    if not present:
        raise ValueError("dataset has no timestamps: cannot place snapshots in time")
    return max(present)


def build_snapshots(
    dataset: Dataset,
    every_days: int,
    horizon_days: int,
    *,
    observed_until: pd.Timestamp | None = None,
) -> SnapshotSet:
    """Lay (lead, as_of) snapshots over history per ``dataset.config.snapshots`` and label them.

    Static datasets get one unlabelled-time row per lead (as_of NaT) with their given label.
    """
    if dataset.static:
        labelled = pd.DataFrame(
            {
                c.LEAD_ID: dataset.leads[c.LEAD_ID].to_numpy(),
                AS_OF: pd.Series(pd.NaT, index=dataset.leads.index, dtype=c.TIMESTAMP_DTYPE),
                c.LABEL: dataset.leads[c.LABEL].astype("int8").to_numpy(),
            }
        )
        return SnapshotSet(labelled, labelled.iloc[:0, :2], None)
    config = dataset.config.snapshots
    until = observed_until if observed_until is not None else observed_until_of(dataset)
    leads = dataset.leads
    created_ns = created_at_ns(leads)
    lead_ids = leads[c.LEAD_ID].array  # taken as is: no Python string objects per snapshot
    outcome_lead = positions_in(dataset.outcomes[c.LEAD_ID], leads[c.LEAD_ID])
    if (outcome_lead < 0).any():
        unknown = dataset.outcomes.loc[outcome_lead < 0, c.LEAD_ID].head(5).tolist()
        raise ValueError(f"outcomes.lead_id: leads not in the leads table (e.g. {unknown})")
    won = dataset.outcomes[c.WON].to_numpy(dtype=bool)
    won_ns = dataset.outcomes[c.CLOSED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64)[won]
    won_by_lead = Grouped(outcome_lead[won], won_ns, len(leads))
    rules = GridRules.of(config, every_days, horizon_days, until)
    laid = lay_snapshots(created_ns, 0, won_by_lead.offsets, won_by_lead.ns, rules)
    labelled = pd.DataFrame(
        {
            c.LEAD_ID: lead_ids.take(laid.lead[laid.observed]),
            AS_OF: utc_datetimes(laid.as_of_ns[laid.observed]),
            c.LABEL: laid.label,
        }
    )
    unlabelled = pd.DataFrame(
        {
            c.LEAD_ID: lead_ids.take(laid.lead[~laid.observed]),
            AS_OF: utc_datetimes(laid.as_of_ns[~laid.observed]),
        }
    )
    return SnapshotSet(labelled, unlabelled, pd.Timestamp(until), laid.excluded)


def created_at_ns(leads: pd.DataFrame) -> np.ndarray:
    """Each lead's created_at in epoch ns; a missing one is an error naming the leads."""
    created = leads[c.CREATED_AT]
    if created.isna().any():
        missing = leads.loc[created.isna(), c.LEAD_ID].head(5).tolist()
        raise ValueError(
            f"leads.created_at: missing for {int(created.isna().sum())} (e.g. {missing})"
        )
    return created.to_numpy(dtype="datetime64[ns]").astype(np.int64)


@dataclass(frozen=True)
class GridRules:
    """Where snapshots go and how they are labelled (the dataset's ``snapshots`` settings)."""

    grid: Literal["periodic", "at_creation"]
    every_days: int
    horizon_days: int
    max_age_days: int | None
    repeat_purchase: bool
    until_ns: int

    @classmethod
    def of(
        cls, config: SnapshotConfig, every_days: int, horizon_days: int, until: pd.Timestamp
    ) -> GridRules:
        return cls(
            config.grid, every_days, horizon_days, config.max_lead_age_days,
            config.repeat_purchase, pd.Timestamp(until).value,
        )  # fmt: skip


@dataclass(frozen=True)
class LaidSnapshots:
    """Snapshots of a run of leads as arrays, grouped by lead and in time order."""

    lead: np.ndarray  # index of the lead (``first`` + position in ``created_ns``)
    as_of_ns: np.ndarray
    observed: np.ndarray  # bool: the label window is observed (labelled snapshot)
    label: np.ndarray  # int8, for the observed snapshots only
    excluded: int  # snapshots dropped because the lead had already won


def lay_snapshots(
    created_ns: np.ndarray,
    first: int,
    won_offsets: np.ndarray,
    won_ns: np.ndarray,
    rules: GridRules,
) -> LaidSnapshots:
    """Snapshots and labels of leads ``first, first + 1, ...`` (creation times ``created_ns``);
    their won deals' close times are ``won_ns[won_offsets[i]:won_offsets[i + 1]]`` for lead
    ``i``, in time order. Numbers only, so the batch engine can lay a chunk's snapshots
    itself; :func:`build_snapshots` lays every lead's with the same code."""
    max_age = rules.max_age_days
    lead, as_of_ns, observed, label, excluded = snapshot_kernel.lay_grid(
        np.ascontiguousarray(created_ns, dtype=np.int64), first,
        np.asarray(won_offsets, dtype=np.int64), np.asarray(won_ns, dtype=np.int64),
        rules.until_ns, rules.grid == "periodic", rules.every_days * DAY_NS,
        snapshot_kernel.NO_LIMIT if max_age is None else max_age * DAY_NS,
        rules.horizon_days * DAY_NS, rules.repeat_purchase,
    )  # fmt: skip
    return LaidSnapshots(lead, as_of_ns, observed, label, int(excluded))
