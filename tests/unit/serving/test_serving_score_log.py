"""The append-only score log: rows in, no personal data, batch per call, newest first."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models.schema import ScoreDetail, ScoreOut
from serving import score_log as score_log_module
from serving.score_log import COLUMNS, BackgroundScoreLog, ScoreLog


def _score(lead_id: str, probability: float, version: str = "3") -> ScoreOut:
    return ScoreOut(
        lead_id=lead_id,
        as_of=datetime(2026, 3, 1, tzinfo=UTC),
        probability=probability,
        score=max(1, min(99, round(probability * 100))),
        tier="A" if probability > 0.8 else "C",
        sales_ready=probability > 0.8,
        fit=50.0,
        engagement=20.0,
        reasons=[],
        model_version=version,
    )


def test_append_writes_one_row_per_score_with_only_outputs(tmp_path: Path) -> None:
    log = ScoreLog(tmp_path / "logs" / "scores.sqlite")
    stamp = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert log.append([_score("L1", 0.9), _score("L2", 0.2)], scored_at=stamp) == 2
    rows = sqlite3.connect(tmp_path / "logs" / "scores.sqlite").execute(
        "SELECT * FROM scores ORDER BY id"
    )
    names = [d[0] for d in rows.description]
    # No attributes, events or other raw input; the explanation is group keys and numbers.
    assert names == ["id", *COLUMNS, "explanation"]
    data = rows.fetchall()
    assert [r[1] for r in data] == ["L1", "L2"]
    assert data[0][2:] == (
        "2026-03-01T00:00:00+00:00",
        stamp.isoformat(),
        "3",
        0.9,
        "A",
        None,  # the stand-in scores carry no per-group points
    )


def test_history_is_newest_first_and_limited(tmp_path: Path) -> None:
    log = ScoreLog(tmp_path / "scores.sqlite")
    for version, p in (("1", 0.1), ("2", 0.5), ("3", 0.95)):
        log.append([_score("L1", p, version), _score("other", 0.3, version)])
    history = log.history("L1", limit=2)
    assert [h["model_version"] for h in history] == ["3", "2"]
    assert history[0]["tier"] == "A"
    assert log.history("missing") == []


def test_empty_append_is_a_no_op_and_log_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    log = ScoreLog(path)
    assert log.append([]) == 0
    log.append([_score("L1", 0.4)])
    log.close()
    assert ScoreLog(path).count() == 1


def test_wal_mode_and_concurrent_appends_lose_nothing(tmp_path: Path) -> None:
    log = ScoreLog(tmp_path / "scores.sqlite")
    mode = sqlite3.connect(tmp_path / "scores.sqlite").execute("PRAGMA journal_mode").fetchone()
    assert mode[0] == "wal"

    def worker(i: int) -> None:
        for j in range(20):
            log.append([_score(f"L{i}-{j}", 0.5)] * 3)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.count() == 4 * 20 * 3


def test_module_has_no_update_or_delete_path() -> None:
    source = Path(score_log_module.__file__).read_text()
    assert not re.search(r"\b(UPDATE|DELETE|DROP)\b", source)


def test_background_log_commits_everything_queued_and_survives_write_errors(
    tmp_path: Path, caplog
) -> None:
    from serving.score_log import BackgroundScoreLog

    log = BackgroundScoreLog(ScoreLog(tmp_path / "scores.sqlite"))
    stamp = datetime(2026, 3, 2, tzinfo=UTC)

    def worker(i: int) -> None:
        for j in range(25):
            log.append([_score(f"L{i}-{j}", 0.5)] * 2, scored_at=stamp)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.count() == 200  # count() flushes first: this process reads its own writes
    assert log.history("L3-24")[0]["scored_at"] == stamp.isoformat()
    log.append([_score("last", 0.9)])
    log.close()  # commits what is still queued
    assert ScoreLog(tmp_path / "scores.sqlite").count() == 201

    broken = BackgroundScoreLog(ScoreLog(tmp_path / "other.sqlite"))
    broken.log._conn.close()  # the file became unwritable
    assert broken.append([_score("lost", 0.1)]) == 1  # the request is not failed by the log
    broken.flush()
    assert "1 scores could not be written" in caplog.text


def _open_and_append(directory: str, start: Any, worker: int, rounds: int) -> None:
    for round_ in range(rounds):
        start.wait(timeout=60)  # all open a fresh log at the same moment, as workers do
        log = ScoreLog(Path(directory) / f"scores-{round_}.sqlite")
        log.append([_score(f"W{worker}-{i}", 0.5) for i in range(20)])


def test_service_workers_opening_a_new_log_at_once_all_start(tmp_path: Path) -> None:
    """Several processes creating the same log together: none fails with 'database is
    locked' (it once left the service running on one worker of two) and no row is lost."""
    context = multiprocessing.get_context("spawn")
    workers, rounds = 8, 4
    start = context.Barrier(workers)
    processes = [
        context.Process(
            target=_open_and_append, args=(str(tmp_path), start, i, rounds), daemon=True
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        if process.is_alive():  # a peer died and left it at the barrier
            process.kill()
            process.join()
    assert [p.exitcode for p in processes] == [0] * workers
    for round_ in range(rounds):
        log = sqlite3.connect(tmp_path / f"scores-{round_}.sqlite")
        assert log.execute("SELECT count(*) FROM scores").fetchone()[0] == 20 * workers


def test_background_log_commits_without_a_flush_within_its_interval(tmp_path: Path) -> None:
    from serving.score_log import BackgroundScoreLog

    log = BackgroundScoreLog(ScoreLog(tmp_path / "scores.sqlite"), interval=0.05)
    reader = ScoreLog(tmp_path / "scores.sqlite")  # another process's view: no flush
    log.append([_score("A", 0.2), _score("B", 0.3)])
    deadline = time.monotonic() + 5
    while reader.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert reader.count() == 2
    log.close()
    log.flush()  # after close: returns at once, nothing pending
    assert reader.count() == 2


def _explained(lead_id: str, impacts: dict[str, float], events: int, day: int = 1) -> ScoreOut:
    score = _score(lead_id, 0.3).model_copy(
        update={"base_probability": 0.02, "as_of": datetime(2026, 3, day, tzinfo=UTC)}
    )
    detail = ScoreDetail(impacts=impacts, slope=8.0, events=events, values={"industry": "x"})
    score.attach_detail(detail)
    return score


def test_latest_explanations_are_the_newest_logged_with_points(tmp_path: Path) -> None:
    log = ScoreLog(tmp_path / "scores.sqlite")
    log.append([_explained("L1", {"demo_request": 1.0}, 3), _explained("L2", {"a": 2.0}, 1)])
    log.append([_explained("L1", {"demo_request": 6.0}, 4, day=5)])
    log.append([_score("L1", 0.4)])  # a later row without an explanation does not hide it
    found = log.latest_explanations(["L1", "L2", "L3", "L1"])
    assert set(found) == {"L1", "L2"}
    assert found["L1"].impacts == {"demo_request": 6.0} and found["L1"].events == 4
    assert found["L1"].points("demo_request") == 48.0
    assert found["L1"].as_of == datetime(2026, 3, 5, tzinfo=UTC)
    stored = sqlite3.connect(tmp_path / "scores.sqlite").execute(
        "SELECT explanation FROM scores WHERE explanation IS NOT NULL"
    )
    assert all("industry" not in text and '"x"' not in text for (text,) in stored)


def test_a_log_written_before_explanations_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "scores.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE scores (id INTEGER PRIMARY KEY AUTOINCREMENT, lead_id TEXT NOT NULL, "
        "as_of TEXT NOT NULL, scored_at TEXT NOT NULL, model_version TEXT NOT NULL, "
        "probability REAL NOT NULL, tier TEXT NOT NULL);"
        "INSERT INTO scores (lead_id, as_of, scored_at, model_version, probability, tier) "
        "VALUES ('L1', '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '1', 0.1, 'D');"
    )
    old.close()
    log = ScoreLog(path)
    assert log.latest_explanations(["L1"]) == {}
    log.append([_explained("L1", {"a": 1.0}, 2)])
    assert log.latest_explanations(["L1"])["L1"].impacts == {"a": 1.0}
    assert [h["model_version"] for h in log.history("L1")] == ["3", "1"]


def test_background_log_sees_its_own_pending_scores(tmp_path: Path) -> None:
    log = BackgroundScoreLog(ScoreLog(tmp_path / "scores.sqlite"), interval=60.0)
    try:
        log.append([_explained("L1", {"a": 1.0}, 2)])
        assert log.log.count() == 0  # not committed yet
        assert log.latest_explanations(["L1"])["L1"].impacts == {"a": 1.0}
    finally:
        log.close()
