"""Signed receipts of a credit check (财库〔2016〕125号: purchasers and agencies keep the result of the
credit check with the procurement file), and their offline verifier.

A receipt is `{"receipt": {...}, "alg": "Ed25519", "key_id", "public_key", "signature"}`; the
signature is over the canonical JSON (keys sorted, UTF-8, no spaces: orjson OPT_SORT_KEYS) of
`receipt`, made with the system's Ed25519 key (the ledger signing key, CREDIT_LEDGER_SIGNING_SEED).
`receipt` holds the answer as served, the subject, the moment, the project's region asked for, and
the newest signed ledger checkpoint the system had at that moment (or null with the reason).

Verify offline: `python -m services.common.receipts RECEIPT.json --public-key BASE64` (exit 0 when
the signature, and the embedded checkpoint's, are valid for that key). Without --public-key the
key inside the receipt is used, which proves integrity but not who signed: say which key you trust."""

import argparse
import base64
import hashlib
import sys
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RECEIPT_VERSION = 1
LEDGER_LOG = "procurement-credit-ledger"  # the ledger's checkpoints sign {log, tree_size, root_hash, timestamp}


def canonical(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


class ReceiptSigner:
    def __init__(self, seed_hex: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, receipt: dict) -> dict:
        signature = base64.b64encode(self._key.sign(canonical(receipt))).decode()
        return {
            "receipt": receipt,
            "alg": "Ed25519",
            "key_id": self.key_id,
            "public_key": self.public_key,
            "signature": signature,
        }


def _valid(public_key_b64: str, signature_b64: str, body: bytes) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(signature_b64), body)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify(signed: dict, public_key_b64: str | None = None) -> list[str]:
    """The problems found; empty when the receipt is authentic for the key (and its checkpoint too)."""
    key = public_key_b64 or signed.get("public_key")
    if not key or signed.get("alg") != "Ed25519" or "receipt" not in signed:
        return ["not a signed receipt (alg Ed25519, receipt, public_key)"]
    problems = []
    if not _valid(key, signed.get("signature", ""), canonical(signed["receipt"])):
        problems.append("the receipt's signature does not verify")
    checkpoint = signed["receipt"].get("ledger_checkpoint")
    if checkpoint:
        body = canonical(
            {
                "log": LEDGER_LOG,
                "tree_size": checkpoint["tree_size"],
                "root_hash": checkpoint["root_hash"],
                "timestamp": checkpoint["timestamp"],
            }
        )
        if not _valid(checkpoint.get("public_key") or key, checkpoint.get("signature", ""), body):
            problems.append("the embedded ledger checkpoint's signature does not verify")
        if public_key_b64 and checkpoint.get("public_key") not in (None, public_key_b64):
            problems.append("the ledger checkpoint was signed with another key")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a credit-check receipt offline.")
    parser.add_argument("receipt", type=Path)
    parser.add_argument("--public-key", help="the system's Ed25519 public key (base64) you trust")
    args = parser.parse_args(argv)
    signed = orjson.loads(args.receipt.read_bytes())
    problems = verify(signed, args.public_key)
    if problems:
        for p in problems:
            sys.stderr.write(f"INVALID: {p}\n")
        return 1
    r = signed["receipt"]
    trusted = "the given key" if args.public_key else "the key inside the receipt (not checked against a trusted one)"
    sys.stdout.write(f"VALID: {r['subject']['type']} {r['subject']['id']} checked at {r['issued_at']}, {trusted}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
