"""Good credit of a supplier (000 §三.2: 对于信用记录良好的供应商, 财政部门实施免费投标信用保函奖励,
采购人根据项目实际减免收取履约保证金): whether it qualifies for the free credit bid guarantee and the
reduced performance bond.

Rule (issue 16 point 6): good credit is decided on the records in force. A record that has ended
(expired, or repaired: repair stops its publication and its use, NDRC Order No. 36, in force
2026-04-01) no longer counts, or a one-year general record would weigh for three years and repair
would mean nothing. Only where the region's policy names a look-back with its source
(`publication.guarantee_lookback_months` + `guarantee_lookback_source`; Luoyang names none) does a
record recorded in that many months still disqualify. Records withdrawn as wrong never count.

The answer depends on the date, so it is not stored as a yes/no: the view keeps whether a record is
in force (any change of that recomputes the view) and the last day a recent record disqualifies,
and the credit endpoint decides at serve time — no daily recompute of every supplier."""

from datetime import date, timedelta
from functools import lru_cache

from services.common.lawdates import add_months
from services.common.policy import NoPolicy, PublicationRules, policy_for

NOT_SUPPLIER = {"guarantee_blocked": False, "guarantee_after": None, "bond_reduction_percent": None}


@lru_cache(maxsize=1024)
def _rules(region: str, day: date) -> PublicationRules:
    return policy_for(region, day).publication


def columns(subject_type: str, subject_id: str, records: list[dict], today: date) -> dict:
    """The view's good-credit columns from all the subject's records (any status)."""
    if subject_type != "supplier":
        return dict(NOT_SUPPLIER)
    counted = [r for r in records if r["status"] != "withdrawn"]
    after = max((end for r in counted if (end := _lookback_end(r, today)) is not None), default=None)
    return {
        "guarantee_blocked": any(r["status"] == "in_force" for r in counted),
        "guarantee_after": after,
        # Only marks a supplier now (not None): the percentage is the asking project's region's,
        # decided when served (issue 16 point 7), never stored per supplier.
        "bond_reduction_percent": 0,
    }


def _lookback_end(record: dict, today: date) -> date | None:
    """The last day a record still disqualifies after it ended: only where the record's region names
    a look-back (with its source); otherwise an ended record (expired, repaired) counts for nothing."""
    try:
        months = _rules(record["region"], today).guarantee_lookback_months
    except NoPolicy:
        return None  # a record kept from before its region lost (or never had) a policy: no look-back
    return add_months(record["recorded_on"], months) if months is not None else None


@lru_cache(maxsize=1024)
def incentives(region: str | None, day: date) -> dict:
    """What the policy of the project's region (the purchaser's) says of the incentives. Without a
    region nothing but eligibility is said; `NoPolicy` for a region that has none (point 1)."""
    if region is None:
        return {
            "policy_region": None,
            "bond_reduction_percent": None,
            "bond_reduction_source": None,
            "deposits_forbidden": None,
            "deposits_forbidden_source": None,
        }
    rules = _rules(region, day)
    return {
        "policy_region": region,
        "bond_reduction_percent": rules.bond_reduction_percent,
        "bond_reduction_source": rules.bond_reduction_source,
        "deposits_forbidden": rules.deposits_forbidden,
        "deposits_forbidden_source": rules.deposits_forbidden_source,
    }


def clean_supplier(subject_id: str, today: date) -> dict:
    return columns("supplier", subject_id, [], today)


def answer(
    blocked: bool, after: date | None, today: date, region: str | None = None, in_force_until: date | None = None
) -> dict:
    """000 §三.2: 财政部门实施免费投标信用保函奖励, 采购人根据项目实际减免收取履约保证金. The free credit
    bid guarantee follows eligibility; the bond reduction is the purchaser's to set for the project,
    so a percentage is given only where the region's policy sets one (with its source), and where the
    policy forbids collecting deposits at all (e.g. Xuchang 2023 item 19) that is said instead."""
    eligible = not blocked and (after is None or today > after)
    reason = None if eligible else "record_in_force" if blocked else "recent_record"
    rules = incentives(region, today)
    percent = rules["bond_reduction_percent"]
    return {
        "eligible": eligible,
        "free_bid_guarantee": eligible,
        "bond_reduction": eligible and not rules["deposits_forbidden"],
        "bond_reduction_percent": percent if eligible and percent is not None else None,
        **{k: v for k, v in rules.items() if k != "bond_reduction_percent"},
        "eligible_from": eligible_from.isoformat()
        if (eligible_from := _eligible_from(reason, after, in_force_until))
        else None,
        "reason": reason,
    }


def _eligible_from(reason: str | None, after: date | None, in_force_until: date | None) -> date | None:
    """The first day good credit returns if nothing changes: after the look-back, and while records
    are in force the day after the last of them ends (at the latest: a repair ends one earlier)."""
    if reason == "recent_record" and after:
        return after + timedelta(days=1)
    if reason == "record_in_force" and in_force_until:
        return max(in_force_until, after or in_force_until) + timedelta(days=1)
    return None


def unknown(today: date, region: str | None = None) -> dict:
    """A subject never heard of: no claim either way (issue 21); it may still take part, as nothing
    bars it. What the project's region's policy says of the incentives is still said (point 7)."""
    rules = incentives(region, today)
    return {
        "eligible": None,
        "free_bid_guarantee": None,
        "bond_reduction": None,
        "bond_reduction_percent": None,
        **{k: v for k, v in rules.items() if k != "bond_reduction_percent"},
        "eligible_from": None,
        "reason": "no_record",
    }


def good_credit(
    blocked: bool,
    after: date | None,
    marker: int | None,
    today: date,
    region: str | None = None,
    known: bool = True,
    in_force_until: date | None = None,
) -> dict | None:
    """The `good_credit` member of the answer; None for non-suppliers (marker None)."""
    if marker is None:
        return None
    if not known:
        return unknown(today, region)
    return answer(blocked, after, today, region, in_force_until)
