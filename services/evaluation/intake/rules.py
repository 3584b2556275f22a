"""Pure rules of intake (CONTRACT §1, §3, §4; Luoyang Art. 17–19): what a report leads to.
No I/O here: the handlers feed it parsed events and persist what it decides."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.common.catalogue import Behaviour, Catalogue
from services.common.identifiers import division_covers, is_division_code, is_valid_uscc, validate_subject_id
from services.common.lawdates import add_months
from services.common.policy import PolicyVersion, first_effective_day
from services.common.schemas import SYSTEM_REPORTER_ID, BehaviourReport
from services.common.topics import MISCONDUCT_DETERMINED


@dataclass(frozen=True)
class Rejection:
    reason: str
    message: str
    status: int = 422


@dataclass(frozen=True)
class Record:
    behaviour: Behaviour
    valid_until: date


@dataclass(frozen=True)
class OpenDetermination:
    behaviour: Behaviour


Decision = Rejection | Record | OpenDetermination


def decide(
    event_type: str,
    report: BehaviourReport,
    *,
    catalogue: Catalogue,
    policy: PolicyVersion,
    today: date,
    reporter_regions: Iterable[str] | None = None,
) -> Decision:
    """Decide what a behaviour report or a determination leads to, or why it is refused.
    `today` is the recording date (Asia/Shanghai). `reporter_regions`: where a purchaser or agency
    belongs (see `in_reporter_scope`); None only where the reporter is a finance department."""
    problem = _check_identifiers(report)
    if problem:
        return problem
    behaviour = catalogue.get(report.behaviour_code)
    if behaviour is None:
        return Rejection("unknown_behaviour_code", f"{report.behaviour_code!r} is not in the catalogue")
    if behaviour.subject != report.subject.type:
        if not catalogue.has_behaviours_of(report.subject.type):
            # Issue 15: e.g. a purchaser, where the region's measures list no purchaser behaviour.
            return Rejection(
                "subject_mismatch",
                f"{catalogue.source} lists no behaviour of a {report.subject.type}: reports about a"
                f" {report.subject.type} are not accepted under it (region {report.region})",
            )
        return Rejection(
            "subject_mismatch",
            f"{behaviour.code} is a behaviour of a {behaviour.subject}, the subject is a {report.subject.type}",
        )
    reporter = report.reporter
    if reporter.type == "finance" and not division_covers(reporter.id, report.region):
        return Rejection(
            "not_authorised",
            f"finance department {reporter.id} is not in charge of region {report.region}",
            status=403,
        )
    if reporter.type == "finance" and not policy.may_record(reporter.id):
        # 001 Art. 17: 市、县财政部门 record; a province's department covers its cities to supervise them.
        return Rejection(
            "not_authorised",
            f"finance department {reporter.id} is not a city or county department: it may not record (001 Art. 17)",
            status=403,
        )
    if reporter.type == "agency" and report.subject.type == "agency":
        # 001 Art. 17-18: general behaviour is recorded by the party of the procurement stage; the
        # agency of a project is the only agency in it, so another agency is no party of its own.
        return Rejection(
            "not_authorised",
            "an agency records the parties of the procurement it runs (001 Art. 17-18), not an agency",
            status=403,
        )
    if reporter.type not in ("finance", "system") and not in_reporter_scope(reporter_regions, report.region):
        return Rejection(
            "not_authorised",
            f"a {reporter.type} of region {'/'.join(sorted(reporter_regions or ())) or 'unknown'}"
            f" may not report in region {report.region}",
            status=403,
        )
    if event_type == MISCONDUCT_DETERMINED and reporter.type not in policy.serious_recorders:
        return Rejection("not_authorised", "only a finance department may determine serious misconduct", status=403)
    if report.occurred_on > today:
        return Rejection("invalid_date", f"occurred_on {report.occurred_on} is in the future")
    first_day = first_effective_day(report.region)
    if first_day is not None and report.occurred_on < first_day:
        # The measures do not reach back before they took effect (non-retroactivity, 立法法 Art. 104);
        # a date like 1900-01-01 is a typing error or a placeholder, never a behaviour they cover.
        # Where the issue day is unknown the floor is the earliest it can be (policy.first_effective_day).
        return Rejection(
            "invalid_date",
            f"occurred_on {report.occurred_on} is before {first_day}, the first day the measures of region"
            f" {report.region} can have been in force; they do not apply to earlier behaviour",
        )
    if reporter.type in policy.evidence_required_for and not report.evidence:
        return Rejection(
            "evidence_required",
            f"a {reporter.type} must attach evidence (photos, audio/video, joint signatures)",
        )
    if behaviour.severity == "general":
        return _general(event_type, report, behaviour, policy, today)
    return _serious(event_type, report, behaviour, policy, today)


def in_reporter_scope(reporter_regions: Iterable[str] | None, region: str) -> bool:
    """Issue 21 (10): a purchaser or agency reports only where it belongs or where its projects are —
    the report's region and one of the reporter's regions must be on one line of the division tree
    (its own, one above it — a county purchaser to its city's department — or one under it — a city
    purchaser's project in one of its counties). A Luoyang purchaser reporting in Beijing is refused."""
    return any(division_covers(r, region) or division_covers(region, r) for r in reporter_regions or ())


def _check_identifiers(report: BehaviourReport) -> Rejection | None:
    if not is_division_code(report.region):
        return Rejection("invalid_identifier", f"region {report.region!r} is not a division code")
    if not validate_subject_id(report.subject.type, report.subject.id):
        return Rejection(
            "invalid_identifier", f"subject id {report.subject.id!r} is not a valid {report.subject.type} id"
        )
    reporter = report.reporter
    if reporter.type == "system":
        ok = reporter.id == SYSTEM_REPORTER_ID
    else:
        ok = is_division_code(reporter.id) if reporter.type == "finance" else is_valid_uscc(reporter.id)
    if not ok:
        return Rejection("invalid_identifier", f"reporter id {reporter.id!r} is not a valid {reporter.type} id")
    return None


def _general(
    event_type: str, report: BehaviourReport, behaviour: Behaviour, policy: PolicyVersion, today: date
) -> Decision:
    if event_type == MISCONDUCT_DETERMINED or report.determination is not None:
        return Rejection(
            "severity_mismatch", f"{behaviour.code} is a general behaviour; a determination is for serious ones"
        )
    if report.reporter.type not in policy.general_recorders:
        return Rejection("not_authorised", f"a {report.reporter.type} may not record behaviour", status=403)
    return Record(behaviour=behaviour, valid_until=general_valid_until(today, policy))


def _serious(
    event_type: str, report: BehaviourReport, behaviour: Behaviour, policy: PolicyVersion, today: date
) -> Decision:
    if report.reporter.type not in policy.serious_recorders:
        # 001 Art. 17: a purchaser or agency reports; the finance department determines.
        return OpenDetermination(behaviour=behaviour)
    d = report.determination
    if d is None:
        return Rejection(
            "determination_required",
            f"{behaviour.code} is serious: a finance department records it with its determination",
        )
    if behaviour.statute is None and not (d.legal_basis or "").strip():
        return Rejection(
            "legal_basis_required",
            f"{behaviour.code} cites no statute: the determination must name its legal basis (处罚依据)",
        )
    if d.liability_ends_on < d.decided_on or d.decided_on > today:
        return Rejection("invalid_date", "the determination's dates are inconsistent or in the future")
    if d.liability_ends_on < today:
        return Rejection("liability_ended", f"the liability period ended on {d.liability_ends_on}")
    return Record(behaviour=behaviour, valid_until=d.liability_ends_on)


def general_valid_until(recorded_on: date, policy: PolicyVersion) -> date:
    """001 Art. 19: a general record stands for the policy's period (1 year) from recording."""
    return add_months(recorded_on, policy.general_validity_months)
