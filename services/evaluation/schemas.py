"""The shapes of the evaluation service's answers, for the OpenAPI document (issue 22: every success
response typed; documentation only, see services/common/documented.py)."""

from services.common.documented import Documented


class Party(Documented):
    type: str
    id: str
    name: str | None = None


class RecordBehaviour(Documented):
    code: str
    severity: str
    text: str | None
    legal_basis: str | None
    references: list[str] = []


class Record(Documented):
    """A credit record as finance and the subject see it (evaluation/views.record_view): no evidence
    unless an approved request grants it (`evidence_access: approval_required` says so)."""

    record_id: str
    version: int
    status: str
    subject: Party
    behaviour: RecordBehaviour
    severity: str
    region: str
    project: dict
    reporter: Party
    occurred_on: str
    recorded_on: str
    valid_until: str
    determination: dict | None
    evidence_count: int
    policy_version: str
    appeal: dict | None
    resolution: dict | None
    description: str | None
    recorded_at: str
    evidence: list[dict] | None = None
    evidence_access: str | None = None


class RecordVersion(Documented):
    version: int
    change: str
    at: str
    actor: str
    prev_hash: str
    hash: str
    snapshot: dict


class RecordWithHistory(Record):
    history: list[RecordVersion]


class RecordList(Documented):
    subject: Party
    count: int
    records: list[Record]


class Catalogue(Documented):
    """The behaviour catalogue in force, each behaviour with its legal basis apart from its references."""

    source: str | dict
    references_note: str | None
    count: int
    behaviours: list[dict]


class ExpertStandingDetail(Documented):
    """An expert's standing with its score and history: finance of its region and the expert itself."""

    expert_id: str
    region: str
    employer_notifications: list[dict] | None = None


class ArchiveEntry(Documented):
    version: int
    change: str
    at: str
    actor: str
    status: str | None
    behaviour_code: str | None
    decision: dict | None
    hash: str


class ArchiveRecord(Record):
    entries: list[ArchiveEntry]


class Archive(Documented):
    """A subject's integrity archive: every record with its history, and determinations intended."""

    subject: Party
    intended_determinations: list[dict]
    records: list[ArchiveRecord]
    # Issue 14 (Shandong (十三)): credit commitments, `made`, `breach_found` or `breached` (with its record).
    commitments: list[dict] = []


class DeterminationRequest(Documented):
    """A reported serious behaviour waiting for (or given) a determination, with the report."""

    request_id: str
    region: str
    state: str
    behaviour_code: str
    report: dict
    reported_at: str
    decision: dict | None
    record_id: str | None
    decided_at: str | None


class Checkpoint(Documented):
    """A signed tree head of the ledger, with the public key that verifies it."""

    log: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str
    public_key: str


class InclusionProof(Documented):
    record_id: str
    version: int
    leaf_index: int
    tree_size: int
    entry: dict
    leaf_hash: str
    proof: list[str]


class ConsistencyProof(Documented):
    first: int
    second: int
    proof: list[str]


class AccessRequestOut(Documented):
    id: str
    record_id: str
    state: str  # pending | approved
    expires_at: str | None = None


class AuditLog(Documented):
    entries: list[dict]
    changes: list[dict]
