"""Training options, separate from the dataset config (which describes data, not modelling).

Given as a YAML file (``leadscore train --training-config FILE``) or left at the defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    # A conservative default for small/medium tabular data: shallow trees, slow learning rate,
    # feature bagging and L2 so a few thousand rows do not overfit.
    "num_leaves": 15,
    "learning_rate": 0.04,
    "min_data_in_leaf": 30,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 3.0,
    "cat_smooth": 10.0,
    "min_data_per_group": 30,
    "max_cat_to_onehot": 4,
}


class TrainingConfig(BaseModel):
    """Every modelling knob of ``leadscore train``; defaults are sensible for B2B leads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Minimum data.
    min_train_rows: int = Field(200, ge=1)
    min_train_positives: int = Field(30, ge=1)
    min_holdout_positives: int = Field(10, ge=1)
    cold_start: Literal["points", "refuse"] = Field(
        "points",
        description="When the minimum-data check fails: points = register the transparent "
        "points model (rules with decay, see models.points) so there is something to serve "
        "until enough deals close; refuse = stop with the reason.",
    )
    # Leakage audit (training.leakage; README "Leakage audit" says why each value).
    leakage_auc: float = Field(0.95, gt=0.5, le=1.0)
    leakage_converter_share: float = Field(0.95, gt=0.0, le=1.0)
    leakage_non_converter_share: float = Field(0.05, ge=0.0, lt=1.0)
    too_good_auc: float = Field(
        0.90,
        gt=0.5,
        le=1.0,
        description="A validation/holdout ROC-AUC this high is too good to be true for lead "
        "scoring: warned about, and a feature that lifts the probe to it is suspect.",
    )
    leakage_error_ratio: float = Field(2.0, gt=1.0)
    leakage_min_drop_auc: float = Field(0.02, ge=0.0)
    leakage_rest_auc: float = Field(0.7, ge=0.5, le=1.0)
    leakage_candidates: int = Field(2, ge=0, description="Top SHAP features drop-tested a round.")
    leakage_screen_share: float = Field(0.15, ge=0.0, le=1.0)
    leakage_probe_rows: int = Field(200_000, ge=100)
    # Splits (fractions of labelled rows; out-of-time segments in this order).
    fractions: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.6, "valid": 0.15, "calibration": 0.1, "holdout": 0.15}
    )
    purge: Literal["all", "holdout"] = Field(
        "all",
        description="all: purge label windows between every out-of-time segment; holdout: only "
        "before the holdout (train/valid/calibration may overlap in label time, which only "
        "makes early stopping and calibration slightly optimistic; the holdout stays honest). "
        "For short histories where 3 purge gaps of one horizon eat the data (Olist).",
    )
    cv_folds: int = Field(5, ge=0, description="Static mode: k-fold CV ROC-AUC (0 = skip).")
    # LightGBM.
    lgbm_params: dict[str, Any] = Field(default_factory=lambda: dict(DEFAULT_LGBM_PARAMS))
    num_boost_round: int = Field(2000, ge=1)
    early_stopping_rounds: int = Field(100, ge=1)
    validation: Literal["rolling_origin", "valid_slice"] = Field(
        "rolling_origin",
        description="rolling_origin: choose the candidate parameters and the rounds on several "
        "later periods of train + valid (each trained on what closed before it), then fit on "
        "all of train + valid; valid_slice: early stopping on the valid slice (static tables "
        "without time have one fold either way). See training.recipe.",
    )
    rolling_folds: int = Field(3, ge=1, description="Rolling-origin validation periods.")
    candidate_params: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"num_leaves": 4, "learning_rate": 0.05}, {}],
        description="Overrides of lgbm_params tried by rolling-origin validation: shallow "
        "trees (near-additive, they transfer across periods) and the default shape.",
    )
    monotone: bool = Field(
        True,
        description="Monotone constraints where the direction is known: more buying intent "
        "never lowers the score, opt-outs never raise it (training.drift_guards).",
    )
    refit_with_valid: bool = Field(
        False,
        description="validation: valid_slice only (rolling_origin always fits on train + "
        "valid): after early stopping, refit on train + valid for the chosen number of "
        "rounds (more recent data; calibration and holdout stay untouched).",
    )
    # Fixed so trained bytes are reproducible. One thread by default: on a busy 2-core box
    # OpenMP spin-waiting made 2 threads 2-10x slower than 1 (measured); raise it on a
    # dedicated machine.
    num_threads: int = Field(1, ge=1, description="LightGBM threads (fixed for reproducibility).")
    # Calibration.
    calibration: Literal["isotonic", "platt", "auto"] = "auto"
    # Thresholds.
    target_precision: float | None = Field(None, gt=0.0, le=1.0)
    capacity_fraction: float | None = Field(0.1, gt=0.0, le=1.0)
    tier_cutoffs: dict[str, int] = Field(default_factory=lambda: {"A": 80, "B": 60, "C": 30})
    # Promotion.
    promote_metric: str = "roc_auc"
    tolerance: float = Field(0.005, ge=0.0)
    floors: dict[str, float] = Field(default_factory=lambda: {"roc_auc": 0.6})
    # Explanations.
    explain_k: int = Field(3, ge=0)

    @model_validator(mode="after")
    def _check(self) -> TrainingConfig:
        required = {"train", "valid", "calibration", "holdout"}
        if set(self.fractions) != required:
            raise ValueError(f"fractions: need exactly {sorted(required)}, got {self.fractions}")
        if (self.target_precision is None) == (self.capacity_fraction is None):
            raise ValueError("give exactly one of target_precision and capacity_fraction")
        cut = self.tier_cutoffs
        if set(cut) != {"A", "B", "C"} or not 99 >= cut["A"] > cut["B"] > cut["C"] >= 1:
            raise ValueError(f"tier_cutoffs: need 99 >= A > B > C >= 1, got {cut}")
        return self


def load_training_config(path: Path | None, **overrides: Any) -> TrainingConfig:
    """Read a training YAML (or use defaults) and apply CLI overrides."""
    import yaml

    data: dict[str, Any] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: training config must be a mapping, got {type(loaded)}")
        data.update(loaded)
    data.update({k: v for k, v in overrides.items() if v is not None})
    if "capacity_fraction" not in data and data.get("target_precision") is not None:
        data["capacity_fraction"] = None
    return TrainingConfig(**data)
