"""Sales-ready thresholds, percentile reference and calibration maps."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibrator import apply_calibrator
from training.fit_calibration import fit_calibrator
from training.thresholds import build_thresholds, reference_distribution, sales_ready_threshold
from training.training_config import TrainingConfig


def test_capacity_threshold_selects_that_share() -> None:
    p = np.linspace(0.0, 1.0, 1001)
    result = sales_ready_threshold(p, np.zeros_like(p), TrainingConfig(capacity_fraction=0.2))
    assert np.mean(p >= result["sales_ready"]) == pytest.approx(0.2, abs=0.002)


def test_target_precision_takes_the_most_leads_meeting_it() -> None:
    # Top 100 leads: 90 % converters; next 100: 50 %; rest: none.
    p = np.r_[np.full(100, 0.9), np.full(100, 0.5), np.full(800, 0.1)]
    y = np.r_[np.ones(90), np.zeros(10), np.ones(50), np.zeros(50), np.zeros(800)]
    config = TrainingConfig(target_precision=0.7, capacity_fraction=None)
    result = sales_ready_threshold(p, y, config)
    assert result["sales_ready"] == 0.5 and result["reached"]
    assert result["precision"] == pytest.approx(0.7)
    strict = TrainingConfig(target_precision=0.95, capacity_fraction=None)
    unreachable = sales_ready_threshold(p, y, strict)
    assert not unreachable["reached"] and unreachable["sales_ready"] == 0.9


def test_config_needs_exactly_one_rule_and_ordered_tiers() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TrainingConfig(target_precision=0.5, capacity_fraction=0.1)
    with pytest.raises(ValueError, match="tier_cutoffs"):
        TrainingConfig(tier_cutoffs={"A": 50, "B": 60, "C": 30})
    thresholds = build_thresholds(np.linspace(0, 1, 11), np.zeros(11), TrainingConfig())
    assert thresholds["tiers"] == {"A": 80, "B": 60, "C": 30}


def test_reference_is_sorted_quantiles() -> None:
    rng = np.random.default_rng(0)
    ref = np.asarray(reference_distribution(rng.random(5000)))
    assert ref.size == 1001 and np.all(np.diff(ref) >= 0)
    assert ref[500] == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_are_monotone_and_calibrated(method: str) -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=20000)
    true_p = 1 / (1 + np.exp(-(2 * raw - 1)))  # booster is over/under-confident by design
    y = (rng.random(raw.size) < true_p).astype(int)
    calibrator = fit_calibrator(raw, y, method)
    assert calibrator["method"] == method
    grid = np.linspace(-3, 3, 61)
    p = apply_calibrator(calibrator, grid)
    # Strictly increasing: isotonic steps keep the booster's ranking (ties broken by raw).
    assert np.all(np.diff(p) > 0)
    expected = 1 / (1 + np.exp(-(2 * grid - 1)))
    assert np.max(np.abs(p - expected)[10:-10]) < 0.06


def test_auto_calibration_prefers_platt_on_small_slices() -> None:
    rng = np.random.default_rng(2)
    raw = rng.normal(size=500)
    y = (rng.random(500) < 0.3).astype(int)
    assert fit_calibrator(raw, y, "auto")["method"] == "platt"
    with pytest.raises(ValueError, match="one label value"):
        fit_calibrator(raw, np.zeros(500), "auto")
