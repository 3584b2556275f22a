"""HTTP for the ledger (002 (十二)): signed checkpoints (public, so anyone can keep copies),
inclusion proofs of a record version (finance and the record's subject) and consistency proofs
between two checkpoints (public). Tree sizes are always those of published checkpoints: a proof
only means something against a signed head."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from services.common.auth import Principal, Role, require_roles
from services.common.documented import typed
from services.common.merkle import consistency_proof, inclusion_proof
from services.common.problems import Problem
from services.common.runtime import Runtime, RuntimeDep
from services.common.tables import table_of
from services.evaluation.ledger.checkpoints import CHECKPOINTS_T, LEDGER_T, checkpoint_view
from services.evaluation.models import CreditRecord
from services.evaluation.records.access import readable_record
from services.evaluation.schemas import Checkpoint, ConsistencyProof, InclusionProof

router = APIRouter(tags=["ledger"])
RECORDS_T = table_of(CreditRecord)


def public_key(request: Request) -> str:
    return request.app.state.ledger_public_key


async def _checkpoint(rt: Runtime, size: int | None) -> dict:
    q = select(CHECKPOINTS_T)
    q = q.where(CHECKPOINTS_T.c.tree_size == size) if size is not None else q.order_by(CHECKPOINTS_T.c.tree_size.desc())
    async with rt.engine.connect() as conn:
        row = (await conn.execute(q.limit(1))).first()
    if row is None:
        raise Problem(404, "checkpoint_not_found", "No such checkpoint", f"no checkpoint of size {size}")
    return dict(row._mapping)


async def _leaves(rt: Runtime, size: int) -> list[bytes]:
    async with rt.engine.connect() as conn:
        rows = await conn.execute(select(LEDGER_T.c.leaf_hash).where(LEDGER_T.c.seq <= size).order_by(LEDGER_T.c.seq))
        return [bytes.fromhex(r.leaf_hash) for r in rows]


@router.get("/v1/ledger/checkpoints/latest", **typed(Checkpoint))
async def latest_checkpoint(rt: RuntimeDep, request: Request) -> dict:
    """The newest signed tree head, with the public key that verifies it."""
    return checkpoint_view(await _checkpoint(rt, None), public_key(request))


@router.get("/v1/ledger/checkpoints/{tree_size}", **typed(Checkpoint))
async def checkpoint(tree_size: int, rt: RuntimeDep, request: Request) -> dict:
    return checkpoint_view(await _checkpoint(rt, tree_size), public_key(request))


@router.get("/v1/ledger/proofs/inclusion", **typed(InclusionProof))
async def inclusion(
    record_id: str,
    version: Annotated[int, Query(ge=1)],
    tree_size: Annotated[int, Query(ge=1)],
    principal: Annotated[Principal, Depends(require_roles(*Role))],
    rt: RuntimeDep,
) -> dict:
    """That version `version` of record `record_id` is leaf `leaf_index` of the checkpoint of size
    `tree_size` (RFC 9162 §2.1.3)."""
    await _checkpoint(rt, tree_size)
    async with rt.engine.connect() as conn:
        await readable_record(conn, principal, record_id)
        leaf = (
            await conn.execute(select(LEDGER_T).where(LEDGER_T.c.record_id == record_id, LEDGER_T.c.version == version))
        ).first()
    if leaf is None or leaf.seq > tree_size:
        raise Problem(404, "leaf_not_found", "Not in that checkpoint", f"version {version} is not in tree {tree_size}")
    leaves = await _leaves(rt, tree_size)
    proof = inclusion_proof(leaves, leaf.seq - 1, tree_size)
    return {
        "record_id": record_id,
        "version": version,
        "leaf_index": leaf.seq - 1,
        "tree_size": tree_size,
        "entry": leaf.entry,
        "leaf_hash": leaf.leaf_hash,
        "proof": [h.hex() for h in proof],
    }


@router.get("/v1/ledger/proofs/consistency", **typed(ConsistencyProof))
async def consistency(
    first: Annotated[int, Query(ge=1)],
    second: Annotated[int, Query(ge=1)],
    rt: RuntimeDep,
) -> dict:
    """That the checkpoint of size `second` extends the one of size `first` (RFC 9162 §2.1.4)."""
    if first > second:
        raise Problem(422, "invalid_range", "Invalid range", "first must not be larger than second")
    await _checkpoint(rt, first)
    await _checkpoint(rt, second)
    leaves = await _leaves(rt, second)
    return {"first": first, "second": second, "proof": [h.hex() for h in consistency_proof(leaves, first, second)]}
