"""Exact path-dependent TreeSHAP for LightGBM boosters, fast enough for nightly batch reasons.

Same numbers as ``booster.predict(X, pred_contrib=True)`` (log-odds, last column = bias) but
computed in O(leaves × depth) per row and tree instead of LightGBM's O(leaves × depth²).

Why it is exact and cheaper: for one leaf whose root path splits on the unique features P
(``d = |P|``), each feature j has a zero fraction ``z_j`` (product of cover ratios along the
path) and, for a given row, a one fraction ``o_j ∈ {0, 1}`` ("hot" if the row follows every
split on j that the path takes). With H the hot set and ``C(M) = v Σ_{S⊆M} w(|S|) Π_{j∈M∖S} z_j``
(``w(s) = s!(d-1-s)!/d!``) and ``Z = Π_{j∈P∖H} z_j``, the Shapley value of the leaf's game is

    cold j:  φ_j = -C(H) · Z            hot j:  φ_j = (1 - z_j) · C(H ∖ {j}) · Z

``C`` depends on the row only through H, so it is tabulated once per leaf for every subset
(2^d values, the Fast TreeSHAP v2 idea), stored as ``T(M) = C(M) · Π_{j∉M} z_j`` so that
cold j gets ``-T(H)`` and hot j gets ``(1 - z_j) / z_j · T(H ∖ {j})``: one look-up each. Each
row then needs one pass over the tree to get the hot mask of every leaf plus d look-ups per
leaf; rows are processed in chunks, node-major, so the inner loops run over rows. Leaves deeper than ``max_table_bits``
unique features compute ``C`` on the fly from elementary symmetric polynomials in O(d²).

State is plain numpy arrays (cheap to pickle inside an MLflow pyfunc); numba kernels compile on
first use and are cached on disk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.tree_forest import Forest, parse_booster
from models.treeshap_kernels import build_tables, explain_parallel, explain_serial, shapley_weights

_SERIAL_BELOW_ROWS = 256  # small batches (online requests) skip thread start-up

# Models pickled before the forest arrays got their own module refer to this name.
_Forest = Forest


class FastTreeShap:
    """Exact TreeSHAP values for a single-output LightGBM booster (binary or regression).

    Build once per model; ``shap_values`` matches ``booster.predict(X, pred_contrib=True)``.
    """

    def __init__(self, booster: Any, *, max_table_bits: int = 12) -> None:
        """Parse ``booster.dump_model()`` into flat arrays.

        ``max_table_bits`` caps the per-leaf table at 2^bits float64 (32 KiB at 12); deeper
        leaves fall back to an O(d²) computation per row, so memory stays bounded.
        """
        if not 0 <= max_table_bits <= 24:
            raise ValueError(f"max_table_bits must be in [0, 24], got {max_table_bits}")
        self.max_table_bits = max_table_bits
        self._forest = parse_booster(booster)
        self._tables: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]] | None = None

    @property
    def n_features(self) -> int:
        """Number of input columns the booster expects."""
        return self._forest.n_features

    @property
    def expected_value(self) -> float:
        """Bias column: the model's mean raw score under the training cover."""
        return self._forest.expected_value

    def __getstate__(self) -> dict[str, Any]:
        # Tables are derived and can be large: rebuild them after unpickling instead.
        state = self.__dict__.copy()
        state["_tables"] = None
        return state

    def shap_values(self, X: np.ndarray) -> np.ndarray:
        """SHAP values in raw score units, shape (n_rows, n_features + 1), last column = bias."""
        X = _check_matrix(X, self.n_features)
        out = np.zeros((X.shape[0], self.n_features + 1), dtype=np.float64)
        if X.shape[0] == 0:
            return out
        nodes, leaves = self._kernel_arrays()
        explain = explain_serial if X.shape[0] < _SERIAL_BELOW_ROWS else explain_parallel
        explain(X, out, nodes, leaves)
        out[:, -1] = self.expected_value
        return out

    def _kernel_arrays(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Node and leaf arrays in the kernels' layout, with the per-leaf tables; built once."""
        if self._tables is None:
            f = self._forest
            n_slots = np.diff(f.leaf_slot_start)
            # A zero cover ratio would make (1 - z) / z infinite: such leaves use the fallback.
            has_zero = np.zeros(len(n_slots), dtype=np.bool_)
            has_zero[np.repeat(np.arange(len(n_slots)), n_slots)[f.slot_z == 0]] = True
            tabled = f.is_leaf & (n_slots <= self.max_table_bits) & ~has_zero
            sizes = np.where(tabled, np.left_shift(1, n_slots.astype(np.int64)), 0)
            table_start = np.full(len(sizes), -1, dtype=np.int64)
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            table_start[tabled] = offsets[:-1][tabled]
            table = np.zeros(int(offsets[-1]), dtype=np.float64)
            weights = shapley_weights(int(n_slots.max(initial=0)))
            build_tables(table, table_start, f.leaf_value, f.leaf_slot_start, f.slot_z, weights)
            # Per slot [cold, hot] factor, looked up by the hot bit instead of branching on it.
            slot_factor = np.full((len(f.slot_z), 2), -1.0)
            with np.errstate(divide="ignore"):
                slot_factor[:, 1] = np.where(f.slot_z > 0, (1.0 - f.slot_z) / f.slot_z, 0.0)
            # NaN reaches the default child under NaN and Zero missing types (LightGBM maps NaN
            # to 0 unless the split tracks NaN), otherwise it is compared as 0.0.
            nan_left = np.where(f.missing_type == 0, f.threshold >= 0.0, f.default_left)
            nodes = (
                f.tree_start,
                f.parent,
                f.is_left,
                f.slot_bit,
                np.where(f.new_slot, f.slot_bit, np.uint64(0)).astype(np.uint64),
                f.is_leaf,
                f.feature,
                f.threshold,
                f.categorical,
                nan_left,
                f.missing_type == 1,
                f.default_left,
                f.cat_start,
                f.cat_words,
                f.cat_bits,
            )
            leaves = (
                f.leaf_value,
                f.leaf_slot_start,
                f.slot_feature,
                f.slot_z,
                table_start,
                table,
                slot_factor,
                weights,
            )
            self._tables = (nodes, leaves)
        return self._tables


def top_k_reasons(contribs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k feature columns with the largest |contribution|, largest first.

    ``contribs`` is (n_rows, n_features): ``shap_values(X)[:, :-1]`` (drop the bias column).
    Fully vectorised (partition + stable sorts, no loop over rows). Ties keep the lower column
    first so results are reproducible. Returns (indices int64, values float64), each (n_rows, k).
    """
    contribs = np.asarray(contribs, dtype=np.float64)
    if contribs.ndim != 2:
        raise ValueError(f"contribs must be 2-D (rows, features), got shape {contribs.shape}")
    n_rows, n_cols = contribs.shape
    if not 0 <= k <= n_cols:
        raise ValueError(f"k must be between 0 and the number of features ({n_cols}), got {k}")
    if k == 0 or n_rows == 0:
        return np.zeros((n_rows, k), dtype=np.int64), np.zeros((n_rows, k), dtype=np.float64)
    magnitude = np.abs(contribs)
    if k < n_cols:
        # argpartition alone would pick arbitrarily among ties at the k-th magnitude; include
        # every column tied with it, then the stable sort below breaks ties by column index.
        kth = -np.partition(-magnitude, k - 1, axis=1)[:, k - 1 : k]
        candidate = magnitude >= kth
        order = np.argsort(~candidate, axis=1, kind="stable")
        width = int(candidate.sum(axis=1).max())
        idx = order[:, :width]
        keep = np.take_along_axis(candidate, idx, axis=1)
        cand_mag = np.where(keep, np.take_along_axis(magnitude, idx, axis=1), -1.0)
    else:
        idx = np.broadcast_to(np.arange(n_cols), (n_rows, n_cols))
        cand_mag = magnitude
    best = np.argsort(-cand_mag, axis=1, kind="stable")[:, :k]
    indices = np.take_along_axis(idx, best, axis=1).astype(np.int64)
    return indices, np.take_along_axis(contribs, indices, axis=1)


def _check_matrix(X: Any, n_features: int) -> np.ndarray:
    """A C-contiguous float64 (rows, n_features) copy or view of X, or a clear error."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"X must be numeric (categorical columns as float codes), got dtype {arr.dtype}"
        )
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ValueError(
            f"X must have shape (n_rows, {n_features}) to match the booster, got {arr.shape}"
        )
    return np.ascontiguousarray(arr, dtype=np.float64)
