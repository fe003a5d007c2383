"""What turns a bundle's encoded features into log-odds and their contributions: the trained
booster (exact TreeSHAP) or, at cold start, the points rules (each rule's points). The bundle
(``models.bundle``) holds one of them and does everything else the same way for both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from models.explain import FAST_SHAP_MIN_ROWS, contributions
from models.points import PointsRules, points_by_rule, points_contributions


class BoosterScorer:
    """A LightGBM booster; contributions from TreeSHAP (the fast explainer for big batches
    and, once warmed up, for every request)."""

    def __init__(self, booster_text: str, n_features: int) -> None:
        import lightgbm as lgb

        self.booster = lgb.Booster(model_str=booster_text)
        if self.booster.num_feature() != n_features:
            raise ValueError(
                f"booster expects {self.booster.num_feature()} features, bundle lists {n_features}"
            )
        self._fast: Any = None

    def raw(self, X: np.ndarray) -> np.ndarray:
        return self.booster.predict(X, raw_score=True)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        return contributions(self.booster, X, self._fast_explainer(X.shape[0]))

    def warm_up(self, n_features: int) -> None:
        """Build and compile the fast explainer now, so that every later request, one lead
        included, uses it (64 µs vs 250 µs for LightGBM's ``pred_contrib`` on one row of a
        100-tree model, measured). A long-running server calls this once at load; short
        scripts skip it and small batches use ``pred_contrib`` (same numbers to 1e-15)."""
        from models.treeshap import FastTreeShap

        if self._fast is None:
            self._fast = FastTreeShap(self.booster)
        self._fast.shap_values(np.zeros((1, n_features)))

    def _fast_explainer(self, n_rows: int) -> Any:
        if self._fast is not None or n_rows < FAST_SHAP_MIN_ROWS:
            return self._fast
        from models.treeshap import FastTreeShap

        self._fast = FastTreeShap(self.booster)
        return self._fast


class PointsScorer:
    """The cold-start points model (``models.points``): log-odds = slope * points + intercept,
    each rule's contribution its points against the reference population's average."""

    def __init__(
        self,
        points: Mapping[str, Any],
        features: Sequence[str],
        categories: Mapping[str, Sequence[str]],
    ) -> None:
        self.rules = PointsRules.from_dict(points["rules"])
        self.curve = dict(points["curve"])
        self.mean_points = np.asarray(points["mean_points"], dtype=np.float64)
        if self.mean_points.size != len(features):
            raise ValueError("points model: mean_points and features differ in length")
        self._features = list(features)
        self._categories = categories

    def raw(self, X: np.ndarray) -> np.ndarray:
        return self.contributions(X).sum(axis=1)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        by_rule = points_by_rule(self.rules, self._features, X, self._categories)
        return points_contributions(by_rule, self.curve, self.mean_points)

    def warm_up(self, n_features: int) -> None:
        """Rules need no compiling."""

    def rule_points(self, index: np.ndarray, impact: np.ndarray) -> np.ndarray:
        """The points behind reasons (their impact undone: impact / slope + the rule's mean)."""
        return impact / self.curve["slope"] + self.mean_points[index]
