"""The loaded, validated dataset handed from loaders to every later stage."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from features.ingest.contracts import (
    ACCOUNT_ID,
    CREATED_AT,
    LABEL,
    LEAD_ID,
    OPENED_AT,
    TIMESTAMP_DTYPE,
    LoadReport,
)
from features.ingest.costs_table import empty_costs
from features.ingest.dataset_config import AttributeType, DatasetConfig


def empty_open_deals() -> pd.DataFrame:
    """The canonical open-deals table with no rows."""
    return pd.DataFrame(
        {LEAD_ID: pd.Series(dtype="str"), OPENED_AT: pd.Series(dtype=TIMESTAMP_DTYPE)}
    )


def canonical_name(column: str) -> str:
    """snake_case a source column name ('Lead Origin' -> 'lead_origin') for use as a feature."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", column).strip("_").lower()
    return name or "column"


def event_type_name(raw: str, event_type_map: Mapping[str, str]) -> str:
    """A CRM's event name as its canonical type: renamed by the dataset config's
    ``event_type_map``, then snake_cased ("Pricing Page View" and "pricing-page-view" are both
    ``pricing_page_view``). The batch loaders and the live store both name events with it."""
    return canonical_name(event_type_map.get(raw, raw))


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


def declared_attributes(config: DatasetConfig) -> tuple[Attribute, ...]:
    """The leads' declared attribute columns under their canonical names (snake_case; a name
    taken by a core column gets an ``attr_`` prefix), as loaders and the lead store name them."""
    roles = config.leads.columns
    taken = {LEAD_ID, LABEL} | {role for role in (CREATED_AT, ACCOUNT_ID) if role in roles}
    attributes = []
    for column, kind in config.leads.attributes.items():
        name = canonical_name(column)
        if name in taken:
            name = f"attr_{name}"
        taken.add(name)
        attributes.append(Attribute(name=name, source=column, type=kind))
    return tuple(attributes)


@dataclass(frozen=True)
class Dataset:
    """Canonical tables (see features.ingest.contracts) plus what loading did to get them.

    ``events``, ``outcomes`` (closed deals), ``open_deals`` (opportunities still open at
    export) and ``costs`` (marketing spend) are empty canonical frames when absent, never None, so later stages need no
    special cases for their absence.
    """

    config: DatasetConfig
    leads: pd.DataFrame
    events: pd.DataFrame
    outcomes: pd.DataFrame
    attributes: tuple[Attribute, ...]
    report: LoadReport = field(default_factory=LoadReport)
    open_deals: pd.DataFrame = field(default_factory=lambda: empty_open_deals())
    costs: pd.DataFrame = field(default_factory=lambda: empty_costs())  # see costs_table

    @property
    def has_opportunity_dates(self) -> bool:
        """Whether deals carry the date their opportunity opened (then open opportunities are a
        feature: a CRM knows which deals are in progress at any moment)."""
        return bool(len(self.open_deals) or self.outcomes[OPENED_AT].notna().any())

    @property
    def static(self) -> bool:
        return self.config.static

    @property
    def attribute_names(self) -> list[str]:
        return [attribute.name for attribute in self.attributes]
