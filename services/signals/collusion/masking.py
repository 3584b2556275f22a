"""What of an indicator's evidence may leave the finance department: the bid fields that name a
person (the author or preparer of a document, a project manager, a contact, a bidding agent) are
masked to the family name's first character on the warning that purchasers and agencies read; the
triage task keeps them whole. Machine, network and dongle identifiers, hashes and prices name no
person and stay as they are."""

from typing import Any

from services.common.identifiers import mask_person_name

PERSONAL_FIELDS = frozenset({"author", "prepared_by", "project_manager", "contact_person", "agent"})


def masked_evidence(evidence: dict[str, Any]) -> dict[str, Any]:
    """A copy of one indicator's evidence with the values of personal fields masked."""
    out = dict(evidence)
    fields = set(str(evidence.get("field", "")).split("/"))
    if fields & PERSONAL_FIELDS and isinstance(evidence.get("value"), str):
        out["value"] = mask_person_name(evidence["value"])
    if isinstance(evidence.get("matched"), list):
        out["matched"] = [_masked_match(m) for m in evidence["matched"]]
    return out


def _masked_match(m: Any) -> Any:
    if isinstance(m, dict) and m.get("field") in PERSONAL_FIELDS and isinstance(m.get("value"), str):
        return {**m, "value": mask_person_name(m["value"])}
    return m
