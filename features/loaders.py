"""Read a company's CRM exports (CSV or Parquet) into the canonical, validated tables.

Two kinds of bad input, treated differently on purpose:
- *Broken contracts* (a missing column, an unparsable timestamp or number, a duplicate or empty
  id, an unreadable label) raise :class:`DataValidationError` listing every problem with counts
  and examples: training on a half-understood export is worse than not training.
- *Orphans* (events or outcomes for leads that are not in the leads table, outcomes that closed
  before the lead existed) are dropped and each drop is counted in the :class:`LoadReport`;
  with ``strict=True`` they are errors too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features import contracts as c
from features.config import AttributeType, DatasetConfig, TableSource
from features.contracts import DataValidationError, LoadReport, Problem, examples_of
from features.dataset import Attribute, Dataset, canonical_name, empty_open_deals
from features.orphans import drop_orphans, without_closed_deals
from features.parsing import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    optional_roles,
    parse_binary,
    parse_ids,
    parse_timestamps,
    require_columns,
)


def load_dataset(config: DatasetConfig, data_dir: Path, *, strict: bool = False) -> Dataset:
    """Load and validate every table of ``config`` from ``data_dir``."""
    report = LoadReport()
    problems: list[Problem] = []

    raw_leads = read_table(config.leads, data_dir, "leads")
    report.rows_read["leads"] = len(raw_leads)
    leads, attributes = _canonical_leads(raw_leads, config, problems, report)

    events = empty_events()
    outcomes, open_deals = empty_outcomes(), empty_open_deals()
    if config.events is not None:
        raw_events = read_table(config.events, data_dir, "events")
        report.rows_read["events"] = len(raw_events)
        events = _canonical_events(raw_events, config, problems)
    if config.outcomes is not None:
        raw_outcomes = read_table(config.outcomes, data_dir, "outcomes")
        report.rows_read["outcomes"] = len(raw_outcomes)
        outcomes, open_deals = _canonical_outcomes(raw_outcomes, config, problems)

    if problems:
        raise DataValidationError(problems)

    orphans: list[Problem] = []
    events, outcomes, open_deals = drop_orphans(leads, events, outcomes, open_deals, orphans)
    if orphans and strict:
        raise DataValidationError(orphans)
    for problem in orphans:
        report.drop(problem)
    open_deals = without_closed_deals(open_deals, outcomes, report)

    report.rows_kept["leads"] = len(leads)
    if config.events is not None:
        report.rows_kept["events"] = len(events)
    if config.outcomes is not None:
        report.rows_kept["outcomes"] = len(outcomes) + len(open_deals)
    return Dataset(
        config=config,
        leads=leads,
        events=events,
        outcomes=outcomes,
        attributes=attributes,
        report=report,
        open_deals=open_deals,
    )


def read_table(source: TableSource, data_dir: Path, table: str) -> pd.DataFrame:
    """Read one source file as written, text columns as strings (no type guessing for CSV)."""
    path = Path(data_dir) / source.path
    if not path.exists():
        raise FileNotFoundError(f"{table}: file not found: {source.path} (in {data_dir})")
    kind = source.format
    if kind == "auto":
        kind = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
    if kind == "parquet":
        return pd.read_parquet(path)
    # Everything as text: types are decided by the config, not guessed per file.
    options = {"dtype": str, "keep_default_na": False, "na_values": [""], **source.csv_options}
    try:
        return pd.read_csv(path, **options)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError([Problem(table, "*", f"unreadable CSV ({exc})", 1)]) from exc


def empty_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(dtype="str"),
            c.OCCURRED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.EVENT_TYPE: c.event_type_column(np.zeros(0, dtype=np.int8), []),
            c.CAMPAIGN: pd.Series(dtype="str"),
            c.CHANNEL: pd.Series(dtype="str"),
        }
    )


def empty_outcomes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(dtype="str"),
            c.OPENED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.CLOSED_AT: pd.Series(dtype=c.TIMESTAMP_DTYPE),
            c.WON: pd.Series(dtype="bool"),
            c.AMOUNT: pd.Series(dtype="float64"),
        }
    )


# --- leads -------------------------------------------------------------------------------


def _canonical_leads(
    raw: pd.DataFrame, config: DatasetConfig, problems: list[Problem], report: LoadReport
) -> tuple[pd.DataFrame, tuple[Attribute, ...]]:
    source = config.leads
    roles = dict(source.columns)
    require_columns(raw, "leads", [*roles.values(), *source.attributes], problems)
    if problems:
        return raw, ()

    out = pd.DataFrame(index=raw.index)
    out[c.LEAD_ID] = parse_ids(raw[roles["lead_id"]], "leads", roles["lead_id"], problems)
    duplicated = out[c.LEAD_ID].duplicated(keep=False) & out[c.LEAD_ID].notna()
    if duplicated.any():
        problems.append(
            Problem(
                "leads",
                roles["lead_id"],
                "duplicate lead ids",
                int(duplicated.sum()),
                examples_of(out.loc[duplicated, c.LEAD_ID]),
            )
        )
    if "created_at" in roles:
        out[c.CREATED_AT] = parse_timestamps(
            raw[roles["created_at"]], source, "leads", roles["created_at"], problems
        )
    if "account_id" in roles:
        account = raw[roles["account_id"]].astype("str").str.strip()
        out[c.ACCOUNT_ID] = account.where(raw[roles["account_id"]].notna() & (account != ""))

    attributes = []
    taken = set(out.columns) | {c.LABEL}
    for column, kind in source.attributes.items():
        name = canonical_name(column)
        if name in taken:
            name = f"attr_{name}"
        taken.add(name)
        attributes.append(Attribute(name=name, source=column, type=kind))
        out[name] = _attribute(raw[column], kind, source.missing_values, column, problems)

    if config.static:
        out[c.LABEL] = parse_binary(
            raw[roles["label"]], source.label_positive, "leads", roles["label"], problems
        ).astype("int8")

    used = {*roles.values(), *source.attributes, *source.exclude, *source.post_outcome}
    ignored = [column for column in raw.columns if column not in used]
    if ignored:
        report.notes.append(f"leads: columns not declared in the config, ignored: {ignored}")
    if source.post_outcome:
        report.notes.append(
            f"leads: post-outcome columns excluded from features: {source.post_outcome}"
        )
    return out.reset_index(drop=True), tuple(attributes)


def _attribute(
    values: pd.Series, kind: AttributeType, missing: list[str], column: str, problems: list[Problem]
) -> pd.Series:
    text = values.astype("str").str.strip()
    present = values.notna() & (text != "") & ~text.isin(missing)
    if kind is AttributeType.categorical:
        return text.where(present).astype("str")
    if kind is AttributeType.boolean and pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        bad = numbers.notna() & ~numbers.isin([0.0, 1.0])
        if bad.any():
            problems.append(
                Problem(
                    "leads", column, "not a yes/no value", int(bad.sum()), examples_of(values[bad])
                )
            )
        return numbers
    if kind is AttributeType.boolean:
        return parse_binary(
            values.where(present),
            sorted(BOOLEAN_TRUE),
            "leads",
            column,
            problems,
            negatives=BOOLEAN_FALSE,
            allow_missing=True,
        )
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    numbers = pd.to_numeric(text.where(present), errors="coerce")
    bad = present & numbers.isna()
    if bad.any():
        problems.append(
            Problem("leads", column, "not a number", int(bad.sum()), examples_of(values[bad]))
        )
    return numbers.astype("float64")


# --- events and outcomes ---------------------------------------------------------------------


def _canonical_events(
    raw: pd.DataFrame, config: DatasetConfig, problems: list[Problem]
) -> pd.DataFrame:
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
        raw[roles["occurred_at"]], source, "events", roles["occurred_at"], problems
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
        out[role] = (
            raw[column].astype("str")
            if column is not None
            else pd.Series(pd.NA, index=raw.index, dtype="str")
        )
    return out.reset_index(drop=True)


def _event_types(types: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """Renamed, snake_cased event types as a categorical (:func:`contracts.event_type_column`):
    renamed on the distinct values (a handful) rather than per row, and kept as codes."""
    codes, uniques = pd.factorize(types, use_na_sentinel=True)
    names = [canonical_name(mapping.get(str(value), str(value))) for value in uniques]
    # Two raw names may map to one (e.g. "Web Visit" and "web_visit"): one category each.
    merged, categories = pd.factorize(pd.Series(names, dtype="str"))
    # -1 marks a missing type (reported by the caller): a trailing -1 keeps it missing.
    return c.event_type_column(np.append(merged, -1)[codes], categories, index=types.index)


def _canonical_outcomes(
    raw: pd.DataFrame, config: DatasetConfig, problems: list[Problem]
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
        )
        if "opened_at" in roles
        else pd.Series(pd.NaT, index=raw.index, dtype=c.TIMESTAMP_DTYPE)
    )
    out[c.CLOSED_AT] = parse_timestamps(
        raw[roles["closed_at"]], source, "outcomes", roles["closed_at"], problems,
        allow_missing=True,
    )  # fmt: skip
    # A deal without a close date is an opportunity still open at export, if it has an open
    # date; without either it says nothing and is an error.
    is_open = raw[roles["closed_at"]].isna() & out[c.OPENED_AT].notna()
    undated = raw[roles["closed_at"]].isna() & out[c.OPENED_AT].isna()
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
        amount = closed_raw[roles["amount"]]
        numbers = pd.to_numeric(amount, errors="coerce")
        bad = amount.notna() & numbers.isna()
        if bad.any():
            problems.append(
                Problem(
                    "outcomes",
                    roles["amount"],
                    "not a number",
                    int(bad.sum()),
                    examples_of(amount[bad]),
                )
            )
        out[c.AMOUNT] = numbers.astype("float64")
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
