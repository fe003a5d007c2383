"""The closed loop: newly closed deals -> appended outcomes -> a retrained challenger.

User data is never overwritten: the old and new outcomes are combined into a new file in a
retrain folder (``outcomes-<UTC stamp>.csv``), and the dataset config used for retraining
points at it (with the other tables' paths made absolute). The combined file is validated by
the same loaders and contracts as the original, so a bad ``NEW.csv`` fails with the usual
table/column/row messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from common.files import write_atomically
from features.ingest.dataset_config import DatasetConfig
from features.ingest.loaders import read_table


@dataclass(frozen=True)
class AppendedOutcomes:
    """The retraining config and what appending did."""

    config: DatasetConfig
    path: Path
    old_rows: int
    new_rows: int
    duplicates_dropped: int

    def summary(self) -> str:
        return (
            f"outcomes: {self.old_rows:,} existing + {self.new_rows:,} new, "
            f"{self.duplicates_dropped:,} exact duplicates dropped -> {self.path}"
        )


def append_outcomes(
    config: DatasetConfig, data_dir: Path, new_outcomes: Path, out_dir: Path
) -> AppendedOutcomes:
    """Combine the dataset's outcomes with ``new_outcomes`` (same source columns) into a new
    CSV in ``out_dir`` and return a config that reads it."""
    if config.outcomes is None:
        raise ValueError(f"dataset {config.name!r} has no outcomes table: nothing to append to")
    data_dir = Path(data_dir).resolve()
    old = _as_text(read_table(config.outcomes, data_dir, "outcomes"))
    new_source = config.outcomes.model_copy(update={"path": str(Path(new_outcomes).resolve())})
    new = _as_text(read_table(new_source, data_dir, "new outcomes"))
    missing = [column for column in old.columns if column not in new.columns]
    if missing:
        raise ValueError(
            f"new outcomes {Path(new_outcomes).name}: missing columns {missing} of the "
            f"outcomes table (has {list(new.columns)})"
        )
    extra = [column for column in new.columns if column not in old.columns]
    if extra:
        raise ValueError(
            f"new outcomes {Path(new_outcomes).name}: columns {extra} are not in the outcomes "
            f"table ({list(old.columns)}); remove them so nothing is dropped silently"
        )
    combined = pd.concat([old, new[list(old.columns)]], ignore_index=True)
    duplicated = combined.duplicated()
    combined = combined.loc[~duplicated]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = (out_dir / f"outcomes-{stamp}.csv").resolve()
    write_atomically(path, lambda tmp: combined.to_csv(tmp, index=False))
    parquet_source = _is_parquet(config.outcomes.path, config.outcomes.format)
    outcomes = config.outcomes.model_copy(
        update={
            "path": str(path),
            "format": "csv",
            # Parquet timestamps were rendered as ISO-8601 text above.
            "timestamp_format": None if parquet_source else config.outcomes.timestamp_format,
        }
    )
    update: dict[str, object] = {
        "outcomes": outcomes,
        "leads": config.leads.model_copy(update={"path": str(data_dir / config.leads.path)}),
    }
    if config.events is not None:
        update["events"] = config.events.model_copy(
            update={"path": str(data_dir / config.events.path)}
        )
    return AppendedOutcomes(
        config.model_copy(update=update), path, len(old), len(new), int(duplicated.sum())
    )


def _is_parquet(path: str, kind: str) -> bool:
    return kind == "parquet" or (
        kind == "auto" and Path(path).suffix.lower() in {".parquet", ".pq"}
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every column as text (CSV reads already are; Parquet timestamps become ISO-8601)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
            out[column] = values.map(lambda v: None if pd.isna(v) else v.isoformat())
        out[column] = out[column].astype("string")
    return out
