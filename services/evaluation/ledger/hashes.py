"""Hashes that make changes of credit records evident (002 (十二)).

Each record version is chained to the one before it (`prev_hash`, `hash` in the history), and each
version is also a leaf of the ledger, an RFC 9162 Merkle tree (services.common.merkle) whose signed
checkpoints live outside the database: an edit, deletion or reordering of any stored version no
longer matches a published checkpoint, even if every later hash were recomputed."""

import hashlib

import orjson

GENESIS = "0" * 64


def canonical(snapshot: dict) -> bytes:
    return orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, snapshot: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(snapshot)).hexdigest()


def ledger_entry(version: dict) -> bytes:
    """The ledger's canonical JSON of a history row: which record, which version, what change,
    and the version's own chain hash (which covers the whole snapshot)."""
    return canonical(
        {
            "record_id": version["record_id"],
            "version": version["version"],
            "change": version["change"],
            "hash": version["hash"],
        }
    )


def leaf_hash_hex(entry: bytes) -> str:
    """RFC 9162 leaf hash: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).hexdigest()
