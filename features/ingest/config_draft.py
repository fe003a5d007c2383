"""``leadscore init``: a dataset config drafted from an export nobody has described yet.

Every guess is written down with its reason as a YAML comment, so the draft teaches the config
while it saves typing: how the file is written (``csv_options``), which column is the id, the
label or the date, which columns look filled in after the outcome (``post_outcome``), which
are identifiers or free text (``exclude``), and the type of every attribute. One file with a
label column becomes a static config (ordered by its date, or by its rows when the label rate
moves along them); leads plus a deals file (``outcomes``) a temporal one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from features.ingest.column_types import ID_NAME, ColumnGuess, guess_column, words
from features.ingest.csv_sniffing import CsvDialect, read_sample
from features.ingest.parsing import BOOLEAN_TRUE
from features.ingest.post_outcome_names import post_outcome_hint
from features.ingest.profile import row_order_trend, sequence_evidence

LABEL_NAMES = {"converted", "label", "target", "y", "won", "is won", "purchased", "bought",
               "outcome", "result", "subscribed", "conversion", "closed won", "deal won"}  # fmt: skip
DATE_PREFERENCE = re.compile(r"created|contact|date|time|at$")
ACCOUNT_NAME = re.compile(r"\b(account|company|organi[sz]ation)\b.*\b(id|key)$")
_AFTER_SHARE, _BEFORE_SHARE = 0.95, 0.05  # populated for converters vs for the others


@dataclass
class Draft:
    """The drafted config's text and what ``init`` should tell the user."""

    name: str
    text: str
    notes: list[str] = field(default_factory=list)


def draft_config(
    data: Path, *, label: str | None = None, outcomes: Path | None = None, name: str | None = None
) -> Draft:
    """Draft a config for ``data`` (CSV or Parquet), static when it has a label column (given or
    guessed), temporal with ``outcomes`` (a deals file); see the module docstring."""
    data = Path(data)
    frame, dialect = read_sample(data)
    if frame.empty:
        raise ValueError(f"{data.name}: the export has no rows: nothing to draft from")
    if label is not None and label not in frame.columns:
        raise ValueError(f"--label {label!r}: no such column (found: {list(frame.columns)})")
    name = name or re.sub(r"[^0-9a-z]+", "_", data.stem.lower()).strip("_")
    guesses = {column: guess_column(frame[column]) for column in frame.columns}
    label = label or _guess_label(guesses, outcomes)
    lines = [f"# Drafted by `leadscore init` from {data.name} ({len(frame):,} rows, "
             f"{len(frame.columns)} columns). Check every guess, then `leadscore validate`.",
             f"name: {name}"]  # fmt: skip
    draft = Draft(name, "")
    id_column = next((col for col, g in guesses.items() if g.id_like), None)
    account = next((col for col in guesses if ACCOUNT_NAME.search(words(col))), None)
    dates = sorted(
        (col for col, g in guesses.items() if g.kind == "date"),
        key=lambda col: not DATE_PREFERENCE.search(words(col)),
    )
    taken = {label, id_column, account}
    if label is not None:
        order_lines, order_column = _order_by(frame, label, dates, guesses, draft)
        lines += ["mode: static", *order_lines]
        taken.add(order_column)
    else:
        lines += ["mode: temporal"]
        if not dates:
            draft.notes.append("no label column and no date column: name them in the draft")
    lines += ["leads:", f"  path: {_q(data.name)}", *_csv_lines(dialect, "  ")]
    fmt = guesses[dates[0]].date_format if dates else None
    if fmt and fmt != "ISO8601":
        lines.append(f"  timestamp_format: {_q(fmt)}  # how {dates[0]} is written")
    lines += _roles(id_column, label, None if label else (dates[:1] or [None])[0], draft)
    if account:
        lines.append(
            f"    account_id: {_q(account)}  # the lead's company: colleagues are counted by it"
        )
    if label is None:
        taken |= set(dates[:1])
    attributes, exclude, post, missing = _classify(frame, guesses, taken, label, draft)
    if missing:
        lines.append(f"  missing_values: {_q(missing)}  # read as not answered")
    if label is not None:
        lines += _label_values(frame[label])
    lines += ["  attributes:", *attributes] if attributes else ["  attributes: {}"]
    lines += ["  exclude:", *exclude] if exclude else []
    lines += ["  post_outcome:", *post] if post else []
    if label is None:
        lines += _outcomes_lines(outcomes, id_column, draft)
    draft.text = "\n".join(lines) + "\n"
    return draft


def _q(value: object) -> str:
    """A YAML scalar or flow collection, quoted only where YAML needs it."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("\n...")
        .removesuffix("...")
        .strip()
    )


def _guess_label(guesses: dict[str, ColumnGuess], outcomes: Path | None) -> str | None:
    if outcomes is not None:
        return None
    named = [col for col, g in guesses.items() if words(col) in LABEL_NAMES and g.distinct == 2]
    return named[0] if named else None


def _csv_lines(dialect: CsvDialect | None, indent: str) -> list[str]:
    if dialect is None:
        return []
    options = dialect.csv_options()
    why = "; ".join(dialect.notes)
    if not options:
        return [f"{indent}# csv_options: none needed ({why})"]
    return [f"{indent}csv_options: {_q(options)}  # {why}"]


def _roles(
    id_column: str | None, label: str | None, created: str | None, draft: Draft
) -> list[str]:
    lines = ["  columns:"]
    if id_column:
        lines.append(f"    lead_id: {_q(id_column)}  # unique in every row and named like an id")
    elif label is not None:
        lines.append("    # lead_id: none found, so each row's id will be its row number")
        draft.notes.append("no id column: leads are numbered by row (row-1, row-2, ...)")
    else:
        lines.append("    lead_id: TODO  # no unique id column found; temporal data needs one")
        draft.notes.append("no id column: temporal data needs one to join deals to leads")
    if label is not None:
        lines.append(f"    label: {_q(label)}  # converted or not: a yes/no column")
    if created:
        lines.append(f"    created_at: {_q(created)}  # when the lead came in: a date column")
    return lines


def _order_by(
    frame: pd.DataFrame,
    label: str,
    dates: list[str],
    guesses: dict[str, ColumnGuess],
    draft: Draft,
) -> tuple[list[str], str | None]:
    """The ``order_by`` line(s) and the column it takes: a date, else a number that counts
    the rows in order (a CRM's lead number), else ``row`` when the label rate moves along
    the rows."""
    if dates:
        return [f"order_by: {_q(dates[0])}  # a date column: validate out of time by it"], dates[0]
    for column, guess in guesses.items():
        evidence = sequence_evidence(frame[column]) if guess.kind == "numeric" else None
        if evidence and column != label:
            draft.notes.append(f"{column} {evidence}: order_by {column}")
            line = f"order_by: {_q(column)}  # it {evidence}: a CRM numbers leads as they come in"
            return [line], column
    positive = frame[label].astype("str").str.strip().str.lower().isin(BOOLEAN_TRUE | {"won"})
    trend = row_order_trend(positive.to_numpy())
    if trend:
        draft.notes.append(f"rows look ordered in time: {trend}")
        return [f"order_by: row  # rows look ordered in time: {trend}"], None
    return [
        "# order_by: row  # if the rows are in time order (no trend in the label rate found)"
    ], None


def _label_values(values: pd.Series) -> list[str]:
    seen = values.dropna().astype("str").str.strip().value_counts()
    shown = ", ".join(f"{value!r} ({count:,})" for value, count in seen.head(6).items())
    return [f"  # label values seen: {shown}; default lists label_positive/label_negative "
            "read yes/no, 1/0, true/false, won/lost"]  # fmt: skip


def _classify(
    frame: pd.DataFrame,
    guesses: dict[str, ColumnGuess],
    taken: set[str | None],
    label: str | None,
    draft: Draft,
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Attribute, exclude and post_outcome lines, and the missing tokens of the attributes."""
    converted = None
    if label is not None:
        text = frame[label].astype("str").str.strip().str.lower()
        converted = text.isin(BOOLEAN_TRUE | {"won", "converted"}).to_numpy()
    attributes, exclude, post, missing = [], [], [], []
    for column, guess in guesses.items():
        if column in taken:
            continue
        key = f"    - {_q(column)}  # "
        after = post_outcome_hint(column) or _only_converters(frame[column], guess, converted)
        if after:
            post.append(key + after)
        elif guess.unique and guess.kind in ("text", "numeric", "categorical"):
            exclude.append(key + "unique in every row: an identifier, not a trait")
        elif guess.kind != "boolean" and ID_NAME.search(words(column)):
            exclude.append(key + "named like an identifier: not a trait")
        elif guess.kind in ("text", "empty", "date"):
            exclude.append(key + {"text": f"free text ({guess.distinct:,} distinct values)",
                                  "empty": "empty in every row",
                                  "date": "a date: not a trait of the lead"}[guess.kind])  # fmt: skip
        elif guess.distinct <= 1:
            exclude.append(key + "the same value in every row: carries nothing")
        else:
            missing += [token for token in guess.missing_tokens if token not in missing]
            attributes.append(f"    {_q(column)}: {guess.kind}  # {_evidence(guess)}")
    if post:
        draft.notes.append(f"{len(post)} column(s) look filled in after the outcome: post_outcome")
    return attributes, exclude, post, missing


def _only_converters(values: pd.Series, guess: ColumnGuess, converted: np.ndarray | None) -> str:
    if converted is None or guess.kind in ("empty", "boolean"):
        return ""
    text = values.astype("str").str.strip()
    present = (values.notna() & (text != "") & ~text.isin(guess.missing_tokens)).to_numpy()
    pos, neg = present[converted].mean(), present[~converted].mean()
    if pos >= _AFTER_SHARE and neg <= _BEFORE_SHARE:
        return f"populated for {pos:.0%} of converters but {neg:.0%} of the others"
    return ""


def _evidence(guess: ColumnGuess) -> str:
    what = {"numeric": "numbers", "boolean": "yes/no values", "categorical": "categories"}
    parts = [f"{guess.distinct:,} distinct {what.get(guess.kind, 'values')}"]
    if not guess.missing:
        parts.append("none missing")
    else:
        parts.append(f"{guess.missing:.0%} missing" if guess.missing >= 0.005 else "<1% missing")
    return ", ".join(parts)


def _outcomes_lines(outcomes: Path | None, lead_id: str | None, draft: Draft) -> list[str]:
    if outcomes is None:
        draft.notes.append("no label column and no --outcomes: point `outcomes` at your deals")
        return ["# outcomes:  # TODO: the closed deals (lead_id, closed_at, won): pass --outcomes",
                "#   path: deals.csv"]  # fmt: skip
    frame, dialect = read_sample(Path(outcomes))
    guesses = {column: guess_column(frame[column]) for column in frame.columns}
    dates = [col for col, g in guesses.items() if g.kind == "date"]
    closed = next((col for col in dates if re.search(r"clos|won|win|end", words(col))), None)
    opened = next((col for col in dates if re.search(r"open|creat|start", words(col))), None)
    won = next((col for col, g in guesses.items() if g.kind == "boolean" and g.distinct == 2
                and re.search(r"won|win|success|result|outcome", words(col))), None)  # fmt: skip
    amount = next((col for col, g in guesses.items() if g.kind == "numeric"
                   and re.search(r"amount|revenue|value", words(col))), None)  # fmt: skip
    deal_id = (
        lead_id
        if lead_id in frame.columns
        else next((col for col, g in guesses.items() if g.id_like), "TODO")
    )
    lines = ["outcomes:", f"  path: {_q(Path(outcomes).name)}", *_csv_lines(dialect, "  "),
             "  columns:", f"    lead_id: {_q(deal_id)}  # the lead each deal belongs to",
             f"    closed_at: {_q(closed or 'TODO')}  # when the deal closed"]  # fmt: skip
    if opened:
        lines.append(f"    opened_at: {_q(opened)}  # when the opportunity opened")
    if amount:
        lines.append(f"    amount: {_q(amount)}  # the deal's value")
    if won:
        lines.append(f"    won: {_q(won)}  # won or lost")
    else:
        lines.append("  all_won: true  # no won/lost column: every row is a won deal")
    fmt = guesses[closed].date_format if closed else None
    if fmt and fmt != "ISO8601":
        lines.append(f"  timestamp_format: {_q(fmt)}  # how its dates are written")
    used = {deal_id, closed, opened, amount, won}
    unread = [col for col in frame.columns if col not in used]
    if unread:
        lines.append(f"  # not read: {unread} (fields of a deal exist only for deals: they "
                     "would give the outcome away)")  # fmt: skip
    lines += ["snapshots:", "  grid: at_creation  # no events table: one example per lead, "
              "labelled by a won deal within the horizon of its created_at",
              "  horizon_days: 90"]  # fmt: skip
    return lines
