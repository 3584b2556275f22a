"""The procurement events the watch reads (CONTRACT v1.1 §1, `credit.inbound.procurement`), typed by
the shared contract models (services/common/contracts/procurement.py) and checked once by
`checked_fact` (after the consumer frame's decoder) or `parse_fact`, which say why an event cannot
be accepted (`invalid_identifier`, `invalid_data`) instead of raising anything else. The handlers
(timeline.py) only see a `Fact`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.common.cloudevents import Envelope
from services.common.contracts import procurement
from services.common.contracts.procurement import ProcurementFact
from services.common.identifiers import is_division_code, is_valid_uscc, normalise_org_id
from services.common.topics import TYPE_PREFIX

SOURCE = "urn:credit:watch"

# On the topic too, but read by other watchers (collusion triage, repeat complaints): not the
# timeline's, and not to be dead-lettered by it.
OTHER_WATCHERS_TYPES = frozenset({procurement.COMPLAINT_DECIDED.type})

INVALID_IDENTIFIER = "invalid_identifier"
INVALID_DATA = "invalid_data"
NO_POLICY = "no_policy"


def short_type(full: str) -> str:
    """`cn.gov.procurement.credit.award.notified.v1` -> `award.notified`."""
    return full.rsplit(".", 1)[0].removeprefix(TYPE_PREFIX)


# The typed `data` of each type: the shared contract models (services/common/contracts/procurement.py).
MODELS: dict[str, type[ProcurementFact]] = {
    c.type: c.model
    for c in (
        procurement.AWARD_NOTIFIED,
        procurement.CONTRACT_SIGNED,
        procurement.CONTRACT_PUBLISHED,
        procurement.CONTRACT_FILED,
        procurement.ACCEPTANCE_REQUESTED,
        procurement.ACCEPTANCE_COMPLETED,
        procurement.INVOICE_RECEIVED,
        procurement.PAYMENT_MADE,
        procurement.BID_SUBMITTED,
    )
}
PROCUREMENT_TYPES = frozenset(MODELS)


def organisations(data: ProcurementFact) -> list[tuple[str, procurement.Organisation]]:
    out: list[tuple[str, procurement.Organisation]] = [("purchaser", data.purchaser)]
    out += [("agency", data.agency)] if data.agency else []
    supplier = getattr(data, "supplier", None)
    out += [("supplier", supplier)] if supplier else []
    out += [("supplier", s) for s in getattr(data, "suppliers", [])]
    return out


@dataclass(frozen=True)
class Fact:
    """One accepted procurement event: who sent it, what it says, and when it happened (`at`)."""

    source: str
    id: str
    type: str  # short: award.notified, contract.signed, ...
    region: str
    project_code: str
    at: datetime
    data: ProcurementFact  # the contract model of its type
    received_at: datetime

    @property
    def contract_no(self) -> str:
        return getattr(self.data, "contract_no", None) or ""

    @property
    def suppliers(self) -> list[procurement.Organisation]:
        """Every supplier the fact names (the winner and, with several lots, each lot's), once."""
        named = [getattr(self.data, "supplier", None), *getattr(self.data, "suppliers", [])]
        return list({s.id: s for s in named if s is not None}.values())


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def parse_fact(envelope: Envelope, *, received_at: datetime) -> Fact | Refusal:
    """The event as a `Fact`, or why it cannot be accepted."""
    try:
        data = MODELS[envelope.type].model_validate(envelope.data)
    except ValidationError as exc:
        return Refusal(INVALID_DATA, _problems(exc))
    return checked_fact(envelope, data, received_at=received_at)


def checked_fact(envelope: Envelope, data: ProcurementFact, *, received_at: datetime) -> Fact | Refusal:
    """A fact whose `data` fits its model (the decoder's or `parse_fact`'s work), with its
    identifiers normalised and checked, or why it cannot be accepted."""
    for org in [data.purchaser, *([data.agency] if data.agency else []), *getattr(data, "suppliers", [])]:
        org.id = normalise_org_id(org.id)
    if getattr(data, "supplier", None) is not None:
        data.supplier.id = normalise_org_id(data.supplier.id)  # type: ignore[attr-defined]
    if not is_division_code(data.region):
        return Refusal(INVALID_DATA, f"region {data.region!r} is not a 6-digit administrative division code")
    for role, org in organisations(data):
        if not is_valid_uscc(org.id):
            return Refusal(
                INVALID_IDENTIFIER, f"{role} id {org.id!r} is not a valid Unified Social Credit Code (GB 32100-2015)"
            )
    short = short_type(envelope.type)
    if short == "invoice.received" and getattr(data, "payable", None) is None:
        return Refusal(INVALID_DATA, "invoice.received says whether the invoice is payable (`payable`)")
    return Fact(
        source=envelope.source,
        id=envelope.id,
        type=short,
        region=data.region,
        project_code=data.project.code,
        at=data.at,
        data=data,
        received_at=received_at,
    )


def _problems(exc: ValidationError) -> str:
    def where(err: Any) -> str:
        return ".".join(str(p) for p in err["loc"]) or "data"

    return "; ".join(f"{where(e)}: {e['msg']}" for e in exc.errors()[:10])
