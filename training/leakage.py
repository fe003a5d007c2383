"""Leakage audit: features that alone give the label away are excluded before training.

Two tests per feature, on the training slice only:

- **single-feature ROC-AUC** ``>= leakage_auc``, on all rows and on the rows where the
  feature is populated (a sales-filled field is often blank for half the leads, which hides
  how perfectly it separates where it is filled in: X Education's ``Tags`` scores 0.92 on all
  rows but 0.97 where populated, while the strongest honest feature scores 0.80). Numeric: the
  raw values (missing ranked as their own lowest value), AUC folded to ``max(auc, 1 - auc)``
  so inverted leaks count too. Categorical: out-of-fold target-rate encoding (missing is a
  category on all rows), so a high-cardinality column cannot score by memorising its rows.
- **populated only for converters**: non-missing (numeric: also non-zero) for at least
  ``leakage_converter_share`` of converters but at most ``leakage_non_converter_share`` of the
  others — the signature of fields filled in after the sale.

Genuinely strong pre-outcome features (time on site, demo requests) sit well below 0.95 AUC and
are populated for non-converters too, so the thresholds separate them from sales-filled fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from features.spec import FeatureSpec
from training.training_config import TrainingConfig

_FOLDS = 5
_PRIOR_WEIGHT = 20.0  # smoothing of target-rate encoding towards the overall rate
_MIN_POPULATED_PER_CLASS = 30  # populated-only AUC needs this many rows of each class


@dataclass(frozen=True)
class LeakageFinding:
    """One audited feature: its statistics and whether (and why) it was excluded."""

    feature: str
    auc: float
    auc_populated: float
    converter_share: float
    non_converter_share: float
    excluded: bool
    reason: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LeakageReport:
    """Findings for every feature, the post-outcome columns the config declared, and overrides."""

    findings: tuple[LeakageFinding, ...]
    post_outcome: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @property
    def excluded(self) -> list[str]:
        return [f.feature for f in self.findings if f.excluded]

    def table(self) -> pd.DataFrame:
        """Flagged features plus declared post-outcome columns, for printing and logging."""
        rows = [f.to_dict() for f in self.findings if f.excluded or f.reason]
        rows += [
            {"feature": name, "auc": np.nan, "auc_populated": np.nan, "converter_share": np.nan,
             "non_converter_share": np.nan, "excluded": True,
             "reason": "declared post-outcome in the dataset config"}
            for name in self.post_outcome
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=list(LeakageFinding.__dataclass_fields__))


def audit_leakage(
    train: pd.DataFrame,
    spec: FeatureSpec,
    config: TrainingConfig,
    seed: int,
    *,
    label: str = "label",
    allow: Iterable[str] = (),
    post_outcome: Iterable[str] = (),
) -> LeakageReport:
    """Audit every spec feature on the training slice (see module docstring)."""
    allow = tuple(allow)
    unknown = sorted(set(allow) - set(spec.names))
    if unknown:
        raise ValueError(f"--allow-feature: not features of this dataset: {unknown}")
    y = train[label].to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise ValueError("leakage audit: the training slice has only one label value")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    folds = rng.integers(0, _FOLDS, size=len(y))
    findings = []
    for feature in spec.features:
        values = train[feature.name]
        if feature.kind == "categorical":
            score = _oof_target_rate(values, y, folds)
            populated = values.notna().to_numpy()
            # Missing is its own category above; among populated rows re-encode without it.
            score_pop = _oof_target_rate(values[populated], y[populated], folds[populated])
        else:
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            missing = np.isnan(numbers)
            floor = np.nanmin(numbers) - 1.0 if (~missing).any() else 0.0
            score = np.where(missing, floor, numbers)
            populated = ~missing & (numbers != 0)
            score_pop = numbers[populated]
        auc = _folded_auc(y, score)
        y_pop = y[populated]
        enough = min(int(y_pop.sum()), int((1 - y_pop).sum())) >= _MIN_POPULATED_PER_CLASS
        auc_pop = _folded_auc(y_pop, score_pop) if enough else 0.5
        pos_share = float(populated[y == 1].mean())
        neg_share = float(populated[y == 0].mean())
        reasons = []
        if auc >= config.leakage_auc:
            reasons.append(f"single-feature ROC-AUC {auc:.3f} >= {config.leakage_auc}")
        elif auc_pop >= config.leakage_auc:
            reasons.append(
                f"single-feature ROC-AUC {auc_pop:.3f} >= {config.leakage_auc} on the "
                f"{populated.mean():.0%} of rows where it is populated"
            )
        if (
            pos_share >= config.leakage_converter_share
            and neg_share <= config.leakage_non_converter_share
        ):
            reasons.append(
                f"populated for {pos_share:.0%} of converters but {neg_share:.0%} of others"
            )
        overridden = bool(reasons) and feature.name in allow
        if overridden:
            reasons.append("kept: --allow-feature")
        findings.append(
            LeakageFinding(
                feature=feature.name,
                auc=round(auc, 6),
                auc_populated=round(auc_pop, 6),
                converter_share=round(pos_share, 6),
                non_converter_share=round(neg_share, 6),
                excluded=bool(reasons) and not overridden,
                reason="; ".join(reasons),
            )
        )
    return LeakageReport(tuple(findings), tuple(post_outcome), allow)


def _folded_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC folded to >= 0.5 (an inverted leak is still a leak); 0.5 when undefined."""
    if len(y) == 0 or y.min() == y.max() or np.ptp(score) == 0:
        return 0.5
    auc = float(roc_auc_score(y, score))
    return max(auc, 1.0 - auc)


def _oof_target_rate(values: pd.Series, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Out-of-fold smoothed conversion rate of each row's category (missing = a category)."""
    codes, _ = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=False)
    n_codes = int(codes.max()) + 1 if len(codes) else 0
    prior = float(y.mean())
    encoded = np.empty(len(y), dtype=np.float64)
    for fold in range(_FOLDS):
        inside = folds == fold
        fit = ~inside
        count = np.bincount(codes[fit], minlength=n_codes)
        wins = np.bincount(codes[fit], weights=y[fit], minlength=n_codes)
        rate = (wins + _PRIOR_WEIGHT * prior) / (count + _PRIOR_WEIGHT)
        encoded[inside] = rate[codes[inside]]
    return encoded
