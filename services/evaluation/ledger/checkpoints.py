"""Signed checkpoints of the ledger: what an outsider keeps to prove later that the ledger was only
ever appended to. A checkpoint signs the canonical JSON of {log, tree_size, root_hash, timestamp}
with the service's Ed25519 key."""

import base64
import hashlib
from datetime import UTC, datetime

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.cloudevents import build_event
from services.common.merkle import MerkleBuilder
from services.common.messaging import OutboundEvent, write_outbox
from services.common.sql import insert_rows
from services.common.tables import table_of
from services.common.topics import NOTICES, event_type
from services.evaluation.events import SOURCE
from services.evaluation.models import MESSAGING, LedgerCheckpoint, LedgerEntry

LOG_NAME = "procurement-credit-ledger"
CHECKPOINT_PUBLISHED = event_type("ledger.checkpoint.published.v1")
LEDGER_T = table_of(LedgerEntry)
CHECKPOINTS_T = table_of(LedgerCheckpoint)


class Signer:
    def __init__(self, seed_hex: str) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self._key.sign(body)).decode()


def signed_body(tree_size: int, root_hash: str, timestamp: str) -> bytes:
    return orjson.dumps(
        {"log": LOG_NAME, "tree_size": tree_size, "root_hash": root_hash, "timestamp": timestamp},
        option=orjson.OPT_SORT_KEYS,
    )


def verify_checkpoint(checkpoint: dict, public_key_b64: str) -> bool:
    """Whether `checkpoint` (as served or published) carries a valid signature of that key."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    body = signed_body(checkpoint["tree_size"], checkpoint["root_hash"], checkpoint["timestamp"])
    try:
        key.verify(base64.b64decode(checkpoint["signature"]), body)
    except (InvalidSignature, ValueError):
        return False
    return True


def checkpoint_view(row: dict, public_key: str) -> dict:
    return {
        "log": LOG_NAME,
        "tree_size": row["tree_size"],
        "root_hash": row["root_hash"],
        "timestamp": row["timestamp"].isoformat(),
        "key_id": row["key_id"],
        "signature": row["signature"],
        "public_key": public_key,
    }


async def publish_checkpoint(engine: AsyncEngine, signer: Signer) -> dict | None:
    """Extend the tree by the leaves appended since the last checkpoint and sign the new head;
    None when nothing was appended. The checkpoint goes out on credit.notices with the same
    transaction that stores it."""
    async with engine.begin() as conn:
        last = (await conn.execute(select(CHECKPOINTS_T).order_by(CHECKPOINTS_T.c.tree_size.desc()).limit(1))).first()
        builder = (
            MerkleBuilder.from_state({"size": last.tree_size, "frontier": last.frontier}) if last else MerkleBuilder()
        )
        leaves = await conn.execute(
            select(LEDGER_T.c.leaf_hash).where(LEDGER_T.c.seq > builder.size).order_by(LEDGER_T.c.seq)
        )
        builder.extend(bytes.fromhex(r.leaf_hash) for r in leaves)
        if last is not None and builder.size == last.tree_size:
            return None
        now = datetime.now(UTC)
        root_hex = builder.root().hex()
        row = {
            "tree_size": builder.size,
            "root_hash": root_hex,
            "timestamp": now,
            "key_id": signer.key_id,
            "signature": signer.sign(signed_body(builder.size, root_hex, now.isoformat())),
            "frontier": builder.to_state()["frontier"],
        }
        await insert_rows(conn, CHECKPOINTS_T, [row])
        view = checkpoint_view(row, signer.public_key)
        event = build_event(
            type=CHECKPOINT_PUBLISHED, source=SOURCE, id=f"ledger-checkpoint:{builder.size}", time=now, data=view
        )
        await write_outbox(conn, MESSAGING.outbox, [OutboundEvent(topic=NOTICES, key="ledger", event=event)])
    return view
