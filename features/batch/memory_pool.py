"""Which allocator Arrow uses for the tables we read, convert and write.

Why choose: pyarrow's default pool (mimalloc in recent Linux wheels) hands freed pages back
and faults them in again so eagerly that on a 2-core VM, loading a simulated CRM of 200k
leads and 8.6M events from Parquet took 15-19 s, most of it in the kernel zeroing pages; with
jemalloc or the system allocator it took 2.4-7 s (fresh processes, alternated). Of the two,
jemalloc also ran the batch engine faster (1M leads in time order, 2 pairs: 7.0 / 7.7 s vs
8.0 / 8.3 s with the system allocator and 7.8 / 8.4 s with mimalloc) in ~45 MB less memory
than mimalloc. ``benchmarks/features.py`` measures the CLI's path with both. A pool the user
names in ``ARROW_DEFAULT_MEMORY_POOL`` (Arrow's own variable) is left alone.

The batch engine also takes its per-chunk feature blocks from this pool
(:func:`empty_from_arrow_pool`), for the same reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pyarrow as pa

POOLS: dict[str, Callable[[], pa.MemoryPool]] = {
    "jemalloc": pa.jemalloc_memory_pool,
    "mimalloc": pa.mimalloc_memory_pool,
    "system": pa.system_memory_pool,
}
ARROW_ENV = "ARROW_DEFAULT_MEMORY_POOL"
LINE = 8  # float64 values in a 64-byte cache line


def use_arrow_memory_pool(name: str) -> str:
    """Make ``name`` (jemalloc, mimalloc or system) Arrow's default pool for this process,
    unless ``ARROW_DEFAULT_MEMORY_POOL`` is set; a pool this pyarrow was built without falls
    back to the system allocator. Returns the pool now in use."""
    if name not in POOLS:
        raise ValueError(f"unknown Arrow memory pool {name!r}: choose one of {sorted(POOLS)}")
    if not os.environ.get(ARROW_ENV):
        try:
            pool = POOLS[name]()
        except NotImplementedError:  # a wheel built without it (e.g. jemalloc on macOS)
            pool = pa.system_memory_pool()
        pa.set_memory_pool(pool)
    return pa.default_memory_pool().backend_name


def worker_env(name: str | None) -> dict[str, str]:
    """The environment that makes a child process (a local Dask worker) use ``name`` as
    Arrow's pool, with the same rule as :func:`use_arrow_memory_pool`: nothing when no pool
    is named or ``ARROW_DEFAULT_MEMORY_POOL`` is already set (children inherit it)."""
    return {ARROW_ENV: name} if name and not os.environ.get(ARROW_ENV) else {}


def empty_from_arrow_pool(rows: int, columns: int) -> np.ndarray:
    """An uninitialised, writable float64 ``(rows, columns)`` array in memory from Arrow's
    default pool; the memory is returned to the pool when the array (and every view of it,
    such as a DataFrame over it) is gone. Each row starts on a 64-byte cache line (Arrow's
    buffers do, and rows are padded to whole lines), so the batch kernel can write it a line
    at a time (``features.batch.kernels.line_stores``); the array is a view of the padded rows.

    Why: the batch engine fills one block per chunk of leads (~19 MB for 2,000 leads,
    hundreds per run) and the consumer lets it go soon after. From malloc, each came out of a
    worker thread's arena, which handed the freed block back to the kernel when it trimmed
    its heap, so chunk after chunk faulted its block in afresh (mostly kernel time here).
    jemalloc keeps freed memory for the next chunk. End to end, alternated fresh processes
    on a slow afternoon: 200k leads 1.18-1.79 s -> 1.15-1.40 s (3 of 4 pairs faster); 1M
    leads with events in time order 10.4 / 9.4 s -> 7.7 / 6.6 s; lead by lead no difference
    (4 pairs, 2 each way), with 45-70 MB more at the peak (blocks kept for reuse)."""
    padded = -(-columns // LINE) * LINE
    buffer = pa.allocate_buffer(8 * rows * padded)
    return np.frombuffer(buffer, dtype=np.float64).reshape(rows, padded)[:, :columns]
