"""`GET /v1/credit/{type}/{id}/receipt`: the credit answer as a signed receipt to keep with the
procurement file (财库〔2016〕125号), with the newest signed ledger checkpoint the system had when
it answered. Format and offline verifier: services/common/receipts.py."""

from datetime import UTC, datetime
from functools import lru_cache

import httpx
import orjson
import structlog

from services.common.receipts import RECEIPT_VERSION, ReceiptSigner
from services.common.settings import get_settings

log = structlog.get_logger(__name__)


@lru_cache(maxsize=1)
def signer() -> ReceiptSigner:
    return ReceiptSigner(get_settings().credit_ledger_signing_seed)


async def latest_checkpoint() -> tuple[dict | None, str | None]:
    """The ledger's newest signed checkpoint from the evaluation service, or None and why not."""
    try:
        async with httpx.AsyncClient(
            base_url=get_settings().credit_evaluation_url, timeout=httpx.Timeout(2.0), trust_env=False
        ) as client:
            r = await client.get("/v1/ledger/checkpoints/latest")
    except httpx.HTTPError as exc:
        log.warning("ledger checkpoint unavailable for a receipt", error=repr(exc))
        return None, "the ledger could not be reached"
    if r.status_code != 200:
        return None, f"the ledger answered {r.status_code} (no checkpoint yet)"
    return r.json(), None


async def receipt(subject_type: str, subject_id: str, region: str | None, answer: bytes) -> dict:
    checkpoint, why = await latest_checkpoint()
    body = {
        "version": RECEIPT_VERSION,
        "kind": "credit_check",
        "basis": "财库〔2016〕125号: 信用信息查询记录和证据留存, with the procurement file",
        "subject": {"type": subject_type, "id": subject_id},
        "region": region,
        "issued_at": datetime.now(UTC).isoformat(),
        "answer": orjson.loads(answer),
        "ledger_checkpoint": checkpoint,
        "ledger_checkpoint_unavailable": why,
    }
    return signer().sign(body)
