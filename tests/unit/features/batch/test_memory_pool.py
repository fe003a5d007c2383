"""Arrow's allocator: the one the settings name, unless ARROW_DEFAULT_MEMORY_POOL says
otherwise; the CLI sets it up before any command runs."""

from __future__ import annotations

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from features.batch import memory_pool
from features.batch.memory_pool import use_arrow_memory_pool


@pytest.fixture(autouse=True)
def _restore_pool(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(memory_pool.ARROW_ENV, raising=False)
    monkeypatch.delenv("LEADSCORE_ARROW_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool()
    yield
    pa.set_memory_pool(before)


def test_the_named_pool_becomes_the_default() -> None:
    for name in ("system", "mimalloc", "jemalloc", "system"):
        assert use_arrow_memory_pool(name) == name
        assert pa.default_memory_pool().backend_name == name
        assert pa.array(["a lead id"]).to_pylist() == ["a lead id"]  # allocates from it


def test_the_users_arrow_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    monkeypatch.setenv(memory_pool.ARROW_ENV, "mimalloc")
    assert use_arrow_memory_pool("jemalloc") == "mimalloc"


def test_worker_processes_get_the_pool_by_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    assert memory_pool.worker_env("jemalloc") == {memory_pool.ARROW_ENV: "jemalloc"}
    assert memory_pool.worker_env(None) == {}
    monkeypatch.setenv(memory_pool.ARROW_ENV, "mimalloc")  # the user's choice reaches them
    assert memory_pool.worker_env("jemalloc") == {}


def test_a_pool_this_pyarrow_lacks_falls_back_to_the_system_allocator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_built() -> pa.MemoryPool:
        raise NotImplementedError("built without jemalloc")  # as pyarrow raises then

    monkeypatch.setitem(memory_pool.POOLS, "jemalloc", not_built)
    assert use_arrow_memory_pool("jemalloc") == "system"


def test_an_unknown_pool_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'tcmalloc'.*jemalloc.*mimalloc.*system"):
        use_arrow_memory_pool("tcmalloc")


def test_the_cli_sets_the_pool_from_the_settings(tmp_path, monkeypatch) -> None:
    from leadscore.cli import app

    monkeypatch.chdir(tmp_path)  # no stray .env file
    pa.set_memory_pool(pa.mimalloc_memory_pool())
    run = CliRunner().invoke(
        app, ["features", "build", "--help"], env={"LEADSCORE_ARROW_MEMORY_POOL": "system"}
    )
    assert run.exit_code == 0, run.output
    assert pa.default_memory_pool().backend_name == "system"
    run = CliRunner().invoke(app, ["features", "build", "--help"])
    assert run.exit_code == 0, run.output
    assert pa.default_memory_pool().backend_name == "jemalloc"  # the default


def test_feature_blocks_come_from_arrows_pool_and_go_back_when_unused() -> None:
    """The batch engine's per-chunk blocks: Arrow's memory, held as long as any view of it.
    A proxy pool counts only what is allocated through it, whatever else the process holds."""
    import gc

    import numpy as np
    import pandas as pd

    from features.batch.memory_pool import empty_from_arrow_pool

    pool = pa.proxy_memory_pool(pa.system_memory_pool())
    pa.set_memory_pool(pool)
    block = empty_from_arrow_pool(72, 1001)  # rows padded to whole cache lines
    assert block.shape == (72, 1001) and block.dtype == np.float64
    assert block.strides == (8 * 1008, 8) and block.flags.writeable
    assert pool.bytes_allocated() >= 8 * 72 * 1008
    block[:] = 1.5
    frame = pd.DataFrame(block.T, copy=False)  # as the engine's frames hold it
    del block
    gc.collect()
    assert pool.bytes_allocated() >= 8 * 72 * 1008
    assert float(frame.to_numpy().sum()) == 1.5 * 72 * 1001
    del frame
    gc.collect()
    assert pool.bytes_allocated() == 0
    assert empty_from_arrow_pool(72, 0).shape == (72, 0)
