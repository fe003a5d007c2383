"""The model's output arrays (``LeadScoreModel.score_matrix``) -> one :class:`ScoreOut` per
lead, with the detail "what changed" needs later (impacts per reason group, slope, events,
feature values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np

from models.schema import Reason, ScoreDetail, ScoreOut


def score_outs(
    lead_ids: Sequence[str],
    stamps: Sequence[datetime],
    rows: Sequence[dict[str, Any]],
    out: Mapping[str, np.ndarray],
    reasons: Sequence[list[dict[str, Any]]],
    *,
    keys: Sequence[str],
    version: str,
    horizon_days: int,
    events: Sequence[int],
) -> list[ScoreOut]:
    scores = []
    for i, lead_id in enumerate(lead_ids):
        score = ScoreOut(
            lead_id=lead_id,
            as_of=stamps[i],
            probability=float(out["probability"][i]),
            base_probability=float(out["base_probability"][i]),
            horizon_days=horizon_days,
            score=int(out["score"][i]),
            tier=str(out["tier"][i]),
            sales_ready=bool(out["sales_ready"][i]),
            fit=round(float(out["fit"][i]), 1),
            engagement=round(float(out["engagement"][i]), 1),
            reasons=[Reason(**reason) for reason in reasons[i]],
            model_version=version,
        )
        score.attach_detail(
            ScoreDetail(
                impacts=dict(zip(keys, out["impacts"][i].tolist(), strict=True)),
                slope=float(out["slope"][i]),
                events=int(events[i]),
                values=rows[i],
            )
        )
        scores.append(score)
    return scores
