"""Tests for the RFC 9162 Merkle tree in services.common.merkle.

Expected values come from a deliberately naive recursive reference written
straight from the RFC text below, so the optimised module is checked against
the specification rather than against itself.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from services.common import merkle
from services.common.merkle import (
    EMPTY_ROOT,
    MerkleBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# --- reference implementation, transcribed from RFC 9162 §2.1 -----------------


def _ref_k(n: int) -> int:
    """Largest power of two strictly smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _ref_mth(entries: list[bytes]) -> bytes:
    """MTH over raw entries, recursive, exactly as §2.1.1 states it."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = _ref_k(n)
    return hashlib.sha256(b"\x01" + _ref_mth(entries[:k]) + _ref_mth(entries[k:])).digest()


def _ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from §2.1.3.1."""
    n = len(entries)
    if n == 1:
        return []
    k = _ref_k(n)
    if m < k:
        return [*_ref_path(m, entries[:k]), _ref_mth(entries[k:])]
    return [*_ref_path(m - k, entries[k:]), _ref_mth(entries[:k])]


def _ref_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from §2.1.4.1."""
    n = len(entries)
    if m == n:
        return [] if b else [_ref_mth(entries)]
    k = _ref_k(n)
    if m <= k:
        return [*_ref_subproof(m, entries[:k], b), _ref_mth(entries[k:])]
    return [*_ref_subproof(m - k, entries[k:], False), _ref_mth(entries[:k])]


# --- helpers -------------------------------------------------------------------


def _entries(n: int) -> list[bytes]:
    return [f"record-{i}".encode() for i in range(n)]


def _hashes(n: int) -> list[bytes]:
    return [leaf_hash(e) for e in _entries(n)]


def _flip(value: bytes, position: int = 0) -> bytes:
    """Flip one bit so the hash differs but keeps its length."""
    out = bytearray(value)
    out[position] ^= 0x01
    return bytes(out)


LEAVES_40 = _hashes(40)
ROOTS_40 = [root(LEAVES_40[:n]) for n in range(41)]


# --- hashing primitives --------------------------------------------------------


def test_primitives_match_rfc_definitions() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_empty_root_published_value() -> None:
    """The well-known SHA-256 of the empty string, as listed in CT test data."""
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


# --- root ----------------------------------------------------------------------


@pytest.mark.parametrize("n", range(71))
def test_root_matches_recursive_reference(n: int) -> None:
    entries = _entries(n)
    assert root([leaf_hash(e) for e in entries]) == _ref_mth(entries)


def test_root_rejects_non_hash_leaves() -> None:
    with pytest.raises(ValueError):
        root([b"raw record, not a hash"])


# --- inclusion proofs ----------------------------------------------------------


@pytest.mark.parametrize("size", range(1, 41))
def test_inclusion_proofs_verify_for_every_index(size: int) -> None:
    entries = _entries(size)
    tree_root = ROOTS_40[size]
    for index in range(size):
        proof = inclusion_proof(LEAVES_40, index, size)
        assert proof == _ref_path(index, entries)
        assert verify_inclusion(LEAVES_40[index], index, size, proof, tree_root)


@pytest.mark.parametrize("size", range(1, 41))
def test_inclusion_proofs_reject_tampering(size: int) -> None:
    tree_root = ROOTS_40[size]
    for index in range(size):
        leaf = LEAVES_40[index]
        proof = inclusion_proof(LEAVES_40, index, size)
        # Wrong index: a different position in the same tree.
        for other in range(size):
            if other != index:
                assert not verify_inclusion(leaf, other, size, proof, tree_root)
        assert not verify_inclusion(leaf, size, size, proof, tree_root)
        assert not verify_inclusion(leaf, -1, size, proof, tree_root)
        # Wrong leaf, wrong root.
        assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, tree_root)
        assert not verify_inclusion(leaf, index, size, proof, _flip(tree_root))
        # Extended proof.
        assert not verify_inclusion(leaf, index, size, [*proof, tree_root], tree_root)
        assert not verify_inclusion(leaf, index, size, [*proof, EMPTY_ROOT], tree_root)
        if proof:
            # Truncated proof, tampered node.
            assert not verify_inclusion(leaf, index, size, proof[:-1], tree_root)
            assert not verify_inclusion(leaf, index, size, proof[1:], tree_root)
            for pos in range(len(proof)):
                bad = [*proof]
                bad[pos] = _flip(bad[pos], pos % merkle.HASH_SIZE)
                assert not verify_inclusion(leaf, index, size, bad, tree_root)


def test_inclusion_single_leaf_tree() -> None:
    leaf = LEAVES_40[0]
    assert inclusion_proof(LEAVES_40, 0, 1) == []
    assert verify_inclusion(leaf, 0, 1, [], leaf)
    assert not verify_inclusion(leaf, 0, 0, [], EMPTY_ROOT)


def test_inclusion_verify_rejects_malformed_input() -> None:
    proof = inclusion_proof(LEAVES_40, 3, 10)
    assert not verify_inclusion(LEAVES_40[3], 3, 10, [p[:-1] for p in proof], ROOTS_40[10])
    assert not verify_inclusion(LEAVES_40[3][:16], 3, 10, proof, ROOTS_40[10])


@pytest.mark.parametrize(("index", "size"), [(0, 0), (5, 5), (-1, 3), (0, 41)])
def test_inclusion_proof_rejects_bad_arguments(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_proof(LEAVES_40, index, size)


# --- consistency proofs --------------------------------------------------------


def test_consistency_proofs_verify_for_all_sizes() -> None:
    entries = _entries(40)
    for new_size in range(1, 41):
        for old_size in range(1, new_size + 1):
            proof = consistency_proof(LEAVES_40, old_size, new_size)
            if old_size < new_size:
                assert proof == _ref_subproof(old_size, entries[:new_size], True)
            old_root, new_root = ROOTS_40[old_size], ROOTS_40[new_size]
            assert verify_consistency(old_size, new_size, old_root, new_root, proof), (old_size, new_size)


def test_consistency_proofs_reject_tampering() -> None:
    for new_size in range(2, 41):
        for old_size in range(1, new_size):
            old_root, new_root = ROOTS_40[old_size], ROOTS_40[new_size]
            proof = consistency_proof(LEAVES_40, old_size, new_size)
            args = (old_size, new_size)
            assert not verify_consistency(*args, _flip(old_root), new_root, proof)
            assert not verify_consistency(*args, old_root, _flip(new_root), proof)
            assert not verify_consistency(*args, new_root, old_root, proof)
            # Swapped sizes (and roots) never verify: trees only grow.
            assert not verify_consistency(new_size, old_size, new_root, old_root, proof)
            assert not verify_consistency(new_size, old_size, old_root, new_root, proof)
            for pos in range(len(proof)):
                for byte in (0, merkle.HASH_SIZE - 1):
                    bad = [*proof]
                    bad[pos] = _flip(bad[pos], byte)
                    assert not verify_consistency(*args, old_root, new_root, bad)
            assert not verify_consistency(*args, old_root, new_root, proof[:-1])
            assert not verify_consistency(*args, old_root, new_root, proof[1:])
            assert not verify_consistency(*args, old_root, new_root, [*proof, new_root])
            assert not verify_consistency(*args, old_root, new_root, [])


def test_consistency_power_of_two_old_size_omits_old_root() -> None:
    """§2.1.4.2 step 2 prepends the old root itself when old_size is 2^k."""
    for old_size in (1, 2, 4, 8, 16, 32):
        for new_size in range(old_size + 1, 41):
            proof = consistency_proof(LEAVES_40, old_size, new_size)
            assert ROOTS_40[old_size] not in proof
            assert verify_consistency(old_size, new_size, ROOTS_40[old_size], ROOTS_40[new_size], proof)


def test_consistency_equal_sizes() -> None:
    for size in range(41):
        assert consistency_proof(LEAVES_40, size, size) == []
        assert verify_consistency(size, size, ROOTS_40[size], ROOTS_40[size], [])
    assert not verify_consistency(5, 5, ROOTS_40[5], ROOTS_40[6], [])
    assert not verify_consistency(5, 5, ROOTS_40[5], ROOTS_40[5], [ROOTS_40[5]])


def test_consistency_from_empty_tree() -> None:
    for new_size in range(41):
        assert consistency_proof(LEAVES_40, 0, new_size) == []
        assert verify_consistency(0, new_size, EMPTY_ROOT, ROOTS_40[new_size], [])
    assert not verify_consistency(0, 5, ROOTS_40[1], ROOTS_40[5], [])
    assert not verify_consistency(0, 5, EMPTY_ROOT, ROOTS_40[5], [ROOTS_40[5]])


def test_consistency_rejects_negative_and_malformed() -> None:
    assert not verify_consistency(-1, 5, EMPTY_ROOT, ROOTS_40[5], [])
    proof = consistency_proof(LEAVES_40, 3, 7)
    assert not verify_consistency(3, 7, ROOTS_40[3][:31], ROOTS_40[7], proof)
    assert not verify_consistency(3, 7, ROOTS_40[3], ROOTS_40[7], [p + b"\x00" for p in proof])


@pytest.mark.parametrize(("old_size", "new_size"), [(5, 4), (-1, 3), (3, 41)])
def test_consistency_proof_rejects_bad_arguments(old_size: int, new_size: int) -> None:
    with pytest.raises(ValueError):
        consistency_proof(LEAVES_40, old_size, new_size)


# --- incremental builder -------------------------------------------------------


def test_builder_matches_root_after_every_append() -> None:
    leaves = _hashes(300)
    builder = MerkleBuilder()
    assert builder.root() == EMPTY_ROOT
    for n, leaf in enumerate(leaves, start=1):
        builder.append(leaf)
        assert builder.size == n
        assert len(builder.frontier) == n.bit_count()
        assert builder.root() == root(leaves[:n])


def test_builder_state_round_trip_continues() -> None:
    leaves = _hashes(300)
    for cut in (0, 1, 2, 3, 7, 8, 63, 64, 65, 100, 255, 256):
        first = MerkleBuilder()
        first.extend(leaves[:cut])
        stored = json.dumps(first.to_state())
        restored = MerkleBuilder.from_state(json.loads(stored))
        assert restored.size == cut
        assert restored.root() == root(leaves[:cut])
        for n in range(cut, len(leaves)):
            restored.append(leaves[n])
            assert restored.root() == root(leaves[: n + 1])


@pytest.mark.parametrize(
    "state",
    [
        {"size": 3, "frontier": ["00" * 32]},  # popcount(3) == 2
        {"size": -1, "frontier": []},
        {"size": True, "frontier": ["00" * 32]},
        {"size": 1, "frontier": ["zz" * 32]},
        {"size": 1, "frontier": ["00" * 31]},
        {"size": 1, "frontier": [1]},
        {"frontier": []},
    ],
)
def test_builder_rejects_corrupt_state(state: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        MerkleBuilder.from_state(state)


def test_builder_rejects_non_hash_leaf() -> None:
    with pytest.raises(ValueError):
        MerkleBuilder().append(b"short")


# --- randomised ----------------------------------------------------------------


def test_random_trees_and_proofs() -> None:
    rng = random.Random(1234)
    for _ in range(25):
        n = rng.randint(1, 700)
        entries = [rng.randbytes(rng.randint(0, 64)) for _ in range(n)]
        leaves = [leaf_hash(e) for e in entries]
        full_root = root(leaves)
        assert full_root == _ref_mth(entries)

        builder = MerkleBuilder()
        builder.extend(leaves)
        assert builder.root() == full_root

        for _ in range(10):
            index = rng.randrange(n)
            proof = inclusion_proof(leaves, index, n)
            assert verify_inclusion(leaves[index], index, n, proof, full_root)
            forged = leaf_hash(entries[index] + b"!")
            assert not verify_inclusion(forged, index, n, proof, full_root)

            old_size = rng.randint(0, n)
            old_root = root(leaves[:old_size])
            cproof = consistency_proof(leaves, old_size, n)
            assert verify_consistency(old_size, n, old_root, full_root, cproof)
            if cproof:
                pos = rng.randrange(len(cproof))
                bad = [*cproof]
                bad[pos] = _flip(bad[pos], rng.randrange(merkle.HASH_SIZE))
                assert not verify_consistency(old_size, n, old_root, full_root, bad)


def test_large_tree_root_is_fast_enough() -> None:
    """10^5 leaves: the iterative root and the builder must agree."""
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(100_000)]
    builder = MerkleBuilder()
    builder.extend(leaves)
    assert builder.root() == root(leaves)
