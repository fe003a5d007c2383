"""Self-contained HTML validation report and the matching metrics JSON.

Both take plain data (dicts, DataFrames, data URIs) rather than model objects, so the CLI wiring
stays thin and the rendering is testable without a model. ``evaluation_tables`` computes every
table from labels and scores in one call; ``render_report`` turns them into one HTML page with
inline CSS and images as data URIs (no network requests, so it opens offline and from MLflow).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from common.files import write_text_atomically
from evaluation import plots
from evaluation.comparison import compare_models
from evaluation.lift import decile_table
from evaluation.metrics import classification_metrics
from evaluation.slices import slice_metrics
from evaluation.table_html import DASH, html_table
from evaluation.tiers import tier_table, top_tier_summary


def evaluation_tables(
    y: Any,
    scores: Mapping[str, Any],
    *,
    model: str,
    tiers: Mapping[str, Any] | None = None,
    amount: Any | None = None,
    slice_frame: pd.DataFrame | None = None,
    slice_columns: Sequence[str] = (),
) -> dict[str, Any]:
    """Every report table for the holdout: ``scores[model]`` is the model, the rest are
    baselines (and the oracle). ``tiers`` maps model names to tier labels on the same rows."""
    if model not in scores:
        raise KeyError(f"model {model!r} not among scores {list(scores)}")
    p = scores[model]
    ordered = {model: p, **{k: v for k, v in scores.items() if k != model}}  # model row first
    tables: dict[str, Any] = {
        "metrics": classification_metrics(y, p),
        "comparison": compare_models(y, ordered, tiers, reference=model),
        "deciles": decile_table(y, p),
    }
    if tiers is not None and model in tiers:
        tiers_table = tier_table(tiers[model], y, amount)
        tables["tiers"] = tiers_table
        tables["top_tiers"] = top_tier_summary(tiers_table)
    if slice_frame is not None and slice_columns:
        tables["slices"] = slice_metrics(slice_frame, y, p, slice_columns)
    return tables


def evaluation_figures(
    y: Any, scores: Mapping[str, Any], *, model: str, tiers_table: pd.DataFrame | None = None
) -> dict[str, str]:
    """The standard plots as data URIs, keyed by a caption."""
    y_arr = np.asarray(y)
    figures = {
        "ROC": plots.roc_figure(y_arr, scores),
        "Precision-recall": plots.pr_figure(y_arr, scores),
        "Cumulative gains": plots.gains_figure(y_arr, scores),
        "Calibration": plots.calibration_figure(y_arr, scores[model], name=model),
        "Lift by decile": plots.lift_figure(decile_table(y_arr, scores[model])),
    }
    if tiers_table is not None:
        figures["Conversion by tier"] = plots.tier_figure(tiers_table)
    return {caption: plots.figure_to_data_uri(fig) for caption, fig in figures.items()}


def _as_uri(image: str | bytes | Figure) -> str:
    if isinstance(image, Figure):
        return plots.figure_to_data_uri(image)
    if isinstance(image, bytes):
        return plots.png_to_data_uri(image)
    if not image.startswith("data:image/"):
        raise ValueError("report images must be data URIs, PNG bytes or Figures (no links)")
    return image


def headline(tables: Mapping[str, Any]) -> dict[str, float]:
    """The six numbers a reader looks at first."""
    m = tables["metrics"]
    top = tables.get("top_tiers") or []
    return {
        "ROC-AUC": m["roc_auc"],
        "PR-AUC": m["pr_auc"],
        "Brier": m["brier"],
        "ECE": m["ece"],
        "Top-decile lift": float(tables["deciles"]["lift"].iloc[0]),
        "A-tier conversion": top[0]["conversion"] if top else float("nan"),
    }


REPORT_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;
 margin:0;background:#f4f6f9}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
header{background:#1f3b5c;color:#fff;padding:20px 28px}
header h1{margin:0 0 4px;font-size:22px}
header .meta{opacity:.85;font-size:13px}
header .meta span{margin-right:18px}
h2{font-size:17px;margin:30px 0 6px;border-bottom:2px solid #d5dde7;padding-bottom:4px}
p.note{color:#5a6776;margin:2px 0 10px;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;margin-top:18px}
.card{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 3px #0002}
.card .label{font-size:12px;color:#5a6776;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin-top:2px}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px #0002;font-size:13px;
 margin:6px 0 4px;font-variant-numeric:tabular-nums}
th{background:#e9eef4;text-align:right;padding:6px 10px;font-weight:600;white-space:nowrap}
td{padding:5px 10px;text-align:right;border-top:1px solid #edf0f4;white-space:nowrap}
th:first-child,td:first-child,td.t,th.t{text-align:left}
tr.hl td{font-weight:600;background:#f2f7ff}
tr.small td{color:#8a95a3}
.ci{color:#7a8694;font-size:12px}
.grid{display:grid;grid-template-columns:repeat(3,1fr);gap:14px}
.two{display:grid;grid-template-columns:auto auto;gap:24px;justify-content:start}
figure{margin:0;background:#fff;border-radius:8px;padding:8px;box-shadow:0 1px 3px #0002}
figure img{width:100%;height:auto;display:block}
figcaption{font-size:12px;color:#5a6776;padding:4px 2px 0}
.warn{background:#fff4d6;border-left:4px solid #e0a400;padding:8px 12px;margin:14px 0 0}
.wrap td{white-space:normal}
.wrap td:nth-child(2){text-align:left;min-width:420px}
"""


def render_report(
    tables: Mapping[str, Any],
    *,
    model_name: str,
    model_version: str = "",
    dataset: str = "",
    holdout: str = "",
    figures: Mapping[str, str | bytes | Figure] | None = None,
    lifecycle: Mapping[str, pd.DataFrame] | None = None,
    shap_image: str | bytes | Figure | None = None,
    extra_sections: Mapping[str, tuple[str, pd.DataFrame]] | None = None,
    design: str = "",
    links: Mapping[str, str] | None = None,
) -> str:
    """The report as one HTML string: header, headline cards, how it was validated
    (``design``: HTML from ``evaluation.design``), model vs baselines, lift/gains, tiers,
    slices, lifecycle and plots. ``tables`` is what ``evaluation_tables`` returns;
    ``extra_sections`` maps a title to (note, table), e.g. the backtests; ``links`` maps a
    description to the relative path of a companion page (e.g. the marketing report)."""
    m = tables["metrics"]
    esc = html.escape
    meta = [
        ("Model", f"{model_name} {model_version}".strip()),
        ("Dataset", dataset),
        ("Holdout", holdout),
        ("Leads", f"{m['n']:,}"),
        ("Wins", f"{m['n_pos']:,} ({100 * m['base_rate']:.1f}%)"),
    ]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>Lead scoring report — {esc(model_name)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<header><h1>Lead scoring validation — {esc(model_name)}</h1><div class=meta>",
        "".join(f"<span><b>{k}:</b> {esc(v)}</span>" for k, v in meta if v),
        "</div></header><main><div class=cards>",
    ]
    for label, value in headline(tables).items():
        if isinstance(value, float) and math.isnan(value):
            shown = DASH
        elif label == "A-tier conversion":
            shown = f"{100 * value:.1f}%"
        elif label == "Top-decile lift":
            shown = f"{value:.2f}×"
        else:
            shown = f"{value:.3f}"
        parts.append(
            f"<div class=card><div class=label>{label}</div><div class=value>{shown}</div></div>"
        )
    parts.append("</div>")
    parts.append(design)
    for label, href in (links or {}).items():
        parts.append(f"<p class=note>→ <a href='{esc(href)}'>{esc(label)}</a></p>")

    def section(title: str, note: str, body: str) -> None:
        parts.append(f"<h2>{esc(title)}</h2><p class=note>{esc(note)}</p>{body}")

    section(
        "Model vs baselines",
        "Same holdout rows for every model. Lift = conversion in the top 10% of scores over the "
        "overall rate. Brier / log loss / ECE only for probability scores. The ROC-AUC gain is "
        "the model's minus that row's, with a paired bootstrap interval: an interval that "
        "contains 0 means this holdout cannot tell the two apart.",
        html_table(tables["comparison"], highlight_first=True),
    )
    if "tiers" in tables:
        top = pd.DataFrame(tables.get("top_tiers") or [])
        body = f"<div class=two><div>{html_table(tables['tiers'])}</div>"
        body += f"<div>{html_table(top)}</div></div>" if len(top) else "</div>"
        section(
            "Tiers",
            "Conversion with 95% Wilson interval; recall = share of all wins in those tiers.",
            body,
        )
    figs = {k: _as_uri(v) for k, v in (figures or {}).items()}
    if shap_image is not None:
        figs["SHAP summary (beeswarm)"] = _as_uri(shap_image)
    if figs:
        cells = "".join(
            f"<figure><img alt='{esc(k)}' title='{esc(k)}' src='{v}'></figure>"
            for k, v in figs.items()
        )
        section("Plots", "Model in bold; baselines dashed.", f"<div class=grid>{cells}</div>")
    section(
        "Lift and gains by decile",
        "Decile 1 = highest scores. Cum. % of wins = share of all wins captured down to that decile.",
        html_table(tables["deciles"]),
    )
    if "slices" in tables:
        section(
            "Slices",
            "Grey rows are small slices (few leads or too few wins/losses for an AUC): read them "
            "with their interval.",
            html_table(tables["slices"]),
        )
    if lifecycle is not None:
        body = f"<div class=two><div>{html_table(lifecycle['stages'])}</div>"
        body += f"<div>{html_table(lifecycle['funnel'])}</div></div>"
        section(
            "Lifecycle",
            "Leads per current stage, and for each funnel step how many moved on, the loss rate "
            "and the median days it took.",
            body,
        )
    for title, (note, frame) in (extra_sections or {}).items():
        section(title, note, html_table(frame))
    parts.append("</main></body></html>")
    return "".join(parts)


def jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.astype(object).to_dict(orient="records")]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def metrics_json(
    tables: Mapping[str, Any],
    *,
    model_name: str,
    model_version: str = "",
    dataset: str = "",
    holdout: str = "",
    lifecycle: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """The report's numbers as a JSON-serialisable dict (NaN -> null), for MLflow and CI."""
    out = {
        "model": {"name": model_name, "version": model_version},
        "dataset": dataset,
        "holdout": holdout,
        "headline": headline(tables),
        **{k: v for k, v in tables.items()},
    }
    if lifecycle is not None:
        out["lifecycle"] = dict(lifecycle)
    result = jsonable(out)
    json.dumps(result, allow_nan=False)  # fail here, not in the caller, if anything slipped
    return result


def write_report(html_text: str, path: str | Path) -> Path:
    """Write the HTML report atomically."""
    return write_text_atomically(html_text, path)


def write_metrics_json(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write the metrics JSON atomically."""
    return write_text_atomically(json.dumps(data, indent=2, allow_nan=False), path)
