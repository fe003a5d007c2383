"""The feature benchmark's pandas peer computes every feature of the spec, equal to the batch
engine: a ratio against a peer that skips features (or computes them differently) would
flatter the engine."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture
def peer_modules(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _feature_peers
    import _feature_workers

    yield _feature_workers, _feature_peers
    for name in ("_feature_peers", "_feature_workers", "_generated_crm"):
        sys.modules.pop(name, None)


def test_the_pandas_peer_equals_the_batch_engine_on_every_feature(peer_modules) -> None:
    workers, peers = peer_modules
    data, spec, snaps, batch, _ = workers._peer_batch(400, 7)
    reference = peers.pandas_features(spec, data, snaps)
    assert list(reference.columns[2:]) == list(spec.names)
    assert peers.max_difference(spec, batch, reference) < 1e-9
