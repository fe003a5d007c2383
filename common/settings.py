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

# What an API key may do: write leads, events and deals (a CDP write key, which may ship in a
# web page); read scores, leads and history; administer (erasure, store maintenance).
API_SCOPES = ("ingest", "read", "admin")


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
        description="API keys accepted by the service (comma-separated in env), each optionally "
        "with its scopes: `KEY:ingest`, `KEY:read+admin`; a key without scopes has all of them.",
    )
    store_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the lead store, e.g. "
        "postgresql+psycopg://user:password@host/leadscore; default: the SQLite file "
        "leadscore-store.sqlite in the data directory. Secret: it may hold a password.",
    )
    store_dataset: str = Field(
        default="demo",
        description="Dataset config (shipped name or YAML path) declaring what the lead store "
        "keeps: the lead attributes and the event_type_map of CRM event names.",
    )

    # ---------------------------------------------------------------- alerts (webhooks)
    # The rules' thresholds: read wherever stored scores change (the service, `score
    # --from-store`), so they live here rather than in the service's settings.
    alert_ready_margin: int = Field(
        default=5,
        ge=0,
        le=98,
        description="lead.sales_ready re-arms once a lead is no longer sales-ready and its "
        "score fell this many points below its lowest sales-ready score (hysteresis).",
    )
    alert_cooldown_hours: float = Field(
        default=24.0, ge=0, description="lead.sales_ready fires at most once per lead per this."
    )
    alert_quiet_days: float = Field(
        default=90.0,
        gt=0,
        description="lead.reemerged: a lead without engagement for this many days is quiet.",
    )
    alert_reemerged_tier: Literal["A", "B", "C", "D"] = Field(
        default="B", description="lead.reemerged: the tier a returning lead must reach."
    )
    alert_score_change: int = Field(
        default=10, ge=1, le=98, description="lead.score_changed: points the score must move."
    )
    alert_news_hours: float = Field(
        default=24.0,
        ge=0,
        description="A lead's first score alerts only if its latest engagement is this recent "
        "(importing history announces nothing).",
    )
    public_url: str = Field(
        default="http://localhost:3000",
        description="The service's address as sales reach it: alerts link to the lead there.",
    )

    # Hardening (issue #32): a tracking server that does not answer must not hang a command.
    mlflow_request_timeout: int = Field(
        default=10,
        ge=1,
        description="Seconds MLflow waits to connect to, and for an answer from, a tracking "
        "server (sets MLFLOW_HTTP_REQUEST_TIMEOUT unless that is set).",
    )
    mlflow_request_retries: int = Field(
        default=1,
        ge=0,
        description="Retries of a failed tracking-server request (sets "
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES unless that is set).",
    )

    def mlflow_environment(self) -> dict[str, str]:
        """MLflow's own environment variables for the timeouts above (a process applies them
        with ``os.environ.setdefault``, so an explicit MLFLOW_* variable wins)."""
        return {
            "MLFLOW_HTTP_REQUEST_TIMEOUT": str(self.mlflow_request_timeout),
            "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(self.mlflow_request_retries),
            "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        }

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        # Environment variables carry one string; accept "k1,k2" as well as a JSON list.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_keys", mode="after")
    @classmethod
    def _check_scopes(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            _, scopes = split_key(key.get_secret_value())
            unknown = sorted(scopes - set(API_SCOPES))
            if unknown:
                # Name the bad scope, never the key.
                raise ValueError(f"unknown API key scope {unknown}; use {list(API_SCOPES)}")
        return keys

    def api_key_values(self) -> list[str]:
        """The plain API keys (without their scopes)."""
        return [split_key(key.get_secret_value())[0] for key in self.api_keys]

    def api_key_scopes(self) -> list[tuple[str, frozenset[str]]]:
        """Each API key with what it may do (every scope when none was given)."""
        return [split_key(key.get_secret_value()) for key in self.api_keys]

    def store_database_url(self) -> str:
        """The lead store's URL (the embedded SQLite file unless ``store_url`` is set)."""
        if self.store_url is not None:
            return self.store_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'leadscore-store.sqlite').resolve()}"


def split_key(value: str) -> tuple[str, frozenset[str]]:
    """``"KEY:read+admin"`` -> ``("KEY", {"read", "admin"})``; ``"KEY"`` has every scope."""
    key, separator, scopes = value.partition(":")
    if not separator:
        return key, frozenset(API_SCOPES)
    return key, frozenset(part.strip() for part in scopes.split("+") if part.strip())
