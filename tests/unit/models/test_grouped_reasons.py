"""Grouped reasons on a trained model: impacts sum to the model's log-odds, points to the
probability change, missing values worded honestly, numbers readable, on 10,000 simulated
leads scored as of the end of their history."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from human_text import unreadable_numbers

from features.batch.batch_engine import compute_features
from features.ingest.dataset_config import load_config
from features.ingest.loaders import load_dataset
from features.simulation.simulation_config import SimulationConfig
from features.simulation.simulator import simulate_crm
from models.batch_scoring import scoring_snapshots
from models.calibrator import apply_calibrator
from models.explain import contributions
from models.grouped_reasons import MISSING_REASON_TOP, select_reasons

pytestmark = pytest.mark.xdist_group("simulated_model")


@pytest.fixture(scope="module")
def scored(simulated, tmp_path_factory):
    """10,000 other simulated leads (same world, another seed): features, matrix, outputs."""
    _, result = simulated
    model = result.model
    folder = tmp_path_factory.mktemp("crm-10k")
    simulate_crm(SimulationConfig(n_leads=10_000, days=730, seed=11), folder)
    dataset = load_dataset(load_config("demo"), folder)
    snapshots = scoring_snapshots(dataset)
    frame = compute_features(
        model.spec, dataset.leads, dataset.events, dataset.outcomes, snapshots,
        open_deals=dataset.open_deals,
    )  # fmt: skip
    X = model.encode(frame)
    missing = model.grouping.missing_in_frame(frame)
    return model, frame, X, model.score_matrix(X, 5, missing)


def test_grouped_impacts_sum_to_the_models_log_odds(scored) -> None:
    model, frame, X, out = scored
    assert len(frame) == 10_000
    raw = model.booster.predict(X, raw_score=True)
    bias = contributions(model.booster, X[:1])[0, -1]
    error = np.abs(out["impacts"].sum(axis=1) + bias - raw)
    assert error.max() < 1e-9, error.max()
    # Not a tautology: the groups really gather several features, and differ across leads.
    assert out["impacts"].shape[1] < len(model.features)
    assert np.abs(out["impacts"]).max() > 0.5


def test_points_sum_to_the_probability_change(scored) -> None:
    model, _, X, out = scored
    raw = model.booster.predict(X, raw_score=True)
    np.testing.assert_allclose(out["probability"], apply_calibrator(model.calibrator, raw))
    change = 100.0 * (out["probability"] - out["base_probability"])
    error = np.abs(out["points"].sum(axis=1) - change)
    assert error.max() < 1e-9, error.max()
    assert np.ptp(change) > 5  # leads far from the base, both ways
    # Every reason keeps the sign of its log-odds impact (the calibrator is monotone).
    moved = np.abs(out["impacts"]) > 1e-12
    assert (np.sign(out["points"][moved]) == np.sign(out["impacts"][moved])).all()


def test_reasons_read_like_facts_and_missing_values_honestly(scored) -> None:
    model, frame, _, _ = scored
    out = model.score_features(frame, explain_k=5)
    reasons = [reason for text in out["reasons"] for reason in json.loads(text)]
    sentences = [r["sentence"] for r in reasons]
    assert not [s for s in sentences if re.search(r"\b(unknown|nan|none)\b", s, re.IGNORECASE)]
    assert not [s for s in sentences if unreadable_numbers(s)]
    assert unreadable_numbers("Overall recent engagement 1.4e-06") == ["1.4e-06"]
    assert unreadable_numbers("12.34 and 2026-03-01") == ["12.34"]
    missing = [r for r in reasons if r["missing"]]
    assert missing and all(r["sentence"].startswith("No ") for r in missing)
    # Each in its group's honest words ("No annual revenue recorded", never "...: unknown").
    assert all(r["sentence"] == model.spec.sentences(r["feature"]).group.missing for r in missing)
    assert model.spec.sentences("annual_revenue").group.missing == "No annual revenue recorded"
    # The lead's own reasons: a behaviour with its facts, one reason per group.
    keys = {r["feature"] for r in reasons}
    attributes = {f.name for f in model.spec.of_family("attribute")}
    assert keys <= set(model.grouping.keys) and keys & attributes and keys - attributes
    for text in out["reasons"]:
        row = json.loads(text)
        assert len({r["feature"] for r in row}) == len(row)
        magnitudes = [abs(r["impact"]) for r in row]
        assert magnitudes == sorted(magnitudes, reverse=True)


def test_missing_value_reasons_only_among_the_top_impacts() -> None:
    impacts = np.array([[0.9, -0.5, 0.4, 0.3, 0.2], [0.1, 0.2, 0.3, 0.4, 0.5]])
    missing = np.array([[False, False, False, True, False], [False, False, False, False, True]])
    index, shown = select_reasons(impacts, missing, 4)
    # Row 0: the missing group ranks 4th (> top 3): it is not shown, the 5th takes its place.
    assert index[0][shown[0]].tolist() == [0, 1, 2, 4]
    # Row 1: the missing group has the largest impact: shown first.
    assert index[1][shown[1]].tolist() == [4, 3, 2, 1]
    assert MISSING_REASON_TOP == 3
    index, shown = select_reasons(impacts, np.zeros_like(missing), 2)
    assert index.tolist() == [[0, 1], [4, 3]] and shown.all()
    index, shown = select_reasons(impacts, missing, 0)
    assert index.shape == shown.shape == (2, 0)
