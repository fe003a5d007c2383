"""A CRM export's events and deals as canonical tables (``features.ingest.contracts``): columns
found by their roles in the dataset config, timestamps, yes/no values and amounts parsed, and
every broken row reported as a :class:`Problem` naming table, column, count and examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import Problem, examples_of
from features.ingest.dataset import empty_open_deals, event_type_name
from features.ingest.dataset_config import DatasetConfig
from features.ingest.parsing import (
    optional_roles,
    parse_binary,
    parse_ids,
    parse_numbers,
    parse_timestamps,
    require_columns,
)

# Event columns read from Parquet as dictionaries (categoricals).
DICTIONARY_ROLES = (c.EVENT_TYPE, c.CAMPAIGN, c.CHANNEL)


def empty_events() -> pd.DataFrame:
    """An events table without rows, with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(dtype="str"),
            c.OCCURRED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.EVENT_TYPE: c.event_type_column(np.zeros(0, dtype=np.int8), []),
            c.CAMPAIGN: _names(pd.Series(dtype="str")),
            c.CHANNEL: _names(pd.Series(dtype="str")),
        }
    )


def empty_outcomes() -> pd.DataFrame:
    """A deals table without rows, with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(dtype="str"),
            c.OPENED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.CLOSED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.WON: pd.Series(dtype="bool"),
            c.AMOUNT: pd.Series(dtype="float64"),
        }
    )


def canonical_events(
    raw: pd.DataFrame,
    config: DatasetConfig,
    problems: list[Problem],
    notes: list[str] | None = None,
) -> pd.DataFrame:
    """The events, with categorical snake_case types (renamed by the config's map)."""
    source = config.events
    assert source is not None
    roles = {"lead_id": "lead_id", "occurred_at": "occurred_at", "event_type": "event_type"}
    roles.update(optional_roles(raw, (c.CAMPAIGN, c.CHANNEL)))
    roles.update(source.columns)
    require_columns(raw, "events", roles.values(), problems)
    if any(problem.table == "events" for problem in problems):
        return empty_events()
    out = pd.DataFrame(index=raw.index)
    out[c.LEAD_ID] = parse_ids(raw[roles["lead_id"]], "events", roles["lead_id"], problems)
    out[c.OCCURRED_AT] = parse_timestamps(
        raw[roles["occurred_at"]], source, "events", roles["occurred_at"], problems, notes=notes
    )
    types = raw[roles["event_type"]]
    if types.isna().any():
        problems.append(
            Problem(
                "events",
                roles["event_type"],
                "missing event type",
                int(types.isna().sum()),
                examples_of(raw.loc[types.isna(), roles["lead_id"]]),
            )
        )
    out[c.EVENT_TYPE] = _event_types(types, source.event_type_map)
    for role in (c.CAMPAIGN, c.CHANNEL):
        column = roles.get(role)
        out[role] = _names(raw[column] if column is not None else pd.Series(pd.NA, index=raw.index))
    return out.reset_index(drop=True)


def _names(values: pd.Series) -> pd.Series:
    """Campaigns and channels as a categorical of str (a few names over many rows, like the
    event types), from a Parquet dictionary as read or from text; missing stays missing."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("str").astype("category")
    return values.cat.set_categories(values.cat.categories.astype("str"))


def _event_types(types: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Renamed, snake_cased event types as a categorical (:func:`contracts.event_type_column`):
    renamed on the distinct values (a handful) rather than per row, and kept as codes."""
    codes, uniques = pd.factorize(types, use_na_sentinel=True)
    names = [event_type_name(str(value), mapping) for value in uniques]
    # Two raw names may map to one (e.g. "Web Visit" and "web_visit"): one category each.
    merged, categories = pd.factorize(pd.Series(names, dtype="str"))
    # -1 marks a missing type (reported by the caller): a trailing -1 keeps it missing.
    return c.event_type_column(np.append(merged, -1)[codes], categories, index=types.index)


def canonical_outcomes(
    raw: pd.DataFrame,
    config: DatasetConfig,
    problems: list[Problem],
    notes: list[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Closed deals, and the deals still open at export (opened_at but no closed_at)."""
    source = config.outcomes
    assert source is not None
    roles = {"lead_id": "lead_id", "closed_at": "closed_at"}
    if not source.all_won:
        roles["won"] = "won"
    roles.update(optional_roles(raw, (c.OPENED_AT, c.AMOUNT)))
    roles.update(source.columns)
    if source.all_won:
        roles.pop("won", None)
    require_columns(raw, "outcomes", roles.values(), problems)
    if any(problem.table == "outcomes" for problem in problems):
        return empty_outcomes(), empty_open_deals()
    out = pd.DataFrame(index=raw.index)
    out[c.LEAD_ID] = parse_ids(raw[roles["lead_id"]], "outcomes", roles["lead_id"], problems)
    out[c.OPENED_AT] = (
        parse_timestamps(
            raw[roles["opened_at"]],
            source,
            "outcomes",
            roles["opened_at"],
            problems,
            allow_missing=True,
            notes=notes,
        )
        if "opened_at" in roles
        else pd.Series(pd.NaT, index=raw.index, dtype=c.TIMESTAMP_DTYPE)
    )
    out[c.CLOSED_AT] = parse_timestamps(
        raw[roles["closed_at"]], source, "outcomes", roles["closed_at"], problems,
        allow_missing=True, notes=notes,
    )  # fmt: skip
    # A deal without a close date (or one read as never) is an opportunity still open at
    # export, if it has an open date; without either it says nothing and is an error.
    no_close = raw[roles["closed_at"]].isna()
    if source.out_of_range_dates == "never":
        no_close |= out[c.CLOSED_AT].isna()
    is_open = no_close & out[c.OPENED_AT].notna()
    undated = no_close & out[c.OPENED_AT].isna()
    if undated.any():
        problems.append(
            Problem(
                "outcomes", roles["closed_at"],
                "missing timestamp (a deal still open needs its opened_at)", int(undated.sum()),
                tuple(f"row {i}" for i in np.flatnonzero(undated.to_numpy())[:5]),
            )
        )  # fmt: skip
    open_deals = out.loc[is_open, [c.LEAD_ID, c.OPENED_AT]].reset_index(drop=True)
    out = out.loc[~is_open]
    closed_raw = raw.loc[~is_open]
    if source.all_won:
        out[c.WON] = True
    else:
        out[c.WON] = parse_binary(
            closed_raw[roles["won"]],
            source.won_values,
            "outcomes",
            roles["won"],
            problems,
            negatives=[value.lower() for value in source.lost_values],
        ).astype("bool")
    if "amount" in roles:
        out[c.AMOUNT] = parse_numbers(
            closed_raw[roles["amount"]], "outcomes", roles["amount"], problems
        )
    else:
        out[c.AMOUNT] = np.nan
    reversed_ = (
        out[c.OPENED_AT].notna() & out[c.CLOSED_AT].notna() & (out[c.OPENED_AT] > out[c.CLOSED_AT])
    )
    if reversed_.any():
        problems.append(
            Problem(
                "outcomes",
                roles.get("opened_at", "opened_at"),
                "opportunity opened after it closed",
                int(reversed_.sum()),
                examples_of(out.loc[reversed_, c.LEAD_ID]),
            )
        )
    return out.reset_index(drop=True), open_deals
