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

# What nanosecond timestamps hold (pandas' datetime64[ns]).
NS_MIN = pd.Timestamp.min.ceil("D").tz_localize("UTC")
NS_MAX = pd.Timestamp.max.floor("D").tz_localize("UTC")
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
    notes: list[str] | None = None,
) -> pd.Series:
    """A timestamp column as UTC nanoseconds. Unparsable text, a missing value (unless
    ``allow_missing``) and a date outside what nanoseconds hold (a CRM's '9999-12-31' for
    "never") are problems naming the column; with the source's ``out_of_range_dates: never``
    such dates are read as no date and counted in ``notes``."""
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
    parsed = parsed.dt.tz_convert("UTC")
    outside = parsed.notna() & ((parsed < NS_MIN) | (parsed > NS_MAX))
    if outside.any():
        count, shown = int(outside.sum()), examples_of(values[outside])
        if source.out_of_range_dates == "never":
            parsed = parsed.where(~outside)
            if notes is not None:
                notes.append(
                    f"{table}.{column}: {count} date(s) out of range read as never "
                    f"(out_of_range_dates: never), e.g. {', '.join(map(repr, shown))}"
                )
        else:
            problems.append(
                Problem(
                    table, column,
                    f"date out of range (supported: {NS_MIN:%Y-%m-%d} .. {NS_MAX:%Y-%m-%d}; if "
                    "it means 'never', set out_of_range_dates: never for this table)",
                    count, shown,
                )
            )  # fmt: skip
            parsed = parsed.where(~outside)
    if not allow_missing:
        # A date read as never is missing too; one reported out of range is not twice wrong.
        never = outside if source.out_of_range_dates == "never" else False
        missing = values.isna() | never
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
    return parsed.astype(c.TIMESTAMP_DTYPE)


def parse_text_timestamps(values: pd.Series, source: TableSource) -> pd.Series:
    """Parse text times: explicit offsets ('Z', '+02:00') are honoured, naive times are read in
    the config's time zone. Exports often mix both, which pandas refuses in one call. Parsed at
    microsecond resolution, which holds years 1 .. 9999, so out-of-range dates can be named."""
    fmt = source.timestamp_format or "ISO8601"
    text = values.astype("str").str.strip()
    has_zone = values.notna() & text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
    naive = values.notna() & ~has_zone
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if has_zone.any():
        zoned = pd.to_datetime(text[has_zone], format=fmt, utc=True, errors="coerce")
        parsed[has_zone] = zoned.astype("datetime64[us, UTC]")
    if naive.any():
        local = pd.to_datetime(text[naive], format=fmt, errors="coerce").astype("datetime64[us]")
        parsed[naive] = local.dt.tz_localize(
            source.timezone, ambiguous="NaT", nonexistent="shift_forward"
        ).dt.tz_convert("UTC")
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


def parse_label(
    values: pd.Series,
    positives: Iterable[str],
    negatives: Iterable[str],
    table: str,
    column: str,
    problems: list[Problem],
) -> pd.Series:
    """A static label as int8 0/1. A value in neither list ('Pending', '2') is a problem
    naming every such value and its count: read as 'not converted' it would train a model on
    leads whose outcome is unknown."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        whole = numbers.notna() & (numbers % 1 == 0)
        text = numbers.astype("str").where(~whole, numbers.fillna(0).astype("int64").astype("str"))
        text = text.where(numbers.notna())
    else:
        text = values.astype("str").str.strip()
    lower = text.str.lower()
    present = values.notna() & (lower != "")
    positive = lower.isin({value.lower() for value in positives})
    negative = lower.isin({value.lower() for value in negatives})
    unknown = present & ~positive & ~negative
    if unknown.any():
        counts = text[unknown].value_counts()
        listed = ", ".join(f"{value!r} ({n:,})" for value, n in counts.head(8).items())
        problems.append(
            Problem(
                table, column,
                f"label values neither positive nor negative: {listed}; add them to "
                f"{table}.label_positive or {table}.label_negative in the dataset config",
                int(unknown.sum()),
            )
        )  # fmt: skip
    if (~present).any():
        problems.append(
            Problem(
                table, column, "missing label", int((~present).sum()),
                tuple(f"row {i}" for i in np.flatnonzero(~present.to_numpy())[:5]),
            )
        )  # fmt: skip
    return positive.astype("int8")
