"""Apply Alembic migrations programmatically (on start and in tests)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# pg_advisory_xact_lock key: one migration at a time across processes ("crosslab" in ASCII)
MIGRATION_LOCK = 0x63726F73736C6162


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Migrate to `revision`. On PostgreSQL a transaction-scoped advisory lock
    makes processes started together take turns: the first migrates, the
    others then find the database up to date (before, the second failed with
    UniqueViolation on `CREATE TABLE alembic_version`)."""
    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    await _migrate(engine, _run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    def _run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    await _migrate(engine, _run)


async def _migrate(engine: AsyncEngine, run: Callable[[Connection], None]) -> None:
    """One transaction. On SQLite with foreign keys off while it runs: a
    migration that rebuilds a table others refer to (Alembic's batch mode:
    copy, drop, rename) would otherwise cascade the drop to their rows. SQLite
    takes that pragma only outside a transaction; every reference is checked
    before the commit (a migration that broke one is rolled back)."""
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()  # SQLAlchemy's own transaction; SQLite began none for a pragma
        try:
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                await conn.run_sync(run)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration left {len(broken)} broken reference(s), "
                                           f"e.g. {broken[0][0]} -> {broken[0][2]}; rolled back")
        finally:
            if sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()
