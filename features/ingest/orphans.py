"""Rows that point at nothing, dropped and counted rather than fatal (see
``features.ingest.loaders``): events, deals and open deals of leads that are not in the leads table,
deals closed before their lead existed, and open deals an appended close has superseded."""

from __future__ import annotations

import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import LoadReport, Problem, examples_of
from features.ingest.lead_keys import positions_in


def drop_orphans(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    open_deals: pd.DataFrame,
    dropped: list[Problem],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three tables without their orphans; each kind dropped is appended to ``dropped``."""
    known = leads[c.LEAD_ID]
    events = _of_known_leads(events, known, "events", "events for unknown leads", dropped)
    outcomes = _of_known_leads(outcomes, known, "outcomes", "outcomes for unknown leads", dropped)
    if c.CREATED_AT in leads and len(outcomes):
        created = outcomes[c.LEAD_ID].map(leads.set_index(c.LEAD_ID)[c.CREATED_AT])
        early = outcomes[c.CLOSED_AT] < created
        outcomes = _without(
            outcomes, early, ("outcomes", c.CLOSED_AT, "closed before the lead was created"),
            dropped,
        )  # fmt: skip
    open_deals = _of_known_leads(
        open_deals, known, "outcomes", "open deals for unknown leads", dropped
    )
    return events, outcomes, open_deals


def without_closed_deals(
    open_deals: pd.DataFrame, outcomes: pd.DataFrame, report: LoadReport
) -> pd.DataFrame:
    """Open deals that also appear closed (same lead and opened_at: e.g. an older export plus
    the newly closed deals appended by ``retrain``) are that deal, now closed: keep the close."""
    if not len(open_deals):
        return open_deals
    keys = [c.LEAD_ID, c.OPENED_AT]
    closed = pd.MultiIndex.from_frame(outcomes.loc[outcomes[c.OPENED_AT].notna(), keys])
    superseded = pd.MultiIndex.from_frame(open_deals[keys]).isin(closed)
    if superseded.any():
        report.notes.append(
            f"outcomes: {int(superseded.sum()):,} open deal(s) superseded by the same deal closed"
        )
    return open_deals.loc[~superseded].reset_index(drop=True)


def _of_known_leads(
    frame: pd.DataFrame, known: pd.Series, table: str, message: str, dropped: list[Problem]
) -> pd.DataFrame:
    # Hashed by Arrow: pandas' isin on Arrow-backed strings makes a Python list of the values,
    # an order of magnitude slower on millions of events.
    unknown = pd.Series(positions_in(frame[c.LEAD_ID], known) < 0, index=frame.index)
    return _without(frame, unknown, (table, c.LEAD_ID, message), dropped)


def _without(
    frame: pd.DataFrame, rows: pd.Series, kind: tuple[str, str, str], dropped: list[Problem]
) -> pd.DataFrame:
    """``frame`` less ``rows``, recorded as ``kind`` (table, column, message) with their count
    and example lead ids."""
    if not rows.any():
        return frame
    dropped.append(Problem(*kind, int(rows.sum()), examples_of(frame.loc[rows, c.LEAD_ID])))
    return frame.loc[~rows].reset_index(drop=True)
