"""A tiny stand-in leadscore pyfunc (MLflow "models from code") for serving tests.

It honours the interface the service relies on (``score_leads`` + metadata) with a transparent
formula, so service tests do not depend on training. The real model is tested by the tests
that train one; this file is logged as the model's code, not imported by the tests.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import mlflow
from mlflow.pyfunc import PythonModel

from models.schema import LeadIn, Reason, ScoreOut


class StubLeadScoreModel(PythonModel):
    """probability = sigmoid(-2 + 0.4 * events + 1 if industry == 'software'); a typical lead
    sits at log-odds -1.5 (events 0.4 * n, industry +0.5 for software and -0.5 otherwise), and
    each reason's points are its share of the probability change, proportional to log-odds."""

    metadata: dict[str, Any] = {  # noqa: RUF012 - read-only class-level constant
        "trained_at": "2026-01-01T00:00:00+00:00",
        "holdout_metrics": {"roc_auc": 0.81, "pr_auc": 0.42},
        "thresholds": {"sales_ready": 0.5, "tiers": {"A": 80, "B": 60, "C": 30}},
    }

    def score_leads(self, leads: list[LeadIn], explain_k: int) -> list[ScoreOut]:
        """Score each lead with the fixed formula and explain it with two reasons."""
        return [self._one(lead, explain_k) for lead in leads]

    def _one(self, lead: LeadIn, explain_k: int) -> ScoreOut:
        as_of = lead.as_of or datetime.now(UTC)
        n_events = sum(1 for e in lead.events if e.occurred_at <= as_of)
        software = 1.0 if lead.attributes.get("industry") == "software" else 0.0
        logit = -2.0 + 0.4 * n_events + software
        probability = 1.0 / (1.0 + math.exp(-logit))
        base = 1.0 / (1.0 + math.exp(1.5))
        impacts = (0.4 * n_events, software - 0.5)
        slope = 100.0 * (probability - base) / sum(impacts) if sum(impacts) else 0.0
        score = min(99, max(1, round(probability * 100)))
        tier = "A" if score >= 80 else "B" if score >= 60 else "C" if score >= 30 else "D"
        reasons = [
            Reason(
                feature="events_90d",
                label="Events",
                value=n_events,
                impact=impacts[0],
                points=slope * impacts[0],
                direction="up" if n_events else "down",
                sentence=f"Engaged {n_events} times before scoring",
            ),
            Reason(
                feature="industry",
                label="Industry",
                value=lead.attributes.get("industry"),
                impact=impacts[1],
                points=slope * impacts[1],
                direction="up" if software else "down",
                sentence="Works in software" if software else "Industry is not software",
            ),
        ]
        return ScoreOut(
            lead_id=lead.lead_id,
            as_of=as_of,
            probability=probability,
            base_probability=base,
            horizon_days=90,
            score=score,
            tier=tier,
            sales_ready=probability >= 0.5,
            fit=100.0 * software,
            engagement=min(100.0, 10.0 * n_events),
            reasons=reasons[:explain_k],
            model_version="artifact",
        )

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """pyfunc entry point: records of LeadIn fields in, records of ScoreOut out.

        Left unannotated on purpose: MLflow derives a schema from predict's type hints.
        """
        records = model_input.to_dict("records") if hasattr(model_input, "to_dict") else model_input
        leads = [LeadIn.model_validate(r) for r in records]
        explain_k = int((params or {}).get("explain", 5))
        return [s.model_dump(mode="json") for s in self.score_leads(leads, explain_k)]


mlflow.models.set_model(StubLeadScoreModel())
