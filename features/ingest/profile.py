"""What ``leadscore validate`` shows about a loaded export: rows, label rate, each leads
column's role, type, missing share and distinct values, what is wrong with it, and whether its
rows look like they are in time order (then a random split would flatter the model)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.column_types import guess_column
from features.ingest.dataset import Dataset

_TENTHS = 10
_TREND_P = 1e-3  # chi-square p-value below which the label rate differs along the rows
_TREND_RATIO = 1.5  # and the last tenth's rate differs from the first's at least this much
_SEQUENCE_RHO = 0.99  # a unique number this rank-correlated with the row numbers the rows


@dataclass(frozen=True)
class ColumnProfile:
    """One column of the leads file."""

    column: str
    role: str  # id, label, created_at, account_id, order_by, attribute, excluded, ...
    type: str
    missing: float
    distinct: int


@dataclass
class DatasetProfile:
    """The export at a glance, with warnings (something is wrong) and suggestions."""

    rows: dict[str, int]
    label_rate: float | None
    label_note: str
    columns: list[ColumnProfile]
    warnings: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)


def profile_dataset(dataset: Dataset, raw_leads: pd.DataFrame) -> DatasetProfile:
    """Profile a loaded dataset; ``raw_leads`` is the leads file as read (every column)."""
    config = dataset.config
    source = config.leads
    roles = {column: role for role, column in source.columns.items()}
    if config.order_by not in (None, "row"):
        roles[config.order_by] = "order_by"
    declared = {a.source: a for a in dataset.attributes}
    columns, warnings = [], []
    for column in raw_leads.columns:
        # What the loaders read: the config's missing values, not init's guesses.
        guess = guess_column(raw_leads[column], tuple(source.missing_values))
        role, kind = roles.get(column), guess.kind
        if column in declared:
            role, kind = "attribute", declared[column].type.value
            values = dataset.leads[declared[column].name]
            missing, distinct = float(values.isna().mean()), int(values.nunique())
            if missing == 1.0:
                warnings.append(f"leads.{column}: declared {kind} but empty in every row")
            elif distinct == 1:
                warnings.append(f"leads.{column}: the same value in every row: carries nothing")
        else:
            role = role or _undeclared_role(column, source.exclude, source.post_outcome)
            missing, distinct = guess.missing, guess.distinct
        columns.append(ColumnProfile(column, role, kind, missing, distinct))
    label_rate, label_note = _label_rate(dataset)
    if label_rate is not None and not 0.0 < label_rate < 1.0:
        warnings.append(f"the label has one value only ({label_note}): nothing to learn")
    suggestions = []
    if config.static and config.order_by is None:
        dates = [p.column for p in columns if p.type == "date"]
        suggestions += [
            f"leads.{column} looks like a date: if it says when the lead came in, add "
            f"`order_by: {column}` to validate out of time"
            for column in dates
        ]
        for column in (p.column for p in columns if p.type == "numeric"):
            evidence = sequence_evidence(raw_leads[column])
            if evidence:
                suggestions.append(
                    f"leads.{column} {evidence}: if it numbers leads as they come in, add "
                    f"`order_by: {column}` to validate out of time"
                )
        trend = row_order_trend(dataset.leads[c.LABEL].to_numpy())
        if trend:
            suggestions.append(
                f"rows look ordered: {trend}; if they are in time order, add `order_by: row` "
                "(a random split would mix the periods and flatter the model)"
            )
    rows = {table: dataset.report.rows_kept.get(table, 0) for table in dataset.report.rows_read}
    return DatasetProfile(rows, label_rate, label_note, columns, warnings, suggestions)


def _undeclared_role(column: str, exclude: list[str], post_outcome: list[str]) -> str:
    if column in post_outcome:
        return "post_outcome"
    return "excluded" if column in exclude else "ignored"


def _label_rate(dataset: Dataset) -> tuple[float | None, str]:
    leads = dataset.leads
    if dataset.static:
        rate = float(leads[c.LABEL].mean()) if len(leads) else float("nan")
        return rate, f"{int(leads[c.LABEL].sum()):,} of {len(leads):,} leads converted"
    won = dataset.outcomes.loc[dataset.outcomes[c.WON], c.LEAD_ID].unique()
    buyers = int(leads[c.LEAD_ID].isin(won).sum())
    rate = buyers / len(leads) if len(leads) else float("nan")
    return rate, f"{buyers:,} of {len(leads):,} leads have a won deal"


def sequence_evidence(values: pd.Series) -> str | None:
    """How a column numbers the rows in order (a CRM's lead number in a file sorted by it),
    or None: unique numbers whose rank correlation with the row is at least 0.99 either way."""
    from scipy.stats import spearmanr

    numbers = pd.to_numeric(values, errors="coerce")
    if len(numbers) < 100 or numbers.isna().any() or numbers.nunique() < 0.99 * len(numbers):
        return None
    rho = float(spearmanr(np.arange(len(numbers)), numbers.to_numpy()).statistic)
    if abs(rho) < _SEQUENCE_RHO:
        return None
    way = "up" if rho > 0 else "down"
    latest = "" if rho > 0 else ": the first rows are the latest"
    return f"counts {way} along the rows (rank correlation {rho:+.2f} with the row{latest})"


def row_order_trend(labels: np.ndarray) -> str | None:
    """The evidence that the label rate moves along the rows (first vs last tenth, chi-square
    over the tenths), or None when it does not: rows exported in time order show the business
    changing, rows in random order do not."""
    from scipy.stats import chi2_contingency

    labels = np.asarray(labels, dtype=float)
    if len(labels) < 20 * _TENTHS or np.ptp(labels) == 0:
        return None
    tenth = np.arange(len(labels)) * _TENTHS // len(labels)
    wins = np.bincount(tenth, weights=labels, minlength=_TENTHS)
    counts = np.bincount(tenth, minlength=_TENTHS)
    p_value = chi2_contingency(np.stack([wins, counts - wins])).pvalue
    first, last = wins[0] / counts[0], wins[-1] / counts[-1]
    low, high = sorted((first, last))
    if p_value >= _TREND_P or (low > 0 and high / low < _TREND_RATIO):
        return None
    return (
        f"the label rate is {first:.0%} in the first tenth of the rows and {last:.0%} in the "
        f"last (chi-square over the tenths p = {p_value:.1e})"
    )
