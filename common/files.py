"""Output files written atomically: a reader sees the old file or the whole new one, never
half of it, and a failed write leaves the old file untouched (feature tables, scores, model
bundles, reports, the outcomes file a retrain appends to)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMPORARY_SUFFIX = ".tmp"


def write_atomically(
    path: str | Path, write: Callable[[str], object], *, prefix: str = "."
) -> Path:
    """``write(tmp)`` fills a temporary file next to ``path`` (named ``{prefix}{name}.*.tmp``),
    which is then renamed over ``path``; on any failure the temporary is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=path.parent, prefix=f"{prefix}{path.name}.", suffix=TEMPORARY_SUFFIX
    )
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(text: str, path: str | Path) -> Path:
    """:func:`write_atomically` for a text (UTF-8)."""
    return write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
