"""Metrics, lift, tiers and slices: checked against values known by construction or by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.lift import decile_table, gains_curve, top_decile_lift
from evaluation.metrics import (
    bootstrap_ci,
    classification_metrics,
    expected_calibration_error,
    wilson_interval,
)
from evaluation.slices import slice_metrics
from evaluation.tiers import tier_table, top_tier_summary


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed))


def _calibrated(n: int = 50_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng(seed)
    p = rng.beta(1, 8, n)
    return (rng.random(n) < p).astype(int), p


def test_perfect_ranking_metrics() -> None:
    y = np.array([0] * 90 + [1] * 10)
    p = np.linspace(0, 1, 100)
    m = classification_metrics(y, p)
    assert m["roc_auc"] == 1.0
    assert m["pr_auc"] == pytest.approx(1.0)
    assert (m["n"], m["n_pos"], m["base_rate"]) == (100, 10, 0.1)


def test_brier_and_log_loss_hand_computed() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.8, 0.2, 0.6, 0.4])
    m = classification_metrics(y, p)
    assert m["brier"] == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)
    assert m["log_loss"] == pytest.approx(-(2 * np.log(0.8) + 2 * np.log(0.6)) / 4)


def test_ece_near_zero_when_calibrated_and_large_when_shifted() -> None:
    y, p = _calibrated()
    assert expected_calibration_error(y, p) < 0.005
    shifted = np.clip(p + 0.1, 0, 1)
    assert expected_calibration_error(y, shifted) == pytest.approx(0.1, abs=0.01)


def test_ece_uses_equal_mass_bins() -> None:
    # Two bins of two rows each: |0.1-0| and |0.9-1| -> ECE 0.1, whatever the widths.
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.1, 0.9, 0.9])
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)


def test_probability_metrics_nan_for_raw_scores_and_auc_nan_for_one_class() -> None:
    m = classification_metrics([0, 1, 1], [-3.0, 10.0, 50.0])
    assert m["roc_auc"] == 1.0
    assert np.isnan(m["brier"]) and np.isnan(m["log_loss"]) and np.isnan(m["ece"])
    assert np.isnan(classification_metrics([0, 0], [0.1, 0.2])["roc_auc"])


def test_bad_inputs_are_named() -> None:
    with pytest.raises(ValueError, match=r"labels must be 0/1.*rows \[1\]"):
        classification_metrics([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="differ in length"):
        classification_metrics([0, 1], [0.1])
    with pytest.raises(ValueError, match=r"finite.*rows \[0\]"):
        classification_metrics([0, 1], [np.nan, 0.2])


def test_wilson_matches_known_values() -> None:
    # Reference values (Wilson 1927; e.g. statsmodels proportion_confint(method="wilson")).
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    low, high = wilson_interval(np.array([1, 0]), np.array([4, 0]))
    assert low[0] == pytest.approx(0.0456, abs=1e-4) and high[0] == pytest.approx(0.6994, abs=1e-4)
    assert np.isnan(low[1]) and np.isnan(high[1])


def test_bootstrap_ci_brackets_auc_and_is_seeded() -> None:
    y, p = _calibrated(2000, seed=3)
    auc = classification_metrics(y, p)["roc_auc"]
    low, high = bootstrap_ci(y, p, "roc_auc", n_boot=100, seed=1)
    assert low < auc < high and high - low < 0.2
    assert bootstrap_ci(y, p, "roc_auc", n_boot=100, seed=1) == (low, high)


def test_decile_lift_of_perfect_ranking() -> None:
    # Base rate 5%: all 50 wins land in the top decile (100 leads) -> lift 0.5 / 0.05 = 10,
    # capped by the decile size at 1 / 0.1 rather than 1 / base_rate = 20.
    y = np.array([1] * 50 + [0] * 950)
    p = np.linspace(1, 0, 1000)
    table = decile_table(y, p)
    assert table["lift"].iloc[0] == pytest.approx(10.0)  # 50% conversion / 5% base rate
    # Base rate 20%: top decile is all wins -> lift = 1 / base_rate = 5.
    y2 = np.array([1] * 200 + [0] * 800)
    assert top_decile_lift(y2, p) == pytest.approx(5.0)
    assert table["cum_share_wins"].iloc[0] == 1.0
    assert list(table["leads"]) == [100] * 10
    assert table["cum_share_leads"].iloc[-1] == 1.0


def test_decile_ties_are_deterministic() -> None:
    y = np.array([1, 0] * 50)
    p = np.zeros(100)  # every score tied: input order decides, same on every call
    first = decile_table(y, p)
    assert first.equals(decile_table(y, p))
    assert list(first["wins"]) == [5] * 10


def test_gains_curve_endpoints_and_monotone() -> None:
    y, p = _calibrated(5000, seed=2)
    curve = gains_curve(y, p)
    assert curve["share_wins"].iloc[0] == 0.0 and curve["share_wins"].iloc[-1] == 1.0
    assert np.all(np.diff(curve["share_wins"]) >= 0)
    # Better than random at 20% of leads for an informative score.
    assert curve.loc[curve["share_leads"].round(2) == 0.2, "share_wins"].iloc[0] > 0.3


def test_tier_table_values() -> None:
    tiers = np.array(["A"] * 10 + ["B"] * 20 + ["D"] * 70)
    y = np.array([1] * 5 + [0] * 5 + [1] * 4 + [0] * 16 + [1] * 1 + [0] * 69)
    amount = np.full(100, 100.0)
    amount[0] = np.nan  # unknown amount counts as 0 revenue, not dropped
    table = tier_table(tiers, y, amount)
    assert list(table["tier"]) == ["A", "B", "C", "D"]
    a = table.iloc[0]
    assert (a["leads"], a["wins"], a["conversion"]) == (10, 5, 0.5)
    assert a["share_wins"] == pytest.approx(0.5)
    assert a["revenue_won"] == 400.0
    assert (a["conversion_low"], a["conversion_high"]) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert table.iloc[2]["leads"] == 0 and np.isnan(table.iloc[2]["conversion"])
    top = top_tier_summary(table)
    assert top[0]["recall"] == pytest.approx(0.5) and top[0]["lead_share"] == pytest.approx(0.1)
    assert top[1]["recall"] == pytest.approx(0.9) and top[1]["lead_share"] == pytest.approx(0.3)


def test_tier_table_keeps_unknown_tiers_and_rejects_missing() -> None:
    table = tier_table(["A", "Z"], [1, 0])
    assert list(table["tier"]) == ["A", "B", "C", "D", "Z"]
    with pytest.raises(ValueError, match=r"no tier.*rows \[1\]"):
        tier_table(["A", None], [1, 0])


def test_slice_metrics_counts_ci_auc_and_small_flag() -> None:
    rng = _rng(5)
    n = 4000
    source = np.where(np.arange(n) < 3950, "web", "partner").astype(object)
    source[:100] = None
    source[3990:] = "event"  # 10 leads: too few of each class for an AUC
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    table = slice_metrics(pd.DataFrame({"source": source}), y, p, ["source"])
    by_value = table.set_index("value")
    assert set(by_value.index) == {"web", "partner", "event", "(missing)"}
    assert by_value["leads"].sum() == n
    web = by_value.loc["web"]
    mask = source == "web"
    assert web["wins"] == y[mask].sum()
    assert web["conversion"] == pytest.approx(y[mask].mean())
    assert web["conversion_low"] < web["conversion"] < web["conversion_high"]
    assert not web["small"] and 0.7 < web["roc_auc"] < 0.9
    # 40 leads: AUC computable (>= 10 of each class) but flagged small (< 100 leads).
    assert by_value.loc["partner", "small"] and np.isfinite(by_value.loc["partner", "roc_auc"])
    assert by_value.loc["event", "small"] and np.isnan(by_value.loc["event", "roc_auc"])


def test_slice_metrics_names_missing_column() -> None:
    with pytest.raises(KeyError, match="region"):
        slice_metrics(pd.DataFrame({"source": ["a"]}), [1], [0.5], ["region"])


def test_paired_bootstrap_auc_difference() -> None:
    """Point value equals sklearn's difference; a clearly better score gets an interval above
    0, a score against itself a zero-width one, and two equally good noisy scores one that
    straddles 0. The weighted AUC behind it matches sklearn with sample weights, ties included."""
    from sklearn.metrics import roc_auc_score

    from evaluation.metrics import _weighted_auc, bootstrap_auc_difference

    rng = np.random.default_rng(np.random.SeedSequence(3))
    n = 4000
    y = (rng.random(n) < 0.15).astype(int)
    strong = np.round(rng.random(n) + 0.8 * y, 2)  # rounded: many ties
    weak = rng.random(n) + 0.2 * y
    weak_twin = rng.random(n) + 0.2 * y
    weights = rng.integers(0, 3, (2, n)).astype(float)
    for w in weights:
        assert _weighted_auc(y, strong, w[None])[0] == pytest.approx(
            roc_auc_score(y, strong, sample_weight=w), abs=1e-12
        )
    gain, low, high = bootstrap_auc_difference(y, strong, weak, n_boot=200)
    assert gain == pytest.approx(roc_auc_score(y, strong) - roc_auc_score(y, weak), abs=1e-12)
    assert 0 < low < gain < high
    assert bootstrap_auc_difference(y, weak, weak, n_boot=50) == (0.0, 0.0, 0.0)
    _, low, high = bootstrap_auc_difference(y, weak, weak_twin, n_boot=200)
    assert low < 0 < high
