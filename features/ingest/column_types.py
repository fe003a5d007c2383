"""What a column of an unknown export holds, guessed from its values: the evidence behind
``leadscore init``'s draft config and ``leadscore validate``'s profile.

Guesses are conservative: a column is numeric only if (nearly) every value is a number, a date
only if (nearly) every value parses with one format, yes/no only if every value is one of the
known spellings; everything else is categorical, or free text when nearly every row differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pandas as pd

from features.ingest.parsing import BOOLEAN_FALSE, BOOLEAN_TRUE

# Values exports use for "not answered" (X Education's 'Select', Olist's 'unknown').
MISSING_TOKENS = ("Select", "select", "unknown", "Unknown", "N/A", "n/a", "NA", "null", "NULL",
                  "None", "none", "-", "?")  # fmt: skip
# Date formats tried in order (the first that reads nearly every value wins).
DATE_FORMATS = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y", "%d.%m.%Y",
                "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%Y/%m/%d")  # fmt: skip
_AGREE = 0.98  # share of present values that must fit a type
_TEXT_DISTINCT = 0.5  # categorical with more distinct values than this share of rows: free text
ID_NAME = re.compile(r"(^|[^a-z])(id|uuid|guid|key|number|no)$")


@dataclass(frozen=True)
class ColumnGuess:
    """One column's guessed type and the numbers behind it."""

    name: str
    kind: str  # empty, boolean, numeric, date, categorical, text
    missing: float  # share of rows empty or holding a missing token
    distinct: int  # distinct present values
    unique: bool  # every present value differs (and nearly every row has one)
    missing_tokens: tuple[str, ...] = ()
    date_format: str | None = None

    @property
    def id_like(self) -> bool:
        """Named like an id and unique: a row's identifier, never a feature."""
        return self.unique and bool(ID_NAME.search(words(self.name)))


def words(name: str) -> str:
    """A column name in lower case with non-alphanumerics as single spaces."""
    return " ".join(re.split(r"[^0-9a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()))


def guess_column(
    values: pd.Series, missing_tokens: tuple[str, ...] = MISSING_TOKENS
) -> ColumnGuess:
    """Guess the type of one column (text as read from a CSV, or typed from Parquet); values
    among ``missing_tokens`` count as missing."""
    name = str(values.name)
    text = values.astype("str").str.strip().where(values.notna())
    tokens = tuple(t for t in missing_tokens if (text == t).any())
    present = text.notna() & (text != "") & ~text.isin(tokens)
    kept = text[present]
    rows = max(len(values), 1)
    missing = 1.0 - len(kept) / rows
    distinct = int(kept.nunique())
    unique = distinct == len(kept) and len(kept) >= 0.99 * rows and len(kept) > 1
    guess = ColumnGuess(name, "empty", missing, distinct, unique, tokens)
    if kept.empty:
        return guess
    lower = set(kept.str.lower().unique())
    if lower <= BOOLEAN_TRUE | BOOLEAN_FALSE and len(lower) <= 2:
        return replace(guess, kind="boolean")
    if pd.api.types.is_numeric_dtype(values) or _share(pd.to_numeric(kept, errors="coerce")):
        return replace(guess, kind="numeric")
    if pd.api.types.is_datetime64_any_dtype(values):
        return replace(guess, kind="date")
    date_format = _date_format(kept)
    if date_format:
        return replace(guess, kind="date", date_format=date_format)
    kind = "text" if distinct > _TEXT_DISTINCT * len(kept) and distinct > 50 else "categorical"
    return replace(guess, kind=kind)


def _share(parsed: pd.Series) -> bool:
    return bool(len(parsed)) and float(parsed.notna().mean()) >= _AGREE


def _date_format(kept: pd.Series) -> str | None:
    sample = kept.head(2000)
    if not sample.str.contains(r"[-/.:]", regex=True).mean() >= _AGREE:
        return None  # plain numbers or words, not dates
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(sample, format=fmt, errors="coerce")
        if _share(parsed):
            return fmt
    return None
