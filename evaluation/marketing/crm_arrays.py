"""A loaded dataset as the integer arrays the marketing analysis works on.

Leads become row positions, times int64 epoch nanoseconds, campaigns, channels and lead
sources small integer codes (-1: none). Everything after this is numpy on these arrays: no
per-lead Python, no string hashing per event beyond the one lookup of lead ids here.

**Touches** are the marketing interactions a stage can be credited to: what marketing sent
(``email_send``) and the lead's responses (every other event type: opens, clicks, visits,
downloads, webinars, forms, ...). Bounces (never delivered) and unsubscribes (a refusal) are
not touches. **Intent events** (``features.ingest.contracts.INTENT_EVENT_TYPES``) are what
makes a lead sales-ready when no model is given.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from features.ingest.lead_keys import lead_positions
from features.time_rule import NAT_NS

SEND_TYPES = ("email_send",)
NOT_TOUCH_TYPES = ("email_bounce", "unsubscribe")
NEVER = np.iinfo(np.int64).max  # a time that has not come (an open deal's close)
NONE = "(none)"  # the row of touches without a campaign / channel, leads without a source
SOURCE_NAME_HINTS = ("lead_source", "source", "origin", "channel")


@dataclass(frozen=True)
class CrmArrays:
    """The dataset's leads, touches, intent events and deals as aligned numpy arrays."""

    created: np.ndarray  # per lead, ns
    source: np.ndarray  # per lead, code into source_names (-1: unknown)
    source_names: list[str]
    source_column: str | None
    touch_lead: np.ndarray  # int32 lead position
    touch_t: np.ndarray  # ns
    touch_campaign: np.ndarray  # int32 code into campaigns (-1: none)
    touch_channel: np.ndarray  # int32 code into channels (-1: none)
    touch_is_send: np.ndarray  # bool: a send (else the lead's response)
    campaigns: list[str]
    channels: list[str]
    intent_lead: np.ndarray
    intent_t: np.ndarray
    deal_lead: np.ndarray
    deal_open: np.ndarray  # ns (the close when the open date is unknown)
    deal_close: np.ndarray  # ns, NEVER while open
    deal_won: np.ndarray  # bool
    deal_amount: np.ndarray  # float, 0 when unknown or lost
    observed_until: int  # ns: the last time any table shows

    @property
    def n_leads(self) -> int:
        return int(self.created.size)


def lead_source_column(dataset: Dataset, requested: str | None = None) -> str | None:
    """The attribute that says where a lead came from: ``requested`` if given (it must be a
    categorical attribute), else the first whose name matches a usual one (lead_source,
    source, origin, channel), else None."""
    names = [a.name for a in dataset.attributes if a.type.value == "categorical"]
    if requested is not None:
        if requested not in names:
            raise ValueError(
                f"leads: --source {requested!r} is not a categorical attribute (have {names})"
            )
        return requested
    for hint in SOURCE_NAME_HINTS:
        for name in names:
            if name == hint or hint in name:
                return name
    return None


def crm_arrays(dataset: Dataset, source_column: str | None = None) -> CrmArrays:
    """The arrays of ``dataset`` (temporal mode; events and costs may be empty)."""
    if dataset.static:
        raise ValueError("the marketing report needs a temporal dataset (events, deals in time)")
    leads, events = dataset.leads, dataset.events
    source, source_names = (
        codes_of(leads[source_column]) if source_column else (np.full(len(leads), -1), [])
    )
    # Every table's ids looked up by Arrow's hashing, as the batch engine does;
    # unknown leads are an error naming them (the loaders drop orphans before this).
    lead_of_event, closed_lead, open_lead = (
        runs.per_row().astype(np.int32) for runs in lead_positions(
            leads[c.LEAD_ID], (events[c.LEAD_ID], "events"),
            (dataset.outcomes[c.LEAD_ID], "outcomes"), (dataset.open_deals[c.LEAD_ID], "outcomes"),
        )
    )  # fmt: skip
    when = _ns(events[c.OCCURRED_AT])
    kind = _event_kinds(events[c.EVENT_TYPE])
    kind[when == NAT_NS] = _OTHER
    touch, intent = kind != _OTHER, kind == _INTENT
    # Arrow hashes each column without the GIL: the two columns on two threads.
    with ThreadPoolExecutor(2, thread_name_prefix="codes") as pool:
        campaign_codes = pool.submit(codes_of, events[c.CAMPAIGN], touch)
        channel, channels = codes_of(events[c.CHANNEL], touch)
        campaign, campaigns = campaign_codes.result()
    deals = _deals(dataset, closed_lead, open_lead)
    return CrmArrays(
        created=_ns(leads[c.CREATED_AT]),
        source=source,
        source_names=source_names,
        source_column=source_column,
        touch_lead=lead_of_event[touch],
        touch_t=when[touch],
        touch_campaign=campaign,
        touch_channel=channel,
        touch_is_send=kind[touch] == _SEND,
        campaigns=campaigns,
        channels=channels,
        intent_lead=lead_of_event[intent],
        intent_t=when[intent],
        **deals,
        observed_until=_observed_until(dataset),
    )


_OTHER, _TOUCH, _SEND, _INTENT = 0, 1, 2, 3  # what an event is to the marketing analysis


def _event_kinds(types: pd.Series) -> np.ndarray:
    """Per event: a send, an intent event, another touch, or none (bounces, unsubscribes,
    missing types), by one lookup per event through its type's code."""
    kinds = types.astype("category")
    names = [str(name) for name in kinds.cat.categories]
    of_type = [
        _SEND if n in SEND_TYPES else _INTENT if n in c.INTENT_EVENT_TYPES
        else _OTHER if n in NOT_TOUCH_TYPES else _TOUCH
        for n in names
    ]  # fmt: skip
    table = np.array([*of_type, _OTHER], dtype=np.int8)  # the last entry: a missing type
    return table[kinds.cat.codes.to_numpy()]


def codes_of(values: pd.Series, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes of a text column at ``rows`` (-1: missing or blank) and the names,
    sorted. Arrow hashes the column once (a categorical column's codes are used as they are);
    blanks are found among the distinct names, not row by row."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        raw_names = [str(name) for name in values.cat.categories]
    else:
        encoded = pc.dictionary_encode(pa.array(values.array))
        if isinstance(encoded, pa.ChunkedArray):  # one dictionary for all chunks
            dictionary = encoded.chunk(0).dictionary if encoded.num_chunks else pa.array([])
            indices = pa.chunked_array([chunk.indices for chunk in encoded.chunks], pa.int32())
        else:
            dictionary, indices = encoded.dictionary, encoded.indices
        codes = indices.fill_null(-1).to_numpy()
        raw_names = dictionary.to_pylist()
    if rows is not None:
        codes = codes[rows]
    clean = [str(name).strip() for name in raw_names]
    names = sorted(set(clean) - {""})
    index = {name: i for i, name in enumerate(names)}
    # Raw code -> code among the cleaned names; the last entry is for missing values (-1).
    rank = np.array([index.get(name, -1) for name in clean] + [-1], dtype=np.int32)
    return rank[codes], names


def _ns(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 epoch ns (NaT: ``NAT_NS``)."""
    return pd.Series(values).dt.as_unit("ns").array.asi8.copy()


def _deals(dataset: Dataset, closed_lead: np.ndarray, open_lead: np.ndarray) -> dict:
    """Closed deals and the deals still open at export, as one set of arrays."""
    closed, still_open = dataset.outcomes, dataset.open_deals
    close = _ns(closed[c.CLOSED_AT])
    opened = _ns(closed[c.OPENED_AT])
    opened = np.where(opened == NAT_NS, close, opened)
    amount = closed[c.AMOUNT].to_numpy(dtype=np.float64, na_value=np.nan)
    won = closed[c.WON].to_numpy(dtype=bool)
    return {
        "deal_lead": np.r_[closed_lead, open_lead].astype(np.int32),
        "deal_open": np.r_[opened, _ns(still_open[c.OPENED_AT])],
        "deal_close": np.r_[close, np.full(len(still_open), NEVER)],
        "deal_won": np.r_[won, np.zeros(len(still_open), bool)],
        "deal_amount": np.r_[np.where(won, np.nan_to_num(amount), 0.0), np.zeros(len(still_open))],
    }


def _observed_until(dataset: Dataset) -> int:
    stamps = [
        dataset.leads[c.CREATED_AT].max(),
        dataset.events[c.OCCURRED_AT].max(),
        dataset.outcomes[c.CLOSED_AT].max(),
        dataset.open_deals[c.OPENED_AT].max(),
    ]
    present = [pd.Timestamp(s) for s in stamps if not pd.isna(s)]
    if not present:
        raise ValueError("the dataset has no timestamps: nothing to place in time")
    return int(max(present).as_unit("ns").value)
