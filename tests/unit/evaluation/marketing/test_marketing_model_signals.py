"""Sales-ready by a model: every lead scored on the epoch-aligned grid from its creation to the
end of the data, with the batch engine's point-in-time features, in batches of whole accounts;
a grid time at or above the threshold is a signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
from marketing_support import dataset_of

from evaluation.marketing import model_signals as signals_module
from evaluation.marketing.crm_arrays import crm_arrays
from evaluation.marketing.marketing_report import build_marketing_report
from features.ingest import contracts as c
from features.spec import FeatureParams
from features.time_rule import DAY_NS
from features.trainset.feature_table import feature_spec_for


class PricingPageModel:
    """Scores 0.9 when the pricing page was viewed in the last 7 days, else 0.1."""

    def __init__(self, dataset) -> None:
        self.thresholds = {"sales_ready": 0.5, "rule": "a test rule"}
        self.spec = feature_spec_for(dataset, FeatureParams())

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.where(frame["n_pricing_page_view_7d"] > 0, 0.9, 0.1)


def _dataset():
    rng = np.random.default_rng(4)
    leads = [(f"L{i}", float(rng.uniform(0, 100)), "web") for i in range(12)]
    events = [(f"L{i}", float(rng.uniform(0, 200)), kind) for i in range(12)
              for kind in ("pricing_page_view", "web_visit", "email_open")
              for _ in range(int(rng.integers(0, 4)))]  # fmt: skip
    dataset = dataset_of(leads, events, deals=[("L1", 150, 170, True, 10.0)])
    accounts = pd.Series([f"A{i // 3}" for i in range(12)], dtype="str")
    return dataset, dataset.leads.assign(**{c.ACCOUNT_ID: accounts})


def test_signals_are_the_grid_times_at_or_above_the_threshold(monkeypatch) -> None:
    dataset, leads = _dataset()
    dataset = type(dataset)(**{**dataset.__dict__, "leads": leads})
    crm = crm_arrays(dataset, "lead_source")
    model = PricingPageModel(dataset)
    expected = set()
    step = 7 * DAY_NS
    views = dataset.events[dataset.events[c.EVENT_TYPE] == "pricing_page_view"]
    for position, lead in enumerate(leads[c.LEAD_ID]):
        seen = views.loc[views[c.LEAD_ID] == lead, c.OCCURRED_AT].astype("int64").to_numpy()
        first = -(-crm.created[position] // step)
        for k in range(first, crm.observed_until // step + 1):
            as_of = k * step
            if ((seen <= as_of) & (seen > as_of - step)).any():
                expected.add((position, as_of))
    assert len(expected) > 5
    got = {}
    for batch in (50_000, 2):  # one batch, and accounts of 3 leads in batches of ~2 leads
        monkeypatch.setattr(signals_module, "BATCH_LEADS", batch)
        lead, t = signals_module.model_signals(model, dataset, crm, every_days=7)
        got[batch] = set(zip(lead.tolist(), t.tolist(), strict=True))
    assert got[50_000] == got[2] == expected


def test_the_report_states_the_model_definition() -> None:
    dataset, _ = _dataset()
    report = build_marketing_report(dataset, model=PricingPageModel(dataset), model_version="7")
    definition = report.facts["sales_ready_definition"]
    assert "version 7" in definition and "0.500" in definition and "a test rule" in definition
    assert report.facts["model_version"] == "7"
    assert "intent event" in build_marketing_report(dataset).facts["sales_ready_definition"]
