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

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

_MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
_MAX_SLOTS = 63  # the hot mask of a leaf is a uint64 bit set
_SERIAL_BELOW_ROWS = 256  # small batches (online requests) skip thread start-up
_CHUNK_ROWS = 128  # rows explained together so one tree's tables stay in cache


@dataclass(frozen=True)
class _Forest:
    """Flattened trees. Nodes of each tree are in pre-order, so a parent precedes its children."""

    tree_start: np.ndarray  # int64 (n_trees + 1,): node range of each tree
    parent: np.ndarray  # int64: parent node (global index), -1 for roots
    is_left: np.ndarray  # bool: node is the left child of its parent
    slot_bit: np.ndarray  # uint64: hot-mask bit of the parent's split feature on this path
    new_slot: np.ndarray  # bool: that feature appears for the first time on this path
    is_leaf: np.ndarray  # bool
    feature: np.ndarray  # int64: split feature, -1 for leaves
    threshold: np.ndarray  # float64: numeric threshold
    categorical: np.ndarray  # bool: split is a categorical "==" split
    missing_type: np.ndarray  # int8: 0 None, 1 Zero, 2 NaN
    default_left: np.ndarray  # bool
    cat_start: np.ndarray  # int64: offset of the node's category bit set in cat_bits
    cat_words: np.ndarray  # int64: number of uint32 words in that bit set
    cat_bits: np.ndarray  # uint32: all category bit sets
    leaf_value: np.ndarray  # float64: 0 for internal nodes
    leaf_slot_start: np.ndarray  # int64 (n_nodes + 1,): slots of a leaf in slot_feature/slot_z
    slot_feature: np.ndarray  # int64: feature of each slot of each leaf's path
    slot_z: np.ndarray  # float64: zero fraction of each slot
    expected_value: float  # Σ over trees of the cover-weighted mean leaf value
    n_features: int


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
        explain = _explain_serial if X.shape[0] < _SERIAL_BELOW_ROWS else _explain_parallel
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
            weights = _shapley_weights(int(n_slots.max(initial=0)))
            _build_tables(table, table_start, f.leaf_value, f.leaf_slot_start, f.slot_z, weights)
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


# --- parsing ----------------------------------------------------------------------------------


def parse_booster(booster: Any) -> _Forest:
    """Flatten ``booster.dump_model()`` into a ``_Forest``; rejects models this cannot explain."""
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError(
            "FastTreeShap supports single-output boosters (binary/regression); this one has "
            f"num_tree_per_iteration={dump['num_tree_per_iteration']}"
        )
    n_features = int(dump["max_feature_idx"]) + 1
    cols: dict[str, list[Any]] = {
        name: []
        for name in [
            "parent",
            "is_left",
            "slot_bit",
            "new_slot",
            "is_leaf",
            "feature",
            "threshold",
            "categorical",
            "missing_type",
            "default_left",
            "cat_start",
            "cat_words",
            "leaf_value",
            "n_slots",
        ]
    }
    cat_bits: list[int] = []
    slot_feature: list[int] = []
    slot_z: list[float] = []
    tree_start = [0]
    expected = 0.0
    for tree in dump["tree_info"]:
        root = tree["tree_structure"]
        if "leaf_coeff" in root or tree.get("is_linear"):
            raise ValueError("FastTreeShap does not support linear_tree models")
        expected += _flatten_tree(root, cols, cat_bits, slot_feature, slot_z)
        tree_start.append(len(cols["parent"]))
    n_slots = np.asarray(cols.pop("n_slots"), dtype=np.int64)
    if n_slots.size and n_slots.max() > _MAX_SLOTS:
        raise ValueError(f"a leaf path splits on more than {_MAX_SLOTS} distinct features")
    return _Forest(
        tree_start=np.asarray(tree_start, dtype=np.int64),
        parent=np.asarray(cols["parent"], dtype=np.int64),
        is_left=np.asarray(cols["is_left"], dtype=np.bool_),
        slot_bit=np.asarray(cols["slot_bit"], dtype=np.uint64),
        new_slot=np.asarray(cols["new_slot"], dtype=np.bool_),
        is_leaf=np.asarray(cols["is_leaf"], dtype=np.bool_),
        feature=np.asarray(cols["feature"], dtype=np.int64),
        threshold=np.asarray(cols["threshold"], dtype=np.float64),
        categorical=np.asarray(cols["categorical"], dtype=np.bool_),
        missing_type=np.asarray(cols["missing_type"], dtype=np.int8),
        default_left=np.asarray(cols["default_left"], dtype=np.bool_),
        cat_start=np.asarray(cols["cat_start"], dtype=np.int64),
        cat_words=np.asarray(cols["cat_words"], dtype=np.int64),
        cat_bits=np.asarray(cat_bits, dtype=np.uint32),
        leaf_value=np.asarray(cols["leaf_value"], dtype=np.float64),
        leaf_slot_start=np.concatenate([[0], np.cumsum(n_slots)]).astype(np.int64),
        slot_feature=np.asarray(slot_feature, dtype=np.int64),
        slot_z=np.asarray(slot_z, dtype=np.float64),
        expected_value=expected,
        n_features=n_features,
    )


def _flatten_tree(
    root: dict[str, Any],
    cols: dict[str, list[Any]],
    cat_bits: list[int],
    slot_feature: list[int],
    slot_z: list[float],
) -> float:
    """Append one tree's nodes in pre-order; returns the tree's expected value.

    Each stack entry carries the path so far as (feature, zero fraction) per unique feature,
    in order of first appearance: that order is the leaf's slot order and mask bit order.
    """
    if "leaf_value" in root and "left_child" not in root:
        _append_node(cols, parent=-1, is_left=False, bit=0, new=False)
        _set_leaf(cols, float(root["leaf_value"]), 0)
        return float(root["leaf_value"])
    total = float(root["internal_count"])
    if total <= 0:
        raise ValueError("tree root has internal_count 0: cannot weight paths by cover")
    expected = 0.0
    stack: list[tuple[dict[str, Any], int, bool, int, bool, list[tuple[int, float]]]] = [
        (root, -1, False, 0, False, [])
    ]
    while stack:
        node, parent, is_left, bit, new, path = stack.pop()
        index = len(cols["parent"])
        _append_node(cols, parent=parent, is_left=is_left, bit=bit, new=new)
        if "left_child" not in node:
            count = float(node["leaf_count"])
            value = float(node["leaf_value"])
            expected += count / total * value
            _set_leaf(cols, value, len(path))
            slot_feature.extend(feat for feat, _ in path)
            slot_z.extend(z for _, z in path)
            continue
        _set_split(cols, node, cat_bits)
        feat = int(node["split_feature"])
        count = float(node["internal_count"])
        slots = [f for f, _ in path]
        children = [(node["right_child"], False), (node["left_child"], True)]
        for child, child_is_left in children:  # right pushed first so left is visited first
            child_count = float(
                child["internal_count"] if "left_child" in child else child["leaf_count"]
            )
            ratio = child_count / count
            if feat in slots:
                pos = slots.index(feat)
                child_path = list(path)
                child_path[pos] = (feat, path[pos][1] * ratio)
                child_new = False
            else:
                pos = len(path)
                child_path = [*path, (feat, ratio)]
                child_new = True
            stack.append((child, index, child_is_left, 1 << pos, child_new, child_path))
    return expected


def _append_node(cols: dict[str, list[Any]], *, parent: int, is_left: bool, bit: int, new: bool):
    cols["parent"].append(parent)
    cols["is_left"].append(is_left)
    cols["slot_bit"].append(bit)
    cols["new_slot"].append(new)


def _set_leaf(cols: dict[str, list[Any]], value: float, n_slots: int) -> None:
    for name, default in (
        ("is_leaf", True),
        ("feature", -1),
        ("threshold", 0.0),
        ("categorical", False),
        ("missing_type", 0),
        ("default_left", False),
        ("cat_start", 0),
        ("cat_words", 0),
    ):
        cols[name].append(default)
    cols["leaf_value"].append(value)
    cols["n_slots"].append(n_slots)


def _set_split(cols: dict[str, list[Any]], node: dict[str, Any], cat_bits: list[int]) -> None:
    cols["is_leaf"].append(False)
    cols["feature"].append(int(node["split_feature"]))
    decision = node["decision_type"]
    missing = node.get("missing_type", "None")
    if missing not in _MISSING_TYPES:
        raise ValueError(f"unknown missing_type {missing!r} in split {node.get('split_index')}")
    cols["missing_type"].append(_MISSING_TYPES[missing])
    cols["default_left"].append(bool(node.get("default_left", False)))
    if decision == "==":
        cats = [int(c) for c in str(node["threshold"]).split("||")]
        words = max(cats) // 32 + 1
        bits = [0] * words
        for c in cats:
            bits[c // 32] |= 1 << (c % 32)
        cols["cat_start"].append(len(cat_bits))
        cols["cat_words"].append(words)
        cat_bits.extend(bits)
        cols["threshold"].append(0.0)
        cols["categorical"].append(True)
    elif decision == "<=":
        cols["cat_start"].append(0)
        cols["cat_words"].append(0)
        cols["threshold"].append(float(node["threshold"]))
        cols["categorical"].append(False)
    else:
        raise ValueError(f"unknown decision_type {decision!r} in split {node.get('split_index')}")
    cols["leaf_value"].append(0.0)
    cols["n_slots"].append(0)


# --- numba kernels ----------------------------------------------------------------------------

# LightGBM's kZeroThreshold is the float literal 1e-35f widened to double.
_ZERO_THRESHOLD = float(np.float32(1e-35))


def _shapley_weights(max_slots: int) -> np.ndarray:
    """``W[d, s] = s!(d-1-s)!/d!`` for s < d (0 at s = d), by recurrence to avoid overflow."""
    weights = np.zeros((max_slots + 1, max_slots + 1), dtype=np.float64)
    for d in range(1, max_slots + 1):
        weights[d, 0] = 1.0 / d
        for s in range(1, d):
            weights[d, s] = weights[d, s - 1] * s / (d - s)
    return weights


@njit(cache=True)
def _build_tables(
    table, table_start, leaf_value, leaf_slot_start, slot_z, weights
):  # pragma: no cover - numba
    """Fill ``T(M) = C(M) · Π_{j∉M} z_j`` for every tabled leaf and hot subset M of its path."""
    max_d = 0
    for n in range(table_start.shape[0]):
        if table_start[n] >= 0:
            max_d = max(max_d, leaf_slot_start[n + 1] - leaf_slot_start[n])
    poly = np.zeros((1 << max_d, max_d + 1))
    for n in range(table_start.shape[0]):
        base = table_start[n]
        if base < 0:
            continue
        s0 = leaf_slot_start[n]
        d = leaf_slot_start[n + 1] - s0
        v = leaf_value[n]
        poly[0, 0] = 1.0
        cold_all = 1.0
        for k in range(d):
            cold_all *= slot_z[s0 + k]
        table[base] = v * weights[d, 0] * cold_all if d > 0 else v
        for mask in range(1, 1 << d):
            # elementary symmetric polynomial of z over M = that of M minus its top bit × (1 + z t)
            top = 63 - _clz(mask)
            prev = mask ^ (1 << top)
            z = slot_z[s0 + top]
            m = _popcount(mask)
            poly[mask, 0] = 1.0
            for k in range(1, m):
                poly[mask, k] = poly[prev, k] + z * poly[prev, k - 1]
            poly[mask, m] = z * poly[prev, m - 1]
            acc = 0.0
            for s in range(m + 1):
                acc += weights[d, s] * poly[mask, m - s]
            for k in range(d):
                if not (mask >> k) & 1:
                    acc *= slot_z[s0 + k]
            table[base + mask] = v * acc


@njit(cache=True, inline="always")
def _clz(x):  # pragma: no cover - numba
    n = 0
    bit = np.uint64(1) << np.uint64(63)
    x = np.uint64(x)
    while n < 64 and (x & bit) == 0:
        n += 1
        bit = bit >> np.uint64(1)
    return n


@njit(cache=True, inline="always")
def _popcount(x):  # pragma: no cover - numba
    x = np.uint64(x)
    n = 0
    while x:
        x &= x - np.uint64(1)
        n += 1
    return n


@njit(cache=True, inline="always")
def _category_goes_left(x, n, cat_start, cat_words, cat_bits):  # pragma: no cover - numba
    """LightGBM's CategoricalDecision: category codes in the node's bit set go left."""
    # static_cast<int> of NaN / out-of-range values is INT_MIN on x86: all of them go right.
    if np.isnan(x) or x <= -1.0 or x >= 2147483648.0:
        return False
    c = int(x)  # truncates toward zero, like static_cast<int>
    word = c >> 5
    if word >= cat_words[n]:
        return False
    return (cat_bits[cat_start[n] + word] >> np.uint32(c & 31)) & np.uint32(1) != 0


@njit(cache=True, inline="always")
def _explain_chunk(
    X, out, r0, r1, nodes, leaves, masks, lefts, xt, acc, poly
):  # pragma: no cover - numba
    """SHAP values of rows [r0, r1) into ``out``.

    Node-major, row-inner: every step is one tight loop over the chunk's rows with no
    per-row branching on tree structure, and one tree's tables stay in cache for the chunk.
    """
    (
        tree_start,
        parent,
        is_left,
        slot_bit,
        set_bit,
        is_leaf,
        feature,
        threshold,
        categorical,
        nan_left,
        zero_missing,
        default_left,
        cat_start,
        cat_words,
        cat_bits,
    ) = nodes
    leaf_value, leaf_slot_start, slot_feature, slot_z, table_start, table, slot_factor, weights = (
        leaves
    )
    one = np.uint64(1)
    cnt = r1 - r0
    for i in range(cnt):
        for f in range(X.shape[1]):
            xt[f, i] = X[r0 + i, f]
    acc[:, :cnt] = 0.0
    for t in range(tree_start.shape[0] - 1):
        s = tree_start[t]
        for n in range(s, tree_start[t + 1]):
            ln = n - s
            p = parent[n]
            if p < 0:
                masks[ln, :cnt] = 0
            else:
                # hot bit of the parent's feature: set (first time) or kept if the row took
                # this branch, cleared otherwise
                lp = p - s
                keep = set_bit[n]
                clear = ~slot_bit[n]
                want = is_left[n]
                for i in range(cnt):
                    # branch-free: the branch taken is data dependent and mispredicts often
                    took = np.uint64(0) - np.uint64(lefts[lp, i] == want)
                    masks[ln, i] = (masks[lp, i] | (keep & took)) & (clear | took)
            if not is_leaf[n]:
                f = feature[n]
                if categorical[n]:
                    for i in range(cnt):
                        lefts[ln, i] = _category_goes_left(
                            xt[f, i], n, cat_start, cat_words, cat_bits
                        )
                else:
                    thr = threshold[n]
                    nl = nan_left[n]
                    zm = zero_missing[n]
                    dl = default_left[n]
                    for i in range(cnt):
                        x = xt[f, i]
                        go = x <= thr
                        if np.isnan(x):
                            go = nl
                        elif zm and -_ZERO_THRESHOLD <= x <= _ZERO_THRESHOLD:
                            go = dl
                        lefts[ln, i] = go
                continue
            s0 = leaf_slot_start[n]
            d = leaf_slot_start[n + 1] - s0
            if d == 0:
                continue
            base = table_start[n]
            if base >= 0:
                # T(H \ {k}) serves both cases: for a cold k it is T(H) itself.
                for k in range(d):
                    bit = one << np.uint64(k)
                    clear = ~bit
                    factor = slot_factor[s0 + k]  # [-1, (1 - z) / z] for [cold, hot]
                    f = slot_feature[s0 + k]
                    for i in range(cnt):
                        m = masks[ln, i]
                        # uint64 + int64 would promote to float64 in numba: index with int64
                        value = table[base + np.int64(m & clear)]
                        acc[f, i] += value * factor[np.int64((m >> np.uint64(k)) & one)]
            else:
                for i in range(cnt):
                    _leaf_without_table(
                        acc,
                        i,
                        masks[ln, i],
                        d,
                        s0,
                        leaf_value[n],
                        slot_feature,
                        slot_z,
                        weights,
                        poly,
                    )
    for i in range(cnt):
        for f in range(X.shape[1]):
            out[r0 + i, f] = acc[f, i]


@njit(cache=True, inline="always")
def _leaf_without_table(
    acc, i, m, d, s0, v, slot_feature, slot_z, weights, poly
):  # pragma: no cover - numba
    """O(d²) fallback for deep leaves: C from the polynomial Π_{j∈H}(1 + z_j t)."""
    one = np.uint64(1)
    cold_z = 1.0
    for k in range(d):
        if (m >> np.uint64(k)) & one == 0:
            cold_z *= slot_z[s0 + k]
    h = 0
    poly[0] = 1.0
    for k in range(d):
        if (m >> np.uint64(k)) & one:
            z = slot_z[s0 + k]
            h += 1
            poly[h] = z * poly[h - 1]
            for j in range(h - 1, 0, -1):
                poly[j] += z * poly[j - 1]
    total = 0.0
    for s in range(h + 1):
        total += weights[d, s] * poly[h - s]
    cold = -v * total * cold_z
    for k in range(d):
        if (m >> np.uint64(k)) & one:
            # divide out (1 + z_k t): q_j = e_j - z_k q_{j-1}, then C(H \ {k})
            z = slot_z[s0 + k]
            q = 1.0
            total = weights[d, h - 1] * q
            for j in range(1, h):
                q = poly[j] - z * q
                total += weights[d, h - 1 - j] * q
            acc[slot_feature[s0 + k], i] += (1.0 - z) * v * total * cold_z
        else:
            acc[slot_feature[s0 + k], i] += cold


@njit(cache=True, inline="always")
def _chunk_buffers(X, nodes, leaves):  # pragma: no cover - numba
    tree_start = nodes[0]
    weights = leaves[7]
    max_nodes = np.max(np.diff(tree_start))
    masks = np.empty((max_nodes, _CHUNK_ROWS), dtype=np.uint64)
    lefts = np.empty((max_nodes, _CHUNK_ROWS), dtype=np.bool_)
    xt = np.empty((X.shape[1], _CHUNK_ROWS), dtype=np.float64)
    acc = np.empty((X.shape[1], _CHUNK_ROWS), dtype=np.float64)
    poly = np.empty(weights.shape[0] + 1, dtype=np.float64)
    return masks, lefts, xt, acc, poly


@njit(cache=True, parallel=True)
def _explain_parallel(X, out, nodes, leaves):  # pragma: no cover - numba
    """Chunks of rows in parallel (each thread owns its rows of ``out``)."""
    n_rows = X.shape[0]
    n_chunks = (n_rows + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    for c in prange(n_chunks):
        masks, lefts, xt, acc, poly = _chunk_buffers(X, nodes, leaves)
        r0 = c * _CHUNK_ROWS
        _explain_chunk(
            X, out, r0, min(r0 + _CHUNK_ROWS, n_rows), nodes, leaves, masks, lefts, xt, acc, poly
        )


@njit(cache=True)
def _explain_serial(X, out, nodes, leaves):  # pragma: no cover - numba
    """Same as ``_explain_parallel`` on the calling thread (small batches, online requests)."""
    masks, lefts, xt, acc, poly = _chunk_buffers(X, nodes, leaves)
    for r0 in range(0, X.shape[0], _CHUNK_ROWS):
        _explain_chunk(
            X,
            out,
            r0,
            min(r0 + _CHUNK_ROWS, X.shape[0]),
            nodes,
            leaves,
            masks,
            lefts,
            xt,
            acc,
            poly,
        )


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
