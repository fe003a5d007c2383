"""Atomic output files: the old file or the whole new one, never half, no temporaries left."""

from __future__ import annotations

import stat

import pytest

from common.files import write_atomically, write_text_atomically


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "scores.csv"
    target.write_text("old")

    def half_then_fail(tmp: str) -> None:
        with open(tmp, "w") as handle:
            handle.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_a_new_file_replaces_the_old_one_readable_by_others(tmp_path) -> None:
    target = tmp_path / "nested" / "report.html"
    assert write_text_atomically("<p>new</p>", target) == target
    assert target.read_text() == "<p>new</p>"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # mkstemp alone would give 0600
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]
