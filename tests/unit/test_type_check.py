"""The type checker that .ci/run runs (pyproject's [tool.mypy]) catches a wrong field on a model.

mypy is run on a small snippet with the project's own configuration: a pydantic model and a
SQLModel table given a field they do not have, or a field of the wrong type, must be errors; the
same calls with their real fields must not. A configuration that lost the pydantic plugin or its
`init_forbid_extra` / `init_typed` fails here.
"""

from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parents[2]

SNIPPET = """\
from services.common.policy import RepairRules
from services.evaluation.models import LedgerEntry

RepairRules(general_wait_months=6, serious_repairable=False, review_working_days=5)
LedgerEntry(record_id="rec-1", version=1, change="created", entry="{}", leaf_hash="00")
RepairRules(general_wait_months=6, serious_repairable=False, review_working_days=5, wrong_field=1)
LedgerEntry(record_id="rec-1", version=1, change="created", entry="{}", leaf_hash="00", wrong_field=1)
RepairRules(general_wait_months="six", serious_repairable=False, review_working_days=5)
LedgerEntry(record_id="rec-1", version="1", change="created", entry="{}", leaf_hash="00")
"""


@pytest.mark.slow
def test_mypy_flags_a_wrong_field_or_type_on_a_model_and_accepts_the_real_ones(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out, err, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            "--no-error-summary",
            "--hide-error-context",
            str(snippet),
        ]
    )
    assert not err, err
    errors: dict[int, list[str]] = {}
    for line in out.splitlines():
        if line.startswith(f"{snippet}:"):
            errors.setdefault(int(line.split(":")[1]), []).append(line)
    assert status == 1, out
    assert sorted(errors) == [6, 7, 8, 9], out  # the correct calls on lines 4 and 5 pass
    assert 'Unexpected keyword argument "wrong_field" for "RepairRules"' in errors[6][0], out
    assert 'Unexpected keyword argument "wrong_field" for "LedgerEntry"' in errors[7][0], out
    assert '"general_wait_months"' in errors[8][0] and 'expected "int"' in errors[8][0], out
    assert '"version"' in errors[9][0] and 'expected "int"' in errors[9][0], out
