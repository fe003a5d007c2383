"""Connect to a Dask cluster for the `--engine dask` commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def dask_client(
    scheduler: str | None, n_workers: int = 2, arrow_memory_pool: str | None = None
) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (``tcp://host:8786``), or for a local cluster
    of ``n_workers`` single-threaded processes when no address is given. A local cluster's
    workers take ``arrow_memory_pool`` as Arrow's allocator, as the CLI's own process does
    (``features.batch.memory_pool``), unless ``ARROW_DEFAULT_MEMORY_POOL`` is set (they inherit it);
    a remote cluster's workers are left as their operator set them up."""
    from distributed import Client, LocalCluster

    from features.batch.memory_pool import worker_env

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            env=worker_env(arrow_memory_pool),
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
