"""Batch scoring: every lead of a dataset scored as of one moment, with reasons, in chunks.

This is what a nurture system runs nightly: the output carries probability, score, tier,
sales_ready, fit, engagement, top reasons (grouped and worded as the API's, with their
probability points from ``base_probability``), the model version and ``tier_changed`` against
the previous run's output (the leads a nurture system should act on). Files are written
atomically: a crash or a kill leaves the previous output untouched and no partial file under
the output's name; stale temporary files of a killed run are removed by the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common.files import TEMPORARY_SUFFIX, write_atomically
from features.batch.batch_engine import compute_features
from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from features.trainset.snapshots import observed_until_of

SCORE_COLUMNS = (
    "lead_id", "as_of", "probability", "base_probability", "score", "tier", "sales_ready", "fit",
    "engagement", "reasons", "model_version", "previous_tier", "tier_changed",
)  # fmt: skip
_TMP_PREFIX = ".leadscore-"


def scoring_snapshots(dataset: Dataset, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """One (lead, as_of) row per lead that exists at ``as_of`` (default: the last moment the
    data covers)."""
    as_of = observed_until_of(dataset) if as_of is None else pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        as_of = as_of.tz_localize("UTC")
    leads = dataset.leads
    if c.CREATED_AT in leads.columns:
        leads = leads[leads[c.CREATED_AT] <= as_of]
    return pd.DataFrame(
        {c.LEAD_ID: leads[c.LEAD_ID].to_numpy(), AS_OF: pd.Series(as_of, index=range(len(leads)))}
    )


def score_features_in_chunks(
    model: Any,
    features: pd.DataFrame,
    explain_k: int,
    *,
    chunk_rows: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """``model.score_features`` chunk by chunk (bounded memory for the SHAP matrices)."""
    parts = []
    for low in range(0, len(features), chunk_rows):
        part = features.iloc[low : low + chunk_rows]
        parts.append(model.score_features(part, explain_k))
        if progress is not None:
            progress(len(part))
    if not parts:
        return model.score_features(features, explain_k)
    return pd.concat(parts, ignore_index=True)


def score_features_distributed(
    client: Any,
    model: Any,
    features: pd.DataFrame,
    explain_k: int,
    *,
    chunk_rows: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The same on the workers of a ``dask.distributed.Client``: the model is sent to each
    worker once, chunks are scored in parallel and come back in order."""
    from distributed import as_completed

    remote_model = client.scatter(model, broadcast=True)
    futures = {}
    call = uuid.uuid4().hex  # keys of this call alone (see features.batch.dask_features)
    for i, low in enumerate(range(0, len(features), chunk_rows)):
        part = client.scatter(features.iloc[low : low + chunk_rows], hash=False)
        future = client.submit(_score_part, remote_model, part, explain_k, key=f"score-{i}-{call}")
        futures[future.key] = (i, future)
    results: dict[int, pd.DataFrame] = {}
    order = {future.key: i for i, future in futures.values()}
    for future in as_completed([f for _, f in futures.values()]):
        results[order[future.key]] = future.result()
        if progress is not None:
            progress(len(results[order[future.key]]))
    if not results:
        return model.score_features(features, explain_k)
    return pd.concat([results[i] for i in sorted(results)], ignore_index=True)


def _score_part(model: Any, part: pd.DataFrame, explain_k: int) -> pd.DataFrame:
    return model.score_features(part, explain_k)


def mark_tier_changes(scores: pd.DataFrame, previous: pd.DataFrame | None) -> pd.DataFrame:
    """Add ``previous_tier`` and ``tier_changed`` (True for new leads and changed tiers)."""
    out = scores.copy()
    if previous is None or previous.empty:
        out["previous_tier"] = pd.Series(pd.NA, index=out.index, dtype="str")
    else:
        before = previous.drop_duplicates(c.LEAD_ID, keep="last").set_index(c.LEAD_ID)["tier"]
        out["previous_tier"] = out[c.LEAD_ID].map(before).astype("str")
    out["tier_changed"] = out["previous_tier"].isna() | (out["previous_tier"] != out["tier"])
    out["tier_changed"] = out["tier_changed"].astype(bool)
    return out


def score_dataset(
    model: Any,
    dataset: Dataset,
    *,
    as_of: pd.Timestamp | None = None,
    explain_k: int = 3,
    compute: Callable[..., pd.DataFrame] = compute_features,
    score: Callable[..., pd.DataFrame] = score_features_in_chunks,
    previous: pd.DataFrame | None = None,
    model_version: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> pd.DataFrame:
    """Features as of ``as_of`` for every lead, then scores, reasons and tier changes.

    ``compute`` and ``score`` choose the engines (local by default; Dask variants via
    ``functools.partial(..., client)``); ``progress(stage, n)`` reports leads featured and
    rows scored."""
    snapshots = scoring_snapshots(dataset, as_of)

    def report(stage: str) -> Callable[[int], None] | None:
        return None if progress is None else (lambda n: progress(stage, n))

    features = compute(
        model.spec, dataset.leads, dataset.events, dataset.outcomes, snapshots,
        open_deals=dataset.open_deals, progress=report("features"),
    )  # fmt: skip
    scores = score(model, features, explain_k, progress=report("scores"))
    scores["model_version"] = model_version or str(model.metadata.get("version", "unregistered"))
    scores = mark_tier_changes(scores, previous)
    return scores[[column for column in SCORE_COLUMNS if column in scores.columns]]


def read_previous(path: Path) -> pd.DataFrame | None:
    """The previous run's output at ``path``, if any (only the columns tier changes need)."""
    path = Path(path)
    if not path.exists():
        return None
    return pd.read_parquet(path, columns=[c.LEAD_ID, "tier"])


def write_scores_atomically(scores: pd.DataFrame, path: Path) -> Path:
    """Write Parquet to a temporary file next to ``path`` and rename it into place (after
    removing what a killed run left)."""
    remove_stale_temporaries(path)
    return write_atomically(
        path, lambda tmp: scores.to_parquet(tmp, index=False), prefix=_TMP_PREFIX
    )


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Temporary files a killed run left next to ``path`` (never the output itself)."""
    stale = sorted(Path(path).parent.glob(f"{_TMP_PREFIX}{Path(path).name}.*{TEMPORARY_SUFFIX}"))
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


def tier_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Leads per tier and how many changed tier: what the command prints."""
    grouped = scores.groupby("tier", observed=True)
    return pd.DataFrame(
        {
            "leads": grouped.size().astype(int),
            "sales_ready": grouped["sales_ready"].sum().astype(int),
            "tier_changed": grouped["tier_changed"].sum().astype(int),
            "mean_probability": grouped["probability"].mean().round(4),
        }
    ).reindex([t for t in ("A", "B", "C", "D") if t in set(np.unique(scores["tier"]))])
