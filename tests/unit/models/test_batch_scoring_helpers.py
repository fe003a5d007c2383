"""Batch scoring helpers: snapshots at one as_of, tier changes, atomic output."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.batch_scoring import (
    mark_tier_changes,
    read_previous,
    remove_stale_temporaries,
    write_scores_atomically,
)


def _scores(tiers: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"lead_id": list(tiers), "tier": list(tiers.values())})


def test_tier_changes_flag_new_and_moved_leads_only() -> None:
    previous = _scores({"a": "A", "b": "C", "c": "D"})
    current = _scores({"a": "A", "b": "B", "d": "C"})
    marked = mark_tier_changes(current, previous)
    assert marked["previous_tier"].tolist()[:2] == ["A", "C"]
    assert pd.isna(marked["previous_tier"].iloc[2])
    assert marked["tier_changed"].tolist() == [False, True, True]
    first_run = mark_tier_changes(current, None)
    assert first_run["tier_changed"].all()


def test_scores_are_written_atomically_and_stale_temporaries_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "scores.parquet"
    write_scores_atomically(_scores({"a": "A"}), out)
    stale = tmp_path / ".leadscore-scores.parquet.abc123.tmp"
    stale.write_bytes(b"half a parquet file")
    unrelated = tmp_path / "notes.txt"
    unrelated.write_text("keep me")

    class Boom(pd.DataFrame):
        def to_parquet(self, *args, **kwargs):  # a write that dies half-way
            Path(args[0]).write_bytes(b"partial")
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_scores_atomically(Boom(_scores({"b": "B"})), out)
    # The previous output is intact, the failed run left nothing, the stale file is gone.
    assert read_previous(out)["lead_id"].tolist() == ["a"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "scores.parquet"]
    assert remove_stale_temporaries(out) == []
