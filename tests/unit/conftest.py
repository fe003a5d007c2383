"""Shared builders for unit tests: canonical Dataset objects made directly from DataFrames."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from features.ingest import contracts as c
from features.ingest.dataset import Attribute, Dataset
from features.ingest.dataset_config import (
    AttributeType,
    DatasetConfig,
    LeadsSource,
    OutcomesSource,
    SnapshotConfig,
)

ATTRIBUTES = (
    Attribute("industry", "Industry", AttributeType.categorical),
    Attribute("annual_revenue", "annual_revenue", AttributeType.numeric),
    Attribute("is_customer", "is_customer", AttributeType.boolean),
)
EXTRA_EVENT_TYPES = ("webinar_registered",)


def make_dataset(
    leads: pd.DataFrame,
    events: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    attributes: Iterable[Attribute] = ATTRIBUTES,
    snapshots: SnapshotConfig | None = None,
) -> Dataset:
    """A temporal Dataset from canonical frames (no files, no loaders)."""
    attributes = tuple(attributes)
    config = DatasetConfig(
        name="test",
        leads=LeadsSource(
            path="leads.parquet",
            columns={"lead_id": "lead_id", "created_at": "created_at"},
            attributes={a.source: a.type for a in attributes},
        ),
        outcomes=OutcomesSource(path="outcomes.parquet"),
        snapshots=snapshots or SnapshotConfig(),
    )
    return Dataset(config, leads, events, outcomes, attributes)


def random_crm(
    n_leads: int, seed: int, days: int = 400, events_per_lead: float = 25.0
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random canonical leads/events/outcomes with sub-second times, accounts, unknown types,
    missing attributes, events before creation and repeat deals: the awkward cases."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    start = pd.Timestamp("2024-01-01", tz="UTC").value
    span = days * 86_400 * 10**9
    created = start + rng.integers(0, span * 3 // 4, n_leads)
    lead_ids = np.array([f"L{i:06d}" for i in range(n_leads)])
    account = np.where(
        rng.random(n_leads) < 0.7, np.char.add("A", rng.integers(0, n_leads // 3 + 1, n_leads).astype(str)), None
    )  # fmt: skip
    industry = rng.choice(np.array(["saas", "retail", "finance", None], dtype=object), n_leads)
    revenue = np.where(rng.random(n_leads) < 0.1, np.nan, rng.lognormal(13, 1, n_leads))
    customer = np.where(rng.random(n_leads) < 0.1, np.nan, (rng.random(n_leads) < 0.2) * 1.0)
    leads = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids, dtype="str"),
            c.CREATED_AT: pd.to_datetime(created, utc=True),
            c.ACCOUNT_ID: pd.Series(account, dtype="str"),
            "industry": pd.Series(industry, dtype="str"),
            "annual_revenue": revenue,
            "is_customer": customer,
        }
    )
    n_events = rng.poisson(events_per_lead, n_leads)
    owner = np.repeat(np.arange(n_leads), n_events)
    offset = rng.integers(-5 * 86_400 * 10**9, span // 2, owner.size)
    times = created[owner] + offset
    types = np.array([*c.KNOWN_EVENT_TYPES, *EXTRA_EVENT_TYPES])
    events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids[owner], dtype="str"),
            c.OCCURRED_AT: pd.to_datetime(times, utc=True),
            c.EVENT_TYPE: pd.Series(rng.choice(types, owner.size), dtype="str"),
            c.CAMPAIGN: pd.Series([None] * owner.size, dtype="str"),
            c.CHANNEL: pd.Series([None] * owner.size, dtype="str"),
        }
    )
    n_deals = rng.poisson(0.4, n_leads)
    deal_owner = np.repeat(np.arange(n_leads), n_deals)
    closed = created[deal_owner] + rng.integers(86_400 * 10**9, span // 2, deal_owner.size)
    # Most deals know when their opportunity opened (up to 120 days before closing).
    opened = closed - rng.integers(0, 120 * 86_400 * 10**9, deal_owner.size)
    opened = np.where(rng.random(deal_owner.size) < 0.7, opened, np.iinfo(np.int64).min)
    outcomes = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids[deal_owner], dtype="str"),
            c.OPENED_AT: pd.to_datetime(opened.astype("datetime64[ns]"), utc=True),
            c.CLOSED_AT: pd.to_datetime(closed, utc=True),
            c.WON: rng.random(deal_owner.size) < 0.4,
            c.AMOUNT: rng.random(deal_owner.size) * 1000,
        }
    )
    return leads, events, outcomes


def random_open_deals(leads: pd.DataFrame, seed: int, share: float = 0.15) -> pd.DataFrame:
    """Opportunities still open at export for a random ``share`` of leads, opened any time from
    a week before creation (bad data happens) to 300 days after."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    rows = np.flatnonzero(rng.random(len(leads)) < share)
    created = leads[c.CREATED_AT].to_numpy(dtype="datetime64[ns]").astype(np.int64)[rows]
    opened = created + rng.integers(-7 * 86_400 * 10**9, 300 * 86_400 * 10**9, rows.size)
    return pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(leads[c.LEAD_ID].to_numpy()[rows], dtype="str"),
            c.OPENED_AT: pd.to_datetime(opened, utc=True),
        }
    )


@pytest.fixture(scope="session")
def open_deals_factory():
    """``random_open_deals`` as a fixture."""
    return random_open_deals


@pytest.fixture(scope="session")
def small_crm() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """300 random leads (~7.5k events): enough variety, fast to compute."""
    return random_crm(300, seed=7)


@pytest.fixture(scope="session")
def crm_factory():
    """``random_crm`` as a fixture, so tests need not import conftest."""
    return random_crm


@pytest.fixture(scope="session")
def dataset_factory():
    """``make_dataset`` as a fixture."""
    return make_dataset
