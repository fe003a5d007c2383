"""The MLflow model registry as champion/challenger: register, promote, roll back, list.

Aliases: a newly trained model becomes ``challenger``; ``promote`` moves ``champion`` to it
only if it beats the champion **on the challenger's out-of-time holdout** — both models are
re-scored on the same rows (the holdout feature table is logged with every run) — by
``tolerance`` and passes absolute ``floors``. Comparing each model's own stored holdout number
would compare different periods, which is not a fair fight. The champion history is a
registered-model tag, so ``rollback`` can restore the previous champion.

One registered model per data set (``leadscore-<dataset>``, see ``models.model_names``), and
``promote`` refuses a challenger whose data set or features differ from the champion's unless
forced.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.bundle import LeadScoreModel

CHALLENGER = "challenger"
CHAMPION = "champion"
HISTORY_TAG = "champion_history"
HOLDOUT_ARTIFACT = "holdout/holdout.parquet"
HIGHER_IS_BETTER = ("roc_auc", "pr_auc")


class RegistryError(RuntimeError):
    """A registry operation cannot proceed (missing alias, nothing to roll back to, ...)."""


@dataclass(frozen=True)
class PromotionDecision:
    """What ``promote`` decided and on which evidence."""

    promoted: bool
    forced: bool
    challenger: str
    champion: str | None
    metric: str
    challenger_metrics: dict[str, float]
    champion_metrics: dict[str, float]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass(frozen=True)
class VersionInfo:
    """One registered version for ``leadscore models``."""

    version: str
    aliases: list[str]
    run_id: str
    created: str
    metrics: dict[str, float]
    dataset: str = ""


def client_for(tracking_uri: str) -> Any:
    """An MlflowClient on one store for both tracking and registry."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)


def register_challenger(
    client: Any,
    name: str,
    model_uri: str,
    run_id: str,
    metrics: Mapping[str, float],
    tags: Mapping[str, str] | None = None,
) -> str:
    """Register the logged model as a new version of ``name`` (with ``tags``, e.g.
    :func:`version_tags`) and alias it ``challenger``."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description="leadscore propensity models")
    version = client.create_model_version(name, model_uri, run_id=run_id)
    all_tags = {f"holdout_{key}": f"{value:.6f}" for key, value in metrics.items()}
    all_tags.update(tags or {})
    for key, value in all_tags.items():
        client.set_model_version_tag(name, version.version, key, value)
    client.set_registered_model_alias(name, CHALLENGER, version.version)
    return str(version.version)


def alias_version(client: Any, name: str, alias: str) -> str | None:
    """The version an alias points to, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def load_bundle(client: Any, name: str, version: str) -> LeadScoreModel:
    """The LeadScoreModel of one registered version (via the pyfunc loader)."""
    import mlflow

    # The download URI is the artifact location itself: no process-wide tracking URI needed.
    uri = client.get_model_version_download_uri(name, version)
    return mlflow.pyfunc.load_model(uri).unwrap_python_model().model


def promote(
    client: Any,
    name: str,
    *,
    metric: str = "roc_auc",
    tolerance: float = 0.005,
    floors: Mapping[str, float] | None = None,
    force: bool = False,
) -> PromotionDecision:
    """Move ``champion`` to the challenger if it is better on the same holdout (see module);
    a challenger of another data set or feature set is refused unless ``force``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    floors = dict(floors or {})
    bad = sorted(set(floors) - set(HIGHER_IS_BETTER)) + (
        [] if metric in HIGHER_IS_BETTER else [metric]
    )
    if bad:
        raise ValueError(f"promotion metric/floors must be among {HIGHER_IS_BETTER}, got {bad}")
    challenger = alias_version(client, name, CHALLENGER)
    if challenger is None:
        raise RegistryError(f"no '{CHALLENGER}' version of model {name!r}: train one first")
    champion = alias_version(client, name, CHAMPION)
    if champion == challenger:
        raise RegistryError(f"version {challenger} is already the champion")
    holdout = _holdout_of(client, name, challenger)
    y = holdout["label"].to_numpy()
    new_model = load_bundle(client, name, challenger)
    old_model = load_bundle(client, name, champion) if champion is not None else None
    differences = [] if old_model is None else what_differs(new_model, old_model)

    def evaluate(model: LeadScoreModel) -> dict[str, float]:
        p = model.predict_proba(holdout)
        return {
            "roc_auc": float(roc_auc_score(y, p)),
            "pr_auc": float(average_precision_score(y, p)),
        }

    new = evaluate(new_model)
    where = f"on the challenger's holdout ({len(y):,} rows, {int(y.sum()):,} positive)"
    if differences:
        # Not comparable: the champion cannot score the challenger's holdout like for like.
        old: dict[str, float] = {}
        failures = [
            f"v{challenger} differs from champion v{champion}: " + "; ".join(differences)
            + " (promote with --force to replace it anyway)"
        ]  # fmt: skip
    else:
        old = evaluate(old_model) if old_model is not None else {}
        failures = [
            f"{key} {new[key]:.4f} is below the floor {floor:.4f}"
            for key, floor in floors.items()
            if new[key] < floor
        ]
        if champion is not None and new[metric] < old[metric] + tolerance:
            failures.append(
                f"{metric}: challenger v{challenger} {new[metric]:.4f} vs champion v{champion} "
                f"{old[metric]:.4f}; needs at least {old[metric] + tolerance:.4f} "
                f"(champion + tolerance {tolerance})"
            )
    promoted = force or not failures
    if not failures:
        message = f"promoted v{challenger}: " + (
            f"{metric} {new[metric]:.4f} vs champion v{champion} {old[metric]:.4f} {where}"
            if champion is not None
            else f"first champion, {metric} {new[metric]:.4f} {where}"
        )
    elif force:
        message = f"FORCED promotion of v{challenger} despite: " + "; ".join(failures)
    else:
        message = f"refused v{challenger} {where}: " + "; ".join(failures)
    decision = PromotionDecision(
        promoted, force and bool(failures), challenger, champion, metric, new, old, message
    )
    stamp = datetime.now(UTC).isoformat()
    client.set_model_version_tag(
        name, challenger, "promotion", json.dumps({**decision.to_dict(), "at": stamp})
    )
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, challenger)
        history = [*_history(client, name), challenger]
        client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    return decision


def what_differs(challenger: LeadScoreModel, champion: LeadScoreModel) -> list[str]:
    """How two models differ in what they were trained on: data set and features (not the
    features of a cold-start points champion: a trained model is meant to replace it)."""
    new, old = challenger.metadata.get("dataset"), champion.metadata.get("dataset")
    out = [f"trained on data set {new!r}, the champion on {old!r}"] if new != old else []
    if champion.kind == "points":
        return out
    added = sorted(set(challenger.features) - set(champion.features))
    removed = sorted(set(champion.features) - set(challenger.features))
    parts = [f"{sign}{len(names)} {names[:5]}" for sign, names in (("+", added), ("-", removed))
             if names]  # fmt: skip
    return out + (["features differ: " + ", ".join(parts)] if parts else [])


def serve_cold_start(client: Any, name: str, version: str) -> str:
    """Make a cold-start points model the champion when there is none yet, so the service has
    something to serve; a trained champion is never replaced by one (it stays challenger).
    Returns what was done, for the user."""
    champion = alias_version(client, name, CHAMPION)
    if champion is not None:
        return f"points model v{version} registered as challenger only: v{champion} stays champion"
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_tag(
        name, HISTORY_TAG, json.dumps([*_history(client, name), version])
    )
    client.set_model_version_tag(
        name, version, "promotion",
        json.dumps({"cold_start": True, "at": datetime.now(UTC).isoformat()}),
    )  # fmt: skip
    return (
        f"cold start: points model v{version} is the champion until a trained model passes "
        "the promotion gate (retrain when more deals have closed)"
    )


def rollback(client: Any, name: str) -> tuple[str, str]:
    """Point ``champion`` back to the previous champion; returns (from, to) versions."""
    history = _history(client, name)
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise RegistryError(f"model {name!r} has no champion to roll back")
    while history and history[-1] != current:
        history.pop()  # the alias was moved by hand: resync with what is live
    if len(history) < 2:
        raise RegistryError(
            f"champion v{current} of {name!r} has no previous champion to roll back to"
        )
    history.pop()
    previous = history[-1]
    client.set_registered_model_alias(name, CHAMPION, previous)
    client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(history))
    client.set_model_version_tag(name, current, "rolled_back_at", datetime.now(UTC).isoformat())
    return current, previous


def list_versions(client: Any, name: str) -> list[VersionInfo]:
    """Every version of ``name``, newest first, with aliases and holdout metrics."""
    versions = client.search_model_versions(f"name = '{name}'")
    # Search results do not carry aliases; the registered model has the alias -> version map.
    aliases: dict[str, list[str]] = {}
    for alias, version in (client.get_registered_model(name).aliases or {}).items():
        aliases.setdefault(str(version), []).append(alias)
    out = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        metrics = {
            key.removeprefix("holdout_"): float(value)
            for key, value in (v.tags or {}).items()
            if key.startswith("holdout_")
        }
        created = datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(
            timespec="seconds"
        )
        out.append(
            VersionInfo(
                str(v.version), sorted(aliases.get(str(v.version), [])), v.run_id, created,
                metrics, (v.tags or {}).get("dataset", ""),
            )
        )  # fmt: skip
    return out


def _history(client: Any, name: str) -> list[str]:
    tags = client.get_registered_model(name).tags or {}
    return list(json.loads(tags.get(HISTORY_TAG, "[]")))


def _holdout_of(client: Any, name: str, version: str) -> pd.DataFrame:
    run_id = client.get_model_version(name, version).run_id
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, HOLDOUT_ARTIFACT, tmp)
        frame = pd.read_parquet(Path(path))
    if frame.empty or np.ptp(frame["label"].to_numpy()) == 0:
        raise RegistryError(f"version {version}: holdout has no rows of both classes")
    return frame
