"""Service-only knobs on top of the one :class:`~common.settings.Settings` object.

A subclass, not a second settings object: the service builds exactly one instance at start,
from the same ``LEADSCORE_*`` environment the CLI passes to ``bentoml serve``.
"""

from __future__ import annotations

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
