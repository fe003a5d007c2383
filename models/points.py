"""The transparent points model: the classic marketing-automation rules, as a servable scorer.

Points per event type apply to the decayed count ``decay_{type}`` (a demo request today is
worth its full points, one a half-life ago half of them), plus points per attribute value and,
for tables without events (static exports), points per unit of chosen numeric columns. A
lead's points are the sum of its rules' points; nothing is learnt but the map from points to
probability (a logistic curve, ``log-odds = slope * points + intercept``), so every reason is
a rule and its points.

It is what ``train`` registers when the data cannot yet support a trained model (cold start),
and the rule-based baseline of the validation report (``evaluation.baselines``) scores with
the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Points per event type, applied to ``decay_{type}``. Typical values from marketing-automation
# playbooks: intent events score high, passive ones low, opt-outs negative.
DEFAULT_EVENT_POINTS: dict[str, float] = {
    "demo_request": 50.0,
    "pricing_page_view": 20.0,
    "form_submit": 15.0,
    "webinar_attended": 15.0,
    "content_download": 10.0,
    "email_click": 5.0,
    "web_visit": 2.0,
    "email_open": 1.0,
    "unsubscribe": -30.0,
    "email_bounce": -10.0,
}

# Points per attribute value (explicit "fit" scoring). Columns absent from the table are skipped.
DEFAULT_ATTRIBUTE_POINTS: dict[str, dict[str, float]] = {
    "seniority": {"c_level": 20.0, "vp": 15.0, "director": 10.0, "manager": 5.0},
    "company_size": {
        "1-10": -5.0,
        "51-200": 5.0,
        "201-1000": 10.0,
        "1001-5000": 10.0,
        "5000+": 5.0,
    },
    "is_customer": {"True": 10.0, "1": 10.0, "1.0": 10.0},
}

# Static tables have no decayed event counts: points per unit of their engagement columns.
STATIC_NUMERIC_POINTS: dict[str, float] = {
    "total_visits": 2.0,
    "total_time_spent_on_website": 0.02,
    "page_views_per_visit": 1.0,
}

# Without enough outcomes to fit the curve: 25 points double the odds.
DEFAULT_SLOPE = float(np.log(2.0) / 25.0)
DECAY_PREFIX = "decay_"


@dataclass(frozen=True)
class PointsRules:
    """Per-feature rules: ``weights`` (points per unit of a numeric feature, missing = 0) and
    ``levels`` (points per value of a categorical or boolean feature, others = 0)."""

    weights: dict[str, float]
    levels: dict[str, dict[str, float]]

    @property
    def features(self) -> list[str]:
        """The features any rule reads, in a stable order."""
        return [*self.weights, *(name for name in self.levels if name not in self.weights)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "levels": {k: dict(v) for k, v in self.levels.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PointsRules:
        return cls(
            {str(k): float(v) for k, v in data["weights"].items()},
            {str(k): {str(a): float(b) for a, b in v.items()} for k, v in data["levels"].items()},
        )


def default_rules(
    columns: Sequence[str],
    event_points: Mapping[str, float] | None = None,
    attribute_points: Mapping[str, Mapping[str, float]] | None = None,
    numeric_points: Mapping[str, float] | None = None,
) -> PointsRules:
    """The rules that apply to a table with ``columns``: event points on its ``decay_`` columns
    (static tables without any: ``numeric_points``, by default :data:`STATIC_NUMERIC_POINTS`),
    attribute points on its attribute columns."""
    present = set(columns)
    events = DEFAULT_EVENT_POINTS if event_points is None else event_points
    weights = {
        f"{DECAY_PREFIX}{kind}": float(pts)
        for kind, pts in events.items()
        if f"{DECAY_PREFIX}{kind}" in present
    }
    if numeric_points is None and not any(c.startswith(DECAY_PREFIX) for c in present):
        numeric_points = STATIC_NUMERIC_POINTS
    for column, pts in (numeric_points or {}).items():
        if column in present:
            weights[column] = float(pts)
    attributes = DEFAULT_ATTRIBUTE_POINTS if attribute_points is None else attribute_points
    levels = {
        column: {str(k): float(v) for k, v in table.items()}
        for column, table in attributes.items()
        if column in present
    }
    return PointsRules(weights, levels)


def points_by_rule(
    rules: PointsRules,
    features: Sequence[str],
    X: np.ndarray,
    categories: Mapping[str, Sequence[str]],
) -> np.ndarray:
    """(rows, features) points of each rule for the encoded matrix ``X`` (the model's encoding:
    categoricals as codes into ``categories``, unknown/missing as NaN or the missing code)."""
    out = np.zeros(X.shape, dtype=np.float64)
    for j, name in enumerate(features):
        column = X[:, j]
        if name in rules.weights:
            out[:, j] = rules.weights[name] * np.nan_to_num(column, nan=0.0)
        if name in rules.levels:
            table = rules.levels[name]
            if name in categories:
                by_code = np.array([table.get(v, 0.0) for v in categories[name]] + [0.0])
                codes = np.where(np.isnan(column), len(categories[name]), column).astype(np.intp)
                out[:, j] += by_code[codes]
            else:  # numeric or 0/1 flags: the first key naming each number counts
                for number, pts in _numeric_levels(table).items():
                    out[:, j] += np.where(column == number, pts, 0.0)
    return out


def _numeric_levels(table: Mapping[str, float]) -> dict[float, float]:
    """Level keys read as numbers ("True"/"1"/"1.0" all name 1.0; the first one wins)."""
    out: dict[float, float] = {}
    for key, pts in table.items():
        if key in ("True", "False"):
            out.setdefault(float(key == "True"), pts)
            continue
        try:
            out.setdefault(float(key), pts)
        except ValueError:
            continue
    return out


def fit_points_curve(
    points: np.ndarray, y: np.ndarray | None, min_per_class: int = 5
) -> dict[str, float]:
    """``slope`` and ``intercept`` of log-odds = slope * points + intercept.

    With at least ``min_per_class`` wins and losses: a logistic regression on the points (the
    slope kept positive: more points never lowers the score). Otherwise the slope is
    :data:`DEFAULT_SLOPE` and the intercept puts the average lead at the smoothed win rate
    ``(wins + 1) / (rows + 2)`` (1/2 without any outcome)."""
    points = np.asarray(points, dtype=np.float64)
    y_arr = np.zeros(0) if y is None else np.asarray(y, dtype=np.float64)
    wins = float(y_arr.sum())
    losses = float(y_arr.size - wins)
    if min(wins, losses) >= min_per_class and np.ptp(points) > 0:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0, max_iter=1000).fit(points.reshape(-1, 1), y_arr)
        slope = float(model.coef_[0, 0])
        if slope > 0:
            return {"slope": slope, "intercept": float(model.intercept_[0]), "fitted": 1.0}
    rate = (wins + 1.0) / (y_arr.size + 2.0)
    mean = float(points.mean()) if points.size else 0.0
    intercept = float(np.log(rate / (1.0 - rate))) - DEFAULT_SLOPE * mean
    return {"slope": DEFAULT_SLOPE, "intercept": intercept, "fitted": 0.0}


def points_contributions(
    by_rule: np.ndarray, curve: Mapping[str, float], mean_points: np.ndarray
) -> np.ndarray:
    """(rows, features + 1) log-odds contributions, like TreeSHAP's: each rule's points
    relative to the reference population's average for that rule, times the slope; the last
    column is the average lead's log-odds. Rows sum to the lead's log-odds."""
    slope = curve["slope"]
    bias = curve["intercept"] + slope * float(np.sum(mean_points))
    out = np.empty((by_rule.shape[0], by_rule.shape[1] + 1))
    out[:, :-1] = slope * (by_rule - mean_points)
    out[:, -1] = bias
    return out
