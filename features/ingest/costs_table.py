"""The optional costs table: what marketing spent, per campaign or channel and period.

Canonical columns: ``campaign`` (str, may be missing), ``channel`` (str, may be missing; a row
needs at least one of the two), ``period`` (datetime64[ns, UTC]: when the period the spend
covers starts; a month written ``2024-03`` reads as its first day) and ``spend`` (float64,
not negative). Broken rows are reported like the other tables' (:class:`Problem`: table,
column, count and examples) and nothing is dropped: a cost row the report cannot place would
make every cost per result wrong.

Config (``costs`` in a dataset config, columns mapped by role like the other tables)::

    costs:
      path: costs.csv
      columns: {campaign: campaign, channel: channel, period: month, spend: amount}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import Problem, examples_of
from features.ingest.dataset_config import TableSource
from features.ingest.parsing import optional_roles, parse_numbers, parse_timestamps

TABLE = "costs"
PERIOD = "period"
SPEND = "spend"
COST_COLUMNS = (c.CAMPAIGN, c.CHANNEL, PERIOD, SPEND)


def empty_costs() -> pd.DataFrame:
    """A costs table without rows, with the canonical columns and dtypes."""
    return pd.DataFrame(
        {
            c.CAMPAIGN: pd.Series(dtype="str"),
            c.CHANNEL: pd.Series(dtype="str"),
            PERIOD: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            SPEND: pd.Series(dtype="float64"),
        }
    )


def canonical_costs(
    raw: pd.DataFrame, source: TableSource, roles: dict[str, str], problems: list[Problem]
) -> pd.DataFrame:
    """The costs as canonical rows; every broken row is appended to ``problems``."""
    roles = {PERIOD: PERIOD, SPEND: SPEND, **optional_roles(raw, (c.CAMPAIGN, c.CHANNEL)), **roles}
    required = [roles[PERIOD], roles[SPEND]]
    missing = [column for column in required if column not in raw.columns]
    keys = [roles[key] for key in (c.CAMPAIGN, c.CHANNEL) if key in roles]
    found = [column for column in keys if column in raw.columns]
    for column in missing + [column for column in keys if column not in raw.columns]:
        problems.append(
            Problem(TABLE, column, f"missing column (found: {list(raw.columns)[:12]})", len(raw))
        )
    if not keys:
        problems.append(
            Problem(TABLE, "campaign", "needs a campaign or a channel column", len(raw))
        )
    if missing or len(found) != len(keys) or not keys:
        return empty_costs()
    out = pd.DataFrame(index=raw.index)
    for key in (c.CAMPAIGN, c.CHANNEL):
        column = roles.get(key)
        if column is None:
            out[key] = pd.Series(pd.NA, index=raw.index, dtype="str")
            continue
        text = raw[column].astype("str").str.strip()
        out[key] = text.where(raw[column].notna() & (text != "")).astype("str")
    unnamed = out[c.CAMPAIGN].isna() & out[c.CHANNEL].isna()
    if unnamed.any():
        problems.append(
            Problem(TABLE, keys[0], "neither a campaign nor a channel", int(unnamed.sum()),
                    _rows(unnamed))
        )  # fmt: skip
    out[PERIOD] = parse_timestamps(raw[roles[PERIOD]], source, TABLE, roles[PERIOD], problems)
    spend = raw[roles[SPEND]]
    out[SPEND] = parse_numbers(spend, TABLE, roles[SPEND], problems)
    absent = spend.isna() if not pd.api.types.is_numeric_dtype(spend) else out[SPEND].isna()
    if absent.any():
        problems.append(Problem(TABLE, roles[SPEND], "missing spend", int(absent.sum()),
                                _rows(absent)))  # fmt: skip
    negative = out[SPEND] < 0
    if negative.any():
        problems.append(
            Problem(TABLE, roles[SPEND], "negative spend", int(negative.sum()),
                    examples_of(spend[negative]))
        )  # fmt: skip
    return out.reset_index(drop=True)


def _rows(mask: pd.Series) -> tuple[str, ...]:
    return tuple(f"row {i}" for i in np.flatnonzero(mask.to_numpy())[:5])
