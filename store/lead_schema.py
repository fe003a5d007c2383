"""What the store keeps about a lead, from the dataset config that declares it.

The store takes the same dataset config as the batch loaders (``LEADSCORE_STORE_DATASET``):
its declared attributes are the only lead fields stored (by their canonical names; a trait may
also use the column's name as the CRM exports it, or any spelling that snake_cases to the
canonical name: "Lead Source", "lead-source"), and its
``event_type_map`` renames CRM event names before they are snake_cased
(:func:`features.ingest.dataset.event_type_name`, shared with the loaders). Anything else a
CDP sends (emails, names, phone numbers in Segment traits) is never written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from features.ingest.contracts import KNOWN_EVENT_TYPES
from features.ingest.dataset import (
    Attribute,
    canonical_name,
    declared_attributes,
    event_type_name,
)
from features.ingest.dataset_config import AttributeType, DatasetConfig
from features.ingest.parsing import BOOLEAN_FALSE, BOOLEAN_TRUE

AttributeValue = str | float | None
_NAME_CACHE = 10_000  # distinct raw event names remembered (bounded: names come from clients)


class FieldError(ValueError):
    """A value that breaks the store's contract; ``field`` names where it is."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class LeadSchema:
    """Declared attributes (canonical name -> type) and the event-name map of one store."""

    attributes: tuple[Attribute, ...]
    event_type_map: Mapping[str, str]
    missing_values: frozenset[str]
    config_name: str
    # Raw event name -> canonical type: a CDP sends a handful of names millions of times.
    _event_types: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_config(cls, config: DatasetConfig) -> LeadSchema:
        if config.static:
            raise ValueError(
                f"dataset config {config.name!r} is static (one table, no events or times): "
                "the lead store needs a temporal config with created_at and events"
            )
        return cls(
            attributes=declared_attributes(config),
            event_type_map=dict(config.events.event_type_map) if config.events else {},
            missing_values=frozenset(config.leads.missing_values),
            config_name=config.name,
        )

    @property
    def attribute_names(self) -> list[str]:
        return [attribute.name for attribute in self.attributes]

    def event_type(self, raw: str, field_name: str) -> str:
        """The canonical event type of a CRM's event name."""
        known = self._event_types.get(raw)
        if known is not None:
            return known
        name = raw.strip()
        if not any(ch.isalnum() for ch in name):
            raise FieldError(field_name, "an event name needs at least one letter or digit")
        canonical = event_type_name(name, self.event_type_map)
        if len(self._event_types) < _NAME_CACHE:
            self._event_types[raw] = canonical
        return canonical

    def known_event_types(self) -> frozenset[str]:
        """Types with their own features and wording: the known ones and the map's targets."""
        mapped = {event_type_name(v, {}) for v in self.event_type_map.values()}
        return frozenset(KNOWN_EVENT_TYPES) | mapped

    def attributes_of(
        self, values: Mapping[str, Any], field: str
    ) -> tuple[dict[str, AttributeValue], list[str]]:
        """The declared attributes among ``values`` (by canonical or source name), coerced to
        their types, and the names that were not stored (undeclared: never kept)."""
        by_name = {a.name: a for a in self.attributes} | {a.source: a for a in self.attributes}
        kept: dict[str, AttributeValue] = {}
        ignored: list[str] = []
        for name, value in values.items():
            attribute = by_name.get(name) or by_name.get(canonical_name(name))
            if attribute is None:
                ignored.append(name)
                continue
            kept[attribute.name] = self._coerce(attribute, value, f"{field}.{name}")
        return kept, ignored

    def _coerce(self, attribute: Attribute, value: Any, field: str) -> AttributeValue:
        if value is None or (isinstance(value, str) and value.strip() in self.missing_values):
            return None
        if isinstance(value, dict | list):
            raise FieldError(field, "expected a single value, not an object or a list")
        if attribute.type is AttributeType.categorical:
            text = str(value).strip()
            return text or None
        if attribute.type is AttributeType.boolean:
            return _yes_no(value, field)
        return _number(value, field)


def _yes_no(value: Any, field: str) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and value in (0, 1):
        return float(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if not lowered:
            return None
        if lowered in BOOLEAN_TRUE:
            return 1.0
        if lowered in BOOLEAN_FALSE:
            return 0.0
    raise FieldError(field, "expected true/false (or yes/no, 1/0)")


def _number(value: Any, field: str) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str) and not value.strip():
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FieldError(field, "expected a number") from None
    except OverflowError:
        raise FieldError(field, "too large: numbers are read as float64") from None
    if not math.isfinite(number):
        raise FieldError(field, "expected a finite number, not NaN or an infinity")
    return number
