"""Column parsers of the loaders: required columns, ids, timestamps (offsets honoured, naive
times read in the config's time zone), numbers and yes/no values. Each appends a :class:`Problem`
naming the table and column instead of raising, so a load reports every problem at once."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import Problem, examples_of
from features.ingest.dataset_config import TableSource
from features.value_limits import FIRST_SUPPORTED, LAST_SUPPORTED, NEVER_YEAR

WIDE_TIMESTAMP_DTYPE = "datetime64[us, UTC]"  # holds year 1 to 9999, checked before ns

BOOLEAN_TRUE = {"1", "true", "yes", "y", "t"}
BOOLEAN_FALSE = {"0", "false", "no", "n", "f"}


def optional_roles(raw: pd.DataFrame, roles: tuple[str, ...]) -> dict[str, str]:
    """Optional roles default to a column of the canonical name when the file has one."""
    return {role: role for role in roles if role in raw.columns}


def require_columns(
    raw: pd.DataFrame, table: str, columns: Iterable[str], problems: list[Problem]
) -> None:
    missing = [column for column in dict.fromkeys(columns) if column not in raw.columns]
    for column in missing:
        problems.append(
            Problem(table, column, f"missing column (found: {list(raw.columns)[:12]})", len(raw))
        )


def parse_numbers(
    values: pd.Series,
    table: str,
    column: str,
    problems: list[Problem],
    present: pd.Series | None = None,
) -> pd.Series:
    """A number column as float64: text that is not a number is a problem naming the column;
    values outside ``present`` (default: the missing ones) are NaN."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
    else:
        present = values.notna() if present is None else present
        numbers = pd.to_numeric(values.where(present), errors="coerce").astype("float64")
        bad = present & numbers.isna()
        if bad.any():
            problems.append(
                Problem(table, column, "not a number", int(bad.sum()), examples_of(values[bad]))
            )
    infinite = pd.Series(np.isinf(numbers.to_numpy()), index=numbers.index)
    if infinite.any():
        problems.append(
            Problem(
                table,
                column,
                "not a finite number (an infinity or beyond float64)",
                int(infinite.sum()),
                examples_of(values[infinite]),
            )
        )
        numbers = numbers.where(~infinite)
    return numbers


def parse_ids(values: pd.Series, table: str, column: str, problems: list[Problem]) -> pd.Series:
    text = values.astype("str").str.strip()
    empty = values.isna() | (text == "")
    if empty.any():
        problems.append(
            Problem(
                table,
                column,
                "empty id",
                int(empty.sum()),
                tuple(f"row {i}" for i in np.flatnonzero(empty.to_numpy())[:5]),
            )
        )
    return text.where(~empty)


def parse_timestamps(
    values: pd.Series,
    source: TableSource,
    table: str,
    column: str,
    problems: list[Problem],
    *,
    allow_missing: bool = False,
) -> pd.Series:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize(source.timezone)
    else:
        parsed = parse_text_timestamps(values, source)
        bad = values.notna() & parsed.isna()
        if bad.any():
            expected = source.timestamp_format or "ISO 8601"
            problems.append(
                Problem(
                    table,
                    column,
                    f"unparsable timestamp (expected {expected})",
                    int(bad.sum()),
                    examples_of(values[bad]),
                )
            )
    parsed = pd.Series(parsed, index=values.index)
    if len(parsed) == 0:
        return pd.Series([], dtype=c.TIMESTAMP_DTYPE)
    if not allow_missing:
        missing = values.isna()
        if missing.any():
            problems.append(
                Problem(
                    table,
                    column,
                    "missing timestamp",
                    int(missing.sum()),
                    tuple(f"row {i}" for i in np.flatnonzero(missing)[:5]),
                )
            )
    return _supported(parsed.dt.tz_convert("UTC"), values, table, column, problems)


def _supported(
    utc: pd.Series, values: pd.Series, table: str, column: str, problems: list[Problem]
) -> pd.Series:
    """Times the engines can represent (nanoseconds, :mod:`features.value_limits`); others are
    a problem with their count and examples (year 9999, a CRM's "never", named as such)."""
    outside = utc.notna() & ((utc < FIRST_SUPPORTED) | (utc >= LAST_SUPPORTED))
    if outside.any():
        never = bool((utc[outside].dt.year == NEVER_YEAR).any())
        hint = "; year 9999 is a CRM 'never' date: leave the cell empty" if never else ""
        problems.append(
            Problem(
                table,
                column,
                f"time outside the supported range {FIRST_SUPPORTED:%Y-%m-%d} to "
                f"{LAST_SUPPORTED:%Y-%m-%d} (UTC){hint}",
                int(outside.sum()),
                examples_of(values[outside]),
            )
        )
        utc = utc.where(~outside)
    return utc.astype(c.TIMESTAMP_DTYPE)


def parse_text_timestamps(values: pd.Series, source: TableSource) -> pd.Series:
    """Parse text times: explicit offsets ('Z', '+02:00') are honoured, naive times are read in
    the config's time zone. Exports often mix both, which pandas refuses in one call."""
    fmt = source.timestamp_format or "ISO8601"
    text = values.astype("str").str.strip()
    has_zone = values.notna() & text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    naive = values.notna() & ~has_zone
    parsed = pd.Series(pd.NaT, index=values.index, dtype=WIDE_TIMESTAMP_DTYPE)
    if has_zone.any():
        zoned = pd.to_datetime(text[has_zone], format=fmt, utc=True, errors="coerce")
        parsed[has_zone] = zoned.astype(WIDE_TIMESTAMP_DTYPE)
    if naive.any():
        local = pd.to_datetime(text[naive], format=fmt, errors="coerce")
        parsed[naive] = (
            local.dt.tz_localize(source.timezone, ambiguous="NaT", nonexistent="shift_forward")
            .dt.tz_convert("UTC")
            .astype(WIDE_TIMESTAMP_DTYPE)
        )
    return parsed


def parse_binary(
    values: pd.Series,
    positives: Iterable[str],
    table: str,
    column: str,
    problems: list[Problem],
    *,
    negatives: Iterable[str] | None = None,
    allow_missing: bool = False,
) -> pd.Series:
    """Parse a yes/no column. Without ``negatives`` anything not positive counts as negative."""
    text = values.astype("str").str.strip().str.lower()
    present = values.notna() & (text != "")
    positive = text.isin({value.lower() for value in positives})
    if negatives is not None:
        negative = text.isin(set(negatives))
        bad = present & ~positive & ~negative
        if bad.any():
            problems.append(
                Problem(
                    table, column, "not a yes/no value", int(bad.sum()), examples_of(values[bad])
                )
            )
    if not allow_missing and (~present).any():
        problems.append(
            Problem(
                table,
                column,
                "missing value",
                int((~present).sum()),
                tuple(f"row {i}" for i in np.flatnonzero(~present)[:5]),
            )
        )
        return positive.astype("float64")
    return positive.astype("float64").where(present)
