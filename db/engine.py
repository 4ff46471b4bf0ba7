"""Engine and session factory (created by the composition root, never at import)."""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Statement parameters are people's texts: never in errors or logs.
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        # SQLite has one write lock. With several connections, concurrent
        # transactions collide and sqlite3's busy handler *sleeps* in growing
        # steps; one connection makes transactions queue in asyncio instead.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 120)
        from db.sqlite_loop import loop_url

        engine = create_async_engine(loop_url(parsed), **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")  # ON DELETE CASCADE erases linked rows
            # Deleted rows are overwritten with zeros, not left in free pages
            # of the file (/delete must leave no personal text behind).
            cur.execute("PRAGMA secure_delete=ON")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


async def truncate_wal(session: AsyncSession) -> None:
    """On SQLite in WAL mode: copy every committed page from the write-ahead
    log into the database file and empty the log (``wal_checkpoint(TRUNCATE)``),
    so rows just deleted (overwritten with zeros, see ``secure_delete``) leave
    no older copy in ``<db>-wal``. Run after the commit of a deletion; nothing
    on other databases. A checkpoint blocked by a reader is only logged (the
    next one completes it); so is a failure: the deletion itself is committed."""
    if session.get_bind().dialect.name != "sqlite":
        return
    try:
        busy, _log_pages, _done = (await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    except DBAPIError as exc:
        log.warning("SQLite checkpoint after a deletion failed (%s); the next checkpoint completes it",
                    exc.orig.__class__.__name__)
        return
    if busy:
        log.warning("SQLite checkpoint after a deletion was blocked by a reader; the next checkpoint completes it")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


__all__ = ["create_engine", "create_session_factory", "truncate_wal", "NullPool"]
