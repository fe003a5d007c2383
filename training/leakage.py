"""Leakage audit: features that give the label away are excluded before training, and the run
says which, why, and what the model's validation AUC is with and without each.

Four checks, in both temporal and static mode (thresholds in ``TrainingConfig``; how each
value was chosen: benchmarks/README.md, "Leakage audit"):

- **alone** (training slice, ``training.leakage_stats``): a single-feature ROC-AUC of at least
  ``leakage_auc`` on all rows or where the feature is populated, or populated for at least
  ``leakage_converter_share`` of converters but at most ``leakage_non_converter_share`` of the
  others (the signature of fields filled in after the sale).
- **by name** (``features.ingest.post_outcome_names``): an attribute whose column name says it
  is written after the outcome (status, stage, tags, reason, duration, last activity, ...).
- **the model leans on it** (validation slice, ``training.model_dependence``): a probe booster
  is fitted on the remaining features; its top ``leakage_candidates`` features holding at least
  ``leakage_screen_share`` of the SHAP mass are each dropped and the probe refitted (a feature
  with less cannot be what the model rests on). A feature is flagged when dropping it
  multiplies the mis-ranked (converter, other) pairs (1 - AUC) by at least
  ``leakage_error_ratio`` (and costs at least ``leakage_min_drop_auc``), and either the model
  with it is too good to be true (``too_good_auc``) or the others carry signal of their own
  (``leakage_rest_auc`` without it: with little beside it, a lone honest feature such as
  Olist's origin makes all the difference too). After a round that flags something the probe
  is refitted without it, so a second leak the first one hid is found too. A large share of
  the SHAP mass alone is not a flag: the stronger of two honest features carries most of it.

What this cannot see: a leak no stronger than an honest strong feature. A column derived from
the simulator's outcome with enough noise to add what X Education's time on site adds (+0.06
validation AUC) leans on the model exactly as much; only its name or a declaration catches it.

Flagged features are excluded unless allowed (``--allow-feature``); the dataset config's
``post_outcome`` columns never enter and are listed alongside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from features.ingest.post_outcome_names import post_outcome_hint
from features.spec import FeatureSpec
from training.leakage_stats import fold_numbers, single_feature_stats
from training.model_dependence import ProbeFit, Prober
from training.training_config import TrainingConfig

_ROUNDS = 3  # probe rounds at most (each after one that flagged something)
_PROBE_LEARNING_RATE = 0.1  # probes compare feature sets: a faster rate ranks them the same
_PROBE_EARLY_STOPPING = 30
KEPT = "kept: --allow-feature"
DECLARED = "declared post-outcome in the dataset config"


@dataclass(frozen=True)
class LeakageFinding:
    """One audited feature: its statistics and whether (and why) it was excluded.
    ``auc_with`` / ``auc_without`` are probe AUCs on the validation slice (NaN: not probed)."""

    feature: str
    auc: float
    auc_populated: float
    converter_share: float
    non_converter_share: float
    excluded: bool
    reason: str
    shap_share: float = float("nan")
    auc_with: float = float("nan")
    auc_without: float = float("nan")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LeakageReport:
    """Findings for every feature, the post-outcome columns the config declared, and overrides."""

    findings: tuple[LeakageFinding, ...]
    post_outcome: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()
    probe_auc: float = float("nan")  # validation AUC of the probe on the features kept

    @property
    def excluded(self) -> list[str]:
        return [f.feature for f in self.findings if f.excluded]

    def records(self, *, every_feature: bool = False) -> list[dict[str, object]]:
        """The table (or every finding) as JSON-ready rows (NaN -> None), for the model's
        metadata and the run."""
        table = self.table()
        if every_feature:
            table = pd.DataFrame([f.to_dict() for f in self.findings], columns=table.columns)
        table = table.astype(object)
        return table.where(table.notna(), None).to_dict(orient="records")

    def table(self) -> pd.DataFrame:
        """Flagged features plus declared post-outcome columns, for printing and logging."""
        rows = [f.to_dict() for f in self.findings if f.excluded or f.reason]
        rows += [
            asdict(LeakageFinding(name, *[np.nan] * 4, True, DECLARED))
            for name in self.post_outcome
        ]
        return pd.DataFrame(rows, columns=list(LeakageFinding.__dataclass_fields__))


def audit_leakage(
    train: pd.DataFrame,
    spec: FeatureSpec,
    config: TrainingConfig,
    seed: int,
    *,
    valid: pd.DataFrame | None = None,
    label: str = "label",
    allow: Iterable[str] = (),
    post_outcome: Iterable[str] = (),
) -> LeakageReport:
    """Audit every spec feature (see module docstring); without ``valid`` (or with a
    validation slice of one class) only the single-feature and name checks run."""
    allow = tuple(allow)
    unknown = sorted(set(allow) - set(spec.names))
    if unknown:
        raise ValueError(f"--allow-feature: not features of this dataset: {unknown}")
    y = train[label].to_numpy().astype(np.int8)
    if y.min() == y.max():
        raise ValueError("leakage audit: the training slice has only one label value")
    folds = fold_numbers(len(y), seed)
    findings = {}
    for feature in spec.features:
        stats = single_feature_stats(feature, train[feature.name], y, folds)
        reasons = []
        if stats.auc >= config.leakage_auc:
            reasons.append(f"alone it separates the label: ROC-AUC {stats.auc:.3f}")
        elif stats.auc_populated >= config.leakage_auc:
            reasons.append(
                f"alone it separates the label where populated ({stats.populated:.0%} of "
                f"rows): ROC-AUC {stats.auc_populated:.3f}"
            )
        if (
            stats.converter_share >= config.leakage_converter_share
            and stats.non_converter_share <= config.leakage_non_converter_share
        ):
            reasons.append(
                f"populated for {stats.converter_share:.0%} of converters but "
                f"{stats.non_converter_share:.0%} of others"
            )
        hint = post_outcome_hint(feature.label) if feature.family == "attribute" else None
        if hint:
            reasons.append(hint)
        findings[feature.name] = LeakageFinding(
            feature.name, round(stats.auc, 6), round(stats.auc_populated, 6),
            round(stats.converter_share, 6), round(stats.non_converter_share, 6),
            excluded=False, reason="; ".join(reasons),
        )  # fmt: skip
    probe_auc = float("nan")
    if valid is not None and valid[label].nunique() == 2:
        prober = Prober.sampled(
            train, valid, max_rows=config.leakage_probe_rows, seed=seed,
            categorical=spec.categorical,
            params={**config.lgbm_params, "learning_rate": _PROBE_LEARNING_RATE},
            num_threads=config.num_threads, num_boost_round=config.num_boost_round,
            early_stopping_rounds=_PROBE_EARLY_STOPPING, label=label,
        )  # fmt: skip
        probe_auc = _probe_dependence(prober, spec.names, findings, config, allow)
    out = []
    for finding in findings.values():
        flagged = bool(finding.reason)
        kept = flagged and finding.feature in allow
        reason = f"{finding.reason}; {KEPT}" if kept else finding.reason
        out.append(replace(finding, excluded=flagged and not kept, reason=reason))
    return LeakageReport(tuple(out), tuple(post_outcome), allow, probe_auc)


def _probe_dependence(
    prober: Prober,
    names: list[str],
    findings: dict[str, LeakageFinding],
    config: TrainingConfig,
    allow: tuple[str, ...],
) -> float:
    """Run the model-dependence rounds, updating ``findings`` in place; returns the probe's
    validation AUC on the features finally kept."""
    fits: dict[frozenset[str], ProbeFit] = {}

    def fit(features: list[str]) -> ProbeFit:
        key = frozenset(features)
        if key not in fits:
            fits[key] = prober.fit(features)
        return fits[key]

    flagged_alone = [n for n in names if findings[n].reason and n not in allow]
    kept = [n for n in names if n not in flagged_alone]
    base = fit(kept)
    for name in flagged_alone:  # what the model would have gained from them
        with_it = fit([n for n in names if n in kept or n == name])
        share = with_it.shap_share[name]
        why = dependence_reason(with_it.auc, base.auc, config)
        findings[name] = replace(
            findings[name], shap_share=round(share, 6),
            auc_with=round(with_it.auc, 6), auc_without=round(base.auc, 6),
            reason="; ".join(filter(None, [findings[name].reason, why])),
        )  # fmt: skip
    tested: set[str] = set()
    for _ in range(_ROUNDS):
        ranked = sorted(base.shap_share.items(), key=lambda item: -item[1])
        removed = []
        candidates = [(n, s) for n, s in ranked if s >= config.leakage_screen_share]
        for name, share in candidates[: config.leakage_candidates]:
            without = fit([n for n in kept if n != name])
            why = dependence_reason(base.auc, without.auc, config)
            if name not in tested or why:
                findings[name] = replace(
                    findings[name], shap_share=round(share, 6),
                    auc_with=round(base.auc, 6), auc_without=round(without.auc, 6),
                )  # fmt: skip
            tested.add(name)
            reason = findings[name].reason
            if why and why not in reason:  # an allowed feature is tested again next round
                findings[name] = replace(
                    findings[name], reason="; ".join(filter(None, [reason, why]))
                )
            if why and name not in allow:
                removed.append(name)
        if not removed:
            break
        kept = [n for n in kept if n not in removed]
        base = fit(kept)
    return base.auc


def dependence_reason(auc_with: float, auc_without: float, config: TrainingConfig) -> str:
    """Why the model's dependence on one feature looks like a leak ('' when it does not)."""
    errors_with, errors_without = 1.0 - auc_with, 1.0 - auc_without
    ratio = errors_without / errors_with if errors_with > 0 else float("inf")
    if ratio < config.leakage_error_ratio or auc_with - auc_without < config.leakage_min_drop_auc:
        return ""
    numbers = (
        f"validation AUC {auc_with:.3f} with it, {auc_without:.3f} without: it removes "
        f"{1 - 1 / ratio:.0%} of the mis-ranked (converter, other) pairs"
    )
    if auc_with >= config.too_good_auc:
        return f"the model leans on it: {numbers}, and with it the model is too good to be true"
    if auc_without >= config.leakage_rest_auc:
        return f"the model leans on it far more than on the others: {numbers} they leave"
    return ""
