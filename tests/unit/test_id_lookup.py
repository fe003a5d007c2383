"""Lead ids looked up by hash partitions (``features.id_kernels``): the same positions as a
dictionary, whatever the chunks, slices, batches and partitions, and a match only on equal
bytes, never on an equal hash alone."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from features import id_kernels
from features import lead_ids as lookup


def _first_positions(keys: list[str | None], values: list[str | None]) -> np.ndarray:
    first: dict[str, int] = {}
    for position, value in enumerate(values):
        if value is not None:
            first.setdefault(value, position)
    return np.array([-1 if key is None else first.get(key, -1) for key in keys], dtype=np.int32)


@pytest.mark.parametrize(("threads", "per_partition"), [(1, 4), (3, 4), (3, 1000)])
def test_positions_are_a_dictionarys_first_positions(
    monkeypatch, threads: int, per_partition: int
) -> None:
    """Ids of 0 to 300 bytes (prefixes of each other, multi-byte characters), a duplicate
    lead (the first is found), missing leads and keys (never found), unknown keys; keys in
    three chunks, one of them a slice, looked up in several batches over many partitions
    (or the fewest, two)."""
    monkeypatch.setattr(lookup, "_BATCH_KEYS", 700)
    monkeypatch.setattr(lookup, "_VALUES_PER_PARTITION", per_partition)
    rng = np.random.default_rng(8)
    # A missing lead before "" (both have no bytes); "L12" twice (3 is its first position).
    values: list[str | None] = [None, "", "L1", "L12", "L123456", "L1234567", "L12345678"]
    values += ["é-lead-ü", "x" * 300, "00Q5g00000ABCDEFG1", "L12"]
    values += [f"lead-{i}" for i in rng.permutation(200)]
    unknown = ["L", "L1234", "x" * 299, "00Q5g00000ABCDEFG2", "lead-200", "lead-01"]
    pool = np.array([*values, *unknown], dtype=object)
    keys = list(pool[rng.integers(0, pool.size, 5000)])
    assert None in keys and "L12" in keys and "x" * 300 in keys
    cut = 1800
    chunks = [
        pa.array(keys[:cut], pa.large_string()),
        pa.array(["before", *keys[cut:4000], "after"], pa.large_string()).slice(1, 4000 - cut),
        pa.array(keys[4000:], pa.large_string()),
    ]
    leads = pa.chunked_array([values[:5], values[5:]], pa.large_string())  # in two chunks
    found = lookup._positions_of(pa.chunked_array(chunks), leads, threads)
    expected = _first_positions(keys, values)
    assert (expected == -1).sum() > 100 and (expected == 1).any() and (expected == 3).any()
    np.testing.assert_array_equal(found, expected)


def test_no_leads_and_no_keys() -> None:
    empty = pa.array([], pa.large_string())
    keys = pa.chunked_array([pa.array(["a", None], pa.large_string())])
    np.testing.assert_array_equal(lookup._positions_of(keys, empty, 2), [-1, -1])
    found = lookup._positions_of(pa.chunked_array([], pa.large_string()), keys.chunk(0), 2)
    assert found.dtype == np.int32 and found.size == 0


def _buffers(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return lookup._string_buffers(pa.array(strings, pa.large_string()))


def test_an_equal_hash_without_equal_bytes_is_no_match() -> None:
    """A table whose one lead carries the hash of key "b" (a forged 64-bit collision): the
    key is found when the lead's bytes are "b" too, and not when they are "a"."""
    bits = 1
    valid = np.ones(1, dtype=bool)
    hash_of_b = id_kernels.partition_values(*_buffers(["b"]), valid, bits)[4][0]
    partition = int(hash_of_b >> np.uint64(64 - bits))
    part_of_row = np.empty(1, dtype=np.uint16)
    hash_of_row = np.empty(1, dtype=np.uint32)
    rows, nbytes = id_kernels.count_partitions(*_buffers(["b"]), bits, part_of_row, hash_of_row)
    assert part_of_row[0] == partition
    assert hash_of_row[0] == hash_of_b & np.uint64(0xFFFFFFFF)  # kept for matching
    row_starts, byte_starts = np.r_[0, np.cumsum(rows)], np.r_[0, np.cumsum(nbytes)]
    slot_starts = np.array([0, 16, 32])
    slots = np.full(32, -1, dtype=np.int32)
    slots[slot_starts[partition] + int(hash_of_b & np.uint64(15))] = 0
    starts = np.array([0, 1 - partition, 1])  # the lead in the key's partition

    def match(lead: bytes) -> int:
        found = np.empty(1, dtype=np.int32)
        id_kernels.match_partitions(
            0, 2, starts, np.zeros(1, dtype=np.int32), np.array([0, 1]),
            np.frombuffer(lead, np.uint8), np.array([hash_of_b]), slot_starts, slots,
            row_starts, byte_starts, np.ones(1, dtype=np.uint32), hash_of_row,
            np.frombuffer(b"b", np.uint8), found,
        )  # fmt: skip
        return int(found[0])

    assert match(b"b") == 0
    assert match(b"a") == -1
