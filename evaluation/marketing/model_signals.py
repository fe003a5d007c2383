"""Sales-ready signals from a model: the moments its probability reached the agreed threshold.

Every lead is scored on a grid of as-of times (every ``every_days`` days, aligned to the Unix
epoch like the training grid, from its creation to the end of the data) with the batch
feature engine, so each score sees only what was known at its as-of time. A grid time whose
calibrated probability is at or above the model's ``sales_ready`` threshold is a signal; the
episode logic (``sales_ready``) turns the first one of each stay in nurture into the
sales-ready moment. The moment is the grid time, so it can trail the true crossing by up to
``every_days`` days; touches are credited only before it.

Leads are scored in batches of whole accounts (the account roll-up needs every colleague),
each batch with its own slice of the events, so memory stays bounded by the batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evaluation.marketing.crm_arrays import CrmArrays, codes_of
from features.batch.batch_engine import AS_OF, compute_features
from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from features.ingest.lead_keys import lead_positions, positions_in
from features.time_rule import DAY_NS

BATCH_LEADS = 50_000


def model_definition(model: Any, version: str, every_days: int) -> str:
    threshold = float(model.thresholds["sales_ready"])
    rule = model.thresholds.get("rule", "")
    return (
        f"the first time the model (version {version}) scored the lead at or above its "
        f"sales-ready probability {threshold:.3f} ({rule}), on a grid every {every_days} days, "
        "or an opportunity opening, while the lead was in nurture"
    )


def model_signals(
    model: Any,
    dataset: Dataset,
    crm: CrmArrays,
    every_days: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(lead position, as-of ns) of every grid time scored at or above the threshold."""
    threshold = float(model.thresholds["sales_ready"])
    step = int(every_days) * DAY_NS
    first = -(-crm.created // step)
    count = np.maximum(crm.observed_until // step - first + 1, 0)
    batches = _account_batches(dataset.leads, BATCH_LEADS)
    event_lead = lead_positions(dataset.leads[c.LEAD_ID], (dataset.events[c.LEAD_ID], "events"))
    event_lead = event_lead[0].per_row()
    event_rows = _rows_by_batch(batches, event_lead)
    leads_out, times_out = [], []
    for b, lead_rows in enumerate(_batch_members(batches)):
        lead_rows = lead_rows[count[lead_rows] > 0]
        if not lead_rows.size:
            continue
        per_lead = count[lead_rows]
        lead = np.repeat(lead_rows, per_lead)
        k = np.repeat(first[lead_rows], per_lead) + _rank_in_repeat(per_lead)
        as_of = k * step
        leads = dataset.leads.iloc[lead_rows]
        snapshots = pd.DataFrame(
            {c.LEAD_ID: dataset.leads[c.LEAD_ID].to_numpy()[lead], AS_OF: pd.to_datetime(
                as_of, utc=True)}
        )  # fmt: skip
        features = compute_features(
            model.spec, leads, dataset.events.iloc[event_rows[b]],
            _of_leads(dataset.outcomes, leads), snapshots,
            open_deals=_of_leads(dataset.open_deals, leads),
        )  # fmt: skip
        hot = model.predict_proba(features) >= threshold
        leads_out.append(lead[hot])
        times_out.append(as_of[hot])
        if progress is not None:
            progress(int(lead_rows.size))
    if not leads_out:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    return np.concatenate(leads_out).astype(np.int32), np.concatenate(times_out)


def _account_batches(leads: pd.DataFrame, size: int) -> np.ndarray:
    """Batch number per lead: about ``size`` leads a batch, an account never split (leads
    without an account stand alone)."""
    if c.ACCOUNT_ID in leads.columns:
        account, _ = codes_of(leads[c.ACCOUNT_ID])
    else:
        account = np.full(len(leads), -1)
    alone = account < 0
    account = np.where(alone, account.max(initial=-1) + 1 + np.arange(len(leads)), account)
    order = np.argsort(account, kind="stable")
    sorted_account = account[order]
    account_starts = np.flatnonzero(np.r_[True, sorted_account[1:] != sorted_account[:-1]])
    # Each batch ends at the first account start at or after a multiple of ``size``.
    wanted = np.searchsorted(account_starts, np.arange(size, len(leads), size))
    cuts = np.unique(account_starts[wanted[wanted < account_starts.size]])
    batch = np.empty(len(leads), dtype=np.int64)
    batch[order] = np.searchsorted(cuts, np.arange(len(leads)), side="right")
    return batch


def _batch_members(batch: np.ndarray) -> list[np.ndarray]:
    order = np.argsort(batch, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(batch[order])) + 1)


def _rows_by_batch(batch: np.ndarray, row_lead: np.ndarray) -> list[np.ndarray]:
    """Rows of a table (by their lead's position) split by their lead's batch."""
    n_batches = int(batch.max(initial=-1)) + 1
    of_row = batch[row_lead]
    order = np.argsort(of_row, kind="stable")
    bounds = np.searchsorted(of_row[order], np.arange(n_batches + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_batches)]


def _rank_in_repeat(counts: np.ndarray) -> np.ndarray:
    """0 .. count-1 for each count, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1]) - np.repeat(ends - counts, counts)


def _of_leads(table: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    if not len(table):
        return table
    return table[positions_in(table[c.LEAD_ID], leads[c.LEAD_ID]) >= 0]
