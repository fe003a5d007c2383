"""Which registered model a command works on: one per data set (``leadscore-<dataset>``).

Models of different data sets score different leads with different features, so they never
compete for one alias; each version carries its data set and feature list as tags (what
``leadscore models`` shows). A setting (``LEADSCORE_MODEL_NAME``) overrides the name; without
it or a data set, the only leadscore model in the store is meant.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from models.registry import RegistryError, alias_version

MODEL_PREFIX = "leadscore"
DATASET_TAG = "dataset"
FEATURES_TAG = "features"
FEATURES_HASH_TAG = "features_sha256"
_TAG_LIMIT = 5000  # MLflow's longest tag value


def model_name_for(dataset: str) -> str:
    """The registered model of a data set: ``leadscore-<dataset>`` (name made URL-safe)."""
    slug = re.sub(r"[^0-9A-Za-z_.-]+", "-", dataset).strip("-") or "dataset"
    return f"{MODEL_PREFIX}-{slug}"


def registered_model_names(client: Any) -> list[str]:
    """Every leadscore registered model in the store (``leadscore`` and ``leadscore-*``)."""
    found = client.search_registered_models(filter_string=f"name LIKE '{MODEL_PREFIX}%'")
    names = [m.name for m in found]
    return sorted(n for n in names if n == MODEL_PREFIX or n.startswith(f"{MODEL_PREFIX}-"))


def resolve_model_name(
    client: Any, name: str | None, dataset: str | None, *, alias: str | None = None
) -> str:
    """The registered model a command works on: ``name`` if given (settings), else the data
    set's, else the only leadscore model in the store (having ``alias``, when given)."""
    if name:
        return name
    if dataset:
        return model_name_for(dataset)
    names = registered_model_names(client)
    if alias is not None:
        names = [n for n in names if alias_version(client, n, alias) is not None]
    if len(names) == 1:
        return names[0]
    which = f" with a '{alias}' version" if alias else ""
    if not names:
        raise RegistryError(f"no leadscore model{which} is registered: train one first")
    raise RegistryError(
        f"{len(names)} registered models{which}: {', '.join(names)}; say which with --dataset "
        "NAME (or LEADSCORE_MODEL_NAME)"
    )


def version_tags(dataset: str, features: list[str]) -> dict[str, str]:
    """The tags that say what a version was trained on (its data set and features)."""
    listed = ",".join(features)
    return {
        DATASET_TAG: dataset,
        FEATURES_TAG: listed if len(listed) <= _TAG_LIMIT else f"{len(features)} features",
        FEATURES_HASH_TAG: hashlib.sha256("\n".join(features).encode()).hexdigest(),
    }
