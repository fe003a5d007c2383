"""Compiled kernels that look string ids up in a set of distinct ids (the leads), exactly,
partitioned by hash so every lookup stays in a core's cache.

Why: 25M event lead ids in time order looked up in the hash set of 1M leads (Arrow's
``index_in``) missed the cache on every row, ~2 s on two cores. Here the ids are first
partitioned by the top bits of their hash, ~2,000 leads per partition, copying each id's
bytes into its partition's stream. Each partition's ids are then matched against its own
small table and its leads' bytes, which stay in cache, and every match is confirmed byte for
byte (no id is ever taken for another on an equal hash). The results go back to row order
through the same partition counters. The strings are Arrow (large) string buffers: offsets
and bytes.

Ids are kept as whole 8-byte words, zero-padded (the keys in their partitions and the leads
in the table), with their lengths: confirming a match compares one word per 8 bytes instead
of byte by byte. On 2M time-ordered ids of 1M leads (one core, fastest of 9 alternated) the
match took ~18 instead of ~26 ns an id, and copying the ids into their partitions with their
length and hash in one word ~15 instead of ~19 ns.

Ids are read 8 bytes at a time, one unaligned load per word (:func:`_word_at`), for hashing
and copying alike, where a loop assembled each word byte by byte. On 4M time-ordered ids of
1M leads (one core, fastest of 7 alternated, identical partitions, hashes, copies and
positions; three comparisons), hashing and counting took 5.4-6.2 instead of 11.7-15.3 ns an
id, copying 11.6-16.5 instead of 20.9-23.3 ns, and partitioning the 1M leads 0.05-0.10
instead of 0.10-0.21 s.
"""

from __future__ import annotations

import sys

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_M1 = np.uint64(0xFF51AFD7ED558CCD)  # the multipliers of murmur3's 64-bit finaliser
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW = np.uint64(0xFFFFFFFF)  # the half of a key's hash kept from counting to matching
_LITTLE_ENDIAN = sys.byteorder == "little"  # a loaded word's first byte is its lowest


@intrinsic
def _unaligned_word(typingctx, data, at):
    """The 8 bytes ``data[at:at + 8]`` of a uint8 array as one uint64 in the machine's byte
    order, in one load at any alignment (:func:`_word_at` keeps ``at + 8`` within the array
    and calls it on little-endian machines only)."""
    if not (isinstance(data, types.Array) and data.dtype == types.uint8 and data.ndim == 1):
        return None
    signature = types.uint64(data, types.intp)

    def codegen(context, builder, sig, args):
        array = context.make_array(sig.args[0])(context, builder, args[0])
        first = cgutils.get_item_pointer(
            context, builder, sig.args[0], array, [args[1]], wraparound=False
        )
        return builder.load(builder.bitcast(first, ir.IntType(64).as_pointer()), align=1)

    return signature, codegen


@numba.njit(cache=True, nogil=True, inline="always")
def _word_at(data: np.ndarray, i: int, hi: int) -> np.uint64:
    """The bytes ``data[i:min(i + 8, hi)]`` as a little-endian word, zero above them: one
    load when 8 bytes from ``i`` lie in ``data`` (the bytes past ``hi`` belong to the next
    id and are masked off), byte by byte at the buffer's very end (and on a big-endian
    machine). Either way an id's words, and so its hash, are the same."""
    if _LITTLE_ENDIAN and i + 8 <= data.size:
        word = _unaligned_word(data, i)
        if hi - i < 8:
            word &= (np.uint64(1) << np.uint64(8 * (hi - i))) - np.uint64(1)
        return word
    word = np.uint64(0)
    for j in range(i, min(i + 8, hi)):
        word |= np.uint64(data[j]) << np.uint64(8 * (j - i))
    return word


@numba.njit(cache=True, nogil=True, inline="always")
def _hash(data: np.ndarray, lo: int, hi: int) -> np.uint64:
    """A 64-bit hash of ``data[lo:hi]``, mixed 8 bytes at a time."""
    h = np.uint64(hi - lo) * _GOLDEN
    for i in range(lo, hi, 8):
        h = (h ^ _word_at(data, i, hi)) * _M1
        h ^= h >> np.uint64(29)
    h ^= h >> np.uint64(33)
    h *= _M2
    return h ^ (h >> np.uint64(33))


_SHIFT = np.uint64(32)  # a key's meta word: the low half of its hash << 32 | its length


@numba.njit(cache=True, nogil=True, inline="always")
def _words(length: int) -> int:
    """Words of 8 bytes that hold ``length`` bytes."""
    return (length + 7) // 8


@numba.njit(cache=True, nogil=True, inline="always")
def _copy_padded(data: np.ndarray, lo: int, hi: int, into: np.ndarray, at: int) -> int:
    """``data[lo:hi]`` copied to the words ``into[at:]`` with zeros up to a whole word;
    returns the words written."""
    written = 0
    for i in range(lo, hi, 8):
        into[at + written] = _word_at(data, i, hi)
        written += 1
    return written


@numba.njit(cache=True, nogil=True)
def partition_values(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray, bits: int):
    """The ids to look up in, by partition (the top ``bits`` of the hash): ``(order,
    value_at, value_words, value_length, value_hash, slot_starts, slots)``. Partition ``p``
    has an open-addressing table ``slots[slot_starts[p]:slot_starts[p + 1]]`` (a power of
    two, at most half full) of indices ``k`` into the values: value ``k`` is at position
    ``order[k]`` and its bytes are in words ``value_at[k]:value_at[k + 1]`` of
    ``value_words`` (zero-padded; ``value_length[k]`` bytes). Missing values (``valid``
    false) are left out; of equal values, the first is found."""
    n = offsets.size - 1
    parts = 1 << bits
    shift = np.uint64(64 - bits)
    hashes = np.empty(n, dtype=np.uint64)
    starts = np.zeros(parts + 1, dtype=np.int64)
    for q in range(n):
        hashes[q] = _hash(data, offsets[q], offsets[q + 1])
        if valid[q]:
            starts[(hashes[q] >> shift) + 1] += 1
    for p in range(parts):
        starts[p + 1] += starts[p]
    cursor = starts[:-1].copy()
    order = np.empty(starts[parts], dtype=np.int32)
    for q in range(n):  # in position order: of equal values the first is inserted first
        if valid[q]:
            p = hashes[q] >> shift
            order[cursor[p]] = q
            cursor[p] += 1
    value_at = np.zeros(order.size + 1, dtype=np.int64)
    value_length = np.empty(order.size, dtype=np.uint32)
    value_hash = np.empty(order.size, dtype=np.uint64)
    for k in range(order.size):
        q = order[k]
        value_length[k] = offsets[q + 1] - offsets[q]
        value_at[k + 1] = value_at[k] + _words(value_length[k])
        value_hash[k] = hashes[q]
    value_words = np.empty(value_at[-1], dtype=np.uint64)
    for k in range(order.size):
        q = order[k]
        _copy_padded(data, offsets[q], offsets[q + 1], value_words, value_at[k])
    slot_starts = np.zeros(parts + 1, dtype=np.int64)
    for p in range(parts):
        size = 16
        while size < 2 * (starts[p + 1] - starts[p]):
            size *= 2
        slot_starts[p + 1] = slot_starts[p] + size
    slots = np.full(slot_starts[parts], -1, dtype=np.int32)
    for p in range(parts):
        base, mask = slot_starts[p], np.uint64(slot_starts[p + 1] - slot_starts[p] - 1)
        for k in range(starts[p], starts[p + 1]):
            s = value_hash[k] & mask
            while slots[base + s] >= 0:
                s = (s + np.uint64(1)) & mask
            slots[base + s] = k
    return order, value_at, value_words, value_length, value_hash, slot_starts, slots


@numba.njit(cache=True, nogil=True)
def count_partitions(
    offsets: np.ndarray,
    data: np.ndarray,
    bits: int,
    part_of_row: np.ndarray,
    hash_of_row: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each key's partition and the low half of its hash (written to ``part_of_row`` and
    ``hash_of_row``: matching does not hash again) and the keys and words per partition."""
    shift = np.uint64(64 - bits)
    rows = np.zeros(1 << bits, dtype=np.int64)
    words = np.zeros(1 << bits, dtype=np.int64)
    for i in range(part_of_row.size):
        h = _hash(data, offsets[i], offsets[i + 1])
        p = h >> shift
        part_of_row[i] = p
        hash_of_row[i] = h & _LOW
        rows[p] += 1
        words[p] += _words(offsets[i + 1] - offsets[i])
    return rows, words


@numba.njit(cache=True, nogil=True)
def scatter_keys(
    offsets: np.ndarray,
    data: np.ndarray,
    part_of_row: np.ndarray,
    hash_of_row: np.ndarray,
    row_cursor: np.ndarray,
    word_cursor: np.ndarray,
    key_meta: np.ndarray,
    key_words: np.ndarray,
) -> None:
    """Each key's hash and length (one word of ``key_meta``) and its zero-padded bytes (in
    ``key_words``) appended to its partition's streams (the cursors are where this slice of
    keys writes in each partition; both advance)."""
    for i in range(part_of_row.size):
        p = part_of_row[i]
        lo, hi = offsets[i], offsets[i + 1]
        key_meta[row_cursor[p]] = (np.uint64(hash_of_row[i]) << _SHIFT) | np.uint64(hi - lo)
        row_cursor[p] += 1
        word_cursor[p] += _copy_padded(data, lo, hi, key_words, word_cursor[p])


@numba.njit(cache=True, nogil=True)
def match_partitions(
    first: int,
    last: int,
    order: np.ndarray,
    value_at: np.ndarray,
    value_words: np.ndarray,
    value_length: np.ndarray,
    value_hash: np.ndarray,
    slot_starts: np.ndarray,
    slots: np.ndarray,
    row_starts: np.ndarray,
    word_starts: np.ndarray,
    key_meta: np.ndarray,
    key_words: np.ndarray,
    found: np.ndarray,
) -> None:
    """The position of each key of partitions ``first:last`` among the values (-1: none),
    in partition order: an equal hash (its low half, kept by :func:`count_partitions`: not
    hashing again took the lookup of 25M ids from 1.6 to 1.25 s), an equal length, then
    equal words. (The probe written out here: as an inlined function returning from its
    loop, matching took ~1.5x as long.)"""
    for p in range(first, last):
        base, mask = slot_starts[p], np.uint64(slot_starts[p + 1] - slot_starts[p] - 1)
        at = word_starts[p]
        for j in range(row_starts[p], row_starts[p + 1]):
            h = key_meta[j] >> _SHIFT
            length = np.uint32(key_meta[j] & _LOW)
            words = _words(np.int64(length))
            s = h & mask
            position = -1
            while True:
                k = slots[base + s]
                if k < 0:
                    break
                if value_hash[k] & _LOW == h and value_length[k] == length:
                    v = value_at[k]
                    same = True
                    for w in range(words):
                        if value_words[v + w] != key_words[at + w]:
                            same = False
                            break
                    if same:
                        position = order[k]
                        break
                s = (s + np.uint64(1)) & mask
            found[j] = position
            at += words


@numba.njit(cache=True, nogil=True)
def gather_found(
    part_of_row: np.ndarray, row_cursor: np.ndarray, found: np.ndarray, out: np.ndarray
) -> None:
    """Each key's position, back in row order: the keys of each partition come in the order
    :func:`scatter_keys` wrote them."""
    for i in range(part_of_row.size):
        p = part_of_row[i]
        out[i] = found[row_cursor[p]]
        row_cursor[p] += 1
