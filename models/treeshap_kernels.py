"""Numba kernels of :class:`models.treeshap.FastTreeShap`: per-leaf subset tables, and the
node-major pass over a chunk of rows that finds each leaf's hot mask and adds its Shapley
values (see ``models.treeshap`` for the maths). Compiled on first use, cached on disk."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

CHUNK_ROWS = 128  # rows explained together so one tree's tables stay in cache


# LightGBM's kZeroThreshold is the float literal 1e-35f widened to double.
_ZERO_THRESHOLD = float(np.float32(1e-35))


def shapley_weights(max_slots: int) -> np.ndarray:
    """``W[d, s] = s!(d-1-s)!/d!`` for s < d (0 at s = d), by recurrence to avoid overflow."""
    weights = np.zeros((max_slots + 1, max_slots + 1), dtype=np.float64)
    for d in range(1, max_slots + 1):
        weights[d, 0] = 1.0 / d
        for s in range(1, d):
            weights[d, s] = weights[d, s - 1] * s / (d - s)
    return weights


@njit(cache=True)
def build_tables(
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
    masks = np.empty((max_nodes, CHUNK_ROWS), dtype=np.uint64)
    lefts = np.empty((max_nodes, CHUNK_ROWS), dtype=np.bool_)
    xt = np.empty((X.shape[1], CHUNK_ROWS), dtype=np.float64)
    acc = np.empty((X.shape[1], CHUNK_ROWS), dtype=np.float64)
    poly = np.empty(weights.shape[0] + 1, dtype=np.float64)
    return masks, lefts, xt, acc, poly


@njit(cache=True, parallel=True)
def explain_parallel(X, out, nodes, leaves):  # pragma: no cover - numba
    """Chunks of rows in parallel (each thread owns its rows of ``out``)."""
    n_rows = X.shape[0]
    n_chunks = (n_rows + CHUNK_ROWS - 1) // CHUNK_ROWS
    for c in prange(n_chunks):
        masks, lefts, xt, acc, poly = _chunk_buffers(X, nodes, leaves)
        r0 = c * CHUNK_ROWS
        _explain_chunk(
            X, out, r0, min(r0 + CHUNK_ROWS, n_rows), nodes, leaves, masks, lefts, xt, acc, poly
        )


@njit(cache=True)
def explain_serial(X, out, nodes, leaves):  # pragma: no cover - numba
    """Same as ``explain_parallel`` on the calling thread (small batches, online requests)."""
    masks, lefts, xt, acc, poly = _chunk_buffers(X, nodes, leaves)
    for r0 in range(0, X.shape[0], CHUNK_ROWS):
        _explain_chunk(
            X,
            out,
            r0,
            min(r0 + CHUNK_ROWS, X.shape[0]),
            nodes,
            leaves,
            masks,
            lefts,
            xt,
            acc,
            poly,
        )
