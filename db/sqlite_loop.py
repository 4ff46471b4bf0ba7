"""SQLite in the event loop's own thread: SQLAlchemy's aiosqlite dialect, with
the driver's calls made directly instead of through aiosqlite's thread.

Why: a statement on a local SQLite file takes microseconds, but aiosqlite
hands every call (execute, fetch, close, commit …) to its thread and back —
two thread switches and a wake-up of the event loop each, about 28 per
handled update and more than half the CPU the update cost
(bench/bench_core.py: 5.5 ms per update through aiosqlite, 2.4 ms here).

The driver below has aiosqlite's interface (coroutines, so SQLAlchemy's
asyncio layer works unchanged) but every coroutine finishes at once: it runs
the sqlite3 call and returns, without going through the event loop.

What it changes: a statement blocks the loop while it runs. So waiting for
another process's write lock must not be long: the busy timeout is short
(`BUSY_TIMEOUT`); beyond it the statement fails with "database is locked",
which the callers treat as transient (the update is run again after an
asyncio sleep; the sender, the reminders and the sweeps try again on their
next turn). Inside one process the engine has one connection
(db/engine.py), so transactions queue in asyncio and never wait for each
other's lock.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import util
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection, AsyncAdapt_dbapi_module
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_ss_cursor,
                                                  SQLiteDialect_aiosqlite)
from sqlalchemy.engine import URL

BUSY_TIMEOUT = 0.25  # seconds the loop may wait for another process's write lock
DRIVER = "crosslab_loop"


class _Cursor:
    """aiosqlite's cursor interface over a sqlite3 cursor, finishing at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Any = ()) -> _Cursor:
        self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, seq_of_parameters: Any) -> _Cursor:
        self._cursor.executemany(sql, seq_of_parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *sizes: Any) -> None:
        return None


class _Connection:
    """aiosqlite's connection interface over a sqlite3 connection."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._conn.close()


class AsyncAdapt_loop_connection(AsyncAdapt_dbapi_connection):
    __slots__ = ()

    _cursor_cls = AsyncAdapt_aiosqlite_cursor
    _ss_cursor_cls = AsyncAdapt_aiosqlite_ss_cursor
    _connection: _Connection  # type: ignore[assignment]

    @property
    def isolation_level(self) -> str | None:
        return self._connection._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection._conn.isolation_level = value

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._connection._conn.create_function(*args, **kw)


class AsyncAdapt_loop_dbapi(AsyncAdapt_dbapi_module):
    def __init__(self) -> None:
        super().__init__(sqlite3, dbapi_module=sqlite3)
        self.sqlite = sqlite3
        self.paramstyle = "qmark"
        self.has_stop = False  # nothing to stop: no thread
        for name in ("DatabaseError", "Error", "IntegrityError", "NotSupportedError", "OperationalError",
                     "ProgrammingError", "InterfaceError", "sqlite_version", "sqlite_version_info",
                     "PARSE_COLNAMES", "PARSE_DECLTYPES", "Binary"):
            setattr(self, name, getattr(sqlite3, name))

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_loop_connection:
        kw.pop("async_creator_fn", None)
        # Every call is made from the loop's thread; dispose() at exit may come from another.
        kw["check_same_thread"] = False
        return AsyncAdapt_loop_connection(self, _Connection(sqlite3.connect(*arg, **kw)))


class SQLiteDialect_loop(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True
    supports_server_side_cursors = False
    has_terminate = False

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_loop_dbapi:  # type: ignore[override]
        return AsyncAdapt_loop_dbapi()

    def retrieve_dbapi_version(self, dbapi: Any) -> util.VersionInfo:  # type: ignore[override]
        return tuple(sqlite3.sqlite_version_info)  # type: ignore[return-value]

    def create_connect_args(self, url: URL) -> Any:
        args, kwargs = super().create_connect_args(url)
        kwargs["timeout"] = min(float(kwargs.get("timeout", BUSY_TIMEOUT)), BUSY_TIMEOUT)
        return args, kwargs


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteDialect_loop")


def loop_url(url: URL) -> URL:
    """The same database through this dialect."""
    return url.set(drivername=f"sqlite+{DRIVER}")


__all__: Sequence[str] = ["SQLiteDialect_loop", "loop_url", "BUSY_TIMEOUT"]
