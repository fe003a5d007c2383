"""Score leads of the store with the served model, through the online feature engine.

A stored lead is what a CRM would send whole to ``POST /score`` (the attributes the model
declares, every event, every deal, and the account roll-up the store computes), so a stored
lead and the same lead sent whole get the same score. A leadscore bundle gets the lead's
arrays straight into its online engine (:func:`feature_row`); building request objects for
every event cost more than scoring (~75 µs an event, measured). Other models get
:class:`~models.schema.LeadIn` objects (:func:`lead_in`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from features.online.online_engine import OnlineEngine
from features.spec import PASSIVE_EVENT_TYPES, FeatureParams
from models.reason_changes import explanation_of
from models.schema import EventIn, LeadIn, OutcomeIn, ScoreOut
from serving.model_handle import ServedModel
from serving.score_changes import PreviousLookup, stored_explanations, with_changes
from store.lead_reads import ScoringInput
from store.lead_store import LeadStore
from store.records import from_micros, to_micros
from store.score_records import StoreScore


@dataclass(frozen=True)
class RollupRule:
    """Which events count as engagement for the account roll-up, and over how many days."""

    passive_types: tuple[str, ...]
    window_days: int

    @classmethod
    def of(cls, model: ServedModel) -> RollupRule:
        spec = model.spec
        if spec is None:  # a model without a feature spec: the spec's defaults
            return cls(PASSIVE_EVENT_TYPES, FeatureParams().account_window_days)
        # Types the spec never saw are "other" events, which engage: only known passive
        # types are left out, as in both engines.
        passive = tuple(t for t in PASSIVE_EVENT_TYPES if t in spec.event_types)
        return cls(passive, spec.params.account_window_days)


def lead_in(item: ScoringInput, as_of: datetime, attributes: frozenset[str] | None) -> LeadIn:
    """The scoring request for one stored lead (built without re-validating stored data)."""
    # A creation time after as_of (a CRM clock ahead of ours) is read as "just created".
    created = min(from_micros(item.created_at), as_of)
    kept = item.attributes if attributes is None else {
        name: value for name, value in item.attributes.items() if name in attributes
    }  # fmt: skip
    events = [
        EventIn.model_construct(event_type=kind, occurred_at=from_micros(at))
        for at, kind in zip(item.event_times, item.event_types, strict=True)
    ]
    outcomes = [
        OutcomeIn.model_construct(
            opened_at=None if deal["opened_at"] is None else from_micros(deal["opened_at"]),
            closed_at=None if deal["closed_at"] is None else from_micros(deal["closed_at"]),
            won=deal["won"] if deal["closed_at"] is not None else None,
        )
        for deal in item.deals
    ]
    return LeadIn.model_construct(
        lead_id=item.lead_id, as_of=as_of, created_at=created, attributes=kept, events=events,
        outcomes=outcomes, account_engaged_colleagues_30d=item.colleagues,
    )  # fmt: skip


def feature_row(
    engine: OnlineEngine, item: ScoringInput, as_of: datetime, attributes: frozenset[str] | None
) -> dict[str, Any]:
    """The online engine's features of one stored lead (what :func:`lead_in` would give the
    model's own ``score_leads``)."""
    kept = item.attributes if attributes is None else {
        name: value for name, value in item.attributes.items() if name in attributes
    }  # fmt: skip
    closed = [deal for deal in item.deals if deal["closed_at"] is not None]
    dated = [deal for deal in item.deals if deal["opened_at"] is not None]
    return engine.compute(
        kept,
        np.asarray(item.event_times, dtype=np.int64).view("datetime64[us]"),
        item.event_types,
        as_of,
        created_at=min(from_micros(item.created_at), as_of),
        outcome_closed_at=_micros_array([deal["closed_at"] for deal in closed]),
        outcome_won=[bool(deal["won"]) for deal in closed],
        opportunity_opened_at=_micros_array([deal["opened_at"] for deal in dated]),
        opportunity_closed_at=_micros_array([deal["closed_at"] for deal in dated]),
        account_engaged_colleagues=item.colleagues,
    )


def _micros_array(values: list[int | None]) -> np.ndarray:
    """Epoch microseconds as datetime64[us], None as NaT (int64's minimum)."""
    nat = np.iinfo(np.int64).min
    return np.array([nat if v is None else v for v in values], dtype=np.int64).view(
        "datetime64[us]"
    )


def as_of_now() -> datetime:
    """The end of the current second: the engines see events up to as_of truncated to whole
    seconds, so an event received a moment ago (within this second) must be in."""
    now = datetime.now(UTC)
    if now.microsecond:
        now = now.replace(microsecond=0) + timedelta(seconds=1)
    return now


def score_stored(
    store: LeadStore,
    model: ServedModel,
    lead_ids: Sequence[str],
    explain: int,
    cause: str,
    as_of: datetime | None = None,
    previous: PreviousLookup | None = None,
) -> list[StoreScore]:
    """Score the stored leads among ``lead_ids`` as of ``as_of`` (default: now), with what
    changed since each lead's previous score (``previous``: where to find it; default the
    store's latest)."""
    as_of = as_of or as_of_now()
    rule = RollupRule.of(model)
    inputs = store.scoring_inputs(
        lead_ids, to_micros(as_of),
        passive_types=rule.passive_types, account_window_days=rule.window_days,
    )  # fmt: skip
    if not inputs:
        return []
    if model.bundle is not None:
        engine = model.bundle.online_engine
        rows = [feature_row(engine, item, as_of, model.attribute_names) for item in inputs]
        ids = [item.lead_id for item in inputs]
        cutoff = to_micros(as_of)
        events = [sum(1 for t in item.event_times if t <= cutoff) for item in inputs]
        outs = model.score_rows(ids, [as_of] * len(ids), rows, explain, events)
    else:
        outs = model.score(
            [lead_in(item, as_of, model.attribute_names) for item in inputs], explain
        )
    outs = with_changes(model.scorer, outs, previous or stored_explanations(store))
    scored_at = to_micros(datetime.now(UTC))
    return [
        stored_score(out, scored_at, revision=item.revision, cause=cause)
        for out, item in zip(outs, inputs, strict=True)
    ]


def stored_score(
    out: ScoreOut, scored_at: int, *, revision: int | None, cause: str, reasons: bool = True
) -> StoreScore:
    """A model's answer as the store keeps it, with its compact explanation and what changed
    (``reasons`` False: for a history row, which keeps no worded reasons)."""
    explanation = explanation_of(out)
    return StoreScore(
        lead_id=out.lead_id,
        as_of=to_micros(out.as_of),
        scored_at=scored_at,
        model_version=out.model_version,
        probability=out.probability,
        score=out.score,
        tier=out.tier,
        sales_ready=out.sales_ready,
        fit=out.fit,
        engagement=out.engagement,
        reasons=[reason.model_dump(mode="json") for reason in out.reasons] if reasons else [],
        revision=revision,
        cause=cause,
        explanation=None if explanation is None else explanation.to_json(),
        changes=None if out.changes is None else out.changes.model_dump(mode="json"),
    )
