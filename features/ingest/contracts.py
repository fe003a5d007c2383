"""Canonical tables every other package reads, and the errors raised when input breaks them.

After loading, whatever the source looked like, the tables are pandas DataFrames with these
columns and dtypes (attribute columns of ``leads`` are declared per dataset):

- leads:    lead_id (str, unique), created_at (datetime64[ns, UTC]; absent in static mode),
            account_id (str, may be missing), <attributes>, and in static mode ``label`` (int8 0/1)
            and, with ``order_by: <column>``, ``order_key`` (datetime64[ns, UTC], or float64 for
            a number that counts leads as they come in)
- events:   lead_id (str), occurred_at (datetime64[ns, UTC]), event_type (category of
            snake_case str, see :func:`event_type_column`; plain str is accepted too),
            campaign, channel (each a category of str, may be missing; plain str is
            accepted too)
- outcomes: lead_id (str), closed_at (datetime64[ns, UTC]), won (bool), amount (float64, NaN
            when unknown), opened_at (datetime64[ns, UTC], NaT when unknown): closed deals
- open_deals: lead_id (str), opened_at (datetime64[ns, UTC]): opportunities still open when the
            data was exported (source rows with an opened_at and no closed_at)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

TIMESTAMP_DTYPE = "datetime64[ns, UTC]"

LEAD_ID = "lead_id"
CREATED_AT = "created_at"
ACCOUNT_ID = "account_id"
LABEL = "label"
ORDER_KEY = "order_key"  # static mode with order_by: <column>: what puts the rows in time order
AS_OF = "as_of"  # the scoring time of a snapshot

OCCURRED_AT = "occurred_at"
EVENT_TYPE = "event_type"
CAMPAIGN = "campaign"
CHANNEL = "channel"

CLOSED_AT = "closed_at"
OPENED_AT = "opened_at"
WON = "won"
AMOUNT = "amount"

LEAD_CORE_COLUMNS = (LEAD_ID, CREATED_AT, ACCOUNT_ID)
EVENT_COLUMNS = (LEAD_ID, OCCURRED_AT, EVENT_TYPE, CAMPAIGN, CHANNEL)
OUTCOME_COLUMNS = (LEAD_ID, OPENED_AT, CLOSED_AT, WON, AMOUNT)
OPEN_DEAL_COLUMNS = (LEAD_ID, OPENED_AT)

# Event types with dedicated features and explanation wording. Any other type is accepted
# (open vocabulary) and counted under its own name.
KNOWN_EVENT_TYPES = (
    "email_send",
    "email_open",
    "email_click",
    "email_bounce",
    "unsubscribe",
    "web_visit",
    "pricing_page_view",
    "content_download",
    "webinar_attended",
    "form_submit",
    "demo_request",
)
INTENT_EVENT_TYPES = ("pricing_page_view", "demo_request", "form_submit")

MAX_EXAMPLES = 5


def event_type_column(codes: np.ndarray, names: list[str] | np.ndarray, index=None) -> pd.Series:
    """Event types as the loaders give them: a categorical of ``names`` (distinct) by
    ``codes`` (-1: missing). A handful of types over tens of millions of events: codes take
    1-2 bytes per event where strings took ~20, and no engine hashes a string per event."""
    categories = pd.Index(names, dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=index)


@dataclass(frozen=True)
class Problem:
    """One class of bad rows in one table/column, with how many and a few examples."""

    table: str
    column: str
    message: str
    count: int
    examples: tuple[Any, ...] = ()

    def __str__(self) -> str:
        shown = ", ".join(repr(example) for example in self.examples[:MAX_EXAMPLES])
        more = f" (e.g. {shown})" if shown else ""
        return f"{self.table}.{self.column}: {self.message}: {self.count} row(s){more}"


class DataValidationError(ValueError):
    """Input that breaks a data contract. Carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{len(problems)} data problem(s) found:\n{lines}")


@dataclass
class LoadReport:
    """What loading did: row counts read and kept, and every row dropped with its reason."""

    rows_read: dict[str, int] = field(default_factory=dict)
    rows_kept: dict[str, int] = field(default_factory=dict)
    dropped: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def drop(self, problem: Problem) -> None:
        self.dropped.append(problem)

    def summary(self) -> str:
        lines = [
            f"{table}: read {self.rows_read[table]:,}, kept {self.rows_kept.get(table, 0):,}"
            for table in self.rows_read
        ]
        lines += [f"dropped {problem}" for problem in self.dropped]
        lines += self.notes
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows_read": dict(self.rows_read),
            "rows_kept": dict(self.rows_kept),
            "dropped": [str(problem) for problem in self.dropped],
            "notes": list(self.notes),
        }


def examples_of(values: pd.Series, limit: int = MAX_EXAMPLES) -> tuple[Any, ...]:
    """A few distinct example values, as plain Python objects, for an error message."""
    return tuple(pd.Series(values).drop_duplicates().head(limit).astype(object).tolist())
