"""Service-only knobs on top of the one :class:`~common.settings.Settings` object.

A subclass, not a second settings object: the service builds exactly one instance at start,
from the same ``LEADSCORE_*`` environment the CLI passes to ``bentoml serve``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from common.settings import Settings


class ServingSettings(Settings):
    """Settings plus what only the HTTP service reads."""

    reload_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How often the service checks whether the champion alias moved.",
    )
    max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest accepted request body; larger ones get 413.",
    )
    champion_alias: str = Field(default="champion", description="Registry alias to serve.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        description="Level of the service's own log lines (champion moves, rescoring runs, "
        "leadership; never lead data); the libraries' stay at bentoml's.",
    )
    rescore_seconds: float = Field(
        default=0.5,
        gt=0,
        description="How often the background rescorer looks for leads to score (changed "
        "leads, leads scored by another model version, scores older than refresh_hours).",
    )
    refresh_hours: float = Field(
        default=24.0,
        ge=0,
        description="Rescore a stored lead whose score is older than this, as time alone "
        "changes recency features; 0 turns it off.",
    )
    stored_reasons: int = Field(
        default=5, ge=0, le=20, description="Reasons kept with each stored score."
    )

    # ---------------------------------------------------------------- webhook delivery
    alert_retention_days: float = Field(
        default=90.0,
        ge=0,
        description="Alert events (and their delivery log) older than this are deleted, "
        "unless a delivery still waits; 0 keeps them for ever.",
    )
    webhook_poll_seconds: float = Field(
        default=0.2, gt=0, description="How often each delivery worker looks for due alerts."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A receiver must answer a delivery within this."
    )
    webhook_batch: int = Field(
        default=50, ge=1, le=1000, description="Deliveries one worker claims and sends at once."
    )
    webhook_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A claimed delivery is another worker's to retry after this (a worker "
        "that died mid-delivery); longer than webhook_timeout_seconds.",
    )
    webhook_retry_seconds: float = Field(
        default=10.0, gt=0, description="First retry delay; doubled per attempt, with jitter."
    )
    webhook_retry_max_seconds: float = Field(
        default=7200.0, gt=0, description="Longest delay between two attempts."
    )
    webhook_give_up_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="Retries stop this long after an alert was queued: a dead letter then "
        "(replayable with POST /webhooks/{id}/replay).",
    )
    # Hardening (issue #32): what a locked store and a stop may cost.
    store_busy_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long one SQLite write waits for another process's lock before it is "
        "retried later (served scores are kept in memory meanwhile, never dropped).",
    )
    score_backlog_limit: int = Field(
        default=100_000,
        ge=1,
        description="Served scores waiting for the store above which /readyz answers 503 (the "
        "replica keeps serving and keeps every score; a load balancer may route around it).",
    )
    drain_seconds: float = Field(
        default=20.0,
        ge=0,
        description="On SIGTERM: how long requests already accepted may take to finish, and "
        "the score log to reach the store, before the worker exits.",
    )
