"""FastTreeShap must reproduce LightGBM's own pred_contrib to 1e-9 on every split flavour."""

from __future__ import annotations

import pickle

import lightgbm as lgb
import numpy as np
import pytest

from models.treeshap import FastTreeShap, top_k_reasons

TOL = 1e-9
SEED = 20261123


def _rng(stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([SEED, stream]))


def _train(X: np.ndarray, y: np.ndarray, rounds: int, **params: object) -> lgb.Booster:
    base = {"objective": "binary", "verbose": -1, "seed": SEED, "num_threads": 1}
    categorical = params.pop("categorical_feature", "auto")
    data = lgb.Dataset(X, y, categorical_feature=categorical, free_raw_data=False)
    return lgb.train({**base, **params}, data, num_boost_round=rounds)


def _max_diff(booster: lgb.Booster, X: np.ndarray, **kwargs: int) -> float:
    expected = booster.predict(X, pred_contrib=True)
    got = FastTreeShap(booster, **kwargs).shap_values(X)
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max())


def _splits(booster: lgb.Booster) -> list[dict]:
    """Every internal node of every tree in the dump."""
    found, stack = [], [t["tree_structure"] for t in booster.dump_model()["tree_info"]]
    while stack:
        node = stack.pop()
        if "left_child" in node:
            found.append(node)
            stack += [node["left_child"], node["right_child"]]
    return found


def _threshold_rows(booster: lgb.Booster, n_features: int) -> np.ndarray:
    """Rows whose values sit exactly on numeric thresholds: ties must go left like LightGBM."""
    rows = []
    for split in _splits(booster):
        if split["decision_type"] == "<=":
            row = np.full(n_features, float(split["threshold"]))
            rows.append(row)
    return np.asarray(rows)


@pytest.fixture(scope="module")
def numeric_model() -> tuple[lgb.Booster, np.ndarray]:
    rng = _rng(1)
    X = rng.normal(size=(1500, 6))
    X[rng.random(X.shape) < 0.15] = np.nan
    signal = np.nan_to_num(X[:, 0], nan=1.5) + np.isnan(X[:, 1]) - np.nan_to_num(X[:, 2]) ** 2
    y = (signal + rng.normal(scale=0.5, size=len(X)) > 0.3).astype(float)
    return _train(X, y, 30, num_leaves=15, min_data_in_leaf=5), X


def test_numeric_with_nans_matches_pred_contrib(numeric_model) -> None:
    booster, X = numeric_model
    assert any(s["missing_type"] == "NaN" for s in _splits(booster)), "no NaN-aware split"
    extra = np.array([[np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300]] * 2)
    rows = np.vstack([X[:400], _threshold_rows(booster, X.shape[1]), extra])
    assert _max_diff(booster, rows) <= TOL


def test_parallel_path_and_fallback_path_are_exact(numeric_model) -> None:
    booster, X = numeric_model
    # 1500 rows take the multi-threaded kernel; max_table_bits=0 forces the O(d²) fallback
    assert _max_diff(booster, X) <= TOL
    assert _max_diff(booster, X[:300], max_table_bits=0) <= TOL
    assert _max_diff(booster, X[:300], max_table_bits=2) <= TOL


def test_zero_as_missing_matches_pred_contrib() -> None:
    rng = _rng(2)
    X = rng.normal(size=(1500, 5))
    X[rng.random(X.shape) < 0.3] = 0.0
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (X[:, 0] == 0) + np.nan_to_num(X[:, 1]) + rng.normal(scale=0.5, size=len(X)) > 0.5
    booster = _train(X, y.astype(float), 25, num_leaves=15, zero_as_missing=True)
    assert any(s["missing_type"] == "Zero" for s in _splits(booster)), "no zero-missing split"
    tiny = np.array([[1e-40, -1e-40, 1e-30, 0.0, np.nan]])
    rows = np.vstack([X[:400], _threshold_rows(booster, X.shape[1]), tiny])
    assert _max_diff(booster, rows) <= TOL


def test_categorical_with_unseen_negative_and_nan_codes() -> None:
    rng = _rng(3)
    n = 2000
    X = np.column_stack([rng.integers(0, 40, n), rng.integers(0, 6, n), rng.normal(size=n)]).astype(
        float
    )
    y = (np.isin(X[:, 0], [1, 3, 7, 33]) + (X[:, 1] == 2) + X[:, 2] > 0.8).astype(float)
    booster = _train(
        X, y, 30, num_leaves=15, categorical_feature=[0, 1], min_data_per_group=5, cat_smooth=1
    )
    assert any(s["decision_type"] == "==" for s in _splits(booster)), "no categorical split"
    codes = np.array([-5.0, -1.0, -0.5, 0.0, 2.7, 3.0, 33.0, 39.0, 40.0, 63.0, 64.0, 1e3, 3e9])
    codes = np.append(codes, [np.nan, np.inf, -np.inf])
    odd = np.column_stack([codes, codes[::-1], np.zeros(len(codes))])
    rows = np.vstack([X[:400], odd])
    assert _max_diff(booster, rows) <= TOL


@pytest.fixture(scope="module")
def deep_model() -> tuple[lgb.Booster, np.ndarray]:
    rng = _rng(4)
    n = 3000
    X = rng.normal(size=(n, 12))
    X[:, 10] = rng.integers(0, 8, n)
    X[:, 11] = rng.integers(0, 30, n)
    X[rng.random(X.shape) < 0.05] = np.nan
    signal = np.nansum(X[:, :6] * np.arange(1, 7) / 6, axis=1) + np.isin(X[:, 11], [2, 5, 9])
    y = (signal + rng.logistic(size=n) > 0).astype(float)
    booster = _train(
        X, y, 220, num_leaves=63, max_depth=10, min_data_in_leaf=3, categorical_feature=[10, 11]
    )
    return booster, X


def test_deep_mixed_model_with_many_trees(deep_model) -> None:
    booster, X = deep_model
    assert booster.num_trees() >= 200
    depths = FastTreeShap(booster)._forest.leaf_slot_start
    assert np.diff(depths).max() >= 8, "paths too shallow to exercise large tables"
    assert _max_diff(booster, X[:600]) <= TOL
    assert _max_diff(booster, X[:200], max_table_bits=4) <= TOL


def test_additivity_rows_sum_to_raw_score(deep_model) -> None:
    booster, X = deep_model
    contribs = FastTreeShap(booster).shap_values(X[:500])
    raw = booster.predict(X[:500], raw_score=True)
    np.testing.assert_allclose(contribs.sum(axis=1), raw, rtol=0, atol=1e-9)


def test_single_leaf_trees_give_bias_only() -> None:
    rng = _rng(5)
    X = rng.normal(size=(200, 3))
    booster = _train(X, np.ones(200), 5)
    assert all(t["num_leaves"] == 1 for t in booster.dump_model()["tree_info"])
    explainer = FastTreeShap(booster)
    got = explainer.shap_values(X[:10])
    np.testing.assert_allclose(got, booster.predict(X[:10], pred_contrib=True), atol=TOL, rtol=0)
    assert np.all(got[:, :-1] == 0.0)
    assert got[0, -1] == pytest.approx(booster.predict(X[:1], raw_score=True)[0], abs=TOL)


def test_pickle_round_trip_drops_tables_and_gives_same_values(numeric_model) -> None:
    booster, X = numeric_model
    explainer = FastTreeShap(booster)
    before = explainer.shap_values(X[:50])
    blob = pickle.dumps(explainer)
    assert b"_tables" in blob
    clone = pickle.loads(blob)
    assert clone._tables is None
    np.testing.assert_array_equal(clone.shap_values(X[:50]), before)


def test_empty_batch_and_float32_input(numeric_model) -> None:
    booster, X = numeric_model
    explainer = FastTreeShap(booster)
    assert explainer.shap_values(X[:0]).shape == (0, X.shape[1] + 1)
    x32 = X[:20].astype(np.float32)
    np.testing.assert_allclose(
        explainer.shap_values(x32), booster.predict(x32, pred_contrib=True), atol=TOL, rtol=0
    )


def test_bad_input_is_rejected_with_a_clear_message(numeric_model) -> None:
    booster, _ = numeric_model
    explainer = FastTreeShap(booster)
    with pytest.raises(ValueError, match=r"shape \(n_rows, 6\).*\(4, 5\)"):
        explainer.shap_values(np.zeros((4, 5)))
    with pytest.raises(TypeError, match="numeric"):
        explainer.shap_values(np.array([["a"] * 6]))
    with pytest.raises(ValueError, match="max_table_bits"):
        FastTreeShap(booster, max_table_bits=40)


def test_multiclass_booster_is_rejected() -> None:
    rng = _rng(6)
    X = rng.normal(size=(300, 3))
    y = rng.integers(0, 3, 300)
    booster = _train(X, y, 2, objective="multiclass", num_class=3)
    with pytest.raises(ValueError, match="num_tree_per_iteration=3"):
        FastTreeShap(booster)


def _naive_top_k(contribs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array(
        [sorted(range(len(row)), key=lambda j: (-abs(row[j]), j))[:k] for row in contribs]
    )
    return idx, np.take_along_axis(contribs, idx, axis=1)


@pytest.mark.parametrize("k", [1, 3, 7, 8])
def test_top_k_matches_naive_sort_including_ties(k: int) -> None:
    rng = _rng(7)
    # rounding creates many |value| ties, including +x / -x pairs
    contribs = np.round(rng.normal(size=(500, 8)), 1)
    idx, values = top_k_reasons(contribs, k)
    want_idx, want_values = _naive_top_k(contribs, k)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(values, want_values)


def test_top_k_on_real_contributions_and_edge_cases(numeric_model) -> None:
    booster, X = numeric_model
    contribs = FastTreeShap(booster).shap_values(X[:300])[:, :-1]
    idx, values = top_k_reasons(contribs, 3)
    want_idx, want_values = _naive_top_k(contribs, 3)
    np.testing.assert_array_equal(idx, want_idx)
    np.testing.assert_array_equal(values, want_values)
    assert top_k_reasons(contribs, 0)[0].shape == (300, 0)
    assert top_k_reasons(contribs[:0], 2)[0].shape == (0, 2)
    with pytest.raises(ValueError, match="k must be between 0 and"):
        top_k_reasons(contribs, 7)
