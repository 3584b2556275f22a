"""Which failures of a consumer's transaction are the database's (it is down, restarting, out of
connections, a transaction lost a serialisation race: try the same work again later) and which are
the message's (the database or the code refuses this very input, every time it is tried).

PostgreSQL says which in the SQLSTATE class of its error (Appendix A of its manual); the error may
come from asyncpg directly (`services.common.sql` runs statements on the driver connection) or
wrapped by SQLAlchemy, so the whole chain of causes is read."""

from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

# 08 connection exception, 40 transaction rollback (serialisation failure, deadlock),
# 53 insufficient resources (too many connections, disk full), 57 operator intervention
# (shutdown, cannot connect now, query cancelled), 58 system error (I/O error).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]


def sqlstate(exc: BaseException) -> str | None:
    for e in _chain(exc):
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and len(state) == 5:
            return state
    return None


def is_transient(exc: BaseException) -> bool:
    """True when the failure is the database's or the network's, not the message's."""
    state = sqlstate(exc)
    if state is not None:
        return state[:2] in TRANSIENT_SQLSTATE_CLASSES
    for e in _chain(exc):
        if isinstance(e, OSError | TimeoutError | sa_exc.TimeoutError):
            return True
        if isinstance(e, sa_exc.DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, sa_exc.OperationalError | sa_exc.InterfaceError):
            return True
        # asyncpg's "connection is closed": the server went away under it. Its other client-side
        # errors are bugs or the message's (its DataError: a value it cannot encode), as
        # `services.common.outages` also judges them.
        if isinstance(e, asyncpg.InterfaceError) and "closed" in str(e):
            return True
    return False


def describe(exc: BaseException) -> tuple[str, str]:
    """(error class, first line of its message) of the innermost database error, without the
    statement or its parameters that SQLAlchemy appends (they hold the message's data)."""
    inner = exc
    for e in _chain(exc):
        if isinstance(e, asyncpg.PostgresError | asyncpg.InterfaceError):
            inner = e
            break
    else:
        if isinstance(exc, sa_exc.StatementError) and exc.orig is not None:
            inner = exc.orig
    text = str(inner).split("\n", 1)[0]
    return type(inner).__name__, text[:300]
