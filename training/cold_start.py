"""Cold start: the transparent points model registered while the data cannot support a trained
one (the minimum-data check fails), so the service has something sensible to serve from day
one. Nothing is learnt but the two numbers of the points-to-probability curve, on the rows
before the holdout; the next training run that passes the checks replaces it through the
normal promotion gate (it must beat the points on its own holdout)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.ingest import contracts as c
from models.bundle import LeadScoreModel
from models.calibrator import apply_calibrator
from models.encoding import encode_frame, fit_categories
from models.points import (
    default_rules,
    fit_points_curve,
    points_by_rule,
    points_contributions,
)
from training.holdout_metrics import holdout_metrics
from training.thresholds import build_thresholds, reference_distribution
from training.training_config import TrainingConfig
from training.training_set import TrainingSet

POINTS_KIND = "points"


def build_points_model(
    training_set: TrainingSet, config: TrainingConfig, reason: str
) -> tuple[LeadScoreModel, dict[str, float]]:
    """The points model for this data, and its holdout metrics (empty when the holdout lacks
    wins or losses). ``reason`` (why no trained model) is kept in its metadata."""
    spec = training_set.spec
    holdout = training_set.segment("holdout")
    before = [training_set.segment(n) for n in ("train", "valid", "calibration")]
    known = pd.concat([s for s in before if len(s)] or [training_set.table.head(0)])
    reference = known if len(known) else training_set.table
    rules = default_rules(spec.names)
    features = [name for name in rules.features if name in spec.names]
    if not features:
        raise ValueError(
            "cold start: no points rule applies to this data (no decayed event counts, no "
            "scored attribute): add events or declare attributes such as seniority"
        )
    categorical = [name for name in spec.categorical if name in features]
    categories = fit_categories(reference, categorical)
    by_rule = points_by_rule(
        rules, features, encode_frame(reference, features, categories), categories
    )
    y = known[c.LABEL].to_numpy() if len(known) else None
    curve = fit_points_curve(by_rule.sum(axis=1), y)
    mean_points = by_rule.mean(axis=0)
    calibrator = {"method": "none"}  # the curve already gives log-odds
    raw = points_contributions(by_rule, curve, mean_points).sum(axis=1)
    probability = apply_calibrator(calibrator, raw)
    labels = reference[c.LABEL].to_numpy()
    model = LeadScoreModel(
        spec=spec,
        features=features,
        categories=categories,
        booster_text="",
        calibrator=calibrator,
        reference=reference_distribution(probability),
        thresholds=build_thresholds(probability, labels, config),
        metadata={
            "explain_k": config.explain_k,
            "model_kind": POINTS_KIND,
            "cold_start_reason": reason,
        },
        points={
            "rules": rules.to_dict(),
            "curve": curve,
            "mean_points": mean_points.tolist(),
        },
    )
    metrics: dict[str, float] = {}
    if len(holdout) and np.ptp(holdout[c.LABEL].to_numpy()) > 0:
        metrics = holdout_metrics(holdout[c.LABEL].to_numpy(), model.predict_proba(holdout))
    return model, metrics
