"""A consortium's credit (财库〔2016〕125号 on consortium bids: the credit record of any member is the
consortium's): the worst of its members' answers, each member's own answer beside it."""

from services.publication.credit_answers import GRADES

INCENTIVE_FIELDS = (
    "policy_region",
    "bond_reduction_source",
    "deposits_forbidden",
    "deposits_forbidden_source",
)
SEVERITY = {"no_record": 0, "clean": 0, "general_record": 1, "blacklisted": 2}


def worst_of(member_ids: list[str], answers: list[dict]) -> dict:
    worst = max(answers, key=lambda a: SEVERITY[a["status"]])
    listed = [a["blacklisted_until"] for a in answers if a["blacklisted"]]
    goods = [a["good_credit"] for a in answers]
    # A member never heard of leaves the consortium's good credit undecided, unless another rules it out.
    flags = [g["eligible"] for g in goods]
    eligible = False if False in flags else None if None in flags else True
    reasons = [g["reason"] for g in goods if g["reason"]]
    froms = [g["eligible_from"] for g in goods if g["eligible_from"]]
    return {
        "consortium": True,
        "member_ids": member_ids,
        "status": worst["status"],
        "grade": GRADES[worst["status"]],
        "may_participate": all(a["may_participate"] for a in answers),
        "blacklisted": any(a["blacklisted"] for a in answers),
        # ISO dates compare as text; a member blacklisted without an end keeps the consortium out.
        "blacklisted_until": max(listed) if listed and None not in listed else None,
        "good_credit": {
            "eligible": eligible,
            "free_bid_guarantee": eligible,
            "bond_reduction": eligible and all(g["bond_reduction"] for g in goods),
            # The smallest reduction of the members (the bond covers the whole consortium), where the
            # region's policy sets one; the other incentive fields are the region's, the same for all.
            "bond_reduction_percent": goods[0]["bond_reduction_percent"] if eligible else None,
            **{k: goods[0][k] for k in INCENTIVE_FIELDS},
            "eligible_from": None if "record_in_force" in reasons or not froms else max(froms),
            "reason": "record_in_force" if "record_in_force" in reasons else reasons[0] if reasons else None,
        },
        "known": all(a.get("known", True) for a in answers),
        "members": answers,
        "as_of": answers[0]["as_of"],
    }
