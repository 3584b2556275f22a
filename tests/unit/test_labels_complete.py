"""Every value the system can produce has its Chinese label (issue 17): the task kinds, decisions,
subject types, severities and expert statuses are read from where they are defined, so a new kind
added there without a label in the statistics and in the console fails here."""

from typing import get_args

import pytest

from services.casework.console.i18n import DECISIONS as DECISION_WORDS
from services.casework.console.i18n import KINDS, SUBJECT_TYPES
from services.common.catalogue import Severity
from services.common.schemas import SubjectType
from services.statistics.labels import NAMES, label
from workflows.expert_standing.inputs import PublicStatus
from workflows.human_task.inputs import DECISIONS, TaskKind

TASK_KINDS = get_args(TaskKind)


def _chinese(text: object) -> bool:
    return isinstance(text, str) and any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("kind", TASK_KINDS)
def test_every_task_kind_has_a_chinese_label_in_the_statistics_and_the_console(kind: str) -> None:
    assert _chinese(label("kind", kind)), f"statistics: no Chinese label for task kind {kind!r}"
    assert kind in KINDS and _chinese(KINDS[kind][0]), f"console: no Chinese label for task kind {kind!r}"


def test_the_labels_name_no_kind_that_does_not_exist() -> None:
    assert set(NAMES["kind"]) == set(TASK_KINDS)
    assert set(KINDS) == set(TASK_KINDS)


@pytest.mark.parametrize("decision", sorted({d for ds in DECISIONS.values() for d in ds}))
def test_every_decision_has_a_chinese_label_in_the_console(decision: str) -> None:
    assert decision in DECISION_WORDS and _chinese(DECISION_WORDS[decision][0]), decision


def test_every_subject_type_severity_and_expert_status_has_a_chinese_label() -> None:
    for field, values in (
        ("subject_type", get_args(SubjectType)),
        ("responsible_type", get_args(SubjectType)),
        ("severity", get_args(Severity)),
        ("status", get_args(PublicStatus)),
    ):
        for value in values:
            assert _chinese(label(field, value)), f"statistics: no Chinese label for {field} {value!r}"
    for value in (*get_args(SubjectType), "region"):
        assert _chinese(SUBJECT_TYPES[value][0]), f"console: no Chinese label for subject type {value!r}"


def test_a_value_without_a_label_is_shown_as_it_is() -> None:
    assert label("kind", "no_such_kind") == "no_such_kind"
    assert label("no_such_field", "x") == "x"
