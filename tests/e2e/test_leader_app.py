"""The app's part of the leader election: a process with SCHEDULER=off answers
its own updates but runs no scheduler, sweep or outbox sender; the leader plans
reminders for meetings agreed in other processes (sync from the database)."""
from __future__ import annotations

import pytest

from tests.scenarios.meetings import _meeting_in_days, introduced_pair, onboard, COMPANY_CHALLENGE
from tests.support.config import database_for, make_settings
from tests.support.harness import running_emulator_harness


async def test_a_worker_answers_but_runs_nothing_of_the_leaders(tmp_path) -> None:
    settings = make_settings(await database_for("sqlite", tmp_path), scheduler="off")
    async with running_emulator_harness(settings, "aiogram") as h:
        assert not h.app.reminders.running and not h.app.outbox.running
        assert h.app.leadership is not None and not h.app.leadership.leading
        chat = await onboard(h, 1501, lang="de", side="production", name="Uta Seifert", text=COMPANY_CHALLENGE,
                             days=("Di",), window="vormittags")
        assert "Profil ist gespeichert" in "\n".join(m.text for m in chat.messages)


@pytest.mark.settings(reminder_offsets="2d,1d")
async def test_the_leader_plans_reminders_agreed_elsewhere(tmp_path) -> None:
    settings = make_settings(await database_for("sqlite", tmp_path), reminder_offsets="2d,1d")
    async with running_emulator_harness(settings, "aiogram") as h:
        company, creative = await introduced_pair(h)
        await _meeting_in_days(company, creative)
        meeting_id = (await h.app.core.scheduled_meetings())[0][0]
        assert h.app.reminders.planned(meeting_id)
        h.app.reminders.cancel(meeting_id)  # as if another process had agreed the time
        assert not h.app.reminders.planned(meeting_id)
        await h.app.sync_reminders()
        assert [jid for jid, _ in h.app.reminders.planned(meeting_id)] == [
            f"reminder:{meeting_id}:2d", f"reminder:{meeting_id}:1d"]
