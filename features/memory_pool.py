"""Which allocator Arrow uses for the tables we read, convert and write.

Why choose: pyarrow's default pool (mimalloc in recent Linux wheels) hands freed pages back
and faults them in again so eagerly that on a 2-core VM, loading a simulated CRM of 200k
leads and 8.6M events from Parquet took 15-19 s, most of it in the kernel zeroing pages; with
jemalloc or the system allocator it took 2.4-7 s (fresh processes, alternated). Of the two,
jemalloc also ran the batch engine faster (1M leads in time order, 2 pairs: 7.0 / 7.7 s vs
8.0 / 8.3 s with the system allocator and 7.8 / 8.4 s with mimalloc) in ~45 MB less memory
than mimalloc. ``benchmarks/features.py`` measures the CLI's path with both. A pool the user
names in ``ARROW_DEFAULT_MEMORY_POOL`` (Arrow's own variable) is left alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pyarrow as pa

POOLS: dict[str, Callable[[], pa.MemoryPool]] = {
    "jemalloc": pa.jemalloc_memory_pool,
    "mimalloc": pa.mimalloc_memory_pool,
    "system": pa.system_memory_pool,
}
ARROW_ENV = "ARROW_DEFAULT_MEMORY_POOL"


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
