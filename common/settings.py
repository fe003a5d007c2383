"""The one typed settings object. Built once by the CLI (or a test) and passed explicitly.

Values come from, in order of precedence: explicit keyword arguments, environment variables
with the prefix ``LEADSCORE_`` (e.g. ``LEADSCORE_HORIZON_DAYS=60``), a ``.env`` file, defaults.
``MLFLOW_TRACKING_URI`` is honoured as well, because that is what MLflow users already set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration for every leadscore command and the scoring service."""

    model_config = SettingsConfigDict(
        env_prefix="LEADSCORE_",
        env_file=".env",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
    )

    data_dir: Path = Field(
        default=Path("data"),
        description="Where dataset files live; paths in a dataset config are relative to it.",
    )
    mlflow_tracking_uri: str = Field(
        default="sqlite:///mlflow.db",
        validation_alias=AliasChoices("LEADSCORE_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"),
        description="MLflow tracking/registry store; the default is an embedded SQLite file.",
    )
    mlflow_artifact_root: Path = Field(
        default=Path("mlartifacts"),
        description="Artifact location used when the tracking store is a local SQLite file.",
    )
    model_name: str | None = Field(
        default=None,
        description="Registered model to use. Unset: leadscore-<dataset name> for commands "
        "given a dataset, else the only leadscore model in the store.",
    )
    horizon_days: int = Field(
        default=90, ge=1, le=3650, description="Label window: a won deal within this many days."
    )
    snapshot_every_days: int = Field(
        default=30, ge=1, description="Spacing of the as-of grid used to build training sets."
    )
    seed: int = Field(default=42, description="The one seed every random choice derives from.")
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens accepted by the scoring service (comma-separated in env).",
    )
    arrow_memory_pool: Literal["jemalloc", "mimalloc", "system"] = Field(
        default="jemalloc",
        description="Allocator of the Arrow tables read and written (ARROW_DEFAULT_MEMORY_POOL, "
        "if set, wins); see features.batch.memory_pool for why not pyarrow's default.",
    )
    score_log: Path = Field(
        default=Path("scores.sqlite"),
        description="Append-only log of served scores (SQLite file).",
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        # Environment variables carry one string; accept "k1,k2" as well as a JSON list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def api_key_values(self) -> list[str]:
        """The plain API keys, for the one place that compares them."""
        return [key.get_secret_value() for key in self.api_keys]
