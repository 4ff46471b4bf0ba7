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
