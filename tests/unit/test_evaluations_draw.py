"""The grade-weighted inspection draw (004 item 28): frequencies follow the policy weights,
reproducible from its seed."""

from collections import Counter

import pytest

from services.evaluations.draw import inspection_draw, weighted_sample
from services.evaluations.policy import supervision_policy_for

WEIGHTS = {grade: number.value for grade, number in supervision_policy_for("411000").inspection_weights.items()}


def test_frequencies_over_100000_draws_are_within_one_percent_of_the_weights() -> None:
    # One subject per grade; A 1, B 2, C 4, D 8 → shares 1/15, 2/15, 4/15, 8/15.
    subjects = [("agency-a", "A"), ("agency-b", "B"), ("agency-c", "C"), ("agency-d", "D")]
    runs = 100_000
    counts = Counter(inspection_draw(subjects, WEIGHTS, size=1, seed=seed).drawn[0] for seed in range(runs))
    total = sum(WEIGHTS.values())
    for subject, grade in subjects:
        share = WEIGHTS[grade] / total
        assert abs(counts[subject] / runs - share) < 0.01, (subject, counts[subject] / runs, share)


def test_the_same_seed_gives_the_same_sample_whatever_the_order() -> None:
    subjects = [(f"s{n:02}", "ABCD"[n % 4]) for n in range(40)]
    first = inspection_draw(subjects, WEIGHTS, size=8, seed=20261207)
    again = inspection_draw(list(reversed(subjects)), WEIGHTS, size=8, seed=20261207)
    other = inspection_draw(subjects, WEIGHTS, size=8, seed=20261208)
    assert first.drawn == again.drawn and len(set(first.drawn)) == 8
    assert first.drawn != other.drawn


def test_a_sample_larger_than_the_population_is_everyone_once() -> None:
    assert sorted(weighted_sample({"a": 1, "b": 8}, size=5, seed=1)) == ["a", "b"]


@pytest.mark.parametrize(
    ("subjects", "size", "message"),
    [
        ([("a", "E")], 1, "no inspection weight"),
        ([("a", "A"), ("a", "B")], 1, "twice"),
        ([("a", "A")], 0, "at least one"),
    ],
)
def test_bad_draws_are_refused(subjects: list[tuple[str, str]], size: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        inspection_draw(subjects, WEIGHTS, size=size, seed=1)
