"""Leakage audit: leaks are excluded with the reason, honest strong features are kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.spec import FeatureParams, build_feature_spec
from training.leakage import audit_leakage
from training.training_config import TrainingConfig

SPEC = build_feature_spec(
    [
        ("visits", "numeric", "Visits"),
        ("tag", "categorical", "Tag"),
        ("score_after_sale", "numeric", "Score"),
        ("sales_note", "categorical", "Note"),
        ("region", "categorical", "Region"),
    ],
    static=True,
    params=FeatureParams(),
)


def _frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(np.int8)
    visits = rng.normal(size=n) + 1.3 * y  # strong but honest: AUC ~0.82
    # Sales-filled tag: blank for 40 %, nearly deterministic where filled (like X Education).
    tag = np.where(y == 1, "closed", "lost").astype(object)
    flip = rng.random(n) < 0.03
    tag[flip] = np.where(y[flip] == 1, "lost", "closed")
    tag[rng.random(n) < 0.4] = None
    # Populated (non-zero) only for converters.
    after_sale = np.where(y == 1, rng.uniform(1, 5, n), 0.0)
    note = np.where((y == 1) & (rng.random(n) < 0.97), "called back", None)
    region = rng.choice(np.array(["north", "south", None], dtype=object), n)
    return pd.DataFrame(
        {
            "label": y,
            "visits": visits,
            "tag": pd.Series(tag, dtype="str"),
            "score_after_sale": after_sale,
            "sales_note": pd.Series(note, dtype="str"),
            "region": pd.Series(region, dtype="str"),
        }
    )


def test_leaks_are_excluded_and_honest_features_kept() -> None:
    report = audit_leakage(_frame(), SPEC, TrainingConfig(), seed=1, post_outcome=["Lead Grade"])
    assert sorted(report.excluded) == ["sales_note", "score_after_sale", "tag"]
    found = {f.feature: f for f in report.findings}
    assert 0.75 < found["visits"].auc < 0.9 and not found["visits"].excluded
    assert not found["region"].excluded and found["region"].auc < 0.56
    # The tag is hidden by its blanks overall but separates perfectly where populated.
    assert found["tag"].auc < 0.95 <= found["tag"].auc_populated
    assert "where it is populated" in found["tag"].reason
    assert "populated for" in found["sales_note"].reason
    table = report.table()
    assert set(table["feature"]) == {"sales_note", "score_after_sale", "tag", "Lead Grade"}
    assert table.loc[table.feature == "Lead Grade", "reason"].item().startswith("declared")


def test_allow_feature_overrides_and_unknown_names_are_refused() -> None:
    report = audit_leakage(_frame(), SPEC, TrainingConfig(), seed=1, allow=["tag"])
    assert "tag" not in report.excluded
    assert "kept: --allow-feature" in {f.feature: f for f in report.findings}["tag"].reason
    with pytest.raises(ValueError, match="not_a_feature"):
        audit_leakage(_frame(), SPEC, TrainingConfig(), seed=1, allow=["not_a_feature"])


def test_single_class_training_slice_is_an_error() -> None:
    frame = _frame()
    frame["label"] = 0
    with pytest.raises(ValueError, match="one label value"):
        audit_leakage(frame, SPEC, TrainingConfig(), seed=1)
