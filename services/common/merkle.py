"""RFC 9162 (Certificate Transparency v2) Merkle tree, stdlib only.

The publication log commits to every credit record it discloses by appending
the record's leaf hash to an append-only Merkle tree. Auditors then need two
things from us: an *inclusion proof* (this record is in the tree whose signed
head we published) and a *consistency proof* (today's tree extends yesterday's
one, so nothing published was rewritten). Using the exact RFC 9162 hashing and
proof formats means any CT tooling can check our proofs independently.

Conventions used throughout:

* Every sequence of "leaves" passed to this module already holds *leaf hashes*
  (outputs of :func:`leaf_hash`), because the service stores those, not raw
  records.
* Sizes and indices are plain ``int``; hashes are 32-byte ``bytes``.
* Generators raise :class:`ValueError` on impossible arguments (a caller bug);
  verifiers return ``False`` for anything that does not verify (untrusted
  input), never raise.
* As in every RFC 9162 verifier, a proof authenticates hashes, not the tree
  size: a proof for one size can also verify against another size whose tree
  has the same shape along the proved path (e.g. leaf 0 in sizes 3 and 4).
  Sizes must therefore come from the signed tree head, never from the proof
  requester.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MerkleBuilder",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""SHA-256 digest length; every leaf, node and root hash has this size."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"

EMPTY_ROOT: bytes = hashlib.sha256(b"").digest()
"""MTH({}) — the root of the empty tree (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """Hash a raw entry as a leaf.

    The 0x00 prefix (domain separation) stops an attacker from passing off an
    interior node as a leaf, the second-preimage attack RFC 9162 guards against.
    """
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent (0x01 prefix, see :func:`leaf_hash`)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """Return k, the largest power of two with k < n (n >= 2): the RFC split point."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_hashes(leaves: Sequence[bytes]) -> None:
    """Reject anything that is not a list of 32-byte hashes.

    A raw record passed by mistake would otherwise silently yield a valid-looking
    but wrong root, which is far harder to diagnose than an exception here.
    """
    for position, item in enumerate(leaves):
        if not isinstance(item, bytes) or len(item) != HASH_SIZE:
            raise ValueError(f"leaf {position} is not a {HASH_SIZE}-byte hash")


def _mth(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH of ``leaves[start:end]``, computed bottom-up in O(end - start).

    Pairing neighbours level by level and promoting an unpaired last node
    unchanged builds exactly the RFC's left-balanced tree (split at the largest
    power of two), without recursion or per-level slicing of the input.
    """
    if start == end:
        return EMPTY_ROOT
    level = list(leaves[start:end])
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaves: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash (RFC 9162 §2.1.1) of a list of leaf hashes.

    Iterative and O(n) so it stays practical for 10^5–10^6 leaves.
    """
    _check_hashes(leaves)
    return _mth(leaves, 0, len(leaves))


def _check_tree(leaves: Sequence[bytes], size: int) -> None:
    """Validate a requested tree size against the leaves actually held."""
    if size < 0 or size > len(leaves):
        raise ValueError(f"tree size {size} outside 0..{len(leaves)}")
    _check_hashes(leaves[:size])


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """Return PATH(index, D[size]) (RFC 9162 §2.1.3.1), leaf's sibling first.

    Walks the RFC recursion from the root downwards, recording the sibling
    subtree's MTH at each split; the siblings cover disjoint ranges, so the
    total work is O(size). The list is reversed at the end because the RFC
    orders the path from the leaf upwards.
    """
    _check_tree(leaves, size)
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside 0..{size - 1}")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        split = start + _largest_power_of_two_below(end - start)
        if index < split:
            siblings.append(_mth(leaves, split, end))
            end = split
        else:
            siblings.append(_mth(leaves, start, split))
            start = split
    siblings.reverse()
    return siblings


def consistency_proof(leaves: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """Return PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1).

    The RFC defines proofs only for 0 < old_size < new_size; for
    old_size == 0 or old_size == new_size the proof is empty, matching what
    :func:`verify_consistency` accepts for those cases. SUBPROOF is unrolled
    into a loop; as with inclusion proofs the hashed ranges are disjoint, so
    the cost is O(new_size).
    """
    _check_tree(leaves, new_size)
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    m, start, end = old_size, 0, new_size
    complete = True  # the RFC's flag b: is this subtree's MTH the old root?
    while m != end - start:
        split_size = _largest_power_of_two_below(end - start)
        if m <= split_size:
            proof.append(_mth(leaves, start + split_size, end))
            end = start + split_size
        else:
            proof.append(_mth(leaves, start, start + split_size))
            start += split_size
            m -= split_size
            complete = False
    if not complete:
        proof.append(_mth(leaves, start, end))
    proof.reverse()
    return proof


def _is_hash(value: object) -> bool:
    """True when ``value`` has the shape of a SHA-256 hash (untrusted input guard)."""
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes) -> bool:
    """Check an inclusion proof with the RFC 9162 §2.1.3.2 algorithm, step by step.

    Following the published algorithm literally (rather than re-deriving the
    tree shape) keeps us bit-compatible with other CT verifiers, including
    rejecting proofs that are too short or too long.
    """
    if not (_is_hash(leaf) and _is_hash(expected_root)) or not all(_is_hash(p) for p in proof):
        return False
    if index < 0 or index >= size:  # step 1
        return False
    fn, sn = index, size - 1  # step 2
    r = leaf  # step 3
    for p in proof:  # step 4
        if sn == 0:  # 4a
            return False
        if fn & 1 or fn == sn:  # 4b
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1  # 4c
        sn >>= 1
    return sn == 0 and r == expected_root  # step 5


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """Check a consistency proof with the RFC 9162 §2.1.4.2 algorithm, step by step.

    The RFC covers 0 < old_size < new_size. The edge cases it leaves open are
    decided conservatively: equal sizes need an empty proof and equal roots;
    an empty old tree needs an empty proof and ``old_root == EMPTY_ROOT``
    (every tree extends the empty one, but we still refuse a bogus old head);
    old_size > new_size or negative sizes never verify.
    """
    hashes = (old_root, new_root, *proof)
    if not all(_is_hash(h) for h in hashes):
        return False
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:  # step 1
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # step 2: old tree is a perfect subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            return False
        if fn & 1 or fn == sn:  # 6b
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1  # 6c
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0  # step 7


class MerkleBuilder:
    """Append-only tree that keeps only its frontier: O(log n) memory.

    The frontier (a "compact range" over ``[0, size)``) is the list of roots
    of the perfect subtrees the tree decomposes into — one per set bit of
    ``size``, largest first. Appending works like incrementing a binary
    counter, merging equal-sized subtrees, so a service can extend its log and
    publish a new root without reloading every leaf. :meth:`to_state` /
    :meth:`from_state` persist the frontier as JSON-friendly data.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """Perfect-subtree roots, left to right (read-only copy)."""
        return tuple(self._frontier)

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; amortised O(1) hashing, worst case O(log n)."""
        if not _is_hash(leaf):
            raise ValueError(f"leaf is not a {HASH_SIZE}-byte hash")
        node = leaf
        carry = self._size
        while carry & 1:  # each trailing 1-bit is a same-sized subtree to merge
            node = node_hash(self._frontier.pop(), node)
            carry >>= 1
        self._frontier.append(node)
        self._size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        """Append several leaf hashes in order."""
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of all appended leaves, folding the frontier from the right."""
        if not self._frontier:
            return EMPTY_ROOT
        acc = self._frontier[-1]
        for subtree in reversed(self._frontier[:-1]):
            acc = node_hash(subtree, acc)
        return acc

    def to_state(self) -> dict[str, Any]:
        """Serialise as ``{"size": int, "frontier": [hex, ...]}`` for storage."""
        return {"size": self._size, "frontier": [h.hex() for h in self._frontier]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> MerkleBuilder:
        """Restore from :meth:`to_state` output, rejecting inconsistent data.

        The frontier length must equal the popcount of ``size``; anything else
        means the stored state is corrupt and continuing would publish wrong
        roots.
        """
        size = state.get("size")
        frontier = state.get("frontier")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("state size must be a non-negative integer")
        if not isinstance(frontier, list) or len(frontier) != size.bit_count():
            raise ValueError("state frontier does not match size")
        builder = cls()
        try:
            hashes = [bytes.fromhex(item) for item in frontier]
        except (TypeError, ValueError) as exc:
            raise ValueError("state frontier holds a non-hex entry") from exc
        if not all(len(h) == HASH_SIZE for h in hashes):
            raise ValueError(f"state frontier entries must be {HASH_SIZE}-byte hashes")
        builder._size = size
        builder._frontier = hashes
        return builder

    def __repr__(self) -> str:
        return f"MerkleBuilder(size={self._size}, root={self.root().hex()})"
