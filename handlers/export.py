"""/export [CODE or NAME] (organisers): the rows behind the figures as CSV
files for reports to funders, in one ZIP — one event's participants and what
happened among them, or everyone's.

Six tables: participants (with the funnel's steps as 1/0), suggestions,
introductions (pairs), meetings, feedback and outcomes. People appear under a
pseudonymous id (`P17`: the database's, never a Telegram id or username);
only the participants table names them (name, organisation). Challenge and
skill texts, places, links and written feedback comments stay out (see
docs/operations.md, "Exports").

Format for Excel as used in Germany: UTF-8 with a byte order mark (umlauts
open correctly), `;` between fields, CRLF line ends, fields with `;`, quotes
or line breaks in double quotes, times in the bot's time zone as
`YYYY-MM-DD HH:MM`, decimal comma in German (point in English). Text that
Excel would run as a formula (starting with `=`, `+`, `-`, `@`) gets a
leading apostrophe.
"""
from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from handlers.figures import FUNNEL, event_in_scope, has_comment, reached
from handlers.types import Document
from i18n import language_of, t
from matching.taxonomy import DISCIPLINES

if TYPE_CHECKING:
    from db.models import Profile
    from db.uow import ReportRows
    from handlers.turn import Turn

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The tables and their columns (headers: catalog keys export.col.<column>).
TABLES: dict[str, tuple[str, ...]] = {
    "participants": ("id", "side", "name", "organisation", "sector", "disciplines", "events", "joined", "onboarded",
                     *(f"step_{s}" for s in FUNNEL[2:])),
    "suggestions": ("person", "counterpart", "score", "status", "created", "shown", "answered"),
    "pairs": ("company", "creative", "company_answer", "creative_answer", "status", "created", "introduced"),
    "meetings": ("meeting", "company", "creative", "status", "starts", "duration", "place_kind", "created"),
    "feedback": ("meeting", "person", "side", "asked", "step", "met", "rating", "continue", "comment", "answered"),
    "outcomes": ("company", "creative", "person", "stage", "status", "answer", "due", "answered"),
}


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], decimal: str = ",") -> bytes:
    """One CSV file for Excel: UTF-8 with BOM, `;`, CRLF, quoted where needed
    (see the module doc). Cells: None → empty, floats with `decimal`, text
    that would start a formula with an apostrophe before it."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([_cell(h, decimal) for h in header])
    for row in rows:
        writer.writerow([_cell(v, decimal) for v in row])
    return out.getvalue().encode("utf-8-sig")


def _cell(value: object, decimal: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:.3f}".replace(".", decimal)
    if isinstance(value, int):
        return str(value)
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def pid(person_id: int | None) -> str | None:
    """A person's pseudonymous id in the exports."""
    return f"P{person_id}" if person_id is not None else None


@dataclass(frozen=True)
class Export:
    filename: str
    content: bytes
    counts: dict[str, int]  # table -> rows


def tables(rows: ReportRows, locale: str, tz: tzinfo) -> dict[str, list[list[object]]]:
    """Pure: the rows of each table (see TABLES for the columns)."""
    lang = language_of(locale)

    def when(value: datetime | None) -> str | None:
        """2027-03-02 10:30, in the bot's time zone."""
        return value.astimezone(tz).replace(tzinfo=None).isoformat(" ", "minutes") if value is not None else None

    steps = reached(rows)
    events = {e.id: e.name for e in rows.events}
    joined: dict[int, datetime] = {}
    their_events: dict[int, list[str]] = {}
    for m in rows.memberships:
        joined[m.person_id] = m.joined_at
        their_events.setdefault(m.person_id, []).append(events.get(m.event_id, ""))
    side = {p.id: (pr.side if pr is not None else None) for p, pr in rows.people}

    def discipline_names(profile: Profile | None) -> str | None:
        if profile is None or not profile.disciplines:
            return None
        return ", ".join(DISCIPLINES[c][lang] for c in profile.disciplines if c in DISCIPLINES)

    participants = []
    for person, profile in rows.people:
        # Joined the event; with no event: signed up (accepted the privacy notice).
        participants.append([
            pid(person.id), side[person.id], profile.name if profile else None,
            profile.organisation if profile else None,
            profile.sector if profile is not None and profile.side == "production" else None,
            discipline_names(profile) if profile is not None and profile.side == "creative" else None,
            ", ".join(their_events.get(person.id, [])) or None,
            when(joined.get(person.id) if rows.event_id is not None else person.consent_at),
            when(profile.completed_at) if profile else None,
            *(person.id in steps[s] for s in FUNNEL[2:]),
        ])
    pair_of = {p.id: p for p in rows.pairs}
    meeting_pair = {m.id: pair_of.get(m.pair_id) for m in rows.meetings}
    return {
        "participants": participants,
        "suggestions": [[pid(s.person_id), pid(s.counterpart_id), float(s.score), s.status, when(s.created_at),
                         when(s.shown_at), when(s.answered_at)] for s in rows.suggestions],
        "pairs": [[pid(p.company_id), pid(p.creative_id), p.company_answer, p.creative_answer, p.status,
                   when(p.created_at), when(p.introduced_at)] for p in rows.pairs],
        "meetings": [[f"M{m.id}", pid(pair.company_id if pair else None), pid(pair.creative_id if pair else None),
                      m.status, when(m.starts_at), m.duration_min, m.place_kind, when(m.created_at)]
                     for m in rows.meetings for pair in [meeting_pair[m.id]]],
        "feedback": [[f"M{f.meeting_id}" if f.meeting_id is not None else None, pid(f.person_id), side.get(f.person_id),
                      when(f.asked_at), f.step, f.met, f.rating, f.wants_to_continue, has_comment(f),
                      when(f.answered_at)]
                     for f in rows.feedback],
        "outcomes": [[pid(pair.company_id if pair else None), pid(pair.creative_id if pair else None), pid(o.person_id),
                      o.stage, o.status, o.answer, when(o.due_at), when(o.answered_at)]
                     for o in rows.outcomes for pair in [pair_of.get(o.pair_id) if o.pair_id is not None else None]],
    }


def build(rows: ReportRows, locale: str, tz: tzinfo, name: str) -> Export:
    """The ZIP: one CSV per table, headers in the organiser's language."""
    decimal = "." if language_of(locale) == "en" else ","
    data = tables(rows, locale, tz)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for table, columns in TABLES.items():
            header = [t(locale, f"export.col.{c}") for c in columns]
            zf.writestr(f"{t(locale, f'export.file.{table}')}.csv", csv_bytes(header, data[table], decimal))
    return Export(f"{name}.zip", out.getvalue(), {table: len(rows_) for table, rows_ in data.items()})


async def cmd_export(turn: Turn, profile: Profile | None, args: str) -> None:
    """/export [CODE or NAME]: one ZIP of CSV files, for one event or everyone."""
    allowed, event = await event_in_scope(turn, args, "export.usage", "export.own")
    if not allowed:
        return
    rows = await turn.uow.followups.report_rows(event.id if event is not None else None)
    tz = turn.services.settings.tz
    day = turn.services.now().astimezone(tz).strftime("%Y-%m-%d")
    name = f"crosslab-{event.slug if event is not None else 'all'}-{day}"
    # Read rows only (no database access): built in a worker thread, the bot answers others meanwhile.
    export = await asyncio.to_thread(build, rows, turn.locale, tz, name)
    scope = event.name if event is not None else turn.tr("fig.everyone")
    counts = {f"n_{table}": n for table, n in export.counts.items()}
    turn.send(turn.tr("export.caption", scope=scope, **counts),
              document=Document(export.filename, export.content, "application/zip"))


__all__ = ["TABLES", "Export", "build", "cmd_export", "csv_bytes", "tables"]
