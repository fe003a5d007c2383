"""The deployable lead-scoring model: everything needed to turn features into served scores.

A :class:`LeadScoreModel` holds the feature spec, the features the booster uses (after the
leakage audit), category mappings, the LightGBM model text, the calibrator, the reference
distribution for percentile scores, thresholds and metadata. It is stored as two files —
``bundle.json`` and ``booster.txt`` — so it is inspectable, diffable and free of pickles.

Outputs per lead (see ``models.schema.ScoreOut``): ``probability`` (calibrated), ``score``
(percentile of the probability among the reference population — the calibration slice —
clipped to 1–99), ``tier`` (score cut-offs), ``sales_ready`` (probability threshold chosen at
training), ``fit``/``engagement`` (``models.explain``) and the top-k ``reasons``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from common.files import write_text_atomically
from features.online.online_engine import OnlineEngine
from features.spec import FeatureSpec
from models.calibrator import apply_calibrator
from models.encoding import RowEncoder, encode_frame
from models.explain import group_scores
from models.grouped_reasons import ReasonGrouping, select_reasons
from models.probability_points import probability_points
from models.reason_changes import ScoredExplanation, describe_changes
from models.request_rows import request_rows
from models.schema import LeadIn, ScoreChanges, ScoreOut
from models.score_outputs import score_outs
from models.scorers import BoosterScorer, PointsScorer

BUNDLE_JSON = "bundle.json"
BOOSTER_TXT = "booster.txt"
BUNDLE_FORMAT = 1


@dataclass
class LeadScoreModel:
    """Feature spec + booster + calibrator + thresholds: scores feature frames and leads."""

    spec: FeatureSpec
    features: list[str]
    categories: dict[str, list[str]]
    booster_text: str
    calibrator: dict[str, Any]
    reference: list[float]
    thresholds: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    # A transparent points model (cold start) instead of a booster: rules, curve and the
    # reference population's mean points per rule (see ``models.points``).
    points: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.features) - set(self.spec.names))
        if unknown:
            raise ValueError(f"model features not in the feature spec: {unknown}")
        self._scorer: BoosterScorer | PointsScorer
        if self.points is not None:
            self._scorer = PointsScorer(self.points, self.features, self.categories)
        else:
            self._scorer = BoosterScorer(self.booster_text, len(self.features))
        self._engine = OnlineEngine(self.spec)
        self._rows = RowEncoder(self.features, self.categories)
        self._reference = np.asarray(self.reference, dtype=np.float64)
        groups = np.array([self.spec[name].group for name in self.features])
        self._fit_mask = groups == "fit"
        self._engagement_mask = groups == "engagement"
        self._attributes = {f.name for f in self.spec.of_family("attribute")}
        self._grouping = ReasonGrouping(self.spec, self.features)

    # ------------------------------------------------------------------ persistence

    def save(self, folder: Path) -> Path:
        """Write ``bundle.json`` and ``booster.txt`` into ``folder`` (each atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        document = {
            "format": BUNDLE_FORMAT,
            "spec": self.spec.to_dict(),
            "features": self.features,
            "categories": self.categories,
            "calibrator": self.calibrator,
            "reference": self.reference,
            "thresholds": self.thresholds,
            "metadata": self.metadata,
        }
        if self.points is not None:
            document["points"] = self.points
        write_text_atomically(self.booster_text, folder / BOOSTER_TXT)
        write_text_atomically(json.dumps(document, indent=1, sort_keys=True), folder / BUNDLE_JSON)
        return folder

    @classmethod
    def load(cls, folder: Path) -> LeadScoreModel:
        """Read a bundle written by :meth:`save`."""
        folder = Path(folder)
        document = json.loads((folder / BUNDLE_JSON).read_text())
        if document.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"{folder}: bundle format {document.get('format')!r} unsupported")
        return cls(
            spec=FeatureSpec.from_dict(document["spec"]),
            features=list(document["features"]),
            categories={k: list(v) for k, v in document["categories"].items()},
            booster_text=(folder / BOOSTER_TXT).read_text(),
            calibrator=document["calibrator"],
            reference=list(document["reference"]),
            thresholds=document["thresholds"],
            metadata=document["metadata"],
            points=document.get("points"),
        )

    # ------------------------------------------------------------------ scoring

    @property
    def is_points_model(self) -> bool:
        """A transparent points model (cold start) rather than a trained booster."""
        return self.points is not None

    @property
    def kind(self) -> str:
        """``points`` (cold start: rules, no trained booster) or ``lightgbm``."""
        return "points" if self.is_points_model else "lightgbm"

    @property
    def booster(self) -> Any:
        if not isinstance(self._scorer, BoosterScorer):
            raise AttributeError("a points model has no booster: use contributions()")
        return self._scorer.booster

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's input matrix for a feature frame."""
        return encode_frame(frame, self.features, self.categories)

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """(rows, features + 1) log-odds contributions (TreeSHAP, or each rule's points for a
        points model); the last column is the bias; rows sum to the raw log-odds."""
        return self._scorer.contributions(X)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities for a feature frame (no explanations)."""
        return apply_calibrator(self.calibrator, self._scorer.raw(self.encode(frame)))

    @property
    def grouping(self) -> ReasonGrouping:
        """The model's reason groups (keys, labels, wording)."""
        return self._grouping

    def score_matrix(
        self, X: np.ndarray, explain_k: int, missing: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Every output as arrays: probability, base_probability, score, tier, sales_ready,
        fit, engagement, ``impacts`` and ``points`` per reason group (rows, groups), the
        ``slope`` (points per unit of log-odds, rows), and the reasons: ``reason_index``
        (rows, k), largest |impact| first, and ``reason_shown``. ``missing`` (rows, groups)
        marks groups with no recorded value (see ``models.grouped_reasons``); by default
        none."""
        contribs = self.contributions(X)
        impacts = self._grouping.impacts(contribs)
        points, probability, base, slope = probability_points(
            impacts, contribs.sum(axis=1), contribs[:, -1], self.calibrator
        )
        score = self.percentile_scores(probability)
        cut = self.thresholds["tiers"]
        tier = np.where(
            score >= cut["A"],
            "A",
            np.where(score >= cut["B"], "B", np.where(score >= cut["C"], "C", "D")),
        )
        if missing is None:
            missing = np.zeros(impacts.shape, dtype=bool)
        index, shown = select_reasons(impacts, missing, explain_k)
        return {
            "probability": probability,
            "base_probability": base,
            "score": score,
            "tier": tier,
            "sales_ready": probability >= self.thresholds["sales_ready"],
            "fit": group_scores(contribs, self._fit_mask),
            "engagement": group_scores(contribs, self._engagement_mask),
            "impacts": impacts,
            "points": points,
            "slope": slope,
            "missing": missing,
            "reason_index": index,
            "reason_shown": shown,
        }

    def percentile_scores(self, probability: np.ndarray) -> np.ndarray:
        """1–99: share of the reference population scoring at or below each probability."""
        rank = np.searchsorted(self._reference, probability, side="right")
        return np.clip(np.rint(100.0 * rank / self._reference.size), 1, 99).astype(np.int64)

    def score_features(self, frame: pd.DataFrame, explain_k: int = 3) -> pd.DataFrame:
        """Score a feature frame (batch engine output); reasons as a JSON list per row."""
        # pandas deep-copies a frame's attrs (a training table carries its spec there) on
        # every column it hands out: read the columns of a view without them.
        frame = frame.copy(deep=False)
        frame.attrs = {}
        missing = self._grouping.missing_in_frame(frame) if explain_k else None
        out = self.score_matrix(self.encode(frame), explain_k, missing)
        result = pd.DataFrame(
            {key: out[key] for key in ("probability", "score", "tier", "sales_ready")}
        )
        result["base_probability"] = out["base_probability"]
        result["fit"] = np.round(out["fit"], 1)
        result["engagement"] = np.round(out["engagement"], 1)
        for key in ("lead_id", "as_of"):
            if key in frame.columns:
                result.insert(0 if key == "lead_id" else 1, key, frame[key].to_numpy())
        absent = np.full(len(frame), None, dtype=object)
        columns = {
            name: frame[name].to_numpy() if name in frame.columns else absent
            for name in self._grouping.columns
        }
        dumps = json.dumps
        result["reasons"] = [dumps(reasons) for reasons in self._reason_dicts(out, columns)]
        return result

    def score_leads(self, leads: Sequence[LeadIn], explain_k: int = 3) -> list[ScoreOut]:
        """Score leads as the API receives them, through the online feature engine."""
        now = datetime.now(UTC)
        stamps = [lead.as_of or now for lead in leads]
        rows, events = request_rows(self._engine, self._attributes, leads, stamps)
        ids = [lead.lead_id for lead in leads]
        return self.score_feature_rows(ids, stamps, rows, explain_k, events)

    @property
    def online_engine(self) -> OnlineEngine:
        """The engine :meth:`score_feature_rows` expects rows from."""
        return self._engine

    def score_feature_rows(
        self,
        lead_ids: Sequence[str],
        stamps: Sequence[datetime],
        rows: Sequence[dict[str, Any]],
        explain_k: int = 3,
        events: Sequence[int] | None = None,
    ) -> list[ScoreOut]:
        """Score rows of :attr:`online_engine` (one per lead, as of its stamp): what
        :meth:`score_leads` does after computing them, for callers holding a lead's events as
        arrays (the lead store) rather than as request objects. ``events``: how many events
        each lead had at its stamp (for "what changed"; default 0)."""
        if not rows:
            return []
        out = self.score_matrix(
            self._rows.encode(list(rows)), explain_k, self._grouping.missing_in_rows(rows)
        )
        columns = {
            name: np.array([row[name] for row in rows], dtype=object)
            for name in self._grouping.columns
        }
        return score_outs(
            lead_ids, stamps, rows, out, self._reason_dicts(out, columns),
            keys=self._grouping.keys,
            version=str(self.metadata.get("version", "unregistered")),
            horizon_days=self.spec.params.horizon_days,
            events=events or [0] * len(rows),
        )  # fmt: skip

    def describe_changes(self, score: ScoreOut, previous: ScoredExplanation) -> ScoreChanges | None:
        """What changed since ``previous`` for a score this model just served (see
        ``models.reason_changes``)."""
        return describe_changes(self._grouping, score, previous)

    def _reason_dicts(
        self, out: Mapping[str, np.ndarray], columns: Mapping[str, np.ndarray]
    ) -> list[list[dict[str, Any]]]:
        reasons = self._grouping.reason_dicts(
            out["reason_index"], out["reason_shown"], out["impacts"], out["points"],
            out["missing"], columns,
        )  # fmt: skip
        if isinstance(self._scorer, PointsScorer):
            means = self._scorer.mean_points @ self._grouping.matrix
            mean_of = dict(zip(self._grouping.keys, means.tolist(), strict=True))
            slope = self._scorer.curve["slope"]
            # A points model's reasons say the rule points behind them: their impact undone
            # (impact / slope) plus the rules' average over the reference population.
            for row in reasons:
                for reason in row:
                    rule = reason["impact"] / slope + mean_of[reason["feature"]]
                    reason["sentence"] += f" (points rule: {rule:+.0f} points)"
        return reasons

    # ------------------------------------------------------------------ helpers

    def warm_up(self) -> None:
        """Compile what scoring needs before the first request (long-running servers; see
        ``models.scorers``)."""
        self._scorer.warm_up(len(self.features))
