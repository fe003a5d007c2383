"""Dataset configuration: maps a company's export columns to the canonical roles.

A dataset config is a YAML file. Paths inside it are relative to the data directory given at
run time, so one config serves every copy of the data. Example (temporal mode)::

    name: demo
    mode: temporal
    leads:
      path: leads.parquet
      columns: {lead_id: lead_id, created_at: created_at, account_id: account_id}
      attributes:
        industry: categorical
        annual_revenue: numeric
      exclude: [email]
      post_outcome: [sales_notes]
    events:
      path: events.parquet
      columns: {lead_id: lead_id, occurred_at: occurred_at, event_type: event_type}
    outcomes:
      path: outcomes.parquet
      columns: {lead_id: lead_id, closed_at: closed_at, won: won, amount: amount}
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SHIPPED_CONFIGS = Path(__file__).parent / "configs"


class AttributeType(StrEnum):
    categorical = "categorical"
    numeric = "numeric"
    boolean = "boolean"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableSource(_Strict):
    """Where a table lives and how its timestamps are written."""

    path: str = Field(description="File path (CSV or Parquet), relative to the data directory.")
    format: Literal["auto", "csv", "parquet"] = "auto"
    timestamp_format: str | None = Field(
        default=None,
        description="strftime format of timestamp columns, e.g. '%d-%m-%Y %H:%M'. "
        "Without it ISO 8601 is expected.",
    )
    timezone: str = Field(
        default="UTC", description="Time zone of naive timestamps; everything becomes UTC."
    )
    out_of_range_dates: Literal["error", "never"] = Field(
        default="error",
        description="Dates outside 1677-09-22 .. 2262-04-11 (e.g. a CRM's '9999-12-31' for "
        "'never'): an error naming them, or 'never': read as no date (a deal's closed_at then "
        "means still open; a date every row needs is still an error).",
    )
    csv_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options for pandas.read_csv, e.g. {sep: ';', encoding: cp1252, decimal: ','}.",
    )


class LeadsSource(TableSource):
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical role -> source column: lead_id (optional in static mode: rows "
        "are then numbered), created_at, account_id, label.",
    )
    attributes: dict[str, AttributeType] = Field(
        default_factory=dict, description="Source column -> type; these become fit features."
    )
    exclude: list[str] = Field(
        default_factory=list, description="Columns never used (ids, personal data, free text)."
    )
    post_outcome: list[str] = Field(
        default_factory=list,
        description="Columns filled in after the outcome is known (sales notes, tags): never "
        "features, reported as excluded for leakage.",
    )
    missing_values: list[str] = Field(
        default_factory=list,
        description="Literal values meaning 'not answered' (e.g. 'Select'); read as missing.",
    )
    label_positive: list[str] = Field(
        default_factory=lambda: ["1", "true", "yes", "y", "won", "converted"],
        description="Static mode: label values that mean converted (case-insensitive).",
    )
    label_negative: list[str] = Field(
        default_factory=lambda: ["0", "false", "no", "n", "lost", "not converted"],
        description="Static mode: label values that mean not converted (case-insensitive). A "
        "value in neither list is an error naming it, never a silent 'not converted'.",
    )


class EventsSource(TableSource):
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical role -> source column: lead_id, occurred_at, event_type, "
        "campaign, channel.",
    )
    event_type_map: dict[str, str] = Field(
        default_factory=dict,
        description="Source event type -> canonical type (e.g. 'Email Opened': email_open).",
    )


class OutcomesSource(TableSource):
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical role -> source column: lead_id, closed_at, won, amount, opened_at.",
    )
    all_won: bool = Field(
        default=False,
        description="The table lists won deals only (no 'won' column), e.g. a closed-won export.",
    )
    won_values: list[str] = Field(
        default_factory=lambda: ["1", "true", "yes", "won", "closed won", "closed_won"],
        description="Values of the 'won' column that mean won (case-insensitive).",
    )
    lost_values: list[str] = Field(
        default_factory=lambda: ["0", "false", "no", "lost", "closed lost", "closed_lost"],
        description="Values of the 'won' column that mean lost (case-insensitive). Anything "
        "neither won nor lost is rejected rather than silently read as a loss.",
    )


class CostsSource(TableSource):
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="Canonical role -> source column: campaign, channel (at least one), period "
        "(when the spend's period starts: a date or a month such as 2024-03), spend.",
    )


class SnapshotConfig(_Strict):
    """How (lead, as_of) training examples are laid over history."""

    grid: Literal["periodic", "at_creation"] = Field(
        default="periodic",
        description="periodic: every `every_days` over history; at_creation: one snapshot per "
        "lead at its created_at (funnels where the label is 'won within N days of contact').",
    )
    every_days: int | None = Field(default=None, ge=1, description="Defaults to settings.")
    horizon_days: int | None = Field(default=None, ge=1, description="Defaults to settings.")
    repeat_purchase: bool = Field(
        default=False, description="Keep leads that already bought (target = buying again)."
    )
    max_lead_age_days: int | None = Field(
        default=None, ge=1, description="Stop snapshotting a lead this long after creation."
    )


class DatasetConfig(_Strict):
    """A dataset: its tables, their column mapping, and how to make training examples."""

    name: str
    mode: Literal["temporal", "static"] = "temporal"
    description: str = ""
    leads: LeadsSource
    events: EventsSource | None = None
    outcomes: OutcomesSource | None = None
    costs: CostsSource | None = Field(
        default=None,
        description="Optional marketing spend per campaign or channel and period: gives the "
        "marketing report its costs per result and return on spend.",
    )
    snapshots: SnapshotConfig = Field(default_factory=SnapshotConfig)
    order_by: str | None = Field(
        default=None,
        description="Static mode: 'row' when the rows are in time order, or a date column of "
        "the leads file: then validation is out of time (earliest rows train, latest are the "
        "holdout) instead of a random split.",
    )
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _check_mode(self) -> DatasetConfig:
        roles = self.leads.columns
        if "lead_id" not in roles and self.mode != "static":
            raise ValueError("leads.columns must map 'lead_id' to a source column")
        if self.mode == "static":
            if "label" not in roles:
                raise ValueError("static mode needs leads.columns.label (the converted column)")
            if self.events is not None or self.outcomes is not None or self.costs is not None:
                raise ValueError(
                    "static mode takes a single leads table: remove events/outcomes/costs"
                )
        else:
            if self.order_by is not None:
                raise ValueError("order_by is for static mode: temporal data is split in time")
            if "created_at" not in roles:
                raise ValueError("temporal mode needs leads.columns.created_at")
            if self.outcomes is None:
                raise ValueError("temporal mode needs an outcomes table (closed deals)")
        overlap = set(self.leads.attributes) & (
            set(self.leads.exclude) | set(self.leads.post_outcome)
        )
        if overlap:
            raise ValueError(f"columns both declared as attributes and excluded: {sorted(overlap)}")
        if self.order_by in self.leads.attributes:
            raise ValueError(f"order_by {self.order_by!r} is a date, not an attribute: remove it")
        labels = {v.lower() for v in self.leads.label_positive}
        both = labels & {v.lower() for v in self.leads.label_negative}
        if both:
            raise ValueError(f"label values both positive and negative: {sorted(both)}")
        return self

    @property
    def generated_ids(self) -> bool:
        """Static exports may lack an id column: each row's id is then its row number."""
        return "lead_id" not in self.leads.columns

    @property
    def static(self) -> bool:
        return self.mode == "static"


def config_path(name_or_path: str | Path) -> Path:
    """The YAML file a ``--dataset`` value names.

    A bare name (no folder, no ``.yaml``) is a shipped config first, so a folder or file called
    ``demo`` in the working directory never shadows ``demo``; any other value is a path, and
    must be a file.
    """
    text = str(name_or_path)
    looks_like_path = (
        isinstance(name_or_path, Path) or "/" in text or text.endswith((".yaml", ".yml"))
    )
    shipped = SHIPPED_CONFIGS / f"{text}.yaml"
    if not looks_like_path and shipped.is_file():
        return shipped
    path = Path(name_or_path)
    if path.is_file():
        return path
    if looks_like_path:
        what = "is a folder, not a YAML file" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"dataset config {text!r} {what}")
    available = ", ".join(sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml")))
    raise FileNotFoundError(f"dataset config {text!r} not found (shipped: {available})")


def load_config(name_or_path: str | Path) -> DatasetConfig:
    """Read a dataset config from a YAML path, or a shipped one by name (``demo``, ``olist``)."""
    path = config_path(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path.name}: expected a mapping at the top level")
    try:
        return DatasetConfig.model_validate({**raw, "source_path": path})
    except ValidationError as exc:
        raise ValueError(f"{path.name}: invalid dataset config:\n{exc}") from exc
