"""Scores computed in bulk (``leadscore score --from-store``) written back as the stored leads'
current scores, through the same "score changed" step as the service's."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pandas as pd

from store.lead_store import LeadStore
from store.records import to_micros
from store.score_records import StoreScore

CHUNK = 5_000


def record_batch_scores(
    store: LeadStore,
    scores: pd.DataFrame,
    revisions: Mapping[str, int],
    scored_at: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Store the rows of a batch-scoring frame (``models.batch_scoring.SCORE_COLUMNS``) as
    refreshed current scores; ``revisions`` are the leads' revisions the features saw. Returns
    how many leads' stored scores changed."""
    changed = 0
    for low in range(0, len(scores), CHUNK):
        part = scores.iloc[low : low + CHUNK]
        rows = [
            StoreScore(
                lead_id=str(row.lead_id),
                as_of=to_micros(pd.Timestamp(row.as_of).to_pydatetime()),
                scored_at=scored_at,
                model_version=str(row.model_version),
                probability=float(row.probability),
                score=int(row.score),
                tier=str(row.tier),
                sales_ready=bool(row.sales_ready),
                fit=float(row.fit),
                engagement=float(row.engagement),
                reasons=json.loads(row.reasons),
                revision=revisions[str(row.lead_id)],
                cause="batch",
            )
            for row in part.itertuples(index=False)
            if str(row.lead_id) in revisions
        ]
        changed += len(store.record_scores(rows, refresh=True))
        if progress is not None:
            progress(len(part))
    return changed
