"""`credit.inbound.procurement` (CONTRACT §1, v1.1): the life of a procurement project sent by
e-procurement platforms, and complaint decisions. `at` is when the fact happened (clocks run from
it); the Kafka key is `project.code`. Fields added in v1.1 are optional."""

from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.contracts.base import contract
from services.common.schemas import IsoDate, Party, Project
from services.common.topics import INBOUND_PROCUREMENT


class _In(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Organisation(_In):
    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=300)


class LotAward(Organisation):
    amount: Decimal


class Deposits(_In):
    bid: Decimal
    performance: Decimal


class BidDocument(_In):
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    simhash: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{16}$")
    author: str | None = None
    machine_id: str | None = None
    mac: str | None = None
    ip: str | None = None
    dongle_serial: str | None = None
    mentions: list[str] = Field(default_factory=list)


class ProcurementFact(_In):
    """What every procurement event carries."""

    project: Project
    region: str = Field(min_length=6, max_length=6)
    purchaser: Organisation
    agency: Organisation | None = None
    at: AwareDatetime


class AwardNotified(ProcurementFact):
    supplier: Organisation
    amount: Decimal
    suppliers: list[LotAward] = Field(default_factory=list)


class ContractSigned(ProcurementFact):
    supplier: Organisation
    amount: Decimal
    contract_no: str | None = None
    prepayment_percent: Decimal | None = None
    deposits: Deposits | None = None


class ContractStep(ProcurementFact):
    """contract.published.v1, contract.filed.v1, acceptance.requested.v1, payment.made.v1."""

    supplier: Organisation | None = None
    amount: Decimal | None = None
    contract_no: str | None = None


class AcceptanceCompleted(ContractStep):
    result: Literal["passed", "failed"] | None = None


class InvoiceReceived(ContractStep):
    invoice_no: str | None = None
    payable: bool | None = None


class BidSubmitted(ProcurementFact):
    supplier: Organisation
    amount: Decimal | None = None
    price: Decimal
    document_fingerprint: str
    prepared_by: str | None = None
    contact_person: str | None = None
    agent: str | None = None
    document: BidDocument | None = None
    project_manager: str | None = None


class ComplaintDecided(_In):
    project: Project
    region: str = Field(min_length=6, max_length=6)
    at: AwareDatetime | None = None
    complaint_no: str
    complainant: Party
    decided_on: IsoDate
    outcome: Literal["upheld", "partly_upheld", "unfounded", "rejected", "withdrawn"]
    fabricated: bool = False


def _fact(short: str, model: type[BaseModel], summary: str):  # type: ignore[no-untyped-def]
    return contract(short, INBOUND_PROCUREMENT, model, "inbound", summary)


AWARD_NOTIFIED = _fact("award.notified.v1", AwardNotified, "The award notice of a project was issued.")
CONTRACT_SIGNED = _fact("contract.signed.v1", ContractSigned, "The procurement contract was signed.")
CONTRACT_PUBLISHED = _fact("contract.published.v1", ContractStep, "The signed contract was published.")
CONTRACT_FILED = _fact("contract.filed.v1", ContractStep, "The signed contract was filed with the finance department.")
ACCEPTANCE_REQUESTED = _fact("acceptance.requested.v1", ContractStep, "The supplier asked for acceptance.")
ACCEPTANCE_COMPLETED = _fact("acceptance.completed.v1", AcceptanceCompleted, "Acceptance was completed.")
INVOICE_RECEIVED = _fact("invoice.received.v1", InvoiceReceived, "The purchaser received an invoice.")
PAYMENT_MADE = _fact("payment.made.v1", ContractStep, "The purchaser paid the supplier.")
BID_SUBMITTED = _fact("bid.submitted.v1", BidSubmitted, "A supplier submitted a bid.")
COMPLAINT_DECIDED = _fact("complaint.decided.v1", ComplaintDecided, "A finance department decided a complaint.")

CONTRACTS = (
    AWARD_NOTIFIED,
    CONTRACT_SIGNED,
    CONTRACT_PUBLISHED,
    CONTRACT_FILED,
    ACCEPTANCE_REQUESTED,
    ACCEPTANCE_COMPLETED,
    INVOICE_RECEIVED,
    PAYMENT_MADE,
    BID_SUBMITTED,
    COMPLAINT_DECIDED,
)
