"""The seven-category indicator tree of a purchaser's assessment as the answers show it (issue 15):
each category with its indicators' codes and its points, so a reader (the console) can lay every
line under its category — for a current result and for a published one, whose stored lines carry no
category. Read side only: the points are the lines' own."""

from services.evaluations.policy import AssessmentPolicy


def category_tree(policy: AssessmentPolicy, lines: list[dict]) -> list[dict]:
    """[{code, name, indicators: [code…], weight, points}], in the policy's order; `points` sums the
    lines of the category's indicators (an officer's adjustment belongs to no category)."""
    points = {line.get("code"): float(line.get("points") or 0) for line in lines}
    return [
        {
            "code": category.code,
            "name": category.name,
            "indicators": [indicator.code for indicator in category.indicators],
            "weight": sum(indicator.weight.value for indicator in category.indicators),
            "points": round(sum(points.get(indicator.code, 0.0) for indicator in category.indicators) + 0.0, 2),
        }
        for category in policy.categories
    ]
