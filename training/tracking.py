"""Recording a training run in MLflow: config, fingerprint, git revision, params, metrics,
plots, leakage report, holdout table and the pyfunc model with signature and input example."""

from __future__ import annotations

import subprocess
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from features.ingest.contracts import AS_OF
from features.ingest.dataset import Dataset
from models.model_names import version_tags
from models.pyfunc import BUNDLE_ARTIFACT, LeadScorePyfunc, leads_to_frame, scores_to_frame
from models.registry import HOLDOUT_ARTIFACT, client_for, register_challenger
from models.schema import EventIn, LeadIn, OutcomeIn
from training.pipeline import TrainResult

EXAMPLE_LEADS = 3


@dataclass(frozen=True)
class LoggedRun:
    """Where the run and the model ended up."""

    run_id: str
    model_uri: str
    version: str
    model_name: str = ""
    experiment_id: str = ""


def configure_experiment(tracking_uri: str, artifact_root: Path, name: str) -> str:
    """Experiment id for ``name``; created with ``artifact_root`` as its artifact location
    when the store is a local SQLite file (so artifacts do not land in the working dir)."""
    client = client_for(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if tracking_uri.startswith("sqlite:"):
        location = Path(artifact_root).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


def git_revision(folder: Path | None = None) -> str:
    """HEAD commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def example_leads(
    dataset: Dataset, frame: pd.DataFrame, n: int = EXAMPLE_LEADS, max_events: int | None = None
) -> list[LeadIn]:
    """The first ``n`` rows of a feature frame as API leads (attributes, events up to as_of,
    earlier deals, the account roll-up the batch engine computed). ``max_events`` keeps only
    the latest events (input examples stay small; scores then differ from the batch row)."""
    colleagues = [name for name in frame.columns if name.startswith("account_engaged_colleagues_")]
    leads = dataset.leads.set_index(c.LEAD_ID)
    out = []
    for row in frame.head(n).itertuples(index=False):
        lead_id = getattr(row, c.LEAD_ID)
        as_of = getattr(row, AS_OF)
        as_of = None if pd.isna(as_of) else as_of.to_pydatetime()
        record = leads.loc[lead_id]
        attributes = {a.name: _plain(record[a.name]) for a in dataset.attributes}
        events = dataset.events[dataset.events[c.LEAD_ID] == lead_id]
        deals = dataset.outcomes[dataset.outcomes[c.LEAD_ID] == lead_id]
        still_open = dataset.open_deals[dataset.open_deals[c.LEAD_ID] == lead_id]
        if as_of is not None:
            events = events[events[c.OCCURRED_AT] <= as_of]
            # The CRM at as_of: deals closed by then, and the ones open then (end unknown yet).
            open_then = deals[(deals[c.OPENED_AT] <= as_of) & (deals[c.CLOSED_AT] > as_of)]
            deals = deals[deals[c.CLOSED_AT] <= as_of]
            still_open = pd.concat(
                [still_open[still_open[c.OPENED_AT] <= as_of], open_then[still_open.columns]]
            )
        if max_events is not None:
            events = events.sort_values(c.OCCURRED_AT).tail(max_events)
        created = record[c.CREATED_AT] if c.CREATED_AT in record.index else None
        count = getattr(row, colleagues[0]) if colleagues else None
        count = None if count is None or pd.isna(count) else int(count)
        out.append(
            LeadIn(
                lead_id=str(lead_id),
                as_of=as_of,
                created_at=None if created is None or pd.isna(created) else created,
                attributes=attributes,
                events=[
                    EventIn(event_type=t, occurred_at=o)
                    for t, o in zip(events[c.EVENT_TYPE], events[c.OCCURRED_AT], strict=True)
                ],
                outcomes=[
                    *(
                        OutcomeIn(closed_at=t, won=bool(w), opened_at=None if pd.isna(o) else o)
                        for t, w, o in zip(
                            deals[c.CLOSED_AT], deals[c.WON], deals[c.OPENED_AT], strict=True
                        )
                    ),
                    *(OutcomeIn(opened_at=o) for o in still_open[c.OPENED_AT]),
                ],
                account_engaged_colleagues_30d=count,
            )
        )
    return out


def model_signature(result: TrainResult, example: pd.DataFrame, output: pd.DataFrame) -> Any:
    """Explicit input schema (attributes optional, typed by the spec) + inferred output."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    spec = result.model.spec
    columns = [
        ColSpec("string", "lead_id"),
        ColSpec("string", "as_of", required=False),
        ColSpec("string", "created_at", required=False),
    ]
    for feature in spec.of_family("attribute"):
        kind = "string" if feature.kind == "categorical" else "double"
        columns.append(ColSpec(kind, feature.name, required=False))
    columns += [
        ColSpec("string", "events", required=False),
        ColSpec("string", "outcomes", required=False),
        ColSpec("double", "account_engaged_colleagues_30d", required=False),
    ]
    params = ParamSchema([ParamSpec("explain_k", "long", 3)])
    with warnings.catch_warnings():
        # The integer `score` column is never missing: MLflow's hint about NaN ints is moot.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        outputs = infer_signature(example, output).outputs
    return ModelSignature(inputs=Schema(columns), outputs=outputs, params=params)


def log_training_run(
    result: TrainResult,
    dataset: Dataset,
    *,
    tracking_uri: str,
    artifact_root: Path,
    model_name: str,
    resolved_config: Mapping[str, Any],
    register: bool = True,
) -> LoggedRun:
    """Log everything about ``result`` in one MLflow run; register the model as challenger."""
    import mlflow

    experiment_id = configure_experiment(tracking_uri, artifact_root, model_name)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    model = result.model
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.set_tags(
            {
                "dataset": dataset.config.name,
                "dataset_fingerprint": result.fingerprint,
                "git_revision": git_revision(),
                "holdout_keys_sha256": model.metadata["holdout_keys_sha256"],
            }
        )
        mlflow.log_params(_flat_params(result))
        mlflow.log_metrics({f"holdout_{k}": v for k, v in result.metrics.items()})
        for fold, auc in enumerate(result.cv_auc):
            mlflow.log_metric("cv_fold_roc_auc", auc, step=fold)
        mlflow.log_dict(dict(resolved_config), "config/resolved.json")
        mlflow.log_dict(result.leakage.records(), "leakage/report.json")
        mlflow.log_dict(result.leakage.records(every_feature=True), "leakage/all_features.json")
        mlflow.log_text(result.training_set.split.summary(), "data/split.txt")
        if result.tuning:
            mlflow.log_dict(result.tuning, "tuning/trials.json")
        _log_plots(result)
        with tempfile.TemporaryDirectory() as tmp:
            holdout_path = Path(tmp) / "holdout.parquet"
            plain = result.holdout.copy()
            plain.attrs = {}
            plain.to_parquet(holdout_path, index=False)
            mlflow.log_artifact(str(holdout_path), Path(HOLDOUT_ARTIFACT).parent.as_posix())
            bundle_dir = model.save(Path(tmp) / "bundle")
            leads = example_leads(dataset, result.example_rows, max_events=20)
            attributes = [f.name for f in model.spec.of_family("attribute")]
            example = leads_to_frame(leads, attributes)
            output = scores_to_frame(model.score_leads(leads, model.metadata.get("explain_k", 3)))
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=LeadScorePyfunc(),
                artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
                signature=model_signature(result, example, output),
                input_example=example,
            )
        version = ""
        if register:
            client = client_for(tracking_uri)
            version = register_challenger(
                client, model_name, info.model_uri, run.info.run_id, _promotable(result.metrics),
                version_tags(dataset.config.name, list(model.features)),
            )  # fmt: skip
    return LoggedRun(run.info.run_id, info.model_uri, version, model_name, experiment_id)


def _promotable(metrics: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k not in {"rows", "base_rate"}}


def _flat_params(result: TrainResult) -> dict[str, Any]:
    fitted = result.fitted
    params: dict[str, Any] = {"model_kind": result.model.kind}
    if fitted is not None:
        params.update({f"lgbm_{k}": v for k, v in fitted.params.items()})
        params["best_iteration"] = fitted.best_iteration
    else:
        params["cold_start_reason"] = result.model.metadata.get("cold_start_reason", "")[:500]
    params.update(
        {
            "engine": result.model.metadata.get("engine", "local"),
            "n_features": len(result.model.features),
            "excluded_features": ",".join(result.leakage.excluded) or "-",
            "calibration": result.model.calibrator["method"],
            "sales_ready_threshold": result.model.thresholds["sales_ready"],
            "sales_ready_rule": result.model.thresholds["rule"],
        }
    )
    return params


def _log_plots(result: TrainResult) -> None:
    """ROC, PR, calibration and SHAP summary plots of the holdout."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    model = result.model
    holdout = result.holdout
    y = holdout[c.LABEL].to_numpy()
    if not result.metrics:  # no holdout with wins and losses (cold start): nothing to plot
        return
    p = model.predict_proba(holdout)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    fpr, tpr, _ = roc_curve(y, p)
    axes[0].plot(fpr, tpr, label=f"AUC {result.metrics['roc_auc']:.3f}")
    axes[0].plot([0, 1], [0, 1], "k--", lw=0.8)
    axes[0].set(title="ROC (holdout)", xlabel="false positive rate", ylabel="true positive rate")
    precision, recall, _ = precision_recall_curve(y, p)
    axes[1].plot(recall, precision, label=f"AP {result.metrics['pr_auc']:.3f}")
    axes[1].axhline(y.mean(), color="k", ls="--", lw=0.8)
    axes[1].set(title="Precision-recall (holdout)", xlabel="recall", ylabel="precision")
    observed, predicted = calibration_curve(y, p, n_bins=10, strategy="quantile")
    axes[2].plot(predicted, observed, "o-")
    axes[2].plot([0, 1], [0, 1], "k--", lw=0.8)
    axes[2].set(title="Calibration (holdout)", xlabel="predicted", ylabel="observed")
    for ax in axes[:2]:
        ax.legend(loc="lower right")
    fig.tight_layout()
    mlflow.log_figure(fig, "plots/holdout_curves.png")
    plt.close(fig)

    import shap

    sample = holdout.head(2000)
    X = model.encode(sample)
    contribs = model.contributions(X)
    seed = result.fitted.params["seed"] if result.fitted is not None else 0
    # The plot's jitter from the run's one seed (shap's default reseeded NumPy's global RNG).
    shap.summary_plot(
        contribs[:, :-1], X, feature_names=model.features, show=False, max_display=20,
        rng=np.random.default_rng(seed),
    )  # fmt: skip
    fig = plt.gcf()
    mlflow.log_figure(fig, "plots/shap_summary.png")
    plt.close(fig)


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value
