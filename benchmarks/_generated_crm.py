"""The random CRM the feature benchmark runs on (not a benchmark itself): leads in accounts
over two years, ~25 events per lead in an open vocabulary, deals, generated vectorised from
one seed, and the spec of its attributes and event types."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.dataset import Dataset
from features.ingest.dataset_config import DatasetConfig, LeadsSource, OutcomesSource
from features.spec import FeatureParams, FeatureSpec, build_feature_spec
from features.time_rule import DAY_NS

EXTRA_TYPES = ("webinar_registered",)
ATTRIBUTES = [("industry", "categorical", "Industry"), ("annual_revenue", "numeric", "Revenue")]


EVENT_ORDERS = ("lead", "time")


def generate(
    n_leads: int, seed: int, events_per_lead: float = 25.0, event_order: str = "lead"
) -> Dataset:
    """A random canonical CRM (two years, accounts, open event vocabulary), vectorised.
    ``event_order``: the events come lead by lead (as per-contact exports and the simulator
    write them; each lead's in no particular time order), or in time order (an activity log)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    start = pd.Timestamp("2024-01-01", tz="UTC").value
    span = 730 * DAY_NS
    created = start + rng.integers(0, span * 3 // 4, n_leads)
    ids = pd.Series(np.arange(n_leads)).astype("str")
    lead_ids = ("L" + ids).astype("str")
    account = "A" + pd.Series(rng.integers(0, max(n_leads // 4, 1), n_leads)).astype("str")
    account = account.where(rng.random(n_leads) < 0.7).astype("str")
    leads = pd.DataFrame(
        {
            c.LEAD_ID: lead_ids,
            c.CREATED_AT: pd.to_datetime(created, utc=True),
            c.ACCOUNT_ID: account,
            "industry": pd.Series(
                rng.choice(np.array(["saas", "retail", "finance", None], dtype=object), n_leads),
                dtype="str",
            ),
            "annual_revenue": rng.lognormal(13, 1, n_leads),
        }
    )
    counts = rng.poisson(events_per_lead, n_leads)
    owner = np.repeat(np.arange(n_leads), counts)
    times = created[owner] + rng.integers(-5 * DAY_NS, span // 2, owner.size)
    vocabulary = [*c.KNOWN_EVENT_TYPES, *EXTRA_TYPES]
    events = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids.to_numpy()[owner], dtype="str"),
            c.OCCURRED_AT: pd.to_datetime(times, utc=True),
            # Categorical, as the loaders give event types.
            c.EVENT_TYPE: c.event_type_column(
                rng.integers(0, len(vocabulary), owner.size).astype(np.int8), vocabulary
            ),
        }
    )
    if event_order == "time":
        events = events.sort_values(c.OCCURRED_AT, kind="stable", ignore_index=True)
    elif event_order != "lead":
        raise ValueError(f"event_order: one of {EVENT_ORDERS}, not {event_order!r}")
    deals = np.repeat(np.arange(n_leads), rng.poisson(0.4, n_leads))
    outcomes = pd.DataFrame(
        {
            c.LEAD_ID: pd.Series(lead_ids.to_numpy()[deals], dtype="str"),
            c.CLOSED_AT: pd.to_datetime(
                created[deals] + rng.integers(DAY_NS, span // 2, deals.size), utc=True
            ),
            c.WON: rng.random(deals.size) < 0.4,
        }
    )
    config = DatasetConfig(
        name="bench",
        leads=LeadsSource(
            path="-",
            columns={"lead_id": "lead_id", "created_at": "created_at"},
            attributes={"industry": "categorical", "annual_revenue": "numeric"},
        ),
        outcomes=OutcomesSource(path="-"),
    )
    return Dataset(config, leads, events, outcomes, ())


def spec_of(data: Dataset, params: FeatureParams) -> FeatureSpec:
    return build_feature_spec(ATTRIBUTES, [*c.KNOWN_EVENT_TYPES, *EXTRA_TYPES], params)
