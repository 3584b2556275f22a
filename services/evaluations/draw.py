"""The 双随机 inspection draw weighted by credit risk (004 item 28): a sample without replacement in
which each subject's chance is its grade's policy weight (Efraimidis–Spirakis: key u^(1/w), the `size`
largest keys). Seeded: the same subjects, weights and seed give the same sample, whatever order the
subjects come in, so a stored draw can be re-run and checked."""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Draw:
    seed: int
    size: int
    drawn: tuple[str, ...]
    weights: tuple[tuple[str, float], ...]


def weighted_sample(weights: Mapping[str, float], size: int, seed: int) -> list[str]:
    if size < 1:
        raise ValueError(f"a sample has at least one subject, not {size}")
    if any(weight <= 0 for weight in weights.values()):
        raise ValueError("every weight is positive")
    rng = random.Random(seed)
    keyed = [(rng.random() ** (1.0 / weights[subject]), subject) for subject in sorted(weights)]
    keyed.sort(reverse=True)
    return [subject for _, subject in keyed[:size]]


def inspection_draw(
    subjects: Sequence[tuple[str, str]], grade_weights: Mapping[str, float], size: int, seed: int
) -> Draw:
    """`subjects` are (id, grade) pairs; a grade without a weight is an error, never a silent 0."""
    weights: dict[str, float] = {}
    for subject, grade in subjects:
        if grade not in grade_weights:
            raise ValueError(f"no inspection weight for grade {grade!r} of {subject}")
        if subject in weights:
            raise ValueError(f"{subject} is listed twice")
        weights[subject] = grade_weights[grade]
    drawn = weighted_sample(weights, size, seed)
    return Draw(seed=seed, size=size, drawn=tuple(drawn), weights=tuple(sorted(weights.items())))
