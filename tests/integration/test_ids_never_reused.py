"""Migration 0015: on SQLite the ids of people, cards, pairs, meetings … are
never handed out twice (AUTOINCREMENT), and the rebuild of those tables on an
existing database keeps every row and every reference."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import text

from db.engine import create_engine, create_session_factory
from db.migrate import downgrade, upgrade
from db.models import Meeting, Pair, Person, Profile, Suggestion, utcnow


def _rows(path: str) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                              "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        con.close()


async def test_upgrade_keeps_rows_and_references_and_ids_are_not_reused(sqlite_url: str) -> None:
    path = sqlite_url.split("///", 1)[1]
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine, "0014")
        now = utcnow()
        sessions = create_session_factory(engine)
        async with sessions() as s:
            people = [Person(telegram_id=1000 + i, first_name="P", language="de", consent_at=now) for i in range(3)]
            s.add_all(people)
            await s.flush()
            s.add_all([Profile(person_id=p.id, side=side) for p, side in zip(people, ("production", "creative",
                                                                                      "creative"))])
            s.add_all([Suggestion(person_id=people[0].id, counterpart_id=people[1].id),
                       Suggestion(person_id=people[0].id, counterpart_id=people[2].id)])
            pair = Pair(company_id=people[0].id, creative_id=people[1].id)
            s.add_all([pair, Pair(company_id=people[0].id, creative_id=people[2].id)])
            await s.flush()
            s.add(Meeting(pair_id=pair.id, starts_at=now + timedelta(days=2)))
            await s.commit()
        before = _rows(path)
        await upgrade(engine)
        assert _rows(path) == before  # nothing cascaded away by the rebuilds
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1  # on again
            sql = (await conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name='suggestions'")).scalar()
            assert "AUTOINCREMENT" in sql
        async with sessions() as s:  # the newest card is withdrawn: the next one must not get its id
            await s.execute(text("DELETE FROM suggestions WHERE id = 2"))
            card = Suggestion(person_id=1, counterpart_id=3)
            s.add(card)
            await s.execute(text("DELETE FROM people WHERE id = 3"))  # the newest person: /delete (cascades)
            newcomer = Person(telegram_id=2000, first_name="Q", language="de", consent_at=now)
            s.add(newcomer)
            await s.commit()
            new_id, person_id = card.id, newcomer.id
        assert new_id == 3 and person_id == 4
        assert _rows(path)["pairs"] == 1  # the deleted person's pair went with them
        await downgrade(engine, "0014")  # and back, rows kept
        assert _rows(path)["meetings"] == 1
    finally:
        await engine.dispose()
