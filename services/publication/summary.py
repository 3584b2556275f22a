"""The public credit answer in one Chinese line a purchaser can paste into a bid file (issue 22):
what the subject may do, until when, and on what legal basis — built from the answer's own fields,
so it never says more than they do."""

# The purchaser's question is "may it take part"; the grade words follow 信用中国's usage.
_NOT_SEEN = "本系统未收到该主体的任何信用信息（无记录，不等于信用良好）"


def _basis(record: dict) -> str:
    """The legal basis and the decision that made the record, as published."""
    basis = record.get("legal_basis") or ""
    decision_no = (record.get("determination") or {}).get("decision_no")
    return f"{basis}（{decision_no}）" if basis and decision_no else basis or decision_no or ""


def _latest(records: list[dict], severity: str | None = None) -> dict | None:
    chosen = [r for r in records if severity is None or r.get("severity") == severity]
    return max(chosen, key=lambda r: r.get("valid_until") or "", default=None)


def summary_zh(answer: dict) -> str:
    """One line, ending with the date it was true on."""
    status, records, as_of = answer.get("status"), answer.get("records_in_force") or [], answer.get("as_of")
    if status == "no_record":
        line = _NOT_SEEN
    elif answer.get("blacklisted"):
        serious = _latest(records, "serious") or {}
        until = answer.get("blacklisted_until") or serious.get("valid_until")
        line = f"列入政府采购严重违法失信名单，禁止参加政府采购活动至{until}"
        if basis := _basis(serious):
            line += f"，依据{basis}"
    elif records:
        latest = _latest(records) or {}
        line = f"有{len(records)}条失信记录在公示期内（至{latest.get('valid_until')}），可参加政府采购活动"
        if basis := _basis(latest):
            line += f"，依据{basis}"
    else:
        line = "无在公示期内的失信记录，可参加政府采购活动"
    objected = sum(1 for r in records if r.get("under_objection"))
    if objected:
        line += f"（其中{objected}条异议复核中，复核期间仍然有效）"
    expert = answer.get("expert")
    if expert and not expert.get("may_be_drawn", True):
        until = expert.get("not_drawable_until")
        line += "；不得抽取为评审专家" + (f"至{until}" if until else "")
    good = answer.get("good_credit")
    if good and good.get("eligible"):
        line += "；符合信用记录良好激励（免费投标信用保函、减免履约保证金）"
    elif good and good.get("eligible_from"):
        line += f"；最早自{good['eligible_from']}起符合信用记录良好激励"
    return f"{line}。（截至{as_of}）"
