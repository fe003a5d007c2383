"""Backtests: how the ranking holds up over time, and how the scores that were served fared.

- :func:`rolling_origin_backtest`: several cut-offs; at each, fit on snapshots whose label
  window closed before the cut-off (``as_of + horizon <= cutoff``), test on the snapshots of
  the next period. Models are fitted by a caller-supplied function (evaluation never imports
  training: data flows training -> models -> evaluation).
- :func:`served_score_backtest`: the score log (what the service actually answered) joined
  with deals that closed later: the real-world check of the ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from evaluation.lift import top_decile_lift
from evaluation.metrics import classification_metrics
from evaluation.report import evaluation_tables

FitPredict = Callable[[pd.DataFrame, pd.DataFrame], Mapping[str, np.ndarray]]


def rolling_origin_backtest(
    table: pd.DataFrame,
    horizon_days: int,
    fit_predict: FitPredict,
    *,
    n_cutoffs: int = 4,
    label: str = "label",
) -> pd.DataFrame:
    """Metrics per (cut-off, model). Cut-offs are the start dates of the last ``n_cutoffs``
    equal periods of the as_of dates; each test period runs to the next cut-off (the last to
    the end). Training rows never have a label window crossing their cut-off."""
    as_of = pd.to_datetime(table["as_of"], utc=True)
    dates = np.sort(as_of.unique())
    if dates.size < n_cutoffs + 2:
        raise ValueError(
            f"rolling-origin backtest: {dates.size} as_of dates are too few for {n_cutoffs} "
            "cut-offs"
        )
    positions = np.linspace(dates.size // 2, dates.size, n_cutoffs + 1).astype(int)[:-1]
    cutoffs = [pd.Timestamp(dates[i]) for i in positions]
    horizon = pd.Timedelta(days=horizon_days)
    rows = []
    for k, cutoff in enumerate(cutoffs):
        end = cutoffs[k + 1] if k + 1 < len(cutoffs) else as_of.max() + pd.Timedelta(seconds=1)
        train = table[(as_of + horizon <= cutoff).to_numpy()]
        test = table[((as_of >= cutoff) & (as_of < end)).to_numpy()]
        y = test[label].to_numpy()
        if len(train) == 0 or train[label].nunique() < 2 or np.ptp(y) == 0:
            continue
        for name, p in fit_predict(train, test).items():
            m = classification_metrics(y, p)
            rows.append(
                {
                    "cutoff": cutoff, "model": name, "train_rows": len(train),
                    "test_rows": len(test), "test_wins": int(y.sum()), "roc_auc": m["roc_auc"],
                    "pr_auc": m["pr_auc"], "top_decile_lift": top_decile_lift(y, p),
                }
            )  # fmt: skip
    if not rows:
        raise ValueError("rolling-origin backtest: no cut-off had both classes to test on")
    return pd.DataFrame(rows)


def label_served_scores(
    log: pd.DataFrame, outcomes: pd.DataFrame, horizon_days: int, observed_until: Any
) -> pd.DataFrame:
    """Each served score whose window (as_of, as_of + horizon] is fully observed, with
    ``label`` = a won deal closed in it and ``amount`` = that revenue."""
    horizon = pd.Timedelta(days=horizon_days)
    observed_until = pd.Timestamp(observed_until)
    scored = log[log["as_of"] + horizon <= observed_until].reset_index(drop=True)
    won = outcomes.loc[outcomes["won"].astype(bool), ["lead_id", "closed_at", "amount"]]
    joined = scored[["lead_id", "as_of"]].reset_index(names="row").merge(won, on="lead_id")
    inside = (joined["closed_at"] > joined["as_of"]) & (
        joined["closed_at"] <= joined["as_of"] + horizon
    )
    hits = joined.loc[inside].groupby("row")["amount"].agg(["size", "sum"])
    scored["label"] = 0
    scored.loc[hits.index, "label"] = 1
    scored["amount"] = 0.0
    scored.loc[hits.index, "amount"] = hits["sum"].fillna(0.0).to_numpy()
    return scored


def served_score_backtest(
    log: pd.DataFrame, outcomes: pd.DataFrame, horizon_days: int, observed_until: Any
) -> dict[str, Any]:
    """The report tables for the scores that were live, judged by the deals that closed."""
    labelled = label_served_scores(log, outcomes, horizon_days, observed_until)
    if labelled.empty or labelled["label"].nunique() < 2:
        raise ValueError(
            f"served-score backtest: {len(labelled)} served scores with a fully observed "
            f"{horizon_days}-day window, {int(labelled['label'].sum()) if len(labelled) else 0} "
            "of them won: need both wins and losses"
        )
    name = "served scores"
    tables = evaluation_tables(
        labelled["label"].to_numpy(), {name: labelled["probability"].to_numpy()}, model=name,
        tiers={name: labelled["tier"].to_numpy()}, amount=labelled["amount"].to_numpy(),
    )  # fmt: skip
    tables["by_model_version"] = (
        labelled.groupby("model_version")
        .agg(
            scores=("label", "size"),
            wins=("label", "sum"),
            mean_probability=("probability", "mean"),
        )
        .reset_index()
    )
    return tables
