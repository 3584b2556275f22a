"""The SQLAlchemy `Table` of a SQLModel table class, typed.

SQLModel sets `__table__` on a `table=True` class at run time, where a type checker cannot see it;
`table_of(Model)` asks SQLAlchemy's mapper for it instead and says so when the class is no table.
"""

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    mapper = inspect(model, raiseerr=False)
    table = None if mapper is None else mapper.local_table
    if not isinstance(table, Table):
        raise TypeError(f"{model.__name__} is not a table model (SQLModel with table=True)")
    return table
