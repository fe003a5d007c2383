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

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.activity_tables import (
    DICTIONARY_ROLES,
    canonical_events,
    canonical_outcomes,
    empty_events,
    empty_outcomes,
)
from features.ingest.contracts import DataValidationError, LoadReport, Problem, examples_of
from features.ingest.costs_table import canonical_costs, empty_costs
from features.ingest.dataset import Attribute, Dataset, declared_attributes, empty_open_deals
from features.ingest.dataset_config import AttributeType, DatasetConfig, LeadsSource, TableSource
from features.ingest.orphans import drop_orphans, without_closed_deals
from features.ingest.parsing import (
    BOOLEAN_FALSE,
    BOOLEAN_TRUE,
    parse_binary,
    parse_ids,
    parse_label,
    parse_numbers,
    parse_timestamps,
    require_columns,
)


def load_dataset(config: DatasetConfig, data_dir: Path, *, strict: bool = False) -> Dataset:
    """Load and validate every table of ``config`` from ``data_dir``."""
    report = LoadReport()
    problems: list[Problem] = []

    raw_leads = read_table(config.leads, data_dir, "leads")
    report.rows_read["leads"] = len(raw_leads)
    if raw_leads.empty:
        raise DataValidationError(
            [Problem("leads", "*", f"the export has no rows ({config.leads.path})", 0)]
        )
    leads, attributes = _canonical_leads(raw_leads, config, problems, report)

    events = empty_events()
    outcomes, open_deals = empty_outcomes(), empty_open_deals()
    if config.events is not None:
        # Event types, campaigns and channels are a handful of names over millions of rows:
        # read as dictionaries, they are never materialised as strings.
        names = [config.events.columns.get(role, role) for role in DICTIONARY_ROLES]
        raw_events = read_table(config.events, data_dir, "events", dictionary_columns=names)
        report.rows_read["events"] = len(raw_events)
        events = canonical_events(raw_events, config, problems, report.notes)
    if config.outcomes is not None:
        raw_outcomes = read_table(config.outcomes, data_dir, "outcomes")
        report.rows_read["outcomes"] = len(raw_outcomes)
        outcomes, open_deals = canonical_outcomes(raw_outcomes, config, problems, report.notes)
    costs = empty_costs()
    if config.costs is not None:
        raw_costs = read_table(config.costs, data_dir, "costs")
        report.rows_read["costs"] = len(raw_costs)
        costs = canonical_costs(raw_costs, config.costs, config.costs.columns, problems)

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
    if config.costs is not None:
        report.rows_kept["costs"] = len(costs)
    return Dataset(
        config=config,
        leads=leads,
        events=events,
        outcomes=outcomes,
        attributes=attributes,
        report=report,
        open_deals=open_deals,
        costs=costs,
    )


def read_table(
    source: TableSource, data_dir: Path, table: str, *, dictionary_columns: Sequence[str] = ()
) -> pd.DataFrame:
    """Read one source file as written, text columns as strings (no type guessing for CSV);
    Parquet text columns named in ``dictionary_columns`` come as categoricals."""
    path = Path(data_dir) / source.path
    if not path.exists():
        raise FileNotFoundError(f"{table}: file not found: {source.path} (in {data_dir})")
    kind = source.format
    if kind == "auto":
        kind = "parquet" if path.suffix.lower() in {".parquet", ".pq"} else "csv"
    if kind == "parquet":
        return pd.read_parquet(path, read_dictionary=list(dictionary_columns) or None)
    # Everything as text: types are decided by the config, not guessed per file.
    options = {"dtype": str, "keep_default_na": False, "na_values": [""], **source.csv_options}
    try:
        frame = pd.read_csv(path, **options)
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            [Problem(table, "*", f"unreadable CSV ({exc}): set its encoding, e.g. "
                     "csv_options: {encoding: cp1252}", 1)]
        ) from exc  # fmt: skip
    except pd.errors.ParserError as exc:
        raise DataValidationError([Problem(table, "*", f"unreadable CSV ({exc})", 1)]) from exc
    hint = separator_hint(frame.columns, options.get("sep", options.get("delimiter", ",")))
    if hint:
        raise DataValidationError([Problem(table, "*", hint, len(frame))])
    return frame


def separator_hint(columns: Sequence[str], sep: str) -> str | None:
    """When a whole header came out as one column holding another separator (a ';'-separated
    export read with ','), say which separator to configure instead of listing every
    declared column as missing."""
    if len(columns) != 1:
        return None
    header = str(columns[0])
    counts = {other: header.count(other) for other in (";", "\t", "|", ",") if other != sep}
    found = max(counts, key=counts.get)
    if not counts[found]:
        return None
    shown = header if len(header) <= 60 else header[:57] + "..."
    return (
        f"the header was read as one column ({shown!r}): the file looks {found!r}-separated; "
        f"add csv_options: {{sep: {found!r}}} to this table in the dataset config"
    )


# --- leads -------------------------------------------------------------------------------


def _canonical_leads(
    raw: pd.DataFrame, config: DatasetConfig, problems: list[Problem], report: LoadReport
) -> tuple[pd.DataFrame, tuple[Attribute, ...]]:
    source = config.leads
    roles = dict(source.columns)
    ordered_by = [config.order_by] if config.order_by not in (None, "row") else []
    require_columns(raw, "leads", [*roles.values(), *source.attributes, *ordered_by], problems)
    if problems:
        return raw, ()

    out = pd.DataFrame(index=raw.index)
    if config.generated_ids:
        # No id column: a lead is its row. Numbered from 1 like the data rows of the file, so
        # the same export gives the same ids (and the report says where they came from).
        out[c.LEAD_ID] = (
            pd.Series(np.arange(1, len(raw) + 1), index=raw.index)
            .map("row-{}".format)
            .astype("str")
        )
        report.notes.append(
            f"leads: no id column: ids are row numbers (row-1 .. row-{len(raw)}); they stay "
            "stable only while the file keeps its rows in place"
        )
    else:
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
            raw[roles["created_at"]], source, "leads", roles["created_at"], problems,
            notes=report.notes,
        )  # fmt: skip
    if ordered_by:
        out[c.ORDER_KEY] = _order_key(raw[config.order_by], source, problems, report.notes)
    if "account_id" in roles:
        account = raw[roles["account_id"]].astype("str").str.strip()
        out[c.ACCOUNT_ID] = account.where(raw[roles["account_id"]].notna() & (account != ""))

    attributes = declared_attributes(config)
    for attribute in attributes:
        column = attribute.source
        out[attribute.name] = _attribute(
            raw[column], attribute.type, source.missing_values, column, problems
        )

    if config.static:
        out[c.LABEL] = parse_label(
            raw[roles["label"]], source.label_positive, source.label_negative, "leads",
            roles["label"], problems,
        )  # fmt: skip

    empty = [a.source for a in attributes if out[a.name].isna().all()]
    if empty:
        report.notes.append(f"leads: declared attributes empty in every row: {empty}")
    used = {*roles.values(), *source.attributes, *source.exclude, *source.post_outcome}
    ignored = [column for column in raw.columns if column not in used | set(ordered_by)]
    if ignored:
        report.notes.append(f"leads: columns not declared in the config, ignored: {ignored}")
    if source.post_outcome:
        report.notes.append(
            f"leads: post-outcome columns excluded from features: {source.post_outcome}"
        )
    return out.reset_index(drop=True), attributes


def _order_key(
    values: pd.Series, source: LeadsSource, problems: list[Problem], notes: list[str]
) -> pd.Series:
    """The ``order_by`` column: numbers (a CRM's lead number counts leads as they come in) or
    dates; every row needs one."""
    column = str(values.name)
    text = values.astype("str").str.strip()
    present = values.notna() & (text != "")
    numeric = pd.api.types.is_numeric_dtype(values) or (
        present.any() and pd.to_numeric(text[present], errors="coerce").notna().all()
    )
    if not numeric:
        return parse_timestamps(values, source, "leads", column, problems, notes=notes)
    if (~present).any():
        problems.append(
            Problem(
                "leads", column, "missing order_by value", int((~present).sum()),
                tuple(f"row {i}" for i in np.flatnonzero(~present.to_numpy())[:5]),
            )
        )  # fmt: skip
    return parse_numbers(values, "leads", column, problems, present)


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
    return parse_numbers(values, "leads", column, problems, present)
