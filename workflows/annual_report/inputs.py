"""Inputs and results of AnnualReportWorkflow and of its activities on queue
`statistics-activities` (the statistics service). One pydantic model each (STYLE)."""

from pydantic import BaseModel


class AnnualReportInput(BaseModel):
    """Set by the region's Schedule (`annual-report:{region}`). `year` None: the calendar year
    before the moment the run was scheduled for (Asia/Shanghai). `review_working_days`: the policy's
    clock `annual_report_review` (a value the department sets)."""

    region: str
    year: int | None = None
    review_working_days: int


class ReportRequest(BaseModel):
    """Input of activity `make_annual_report`: idempotent on (region, year) while a draft is open."""

    region: str
    year: int


class ReportDraft(BaseModel):
    report_id: str
    region: str
    year: int
    version: int
    sha256: str
    region_name: str


class ReportDecision(BaseModel):
    """Input of activity `settle_annual_report`: `publish` publishes it (event and HTTP), anything
    else rejects this draft."""

    report_id: str
    decision: str
    decided_by: str
    reason: str = ""


class ReportResult(BaseModel):
    report_id: str
    state: str  # published | rejected
