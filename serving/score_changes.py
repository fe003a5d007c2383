""" "What changed" on served scores: each lead's previous explanation, compared by the model.

The previous explanation is the lead's latest stored one (the lead store keeps a compact
explanation with every score, :func:`stored_explanations`), or a newer one of this process
still on its way to the store (``serving.score_log``). The comparison is the model's
(``describe_changes``, see ``models.reason_changes``), an optional capability: a model without
it serves scores without ``changes``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from models.reason_changes import ScoredExplanation
from models.schema import ScoreOut
from store.lead_store import LeadStore

logger = logging.getLogger(__name__)

PreviousLookup = Callable[[Sequence[str]], Mapping[str, ScoredExplanation]]


def parse_explanations(texts: Mapping[str, str]) -> dict[str, ScoredExplanation]:
    """Stored compact explanations by lead id; one in a format this code does not read (a
    newer service wrote it) is left out: that lead's score then comes without ``changes``."""
    found = {}
    for lead_id, text in texts.items():
        try:
            found[lead_id] = ScoredExplanation.from_json(text)
        except (ValueError, KeyError, TypeError):
            continue
    return found


def stored_explanations(store: LeadStore) -> PreviousLookup:
    """The previous explanations as the lead store holds them."""
    return lambda lead_ids: parse_explanations(store.latest_explanations(lead_ids))


def seen_by_read(record: Mapping[str, Any], fallback: PreviousLookup) -> PreviousLookup:
    """The previous explanation for a lead a read found changed since its stored score: that
    stored score, from the same snapshot as the lead. A rescoring committed between the read
    and its own scoring is of the same change, not the "previous" score; comparing with it
    would say nothing changed. Without a stored explanation: ``fallback``."""
    stored = (record.get("score") or {}).get("explanation")
    if stored is None:
        return fallback
    lead_id = record["lead_id"]
    return lambda lead_ids: parse_explanations({lead_id: stored} if lead_id in lead_ids else {})


def with_changes(scorer: object, scores: list[ScoreOut], lookup: PreviousLookup) -> list[ScoreOut]:
    """``scores`` with ``changes`` filled in where the lead was scored before."""
    describe = getattr(scorer, "describe_changes", None)
    if not callable(describe) or not scores:
        return scores
    try:
        previous = lookup([score.lead_id for score in scores])
    except Exception:
        # History is a comfort, not the score: an unreadable store must not withhold scores.
        logger.exception("previous explanations unavailable for %d scores", len(scores))
        return scores
    out = []
    for score in scores:
        before = previous.get(score.lead_id)
        changes = None if before is None else describe(score, before)
        out.append(score if changes is None else score.model_copy(update={"changes": changes}))
    return out
