"""table_of(Model): the SQLAlchemy Table of a SQLModel table class, and a clear error for any other."""

import pytest
from sqlalchemy import Table
from sqlmodel import SQLModel

from services.common.tables import table_of
from services.evaluation.models import CreditRecord
from services.publication.models import PushDelivery


def test_the_table_of_a_table_model_is_its_mapped_table() -> None:
    for model in (CreditRecord, PushDelivery):
        table = table_of(model)
        assert isinstance(table, Table)
        assert table is model.__table__
    assert table_of(CreditRecord).name == "evaluation_record"


def test_a_model_without_a_table_is_refused_by_name() -> None:
    class NotATable(SQLModel):
        a: int

    with pytest.raises(TypeError, match="NotATable is not a table model"):
        table_of(NotATable)
