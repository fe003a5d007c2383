"""How an unknown CSV is written: its encoding and separator, sniffed from the first bytes
(``leadscore init`` writes them into the draft's ``csv_options``)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

_SAMPLE_BYTES = 256 * 1024
_SEPARATORS = ",;\t|"
# Tried in order: UTF-8 (with or without a byte-order mark) is what modern tools write; Windows
# exports from Excel are cp1252, which (like latin-1) can decode any byte.
_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


@dataclass(frozen=True)
class CsvDialect:
    """What ``pandas.read_csv`` needs beyond its defaults, and why."""

    encoding: str
    sep: str
    notes: list[str] = field(default_factory=list)

    def csv_options(self) -> dict[str, Any]:
        """The options the loaders need (empty when the defaults read the file)."""
        options: dict[str, Any] = {}
        if self.sep != ",":
            options["sep"] = self.sep
        if self.encoding not in ("utf-8", "utf-8-sig"):
            options["encoding"] = self.encoding
        return options


def sniff_csv(path: Path) -> CsvDialect:
    """The encoding (the first of UTF-8, cp1252, latin-1 that decodes the sample) and the
    separator (``csv.Sniffer`` on the sample, else the candidate splitting the header most)."""
    raw = Path(path).read_bytes()[:_SAMPLE_BYTES]
    for encoding in _ENCODINGS:
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    lines = text.splitlines()
    if len(raw) == _SAMPLE_BYTES and lines:
        lines = lines[:-1]  # the sample may end inside a line
    sample = "\n".join(lines[:200])
    utf8 = encoding == "utf-8-sig"
    notes = ["UTF-8" if utf8 else f"encoding {encoding}: not UTF-8 (a Windows export?)"]
    try:
        sep = csv.Sniffer().sniff(sample, delimiters=_SEPARATORS).delimiter
        notes.append(f"separator {sep!r}: every sampled line splits into the same columns")
    except csv.Error:
        header = lines[0] if lines else ""
        sep = max(_SEPARATORS, key=header.count)
        notes.append(f"separator {sep!r}: the character splitting the header most")
    return CsvDialect("utf-8" if encoding == "utf-8-sig" else encoding, sep, notes)


def read_sample(path: Path, rows: int | None = None) -> tuple[pd.DataFrame, CsvDialect | None]:
    """The file as text columns (Parquet: as typed), the way the loaders read it, plus the
    sniffed dialect of a CSV."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
        return (frame.head(rows) if rows else frame), None
    dialect = sniff_csv(path)
    frame = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], nrows=rows,
        sep=dialect.sep, encoding=dialect.encoding,
    )  # fmt: skip
    return frame, dialect
