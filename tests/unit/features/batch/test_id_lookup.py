"""Lead ids looked up by hash partitions (``features.batch.kernels.id_kernels``): the same positions as a
dictionary, whatever the chunks, slices, batches and partitions, and a match only on equal
bytes, never on an equal hash alone."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from features.batch import lead_ids as lookup
from features.batch.kernels import id_kernels


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


def _partitioned(offsets: np.ndarray, data: np.ndarray, bits: int) -> tuple:
    """One key counted and copied into its partition: ``(partition, kept hash half, row
    starts, word starts, key_meta, key_words)``, as ``lead_ids._look_up`` makes them."""
    part_of_row = np.empty(1, dtype=np.uint16)
    hash_of_row = np.empty(1, dtype=np.uint32)
    rows, words = id_kernels.count_partitions(offsets, data, bits, part_of_row, hash_of_row)
    row_starts, word_starts = np.r_[0, np.cumsum(rows)], np.r_[0, np.cumsum(words)]
    key_meta = np.empty(1, dtype=np.uint64)
    key_words = np.empty(word_starts[-1], dtype=np.uint64)
    id_kernels.scatter_keys(
        offsets, data, part_of_row, hash_of_row, row_starts[:-1].copy(),
        word_starts[:-1].copy(), key_meta, key_words,
    )  # fmt: skip
    return int(part_of_row[0]), int(hash_of_row[0]), row_starts, word_starts, key_meta, key_words


def _forged_match(key: str, lead: bytes) -> int:
    """``key`` looked up in a table of one lead that carries the key's hash (a forged 64-bit
    collision) but holds the bytes ``lead``: the lead's position (0) or -1."""
    bits = 1
    table = id_kernels.partition_values(*_buffers([key]), np.ones(1, dtype=bool), bits)
    order, _, _, _, value_hash, slot_starts, slots = table
    key_part, key_hash, row_starts, word_starts, key_meta, key_words = _partitioned(
        *_buffers([key]), bits
    )
    assert key_part == value_hash[0] >> np.uint64(64 - bits)
    assert key_hash == value_hash[0] & np.uint64(0xFFFFFFFF)  # kept for matching
    padded = lead + bytes(-len(lead) % 8)  # the table's words are zero-padded
    found = np.empty(1, dtype=np.int32)
    id_kernels.match_partitions(
        0, 2, order, np.array([0, len(padded) // 8]), np.frombuffer(padded, np.uint64),
        np.array([len(lead)], dtype=np.uint32), value_hash, slot_starts, slots, row_starts,
        word_starts, key_meta, key_words, found,
    )  # fmt: skip
    return int(found[0])


def test_an_equal_hash_without_equal_bytes_is_no_match() -> None:
    """A match needs the key's bytes, not just its hash: a lead forged to carry the key's
    hash is found only when its bytes are the key's too."""
    assert _forged_match("b", b"b") == 0
    assert _forged_match("b", b"a") == -1
    assert _forged_match("b\x00", b"b") == -1  # the same zero-padded word, another length
    assert _forged_match("x" * 20, b"x" * 20) == 0
    assert _forged_match("x" * 20, b"x" * 19 + b"y") == -1  # only the last word differs


@pytest.mark.parametrize("length", range(21))
def test_an_ids_hash_and_words_do_not_depend_on_where_its_bytes_lie(length: int) -> None:
    """Ids are read a word at a time, past their end into the next id's bytes (masked off),
    except at the very end of the buffer, where they are read byte by byte: an id hashes and
    copies the same either way, at any alignment, as its zero-padded bytes."""
    key = bytes(range(0x61, 0x61 + length))  # "abc...": no zero byte to hide a bad mask
    padded = key + bytes(-length % 8)
    expected_words = np.frombuffer(padded, dtype="<u8")
    seen = set()
    for before in range(9):
        prefix = b"\xff" * before
        for data in (prefix + key, prefix + key + b"\xff" * 9):  # at the end; followed by bytes
            offsets = np.array([before, before + length], dtype=np.int64)
            part, low_hash, _, _, key_meta, words = _partitioned(
                offsets, np.frombuffer(data, dtype=np.uint8), 4
            )
            assert key_meta[0] & np.uint64(0xFFFFFFFF) == length
            seen.add((part, low_hash))
            np.testing.assert_array_equal(words, expected_words)
    assert len(seen) == 1
