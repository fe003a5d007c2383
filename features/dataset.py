"""The loaded, validated dataset handed from loaders to every later stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from features.config import AttributeType, DatasetConfig
from features.contracts import LoadReport


def canonical_name(column: str) -> str:
    """snake_case a source column name ('Lead Origin' -> 'lead_origin') for use as a feature."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower()
    return name or "column"


@dataclass(frozen=True)
class Attribute:
    """A declared lead attribute: canonical name, source column, and type."""

    name: str
    source: str
    type: AttributeType

    @property
    def label(self) -> str:
        """Human label for explanations: the column name as the CRM shows it."""
        if self.source != self.name:
            return self.source
        return self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Dataset:
    """Canonical tables (see features.contracts) plus what loading did to get them.

    ``events`` and ``outcomes`` are empty canonical frames in static mode, never None, so later
    stages need no special cases for their absence.
    """

    config: DatasetConfig
    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    attributes: tuple[Attribute, ...]
    report: LoadReport = field(default_factory=LoadReport)

    @property
    def static(self) -> bool:
        return self.config.static

    @property
    def attribute_names(self) -> list[str]:
        return [attribute.name for attribute in self.attributes]
