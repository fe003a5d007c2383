"""Probability points: proportional to log-odds, summing to the calibrated probability change
for every calibrator form, sign-preserving, order-free, and the derivative at a flat total."""

from __future__ import annotations

import numpy as np
import pytest

from models.calibrator import apply_calibrator
from models.probability_points import probability_points

CALIBRATORS = {
    "platt": {"method": "platt", "a": 0.8, "b": -1.1},
    "isotonic": {
        "method": "isotonic",
        "x": [-6.0, -3.0, -2.0, 0.0, 2.0],
        "y": [0.001, 0.01, 0.01, 0.2, 0.6],
    },
    "none": {"method": "none"},
}


@pytest.mark.parametrize("name", list(CALIBRATORS))
def test_points_sum_to_the_calibrated_change(name: str) -> None:
    calibrator = CALIBRATORS[name]
    rng = np.random.default_rng(1)
    impacts = rng.normal(0, 0.8, (5000, 12))
    bias = np.full(5000, -3.5)
    raw = bias + impacts.sum(axis=1)
    points, probability, base, slope = probability_points(impacts, raw, bias, calibrator)
    np.testing.assert_array_equal(probability, apply_calibrator(calibrator, raw))
    np.testing.assert_array_equal(base, apply_calibrator(calibrator, bias))
    assert np.abs(points.sum(axis=1) - 100 * (probability - base)).max() < 1e-12
    # Signs kept where the calibrator moves at all; proportional to log-odds within a lead.
    moving = probability != base
    assert (np.sign(points[moving]) == np.sign(impacts[moving])).all()
    np.testing.assert_allclose(points, impacts * slope[:, None], rtol=1e-15)


def test_order_of_reasons_does_not_change_their_points() -> None:
    calibrator = CALIBRATORS["platt"]
    impacts = np.array([[2.0, -0.5, 0.25, 1.0]])
    bias, raw = np.array([-3.0]), np.array([-3.0 + 2.75])
    points, *_ = probability_points(impacts, raw, bias, calibrator)
    shuffled, *_ = probability_points(impacts[:, ::-1], raw, bias, calibrator)
    np.testing.assert_allclose(points[:, ::-1], shuffled, rtol=1e-15)
    # Twice the log-odds, twice the points.
    assert points[0, 0] == pytest.approx(2 * points[0, 3])


def test_reasons_that_cancel_out_use_the_derivative() -> None:
    calibrator = CALIBRATORS["platt"]
    impacts = np.array([[1.5, -1.5], [0.0, 0.0]])
    bias = np.array([-2.0, -2.0])
    points, probability, base, _ = probability_points(impacts, bias.copy(), bias, calibrator)
    p0 = base[0]
    slope = calibrator["a"] * p0 * (1 - p0)  # d/dx sigmoid(a x + b)
    np.testing.assert_allclose(points[0], [150 * slope, -150 * slope], rtol=1e-6)
    assert points[0].sum() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(points[1], [0.0, 0.0])
    np.testing.assert_array_equal(probability, base)


def test_a_flat_isotonic_step_gives_no_points() -> None:
    # Both ends inside the flat step (-3, -2): the calibrated probability moves only by the
    # tie-breaking tilt (at most 1e-9, models.calibrator), so the points are nothing.
    calibrator = CALIBRATORS["isotonic"]
    impacts = np.array([[0.4, -0.1]])
    bias = np.array([-2.8])
    points, probability, base, _ = probability_points(impacts, bias + 0.3, bias, calibrator)
    assert probability[0] == pytest.approx(0.01) and base[0] == pytest.approx(0.01)
    assert abs(probability[0] - base[0]) <= 1e-9
    np.testing.assert_allclose(points, [[0.0, 0.0]], atol=1e-7)
    assert points.sum() == pytest.approx(100 * (probability[0] - base[0]), abs=1e-12)
