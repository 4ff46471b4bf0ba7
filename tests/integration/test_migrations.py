"""Migrations produce exactly the models' schema, upgrade and downgrade cleanly."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db.engine import create_engine
from db.migrate import downgrade, upgrade
from db.models import Base


def include_name(name, type_, parent_names) -> bool:
    return not (type_ == "table" and name == "apscheduler_jobs")


async def _diff(engine) -> list:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(
                sync, opts={"compare_type": True, "include_name": include_name}), Base.metadata))


async def test_migrations_match_models_and_round_trip(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        assert await _diff(engine) == []
        await downgrade(engine, "base")
        await upgrade(engine)
        assert await _diff(engine) == []
    finally:
        await engine.dispose()


async def test_processes_started_together_migrate_one_after_the_other(database_url: str) -> None:
    """Issue 14.3: two processes on an empty PostgreSQL both ran `upgrade`; one
    died with UniqueViolation on CREATE TABLE alembic_version. (SQLite is one
    process's file: several processes means PostgreSQL.)"""
    import asyncio

    import pytest

    if not database_url.startswith("postgresql"):
        pytest.skip("several processes share a database only on PostgreSQL")

    engines = [create_engine(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(e) for e in engines))
        async with engines[0].connect() as conn:
            from sqlalchemy import text

            versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
        assert len(versions) == 1
    finally:
        for e in engines:
            await e.dispose()
