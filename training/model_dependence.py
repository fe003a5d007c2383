"""How much a model leans on each feature, measured on the validation slice: the evidence of
the leakage audit's model-dependence check (``training.leakage``).

A leak rarely separates the label alone (a call's duration scored 0.81 on its own in a
telemarketing export) but the model built around it does (0.79 -> 0.94). So the audit fits a
*probe*: the training booster's own parameters on the training slice, early-stopped on the
validation slice, and measures on the validation slice

- each feature's **share of the SHAP mass** (mean |TreeSHAP contribution|, LightGBM's exact
  ``pred_contrib``, over the sum for all features), and
- the **drop-column AUC**: the validation ROC-AUC of the probe refitted without the feature.

The probe is fitted on at most ``max_rows`` training rows (a seeded sample), so the audit costs
a few small fits even on millions of snapshots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from models.encoding import encode_frame
from training.lightgbm_model import fit_booster

_SHAP_ROWS = 20_000  # validation rows whose contributions are summed (a seeded sample)


@dataclass(frozen=True)
class ProbeFit:
    """A probe booster's validation ROC-AUC and each feature's share of its SHAP mass."""

    features: tuple[str, ...]
    auc: float
    shap_share: dict[str, float]


@dataclass(frozen=True)
class Prober:
    """Fits probes on one training/validation pair with one set of booster settings."""

    train: pd.DataFrame
    valid: pd.DataFrame
    categorical: Sequence[str]
    params: Mapping[str, Any]
    seed: int
    num_threads: int
    num_boost_round: int
    early_stopping_rounds: int
    label: str = "label"

    @classmethod
    def sampled(
        cls, train: pd.DataFrame, valid: pd.DataFrame, *, max_rows: int, seed: int, **settings: Any
    ) -> Prober:
        """A prober on at most ``max_rows`` training rows (seeded sample, order kept)."""
        if len(train) > max_rows:
            rng = np.random.default_rng(np.random.SeedSequence(seed))
            keep = np.sort(rng.choice(len(train), size=max_rows, replace=False))
            train = train.iloc[keep].reset_index(drop=True)
        return cls(train, valid, seed=seed, **settings)

    def fit(self, features: Sequence[str]) -> ProbeFit:
        """Fit on ``features``; the validation AUC and SHAP shares of the result."""
        features = list(features)
        if not features:
            return ProbeFit((), 0.5, {})
        fitted = fit_booster(
            self.train, self.valid, features, self.categorical, self.params,
            seed=self.seed, num_threads=self.num_threads,
            num_boost_round=self.num_boost_round,
            early_stopping_rounds=self.early_stopping_rounds, label=self.label,
        )  # fmt: skip
        X = encode_frame(self.valid, fitted.features, fitted.categories)
        raw = fitted.booster.predict(X, raw_score=True, num_threads=self.num_threads)
        y = self.valid[self.label].to_numpy()
        auc = float(roc_auc_score(y, raw)) if y.min() != y.max() else 0.5
        return ProbeFit(tuple(features), auc, self._shap_share(fitted, X))

    def _shap_share(self, fitted: Any, X: np.ndarray) -> dict[str, float]:
        if len(X) > _SHAP_ROWS:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, 1]))
            X = X[np.sort(rng.choice(len(X), size=_SHAP_ROWS, replace=False))]
        contrib = np.asarray(
            fitted.booster.predict(X, pred_contrib=True, num_threads=self.num_threads)
        )[:, :-1]  # the last column is the expected value
        mass = np.abs(contrib).mean(axis=0)
        total = float(mass.sum())
        shares = mass / total if total > 0 else np.zeros_like(mass)
        return {name: float(share) for name, share in zip(fitted.features, shares, strict=True)}
