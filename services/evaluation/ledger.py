"""Hash chain over a record's versions: each version's hash covers the previous one, so an edit
of any stored version is detectable (002 (十二)); the full transparency log is another issue."""

import hashlib

import orjson

GENESIS = "0" * 64


def canonical(snapshot: dict) -> bytes:
    return orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, snapshot: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(snapshot)).hexdigest()
