"""The background rescorer: keeps every stored lead's score current while the service answers.

One process per store rescores (:mod:`store.leadership`); the others stand by and take over if
it goes. Each round it takes, in this order of priority, up to ``batch`` leads that changed
since their score, or whose score came from another model version (the champion moved: every
lead is rescored while reads keep answering with the old version's score), or whose score is
older than ``refresh_hours`` (recency features change with time alone), scores them with the
served model and records them: each lead's "score changed" step runs in that write
transaction. Reads never wait for it: a read finding a lead changed since its score scores it
itself (``GET /leads/{id}``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from serving.model_handle import ServedModel
from serving.store_scoring import score_stored
from store.lead_store import LeadStore
from store.leadership import Leadership, try_leadership
from store.records import to_micros

logger = logging.getLogger(__name__)


class BackgroundRescorer:
    """A daemon thread rescoring stored leads (see module docstring)."""

    def __init__(
        self,
        store: LeadStore,
        current_model: Callable[[], ServedModel],
        *,
        interval: float,
        refresh_hours: float,
        explain: int,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.current_model = current_model
        self.interval = interval
        self.refresh_hours = refresh_hours
        self.explain = explain
        self.batch = batch
        self._leadership: Leadership | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rescored = 0  # leads scored by this process (for tests and logs)
        # A champion change is announced (model.promoted / rolled_back) once every stored
        # lead has its new score: checked when this process takes over and after a rescoring.
        self._announce_due = True

    @property
    def is_leader(self) -> bool:
        return self._leadership is not None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="rescorer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        if self._leadership is not None:
            self._leadership.release()
            self._leadership = None

    def step(self) -> tuple[str, int]:
        """Score the next leads due; return why and how many (0: nothing due)."""
        model = self.current_model()
        refresh_before = None
        if self.refresh_hours > 0:
            cutoff = datetime.now(UTC) - timedelta(hours=self.refresh_hours)
            refresh_before = to_micros(cutoff)
        cause, lead_ids = self.store.leads_to_rescore(model.version, refresh_before, self.batch)
        if cause == "model":
            self._announce_due = True
        elif self._announce_due and self.store.alerts is not None:
            self.store.announce_model_change(model.version)
            self._announce_due = False
        if not lead_ids:
            return cause, 0
        try:
            scores = score_stored(self.store, model, lead_ids, self.explain, cause)
        except ValueError:
            scores = self._one_by_one(model, lead_ids, cause)
        self.store.record_scores(scores, refresh=cause == "refresh")
        self.rescored += len(scores)
        return cause, len(lead_ids)

    def _one_by_one(self, model: ServedModel, lead_ids: list[str], cause: str) -> list:
        """A lead the model refuses must not hold up the others: it is left for a later
        round (and counted in the log, without its id)."""
        scores, refused = [], 0
        for lead_id in lead_ids:
            try:
                scores.extend(score_stored(self.store, model, [lead_id], self.explain, cause))
            except ValueError:
                refused += 1
        logger.error("the model refused %d stored leads; they keep their last score", refused)
        return scores

    def _run(self) -> None:
        model_run: tuple[str, int, float] | None = None  # version, leads, start of a rescoring
        while not self._stop.is_set():
            try:
                if self._leadership is None:
                    self._leadership = try_leadership(self.store.db)
                    if self._leadership is None:
                        self._stop.wait(self.interval * 4)
                        continue
                    logger.info("this worker rescores the lead store")
                cause, n = self.step()
            except Exception:
                # A database hiccup or a model failure must not end the thread; it is logged
                # (counts only: no lead ids) and retried next round.
                logger.exception("rescoring failed; retrying")
                self._stop.wait(self.interval * 4)
                continue
            model_run = _report_model_run(model_run, cause, n, self.current_model().version)
            if n == 0:
                self._stop.wait(self.interval)


def _report_model_run(
    run: tuple[str, int, float] | None, cause: str, n: int, version: str
) -> tuple[str, int, float] | None:
    """Log when a rescoring after a champion change starts and ends (with leads per second)."""
    if cause == "model" and n:
        if run is None or run[0] != version:
            logger.info("champion is v%s: rescoring every stored lead", version)
            return version, n, time.monotonic()
        return run[0], run[1] + n, run[2]
    if run is not None and cause != "model":
        seconds = time.monotonic() - run[2]
        logger.info(
            "rescored %d leads for v%s in %.1f s (%.0f leads/s)",
            run[1], run[0], seconds, run[1] / max(seconds, 1e-9),
        )  # fmt: skip
        return None
    return run
