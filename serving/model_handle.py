"""Load the registered champion into an immutable :class:`ServedModel`.

The service holds exactly one ``ServedModel`` reference; reloading builds a new one completely
and then swaps the reference (see :mod:`serving.reload`), so a request always sees one whole
model: version, metadata and scorer together.

The pyfunc's python model exposes ``score_leads(leads, explain_k) -> list[ScoreOut]`` and its
metadata (``trained_at``, ``holdout_metrics``, ``thresholds``) as attributes or a ``metadata``
object. The registry version, not whatever the artifact says, is the served version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from features.spec import FeatureSpec
from models.schema import LeadIn, ScoreOut


class ModelUnavailableError(RuntimeError):
    """No model is registered under the requested name and alias."""


class LeadScorer(Protocol):
    """What the service needs from the python model inside the pyfunc."""

    def score_leads(self, leads: list[LeadIn], explain_k: int) -> list[ScoreOut]: ...


@dataclass(frozen=True)
class ServedModel:
    """One loaded model version and what ``GET /model`` reports about it."""

    name: str
    alias: str
    version: str
    scorer: LeadScorer
    trained_at: datetime | None
    holdout_metrics: Mapping[str, float]
    thresholds: Mapping[str, Any]
    loaded_at: datetime
    kind: str = "lightgbm"  # or "points": the cold-start points model
    cold_start_reason: str | None = None
    # A leadscore bundle (models.bundle.LeadScoreModel) when the model is one: it scores rows
    # of its online engine directly, and its spec says which attributes and events it reads.
    bundle: Any | None = None

    @property
    def spec(self) -> FeatureSpec | None:
        return None if self.bundle is None else self.bundle.spec

    @property
    def attribute_names(self) -> frozenset[str] | None:
        """The lead attributes the model takes (None: unknown, send all)."""
        if self.spec is None:
            return None
        return frozenset(feature.name for feature in self.spec.of_family("attribute"))

    def score_rows(
        self,
        lead_ids: Sequence[str],
        stamps: Sequence[datetime],
        rows: Sequence[dict[str, Any]],
        explain_k: int,
        events: Sequence[int] | None = None,
    ) -> list[ScoreOut]:
        """Score feature rows of the bundle's online engine, stamped with the served version
        (``events``: each lead's events at its stamp)."""
        assert self.bundle is not None
        scores = self.bundle.score_feature_rows(lead_ids, stamps, rows, explain_k, events)
        return [s.model_copy(update={"model_version": self.version}) for s in scores]

    def score(self, leads: Sequence[LeadIn], explain_k: int) -> list[ScoreOut]:
        """Score leads in order and stamp the registry version on every result."""
        scores = self.scorer.score_leads(list(leads), explain_k)
        if len(scores) != len(leads):
            raise RuntimeError(
                f"model {self.name} v{self.version} returned {len(scores)} scores "
                f"for {len(leads)} leads"
            )
        return [s.model_copy(update={"model_version": self.version}) for s in scores]


def _missing_sqlite_store(tracking_uri: str) -> bool:
    """Whether ``tracking_uri`` names a SQLite file that does not exist."""
    if not tracking_uri.startswith("sqlite:"):
        return False
    from sqlalchemy.engine import make_url

    database = make_url(tracking_uri).database
    return bool(database) and database != ":memory:" and not Path(database).exists()


def served_model_name(
    tracking_uri: str, name: str | None, alias: str = "champion", store_dataset: str | None = None
) -> str:
    """The registered model to serve: ``name`` (LEADSCORE_MODEL_NAME), else the model of the
    lead store's data set (``leadscore-<dataset>``) when it has ``alias``, else the only
    leadscore model in the store with ``alias`` (one per data set; several need the setting)."""
    if name:
        return name
    from features.ingest.dataset_config import load_config
    from models.model_names import model_name_for, resolve_model_name
    from models.registry import RegistryError, alias_version, client_for

    if _missing_sqlite_store(tracking_uri):
        raise ModelUnavailableError(
            f"no model to serve: no MLflow store exists at {tracking_uri!r}. Train one "
            "(`leadscore train`) and promote it (`leadscore promote`)"
        )
    client = client_for(tracking_uri)
    if store_dataset:
        stored = model_name_for(load_config(store_dataset).name)
        if alias_version(client, stored, alias) is not None:
            return stored
    try:
        return resolve_model_name(client, None, None, alias=alias)
    except RegistryError as exc:
        raise ModelUnavailableError(f"no model to serve: {exc}") from exc


def resolve_version(tracking_uri: str, name: str, alias: str) -> str:
    """The registry version the alias points to, or :class:`ModelUnavailableError`."""
    from models.registry import alias_version, client_for

    # MLflow creates and migrates a missing SQLite store on first use, and the service's
    # workers start at once: concurrent migrations corrupt the new file. Serving only reads
    # a registry, so a missing store is simply "no model".
    missing = _missing_sqlite_store(tracking_uri)
    version = None if missing else alias_version(client_for(tracking_uri), name, alias)
    if version is None:
        where = "no MLflow store exists at" if missing else "not in the MLflow registry at"
        raise ModelUnavailableError(
            f"no model registered as models:/{name}@{alias}: {where} {tracking_uri!r}. Train "
            f"one (`leadscore train`) and promote it to {alias} (`leadscore promote`), or point "
            f"LEADSCORE_MLFLOW_TRACKING_URI at the right store"
        )
    return version


def load_served_model(
    tracking_uri: str, name: str, alias: str, version: str | None = None
) -> ServedModel:
    """Load version ``version`` (default: the alias's current one) of ``name`` completely."""
    import mlflow

    from models.registry import client_for

    client = client_for(tracking_uri)
    version = version or resolve_version(tracking_uri, name, alias)
    # Loading from the version's download URI needs no process-wide tracking URI.
    pyfunc = mlflow.pyfunc.load_model(client.get_model_version_download_uri(name, version))
    python_model = pyfunc.unwrap_python_model()
    if not callable(getattr(python_model, "score_leads", None)):
        raise ModelUnavailableError(
            f"models:/{name}/{version} is not a leadscore model: its python model "
            f"{type(python_model).__name__} has no score_leads(leads, explain_k)"
        )
    warm_up = getattr(python_model, "warm_up", None)
    if callable(warm_up):
        warm_up()  # compile before the swap: no request pays for it
    meta = _metadata(python_model)
    metrics = dict(meta.get("holdout_metrics") or {}) or _tag_metrics(
        client.get_model_version(name, version).tags
    )
    return ServedModel(
        name=name,
        alias=alias,
        version=version,
        scorer=python_model,
        trained_at=_as_datetime(meta.get("trained_at")),
        holdout_metrics={
            str(k): float(v) for k, v in metrics.items() if isinstance(v, int | float)
        },
        thresholds=dict(meta.get("thresholds") or {}),
        loaded_at=datetime.now(UTC),
        kind=str(meta.get("model_kind") or "lightgbm"),
        cold_start_reason=meta.get("cold_start_reason"),
        bundle=_bundle_of(python_model),
    )


def _bundle_of(python_model: object) -> Any | None:
    """The leadscore bundle inside the pyfunc, if it is one (scores rows without requests)."""
    bundle = getattr(python_model, "model", None)
    if callable(getattr(bundle, "score_feature_rows", None)) and hasattr(bundle, "spec"):
        return bundle
    return None


def _tag_metrics(tags: Mapping[str, str]) -> dict[str, float]:
    """Holdout metrics from ``holdout_<metric>`` version tags (set at registration)."""
    metrics: dict[str, float] = {}
    for key, value in tags.items():
        if key.startswith("holdout_"):
            try:
                metrics[key.removeprefix("holdout_")] = float(value)
            except ValueError:
                continue  # a non-numeric tag is not a metric
    return metrics


def _metadata(python_model: object) -> dict[str, Any]:
    """Collect metadata from a ``metadata`` object/dict or from plain attributes."""
    source: Any = getattr(python_model, "metadata", None)
    if callable(source):
        source = source()
    if source is None:
        source = python_model
    if isinstance(source, Mapping):
        return dict(source)
    dump: Callable[[], Any] | None = getattr(source, "model_dump", None)
    if dump is not None:
        return dict(dump())
    keys = ("trained_at", "holdout_metrics", "thresholds")
    return {key: getattr(source, key, None) for key in keys}


def _as_datetime(value: object) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None
