"""What a case officer may decide on a task and what each decision needs (CONTRACT §2), checked
before anything is stored: a decision the record-changing activity would refuse must be refused
here, while the officer is still at the form. Problem codes are those of intake where they mean the
same (unknown_behaviour_code, subject_mismatch, severity_mismatch, determination_required,
invalid_date, liability_ended)."""

from datetime import date

from pydantic import ValidationError

from services.common.catalogue import Behaviour, load_catalogue
from services.common.problems import Problem
from services.common.schemas import Determination
from workflows.human_task.inputs import DECISIONS

# The fields each decision may carry. Anything else is refused: an `appeal_review` `correct` with
# no fields withdraws the record, so a misspelt field must not silently mean "withdraw".
FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("determination", "determine"): frozenset({"determination"}),
    ("determination", "record_general"): frozenset({"behaviour_code"}),
    ("determination", "dismiss"): frozenset(),
    ("repair_review", "approve"): frozenset({"opinion"}),
    ("repair_review", "reject"): frozenset({"opinion"}),
    ("appeal_review", "correct"): frozenset({"behaviour_code", "determination"}),
    ("appeal_review", "uphold"): frozenset(),
    ("push_failure", "retry"): frozenset(),
    ("push_failure", "acknowledge"): frozenset(),
    ("listing_confirmation", "confirm"): frozenset(),
    ("listing_confirmation", "withdraw"): frozenset(),
    ("deadline_overdue", "remind"): frozenset(),
    ("deadline_overdue", "report_behaviour"): frozenset({"behaviour_code"}),
    ("deadline_overdue", "dismiss"): frozenset(),
    ("interception", "report_behaviour"): frozenset({"behaviour_code"}),
    ("interception", "dismiss"): frozenset(),
    ("collusion_triage", "refer"): frozenset({"suppliers"}),
    ("collusion_triage", "dismiss"): frozenset(),
    ("evaluation_review", "publish"): frozenset(),
    ("evaluation_review", "redraft"): frozenset(),
    ("supervision_interview", "interviewed"): frozenset(),
    ("supervision_interview", "dismiss"): frozenset(),
    ("report_review", "publish"): frozenset(),
    ("report_review", "return"): frozenset(),
}


def validate_completion(task: dict, body: dict, *, today: date) -> tuple[str, str, dict]:
    """(decision, reason, fields) of a completion body; Problem 422 when it cannot be accepted."""
    kind = task["kind"]
    decision = body.get("decision")
    allowed = DECISIONS.get(kind, ())
    if decision not in allowed:
        raise Problem(
            422,
            "invalid_decision",
            "Invalid decision",
            f"a {kind} task is decided by one of {', '.join(allowed)}, not {decision!r}",
            allowed=list(allowed),
        )
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Problem(422, "reason_required", "Reason required", "every decision states its reason")
    if len(reason) > 4000:
        raise Problem(422, "invalid_request", "Reason too long", "at most 4000 characters")
    fields = {k: v for k, v in body.items() if k not in ("decision", "reason")}
    unexpected = sorted(set(fields) - FIELDS[(kind, decision)])
    if unexpected:
        raise Problem(
            422,
            "unexpected_field",
            "Unexpected field",
            f"{decision} takes {sorted(FIELDS[(kind, decision)]) or 'no fields'}, not {unexpected}",
            fields=unexpected,
        )
    return decision, reason.strip(), _fields(task, decision, fields, today)


def _fields(task: dict, decision: str, fields: dict, today: date) -> dict:
    subject_type = task["subject_type"]
    if decision == "determine":
        if "determination" not in fields:
            raise Problem(422, "determination_required", "Determination required", "determine needs `determination`")
        determination = _determination(fields["determination"], today)
        code = ((task.get("context") or {}).get("request") or {}).get("behaviour_code")
        behaviour = load_catalogue().get(code) if isinstance(code, str) else None
        if behaviour is not None and behaviour.statute is None and not (determination.get("legal_basis") or "").strip():
            raise Problem(
                422,
                "legal_basis_required",
                "Legal basis required",
                f"{code} cites no statute: the determination names its legal basis (处罚依据)",
            )
        return {"determination": determination}
    if decision == "record_general":
        if "behaviour_code" not in fields:
            raise Problem(422, "invalid_request", "Behaviour code required", "record_general needs `behaviour_code`")
        _behaviour(fields["behaviour_code"], subject_type, severity="general")
        return {"behaviour_code": fields["behaviour_code"]}
    if decision == "report_behaviour":
        # Reported through the normal intake as the finance department: a serious code opens a
        # determination there, a general one is recorded; the code must fit the responsible party.
        if "behaviour_code" not in fields:
            raise Problem(422, "invalid_request", "Behaviour code required", "report_behaviour needs `behaviour_code`")
        return {"behaviour_code": _behaviour(fields["behaviour_code"], subject_type, severity=None).code}
    if decision == "refer":
        return {"suppliers": _referred(task, fields.get("suppliers"))}
    if decision == "correct":
        out: dict = {}
        if "behaviour_code" in fields:
            b = _behaviour(fields["behaviour_code"], subject_type, severity=None)
            record = (task.get("context") or {}).get("record") or {}
            if record.get("severity") == "general" and b.severity == "serious":
                # 行政复议法 Art. 63 by analogy: the objector's objection never worsens its position.
                raise Problem(
                    422,
                    "correction_worsens",
                    "Correction worsens",
                    f"a correction on the subject's objection may not raise a general record to {b.code};"
                    " a serious finding goes through its own determination",
                )
            out["behaviour_code"] = b.code
            if b.severity == "serious" and "determination" not in fields:
                raise Problem(
                    422,
                    "determination_required",
                    "Determination required",
                    f"{b.code} is serious: send `determination`",
                )
            if b.severity == "general" and "determination" in fields:
                raise Problem(422, "severity_mismatch", "Severity mismatch", f"{b.code} is general: no determination")
        if "determination" in fields:
            out["determination"] = _determination(fields["determination"], today)
        return out
    if decision in ("approve", "reject") and "opinion" in fields:
        opinion = fields["opinion"]
        if not isinstance(opinion, str) or len(opinion) > 4000:
            raise Problem(422, "invalid_request", "Invalid opinion", "`opinion` is text of at most 4000 characters")
        return {"opinion": opinion.strip()}
    return {}


def _referred(task: dict, chosen: object) -> list[str]:
    """A collusion triage's `refer`: a non-empty list of suppliers of the suspected group."""
    group = [s.get("id") for s in (task.get("context") or {}).get("suppliers") or []]
    if not isinstance(chosen, list) or not chosen or not all(isinstance(c, str) for c in chosen):
        raise Problem(422, "invalid_request", "Suppliers required", "refer needs `suppliers`: ids of the group")
    strangers = sorted(set(chosen) - set(group))
    if strangers:
        raise Problem(
            422, "invalid_request", "Unknown suppliers", f"{strangers} are not of this group", suppliers=strangers
        )
    return sorted(set(chosen))


def _behaviour(code: object, subject_type: str, *, severity: str | None) -> Behaviour:
    b = load_catalogue().get(code) if isinstance(code, str) else None
    if b is None:
        raise Problem(422, "unknown_behaviour_code", "Unknown behaviour code", f"{code!r} is not in the catalogue")
    if b.subject != subject_type:
        raise Problem(
            422,
            "subject_mismatch",
            "Subject mismatch",
            f"{b.code} is a {b.subject}'s behaviour, not a {subject_type}'s",
        )
    if severity is not None and b.severity != severity:
        raise Problem(422, "severity_mismatch", "Severity mismatch", f"{b.code} is {b.severity}, not {severity}")
    return b


def _determination(value: object, today: date) -> dict:
    try:
        d = Determination.model_validate(value)
    except ValidationError as exc:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise Problem(422, "invalid_determination", "Invalid determination", "see `errors`", errors=errors) from None
    if d.decided_on > today:
        raise Problem(422, "invalid_date", "Invalid date", "a determination cannot be decided in the future")
    if d.liability_ends_on < d.decided_on:
        raise Problem(422, "invalid_date", "Invalid date", "the liability period ends before the decision")
    if d.liability_ends_on < today:
        raise Problem(422, "liability_ended", "Liability ended", "the liability period is over: nothing to enforce")
    return d.model_dump(mode="json", exclude_none=True)  # no legal_basis key when none is named
