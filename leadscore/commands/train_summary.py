"""What `leadscore train` tells a person (a short rich summary) or a machine (`--json`): the
data, the split and its label rates, the leakage audit, the holdout metrics beside the
baselines, warnings, the MLflow run and the next command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from features.ingest.dataset import Dataset
    from training.pipeline import TrainResult
    from training.tracking import LoggedRun


def training_summary(
    result: TrainResult,
    logged: LoggedRun,
    dataset: Dataset,
    *,
    tracking_uri: str,
    config_ref: str | None,
) -> dict[str, Any]:
    """The run as plain data (what ``--json`` prints); ``config_ref`` is the ``--dataset``
    given (None for the lead store)."""
    import pandas as pd

    from evaluation.validate import baseline_aucs, left_out_baselines

    split = result.training_set.split
    train = split.segments["train"]
    if result.model.metadata.get("refit_with_valid"):  # the baselines learn from the same rows
        train = pd.concat([train, split.segments["valid"]], ignore_index=True)
    features = list(result.model.features)
    kind = "static" if dataset.static else "temporal"
    holdout = result.holdout
    scorable = len(holdout) and holdout["label"].nunique() == 2  # a cold start may have neither
    next_command = (
        f"leadscore evaluate --dataset {config_ref}"
        if config_ref
        else f"leadscore promote --dataset {dataset.config.name}"
    )
    return {
        "model_kind": result.model.kind,
        "dataset": {
            "name": dataset.config.name,
            "mode": kind,
            "leads": len(dataset.leads),
            "attributes": len(dataset.attributes),
            "features": len(features),
            "generated_ids": dataset.config.generated_ids,
        },
        "split": {
            "kind": split.kind,
            "segments": {
                name: {"rows": len(frame), "label_rate": rate}
                for (name, frame), rate in zip(
                    split.segments.items(), split.label_rates().values(), strict=True
                )
            },
        },
        "leakage": result.leakage.records(),
        "excluded_features": result.leakage.excluded,
        "holdout_metrics": result.metrics,
        "cv_roc_auc": result.cv_auc,
        "baselines": baseline_aucs(train, holdout, features) if scorable else {},
        "baselines_left_out": left_out_baselines(features),
        "warnings": result.warnings,
        "thresholds": result.model.thresholds,
        "mlflow": {
            "tracking_uri": tracking_uri,
            "experiment_id": logged.experiment_id,
            "run_id": logged.run_id,
            "model_uri": logged.model_uri,
            "registered_model": logged.model_name,
            "registered_version": logged.version,
        },
        "next": next_command,
    }


def print_summary(summary: dict[str, Any], console: Console) -> None:
    """The summary for a person: the audit's table, then one line per topic."""
    leakage = summary["leakage"]
    if leakage:
        table = Table(title="Leakage audit: excluded (or kept on request)", title_justify="left")
        for column in ("feature", "why", "validation AUC with", "without"):
            table.add_column(column, justify="right" if "with" in column else "left")
        for row in leakage:
            shown = [
                f"{row[k]:.3f}" if row[k] is not None else "–" for k in ("auc_with", "auc_without")
            ]
            table.add_row(str(row["feature"]), str(row["reason"]), *shown)
        console.print(table)
    data, split, mlflow = summary["dataset"], summary["split"], summary["mlflow"]
    metrics = summary["holdout_metrics"]
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    ids = "; ids are row numbers (no id column)" if data["generated_ids"] else ""
    grid.add_row("data", f"{data['name']} ({data['mode']}): {data['leads']:,} leads, "
                 f"{data['features']} features{ids}")  # fmt: skip
    segments = " · ".join(
        f"{name} {s['rows']:,} ({s['label_rate']:.1%} converted)"
        for name, s in split["segments"].items()
    )
    grid.add_row("split", f"{split['kind']}: {segments}")
    if summary["model_kind"] == "points":
        grid.add_row("model", "[yellow]cold start: a transparent points model (rules, no training)")
    excluded = summary["excluded_features"]
    kept = [row["feature"] for row in leakage if str(row["reason"]).endswith("--allow-feature")]
    audit = f"{len(excluded)} feature(s) excluded: {', '.join(excluded)}" if excluded else ""
    audit = audit + "; keep one with --allow-feature NAME" if excluded else "no feature excluded"
    if kept:
        audit += f"; kept on request although flagged: {', '.join(kept)}"
    grid.add_row("audit", audit)
    holdout = "no holdout metrics (too few closed deals)"
    if "roc_auc" in metrics:
        holdout = f"ROC-AUC [bold]{metrics['roc_auc']:.3f}[/bold], PR-AUC {metrics['pr_auc']:.3f}"
    if summary["cv_roc_auc"]:
        holdout += (
            f" · random {len(summary['cv_roc_auc'])}-fold CV ROC-AUC {metrics['cv_roc_auc']:.3f}"
        )
    grid.add_row("holdout", holdout)
    beside = [f"{name} {auc:.3f}" for name, auc in summary["baselines"].items()]
    beside += [f"{name} left out: {why}" for name, why in summary["baselines_left_out"].items()]
    grid.add_row("baselines", " · ".join(beside))
    for warning in summary["warnings"]:
        grid.add_row("[yellow]warning[/yellow]", f"[yellow]{warning}[/yellow]")
    grid.add_row(
        "MLflow",
        f"run {mlflow['run_id']} (experiment {mlflow['experiment_id']}, {mlflow['tracking_uri']}); "
        f"registered {mlflow['registered_model']} v{mlflow['registered_version']} as challenger",
    )
    grid.add_row("next", summary["next"])
    console.print(grid)
