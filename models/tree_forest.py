"""A LightGBM booster as flat arrays for :mod:`models.treeshap`: every tree's nodes in
pre-order, each leaf's root path as slots (distinct split features) with their zero fractions,
and categorical splits as bit sets. Parsed from ``booster.dump_model()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

_MISSING_TYPES = {"None": 0, "Zero": 1, "NaN": 2}
MAX_SLOTS = 63  # the hot mask of a leaf is a uint64 bit set
# Per-node columns collected while flattening, with the dtype each is stored in.
_NODE_DTYPES: dict[str, type] = {
    "parent": np.int64,
    "is_left": np.bool_,
    "slot_bit": np.uint64,
    "new_slot": np.bool_,
    "is_leaf": np.bool_,
    "feature": np.int64,
    "threshold": np.float64,
    "categorical": np.bool_,
    "missing_type": np.int8,
    "default_left": np.bool_,
    "cat_start": np.int64,
    "cat_words": np.int64,
    "leaf_value": np.float64,
}


@dataclass(frozen=True)
class Forest:
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


def parse_booster(booster: Any) -> Forest:
    """Flatten ``booster.dump_model()`` into a ``Forest``; rejects models this cannot explain."""
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError(
            "FastTreeShap supports single-output boosters (binary/regression); this one has "
            f"num_tree_per_iteration={dump['num_tree_per_iteration']}"
        )
    n_features = int(dump["max_feature_idx"]) + 1
    cols: dict[str, list[Any]] = {name: [] for name in [*_NODE_DTYPES, "n_slots"]}
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
    if n_slots.size and n_slots.max() > MAX_SLOTS:
        raise ValueError(f"a leaf path splits on more than {MAX_SLOTS} distinct features")
    return Forest(
        tree_start=np.asarray(tree_start, dtype=np.int64),
        **{name: np.asarray(cols[name], dtype=dtype) for name, dtype in _NODE_DTYPES.items()},
        cat_bits=np.asarray(cat_bits, dtype=np.uint32),
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
