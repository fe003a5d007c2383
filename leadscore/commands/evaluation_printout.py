"""`leadscore evaluate`'s tables in the terminal: the model against the baselines, and the
rolling-origin backtest."""

from __future__ import annotations

from typing import Any

from rich.console import Console

console = Console(stderr=True)


def print_comparison(comparison: Any, version: str) -> None:
    from rich.table import Table

    table = Table(title=f"v{version} vs baselines on its holdout")
    columns = ["roc_auc", "pr_auc", "top_decile_lift", "top_tier_conversion", "brier"]
    table.add_column("model")
    for column in columns:
        table.add_column(column, justify="right")
    table.add_column("model's AUC gain [95% CI]", justify="right")
    for _, row in comparison.iterrows():
        cells = [
            "–" if row.get(col) is None or row.get(col) != row.get(col) else f"{row[col]:.3f}"
            for col in columns
        ]
        gain = row.get("reference_auc_gain")
        if gain is not None and gain == gain:
            cells.append(
                f"{gain:+.3f} [{row['reference_auc_gain_low']:+.3f}, "
                f"{row['reference_auc_gain_high']:+.3f}]"
            )
        else:
            cells.append("–")
        table.add_row(str(row["model"]), *cells)
    console.print(table)


def print_backtest(backtest: Any) -> None:
    """ROC-AUC per cut-off and model, and each model's mean over the cut-offs."""
    from rich.table import Table

    auc = backtest.pivot_table(index="cutoff", columns="model", values="roc_auc")
    wins = backtest.groupby("cutoff")["test_wins"].first()
    table = Table(title="ROC-AUC per cut-off (rolling origin)")
    table.add_column("cut-off")
    table.add_column("test wins", justify="right")
    for model in auc.columns:
        table.add_column(str(model), justify="right")
    for cutoff, row in auc.iterrows():
        table.add_row(f"{cutoff:%Y-%m-%d}", str(wins[cutoff]), *(f"{v:.3f}" for v in row))
    table.add_row("mean", "", *(f"{v:.3f}" for v in auc.mean()), style="bold")
    console.print(table)
