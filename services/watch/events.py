"""The procurement events the watch reads (CONTRACT v1.1 §1, `credit.inbound.procurement`), typed:
one pydantic model for the `data` of every type, parsed once by `parse_fact`, which says why an
event cannot be accepted (`invalid_identifier`, `invalid_data`, `unknown_type`) instead of raising
anything else. The handlers (timeline.py) only see a `Fact`."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.common.cloudevents import Envelope
from services.common.identifiers import is_division_code, is_valid_uscc, normalise_org_id
from services.common.topics import event_type

SOURCE = "urn:credit:watch"

AWARD_NOTIFIED = event_type("award.notified.v1")
CONTRACT_SIGNED = event_type("contract.signed.v1")
CONTRACT_PUBLISHED = event_type("contract.published.v1")
CONTRACT_FILED = event_type("contract.filed.v1")
ACCEPTANCE_REQUESTED = event_type("acceptance.requested.v1")
ACCEPTANCE_COMPLETED = event_type("acceptance.completed.v1")
INVOICE_RECEIVED = event_type("invoice.received.v1")
PAYMENT_MADE = event_type("payment.made.v1")
BID_SUBMITTED = event_type("bid.submitted.v1")
COMPLAINT_DECIDED = event_type("complaint.decided.v1")
PROCUREMENT_TYPES = frozenset(
    {
        AWARD_NOTIFIED,
        CONTRACT_SIGNED,
        CONTRACT_PUBLISHED,
        CONTRACT_FILED,
        ACCEPTANCE_REQUESTED,
        ACCEPTANCE_COMPLETED,
        INVOICE_RECEIVED,
        PAYMENT_MADE,
        BID_SUBMITTED,
    }
)
# On the topic too, but read by other watchers (collusion triage, repeat complaints): not the
# timeline's, and not to be dead-lettered by it.
OTHER_WATCHERS_TYPES = frozenset({COMPLAINT_DECIDED})

INVALID_IDENTIFIER = "invalid_identifier"
INVALID_DATA = "invalid_data"
NO_POLICY = "no_policy"


def short_type(full: str) -> str:
    """`cn.gov.procurement.credit.award.notified.v1` -> `award.notified`."""
    return full.rsplit(".", 1)[0].removeprefix("cn.gov.procurement.credit.")


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Organisation(_Data):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)

    @field_validator("id")
    @classmethod
    def _folded(cls, value: str) -> str:
        return normalise_org_id(value)


class ProjectRef(_Data):
    code: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=300)
    ocid: str | None = Field(default=None, max_length=200)


class Deposits(_Data):
    bid: str = "0"
    performance: str = "0"


class ProcurementData(_Data):
    """The fields every procurement event has, and the optional ones of v1.1 by type."""

    project: ProjectRef
    region: str = Field(min_length=6, max_length=6)
    purchaser: Organisation
    agency: Organisation | None = None
    at: AwareDatetime
    supplier: Organisation | None = None
    suppliers: list[Organisation] = Field(default_factory=list, max_length=100)
    amount: str | None = Field(default=None, max_length=40)
    contract_no: str | None = Field(default=None, max_length=100)
    prepayment_percent: str | None = Field(default=None, max_length=10)
    deposits: Deposits | None = None
    invoice_no: str | None = Field(default=None, max_length=100)
    payable: bool | None = None
    result: Literal["passed", "failed"] | None = None

    @field_validator("amount", "prepayment_percent")
    @classmethod
    def _decimal(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError("must be a decimal string") from None
        if not number.is_finite() or number < 0:
            raise ValueError("must be a non-negative decimal string")
        return value

    def organisations(self) -> list[tuple[str, Organisation]]:
        out = [("purchaser", self.purchaser)]
        out += [("agency", self.agency)] if self.agency else []
        out += [("supplier", self.supplier)] if self.supplier else []
        out += [("supplier", s) for s in self.suppliers]
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
    data: ProcurementData
    received_at: datetime

    @property
    def contract_no(self) -> str:
        return self.data.contract_no or ""


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str


def parse_fact(envelope: Envelope, *, received_at: datetime) -> Fact | Refusal:
    """The event as a `Fact`, or why it cannot be accepted."""
    try:
        data = ProcurementData.model_validate(envelope.data)
    except ValidationError as exc:
        return Refusal(INVALID_DATA, _problems(exc))
    if not is_division_code(data.region):
        return Refusal(INVALID_DATA, f"region {data.region!r} is not a 6-digit administrative division code")
    for role, org in data.organisations():
        if not is_valid_uscc(org.id):
            return Refusal(
                INVALID_IDENTIFIER, f"{role} id {org.id!r} is not a valid Unified Social Credit Code (GB 32100-2015)"
            )
    short = short_type(envelope.type)
    if short in ("award.notified", "contract.signed") and data.supplier is None and not data.suppliers:
        return Refusal(INVALID_DATA, f"{short} names the supplier (`supplier` or `suppliers`)")
    if short == "invoice.received" and data.payable is None:
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
