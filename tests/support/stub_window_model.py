"""A stand-in leadscore pyfunc whose score follows recent engagement (MLflow "models from
code"), for the alert tests: a lead's score rises with what it did in the last 30 days and
falls as that ages, so leads can cross the sales-ready threshold, hover at it, go quiet and
come back. Logged as the model's code, not imported by the tests.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel

from models.schema import LeadIn, Reason, ScoreOut

WINDOW = timedelta(days=30)
# Log-odds per event in the window: a demo request counts most, a content download a little,
# an unsubscribe takes a little away; passive events count nothing.
WEIGHTS = {"demo_request": 1.0, "content_download": 0.1, "unsubscribe": -0.1,
           "email_send": 0.0, "email_bounce": 0.0}  # fmt: skip
OTHER = 0.5


class StubWindowModel(PythonModel):
    """probability = sigmoid(-2.5 + recent engagement + 1 if industry == 'software')."""

    metadata: dict[str, Any] = {  # noqa: RUF012 - read-only class-level constant
        "trained_at": "2026-01-01T00:00:00+00:00",
        "holdout_metrics": {"roc_auc": 0.8},
        "thresholds": {"sales_ready": 0.5, "tiers": {"A": 80, "B": 60, "C": 30}},
    }

    def score_leads(self, leads: list[LeadIn], explain_k: int) -> list[ScoreOut]:
        return [self._one(lead, explain_k) for lead in leads]

    def _one(self, lead: LeadIn, explain_k: int) -> ScoreOut:
        as_of = lead.as_of or datetime.now(UTC)
        recent = sum(
            WEIGHTS.get(e.event_type, OTHER)
            for e in lead.events
            if as_of - WINDOW < e.occurred_at <= as_of
        )
        software = 1.0 if lead.attributes.get("industry") == "software" else 0.0
        probability = 1.0 / (1.0 + math.exp(-(-2.5 + recent + software)))
        score = min(99, max(1, round(probability * 100)))
        tier = "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 30 else "D"
        reasons = [
            Reason(feature="recent_engagement", label="Recent engagement", value=recent,
                   impact=recent, direction="up" if recent >= 0 else "down",
                   sentence=f"Engaged (weighted) {recent:.1f} in the last 30 days"),
            Reason(feature="industry", label="Industry", value=lead.attributes.get("industry"),
                   impact=software, direction="up" if software else "down",
                   sentence="Works in software" if software else "Industry is not software"),
        ]  # fmt: skip
        return ScoreOut(
            lead_id=lead.lead_id, as_of=as_of, probability=probability, score=score, tier=tier,
            sales_ready=probability >= 0.5, fit=100.0 * software,
            engagement=min(100.0, 10.0 * max(recent, 0.0)), reasons=reasons[:explain_k],
            model_version="artifact",
        )  # fmt: skip

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """pyfunc entry point (unannotated: MLflow derives a schema from type hints)."""
        records = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        leads = [LeadIn.model_validate(r) for r in records]
        return [s.model_dump(mode="json") for s in self.score_leads(leads, 5)]


mlflow.models.set_model(StubWindowModel())
