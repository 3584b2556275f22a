"""A grade from a policy's bands: the first band, best first, whose minimum the score reaches."""

from services.evaluations.policy import GradeBand


def grade_for(bands: list[GradeBand], score: float) -> str:
    if score < 0:
        raise ValueError(f"a score is never negative: {score}")
    for band in bands:
        if score >= band.min_score.value:
            return band.grade
    raise ValueError("the policy's last band starts at 0")  # the policy models check this on load
