"""How a model was validated, for the top of the report: the split (out of time first, the
random cross-validation beside it), the label rate per segment, the warnings a reader must not
miss (a drifting label rate, a holdout AUC too good to be true), the leakage audit's table
and the baselines left out. Plain data in (the model's training metadata and the rebuilt
segments), plain data and HTML out."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaluation.table_html import html_table

_LEAKAGE_COLUMNS = {
    "feature": "feature",
    "reason": "why",
    "auc_with": "validation AUC with it",
    "auc_without": "without it",
    "auc": "its own AUC",
    "excluded": "excluded",
}


def validation_design(
    metadata: Mapping[str, Any],
    segments: Mapping[str, pd.DataFrame],
    *,
    split_kind: str,
    left_out: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The report's "Validation" block as plain data (see module docstring)."""
    rows = []
    for name, frame in segments.items():
        positives = int(frame["label"].sum()) if len(frame) else 0
        row = {"segment": name, "leads": len(frame), "wins": positives,
               "conversion": positives / len(frame) if len(frame) else float("nan")}  # fmt: skip
        if "as_of" in frame and frame["as_of"].notna().any():
            row["from"] = f"{frame['as_of'].min():%Y-%m-%d}"
        rows.append(row)
    metrics = metadata.get("holdout_metrics") or {}
    notes = [f"{name} is left out: {why}" for name, why in (left_out or {}).items()]
    if metadata.get("generated_ids"):
        notes.append("the export had no id column: each lead's id is its row number")
    return {
        "split": split_kind,
        "holdout_roc_auc": metrics.get("roc_auc"),
        "cv_roc_auc": metrics.get("cv_roc_auc"),
        "segments": pd.DataFrame(rows),
        "warnings": list(metadata.get("warnings") or []),
        "leakage": pd.DataFrame(metadata.get("leakage") or [], columns=list(_LEAKAGE_COLUMNS)),
        "notes": notes,
    }


def design_html(design: Mapping[str, Any]) -> str:
    """The block as HTML: warnings first (boxed), then the split and its numbers, the segments,
    the audit's table and the notes."""
    esc = html.escape
    parts = [
        f"<div class=warn><b>Warning:</b> {esc(warning)}</div>" for warning in design["warnings"]
    ]
    holdout, cv = design.get("holdout_roc_auc"), design.get("cv_roc_auc")
    numbers = (
        f"Split: {esc(design['split'])}. Holdout ROC-AUC <b>{holdout:.3f}</b>" if holdout else ""
    )
    if cv is not None:
        numbers += (
            f"; random 5-fold cross-validation {cv:.3f} (a random split mixes periods: when "
            "the rows are in time order it flatters the model)"
        )
    parts.append(f"<h2>Validation</h2><p class=note>{numbers}</p>")
    parts.append(html_table(design["segments"]))
    leakage = design["leakage"]
    parts.append(
        "<h2>Leakage audit</h2><p class=note>Features excluded (or kept on request) because they "
        "give the outcome away: alone, by their name, or because the model leans on them "
        "(validation AUC of a probe model with and without each); and the columns the dataset "
        "config declares post-outcome. <code>leadscore train --allow-feature NAME</code> keeps one.</p>"
    )
    if len(leakage):
        parts.append(
            f"<div class=wrap>{html_table(leakage.rename(columns=_LEAKAGE_COLUMNS))}</div>"
        )
    else:
        parts.append("<p class=note>Nothing flagged or declared.</p>")
    parts += [f"<p class=note>{esc(note[:1].upper() + note[1:])}.</p>" for note in design["notes"]]
    return "".join(parts)


def design_json(design: Mapping[str, Any]) -> dict[str, Any]:
    """The block for metrics.json (frames as records)."""
    return {
        key: value.to_dict(orient="records") if isinstance(value, pd.DataFrame) else value
        for key, value in design.items()
    }
