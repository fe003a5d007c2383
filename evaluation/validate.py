"""Validate a trained model against closed deals: the model, every baseline and (on simulated
data) the oracle, scored on the model's own out-of-time holdout, into one report.

Pure orchestration over the library: frames in, tables / figures / HTML / JSON out. The caller
(``leadscore evaluate``) rebuilds the exact training and holdout segments the model was
validated on and passes them here; this module never trains the model itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluation.baselines import (
    DefaultLightGBM,
    LogisticBaseline,
    NaiveBayesFrequency,
    RuleBasedPoints,
)
from evaluation.design import design_html, design_json
from evaluation.report import (
    evaluation_figures,
    evaluation_tables,
    jsonable,
    metrics_json,
    render_report,
)
from models.points import STATIC_NUMERIC_POINTS

MODEL = "leadscore (LightGBM)"
POINTS_MODEL = "leadscore (points model, cold start)"
DEFAULT_LIGHTGBM = "default LightGBM (LGBMClassifier())"
SLICE_COLUMNS = ("lead_source", "country", "company_size", "industry", "lead_origin")


@dataclass
class Evaluation:
    """Everything a validation run produces."""

    tables: dict[str, Any]
    figures: dict[str, str]
    html: str
    metrics: dict[str, Any]


POINTS = "rule-based points"


def left_out_baselines(features: list[str]) -> dict[str, str]:
    """Baselines that cannot apply to these features, with why: rule-based points give points
    for engagement (events, or a static table's visit counts); without any it would score
    every lead alike (ROC-AUC 0.5), which is no baseline to beat."""
    has_decay = any(name.startswith("decay_") for name in features)
    if has_decay or any(name in features for name in STATIC_NUMERIC_POINTS):
        return {}
    return {POINTS: "no engagement events or visit counts to give points for"}


def baseline_scores(
    train: pd.DataFrame, holdout: pd.DataFrame, features: list[str], label: str = "label"
) -> dict[str, np.ndarray]:
    """Fit each baseline that applies (:func:`left_out_baselines`) on the training segment
    (same features as the model) and return its P(win) on the holdout."""
    X_train, y_train = train[features], train[label].to_numpy()
    X_hold = holdout[features]
    baselines = {
        POINTS: RuleBasedPoints(),
        "logistic regression": LogisticBaseline(),
        "naive Bayes frequency": NaiveBayesFrequency(),
        DEFAULT_LIGHTGBM: DefaultLightGBM(),
    }
    for name in left_out_baselines(features):
        baselines.pop(name)
    return {
        name: est.fit(X_train, y_train).predict_proba(X_hold)[:, 1]
        for name, est in baselines.items()
    }


def baseline_aucs(
    train: pd.DataFrame, holdout: pd.DataFrame, features: list[str], label: str = "label"
) -> dict[str, float]:
    """Each applicable baseline's holdout ROC-AUC (fitted on ``train``), for a run summary."""
    from sklearn.metrics import roc_auc_score

    y = holdout[label].to_numpy()
    return {
        name: float(roc_auc_score(y, p))
        for name, p in baseline_scores(train, holdout, features, label).items()
    }


def shap_summary_figure(
    model: Any, holdout: pd.DataFrame, sample: int = 2000, seed: int = 0
) -> Any:
    """SHAP beeswarm of the model on (a sample of) the holdout, in log-odds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    rows = holdout.sample(min(sample, len(holdout)), random_state=seed)
    X = model.encode(rows)
    contribs = model.contributions(X)[:, :-1]
    shown = pd.DataFrame(X, columns=model.features)
    plt.close("all")
    shap.summary_plot(contribs, shown, show=False, max_display=15, plot_size=(8, 6))
    figure = plt.gcf()
    figure.suptitle("What drives the score (SHAP, log-odds; colour = feature value)")
    return figure


def evaluate_model(
    model: Any,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    *,
    model_version: str,
    dataset_name: str,
    oracle: np.ndarray | None = None,
    amount: np.ndarray | None = None,
    lifecycle: Mapping[str, pd.DataFrame] | None = None,
    explain: bool = True,
    backtests: Mapping[str, tuple[str, pd.DataFrame]] | None = None,
    design: Mapping[str, Any] | None = None,
    model_name: str = "leadscore",
    links: Mapping[str, str] | None = None,
) -> Evaluation:
    """Score the holdout with the model and every baseline; build tables, plots and report
    (``design``: how the model was validated, from :func:`evaluation.design.validation_design`)."""
    y = holdout["label"].to_numpy()
    scored = model.score_features(holdout, explain_k=1)
    name = model_row_name(model)
    scores = {name: scored["probability"].to_numpy()}
    scores.update(baseline_scores(train, holdout, baseline_features(model, train)))
    if oracle is not None:
        scores["oracle (true propensity)"] = oracle
    slices = [column for column in SLICE_COLUMNS if column in holdout.columns]
    model_tiers = scored["tier"].to_numpy()
    tiers = {name: same_sized_tiers(p, model_tiers) for name, p in scores.items()}
    tiers[name] = model_tiers
    tables = evaluation_tables(
        y, scores, model=name, tiers=tiers, amount=amount,
        slice_frame=holdout if slices else None, slice_columns=slices,
    )  # fmt: skip
    figures = evaluation_figures(y, scores, model=name, tiers_table=tables.get("tiers"))
    if "as_of" in holdout.columns and holdout["as_of"].notna().any():
        period = f"{holdout['as_of'].min():%Y-%m-%d} .. {holdout['as_of'].max():%Y-%m-%d}"
    else:
        period = f"{design['split']} holdout" if design else "stratified random holdout"
    holdout_label = f"{period}, {len(holdout):,} snapshots"
    shap_image = shap_summary_figure(model, holdout) if explain else None
    title = f"{model_name} points model (cold start)" if name == POINTS_MODEL else model_name
    html = render_report(
        tables, model_name=title, model_version=f"v{model_version}", dataset=dataset_name,
        holdout=holdout_label, figures=figures, lifecycle=lifecycle, shap_image=shap_image,
        extra_sections=backtests, design=design_html(design) if design else "", links=links,
    )  # fmt: skip
    metrics = metrics_json(
        {**tables, **{title: frame for title, (_, frame) in (backtests or {}).items()}},
        model_name=title, model_version=model_version, dataset=dataset_name,
        holdout=holdout_label, lifecycle=lifecycle,
    )  # fmt: skip
    if design:
        metrics["validation"] = jsonable(design_json(design))
    return Evaluation(tables, figures, html, metrics)


def model_row_name(model: Any) -> str:
    """The model's row in the report: a cold-start points model says so."""
    return POINTS_MODEL if getattr(model, "is_points_model", False) else MODEL


def baseline_features(model: Any, train: pd.DataFrame) -> list[str]:
    """The columns the baselines learn from: the model's features, or for a points model
    (which reads only its rules' columns) every spec feature in the table."""
    if getattr(model, "is_points_model", False):
        return [name for name in model.spec.names if name in train.columns]
    return list(model.features)


def same_sized_tiers(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Tiers for another scorer holding as many leads per tier as the model's tiers, so tier
    conversion rates compare rankings at equal lead shares (ties broken by position)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    labels = np.empty(len(order), dtype=object)
    start = 0
    for tier in ("A", "B", "C", "D"):
        count = int((reference == tier).sum())
        labels[order[start : start + count]] = tier
        start += count
    return labels


def won_amount_in_window(
    holdout: pd.DataFrame, outcomes: pd.DataFrame, horizon_days: int
) -> np.ndarray:
    """Revenue of the won deals that make each snapshot's label: closed in
    (as_of, as_of + horizon]."""
    won = outcomes.loc[outcomes["won"].astype(bool), ["lead_id", "closed_at", "amount"]]
    keys = holdout[["lead_id", "as_of"]].reset_index(names="row")
    joined = keys.merge(won, on="lead_id", how="inner")
    horizon = pd.Timedelta(days=horizon_days)
    inside = (joined["closed_at"] > joined["as_of"]) & (
        joined["closed_at"] <= joined["as_of"] + horizon
    )
    per_row = joined.loc[inside].groupby("row")["amount"].sum(min_count=1)
    out = np.zeros(len(holdout))
    out[per_row.index.to_numpy()] = np.nan_to_num(per_row.to_numpy(dtype=float))
    return out
