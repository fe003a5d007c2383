"""Reasons grouped by what happened: SHAP contributions summed per reason group, ranked, worded.

SHAP values are additive, so the contributions of the features one reason group declares
(``features.reasons.reason_groups``: every pricing-page feature, one attribute, ...) add up into that
reason's impact, and the groups' impacts still sum to the model's log-odds minus the base
value. Reasons are the groups with the largest |impact|. A group about a value that is not
recorded ("No department recorded") is shown only when its impact is among the
:data:`MISSING_REASON_TOP` largest of the lead: an absence that barely moves the score is not a
reason a salesperson should read before the facts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.reasons.reason_sentences import is_missing
from features.spec import FeatureSpec

MISSING_REASON_TOP = 3


class ReasonGrouping:
    """The reason groups of a model's features: the sum matrix, the wording, the values."""

    def __init__(self, spec: FeatureSpec, features: Sequence[str]) -> None:
        used = {spec[name].reason_group for name in features}
        self.keys = [group.key for group in spec.reason_groups if group.key in used]
        self.sentences = [spec.sentences(key) for key in self.keys]
        self.labels = [s.group.label for s in self.sentences]
        position = {key: j for j, key in enumerate(self.keys)}
        # (features, groups) 0/1: contributions @ matrix sums each group's features.
        self.matrix = np.zeros((len(features), len(self.keys)))
        for i, name in enumerate(features):
            self.matrix[i, position[spec[name].reason_group]] = 1.0
        # The values a group's sentence reads: all of its spec features, used by the model or
        # not (a feature the leakage audit dropped still tells the story, e.g. days since).
        self.columns = sorted({name for s in self.sentences for name in s.features})

    def impacts(self, contribs: np.ndarray) -> np.ndarray:
        """(rows, groups) log-odds per group from (rows, features + 1) SHAP values."""
        return contribs[:, :-1] @ self.matrix

    def missing_in_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """(rows, groups): True where none of the group's features is recorded."""
        isna = frame.reindex(columns=self.columns).isna()
        out = np.empty((len(frame), len(self.keys)), dtype=bool)
        for j, sentences in enumerate(self.sentences):
            out[:, j] = isna[list(sentences.features)].to_numpy().all(axis=1)
        return out

    def missing_in_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """The same for feature rows (dicts, the online engine's output)."""
        return np.array(
            [[sentences.is_missing(row) for sentences in self.sentences] for row in rows],
            dtype=bool,
        ).reshape(len(rows), len(self.keys))

    def reason_dicts(
        self,
        index: np.ndarray,
        shown: np.ndarray,
        impacts: np.ndarray,
        points: np.ndarray,
        missing: np.ndarray,
        columns: Mapping[str, np.ndarray],
    ) -> list[list[dict[str, Any]]]:
        """The API's reason fields per row for the selected groups (``index`` where
        ``shown``); ``columns`` holds each feature's values (one array per feature name)."""
        values = self._selected_values(index, shown, columns)
        # Plain lists of the selected cells only: per-element numpy indexing and numpy scalars
        # cost more than the rest.
        rows = [
            np.take_along_axis(array, index, axis=1).tolist()
            for array in (impacts, points, missing)
        ]
        keys, labels, groups = self.keys, self.labels, self.sentences
        out = []
        for i, (picked, visible, row_impacts, row_points, row_missing) in enumerate(
            zip(index.tolist(), shown.tolist(), *rows, strict=True)
        ):
            reasons = []
            for j, show, impact, point, absent in zip(
                picked, visible, row_impacts, row_points, row_missing, strict=True
            ):
                if not show:
                    continue
                sentences, facts = groups[j], values[j][i]
                reasons.append(
                    {
                        "feature": keys[j],
                        "label": labels[j],
                        "value": facts[sentences.group.headline],
                        "values": facts,
                        "impact": round(impact, 4),
                        "points": round(point, 4),
                        "direction": "up" if impact >= 0 else "down",
                        "sentence": sentences.sentence(facts),
                        "missing": absent,
                    }
                )
            out.append(reasons)
        return out

    def _selected_values(
        self, index: np.ndarray, shown: np.ndarray, columns: Mapping[str, np.ndarray]
    ) -> dict[int, dict[int, dict[str, Any]]]:
        """``{group: {row: {feature: value}}}`` for the rows where the group is a shown
        reason: each feature column is read once per group, at those rows only."""
        out: dict[int, dict[int, dict[str, Any]]] = {}
        for j in np.unique(index[shown]).tolist():
            rows = np.flatnonzero(((index == j) & shown).any(axis=1))
            names = self.sentences[j].features
            picked = [_plain_list(np.asarray(columns[name])[rows]) for name in names]
            out[j] = {
                row: dict(zip(names, facts, strict=True))
                for row, facts in zip(rows.tolist(), zip(*picked, strict=True), strict=True)
            }
        return out


def select_reasons(
    impacts: np.ndarray, missing: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k groups with the largest |impact|, largest first (ties: spec order), and
    whether each is shown (a missing-value group only within the row's top
    :data:`MISSING_REASON_TOP`). Returns (indices (rows, k), shown (rows, k))."""
    rows, groups = impacts.shape
    k = min(k, groups)
    if k == 0:
        return np.zeros((rows, 0), dtype=np.int64), np.zeros((rows, 0), dtype=bool)
    magnitude = np.abs(impacts)
    order = np.argsort(-magnitude, axis=1, kind="stable")
    if not missing.any():
        return order[:, :k], np.ones((rows, k), dtype=bool)
    rank = np.argsort(order, axis=1)  # each group's place in its row's order
    eligible = ~missing | (rank < MISSING_REASON_TOP)
    # Ineligible groups sort after every eligible one and are marked not shown.
    key = np.where(eligible, magnitude, -1.0)
    index = np.argsort(-key, axis=1, kind="stable")[:, :k]
    return index, np.take_along_axis(eligible, index, axis=1)


def _plain_list(values: np.ndarray) -> list[Any]:
    """JSON-friendly values: NaN/NA -> None, numpy scalars -> Python."""
    return [None if is_missing(value) else value for value in values.tolist()]
