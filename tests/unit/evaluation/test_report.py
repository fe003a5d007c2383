"""HTML report and metrics JSON: the numbers shown are the numbers computed, and the page is
self-contained (no network references)."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from evaluation import plots
from evaluation.report import (
    evaluation_figures,
    evaluation_tables,
    metrics_json,
    render_report,
    write_metrics_json,
    write_report,
)
from evaluation.table_html import format_table


@pytest.fixture(scope="module")
def holdout() -> dict:
    rng = np.random.default_rng(np.random.SeedSequence(21))
    n = 3000
    truth = rng.beta(1, 9, n)
    y = (rng.random(n) < truth).astype(int)
    model = np.clip(truth + rng.normal(0, 0.03, n), 0, 1)
    scores = {"lightgbm": model, "oracle": truth, "points": truth * 100 + rng.normal(0, 5, n)}
    cut = np.quantile(model, [0.9, 0.7, 0.4])
    tiers = np.select([model >= cut[0], model >= cut[1], model >= cut[2]], ["A", "B", "C"], "D")
    frame = pd.DataFrame({"lead_source": rng.choice(np.array(["web", "partner", "event"]), n)})
    tables = evaluation_tables(
        y,
        scores,
        model="lightgbm",
        tiers={"lightgbm": tiers},
        amount=np.full(n, 1000.0),
        slice_frame=frame,
        slice_columns=["lead_source"],
    )
    lifecycle = {
        "stages": pd.DataFrame({"stage": ["nurture", "won"], "leads": [7, 3], "share": [0.7, 0.3]}),
        "funnel": pd.DataFrame(
            {
                "from": ["lead"],
                "to": ["sales_ready"],
                "entered": [10],
                "converted": [4],
                "conversion": [0.4],
                "loss_rate": [0.6],
                "median_days": [12.5],
            }
        ),
    }
    return {"y": y, "scores": scores, "tables": tables, "lifecycle": lifecycle}


@pytest.fixture(scope="module")
def page(holdout: dict) -> str:
    figures = evaluation_figures(
        holdout["y"], holdout["scores"], model="lightgbm", tiers_table=holdout["tables"]["tiers"]
    )
    shap = Figure(figsize=(2, 2))
    shap.add_subplot().plot([0, 1], [0, 1])
    return render_report(
        holdout["tables"],
        model_name="leadscore",
        model_version="v3",
        dataset="simulated <seed 21>",
        holdout="2025-01-01 to 2025-03-31",
        figures=figures,
        lifecycle=holdout["lifecycle"],
        shap_image=shap,
    )


def test_report_shows_the_computed_numbers(page: str, holdout: dict) -> None:
    tables = holdout["tables"]
    m = tables["metrics"]
    assert f"{m['roc_auc']:.3f}" in page and f"{m['brier']:.3f}" in page
    assert f"{tables['deciles']['lift'].iloc[0]:.2f}×" in page
    a = tables["tiers"].iloc[0]
    assert f"{100 * a['conversion']:.1f}% <span class=ci>[{100 * a['conversion_low']:.1f}%" in page
    assert f"{int(a['wins']) * 1000:,}" in page  # revenue won in tier A
    for row in tables["comparison"].itertuples():
        assert f"<td class=t>{row.model}</td><td>{row.roc_auc:.3f}</td>" in page
    for value in tables["slices"]["value"]:
        assert f">{value}<" in page
    assert "12.5" in page and "60.0%" in page  # lifecycle funnel
    assert "simulated &lt;seed 21&gt;" in page  # escaped, not injected
    assert "SHAP summary" in page


def test_report_is_self_contained(page: str) -> None:
    assert not re.search(r"https?://", page)
    sources = re.findall(r"src='([^']*)'", page)
    assert len(sources) == 7  # six plots + SHAP
    for src in sources:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    assert "<link" not in page and "<script" not in page


def test_report_rejects_linked_images(holdout: dict) -> None:
    with pytest.raises(ValueError, match="data URIs"):
        render_report(holdout["tables"], model_name="m", figures={"x": "http://x/y.png"})


def test_format_table_units() -> None:
    frame = pd.DataFrame(
        {"tier": ["A"], "leads": [12345], "conversion": [0.1234], "conversion_low": [0.1],
         "conversion_high": [0.15], "revenue_won": [1234567.8], "lift": [2.5], "min_score": [1.234e-4],
         "roc_auc": [np.nan]}
    )  # fmt: skip
    shown = format_table(frame).iloc[0].to_dict()
    assert shown == {
        "tier": "A",
        "leads": "12,345",
        "conversion": "12.3% <span class=ci>[10.0%–15.0%]</span>",
        "revenue_won": "1,234,568",
        "lift": "2.500",
        "min_score": "0.000123",
        "roc_auc": "–",
    }


def test_metrics_json_is_strict_json_and_matches_tables(holdout: dict, tmp_path) -> None:
    data = metrics_json(
        holdout["tables"],
        model_name="leadscore",
        model_version="v3",
        lifecycle=holdout["lifecycle"],
    )
    text = json.dumps(data, allow_nan=False)
    back = json.loads(text)
    assert back["headline"]["ROC-AUC"] == pytest.approx(holdout["tables"]["metrics"]["roc_auc"])
    assert back["tiers"][0]["tier"] == "A"
    assert back["comparison"][2]["brier"] is None  # raw points: NaN -> null
    assert back["lifecycle"]["funnel"][0]["median_days"] == 12.5
    path = write_metrics_json(data, tmp_path / "out" / "metrics.json")
    assert json.loads(path.read_text()) == back
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]  # no temp leftovers


def test_write_report_atomic_replace(tmp_path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    write_report("<html>new</html>", target)
    assert target.read_text() == "<html>new</html>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_calibration_figure_states_bin_counts() -> None:
    y = np.array([0, 1] * 50)
    p = np.linspace(0.01, 0.99, 100)
    fig = plots.calibration_figure(y, p, n_bins=5)
    assert "5 equal-mass bins, 20 leads each" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="not a PNG"):
        plots.png_to_data_uri(b"GIF89a")


def test_model_row_comes_first_and_unknown_model_is_named(holdout: dict) -> None:
    tables = evaluation_tables(holdout["y"], holdout["scores"], model="oracle")
    assert tables["comparison"]["model"].tolist() == ["oracle", "lightgbm", "points"]
    assert "tiers" not in tables and "slices" not in tables
    with pytest.raises(KeyError, match="xgboost"):
        evaluation_tables(holdout["y"], holdout["scores"], model="xgboost")
