"""Matches from a league's CSV: every row is checked first, then all are stored or none.

Columns: `round,date,home,away,home_q1..home_q4,away_q1..away_q4`, optionally `home_et,away_et`
(extra-time goals, empty when none), in any order. A row whose eight quarter cells are all
empty is a fixture not yet played: it creates the match without a score and never erases
one. A match is identified by competition, round, home and away, so importing the same file
again changes nothing and a corrected score updates its match.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session

from backend.models_competition import QUARTERS_PER_MATCH, Competition, ScoreSource, name_key
from backend.services.competitions import (
    MAX_ROUND_CHARS,
    check_extra_time,
    find_match,
    find_team,
    get_or_create_match,
    get_or_create_team,
    set_score,
)
from backend.services.errors import InvalidArgument, ServiceError

QUARTER_COLUMNS = tuple(
    f"{side}_q{quarter}" for side in ("home", "away") for quarter in range(1, 5)
)
REQUIRED_COLUMNS = ("round", "date", "home", "away", *QUARTER_COLUMNS)
EXTRA_TIME_COLUMNS = ("home_et", "away_et")
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_PROBLEMS_SHOWN = 20
assert len(QUARTER_COLUMNS) == 2 * QUARTERS_PER_MATCH


class ImportRefused(ServiceError):
    """The file was refused as a whole; `problems` lists (line, reason), nothing was stored."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "".join(
            f"\n  line {line}: {reason}" for line, reason in problems[:MAX_PROBLEMS_SHOWN]
        )
        more = len(problems) - MAX_PROBLEMS_SHOWN
        shown += f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"nothing imported; {len(problems)} problem(s):{shown}")

    def to_list(self) -> list[dict[str, Any]]:
        return [{"line": line, "reason": reason} for line, reason in self.problems]


@dataclass(frozen=True)
class MatchRow:
    line: int
    round: str
    played_on: date | None
    home: str
    away: str
    home_quarters: list[int] | None
    away_quarters: list[int] | None
    home_et: int | None = None
    away_et: int | None = None


@dataclass
class ImportReport:
    competition: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    teams_created: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "competition": self.competition,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "teams_created": self.teams_created,
        }


def _check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise ImportRefused([(1, "the file is empty; expected a header line")])
    columns = [name.strip().lower() for name in header]
    problems = []
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in (*REQUIRED_COLUMNS, *EXTRA_TIME_COLUMNS)]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(repr(c) for c in unknown)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if (EXTRA_TIME_COLUMNS[0] in columns) != (EXTRA_TIME_COLUMNS[1] in columns):
        problems.append("give both home_et and away_et, or neither")
    if problems:
        expected = ",".join(REQUIRED_COLUMNS) + "[,home_et,away_et]"
        raise ImportRefused(
            [(1, f"unknown column layout: {'; '.join(problems)}; expected {expected}")]
        )
    return columns


def _goals(cell: str, column: str) -> int:
    text = cell.strip()
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{column} is not a whole number: {text!r}") from None
    if value < 0:
        raise ValueError(f"{column} cannot be negative: {value}")
    return value


def _parse_row(line: int, cells: dict[str, str]) -> MatchRow:
    round_label = " ".join(cells["round"].split())
    if not round_label:
        raise ValueError("round is empty")
    if len(round_label) > MAX_ROUND_CHARS:
        raise ValueError(f"round is longer than {MAX_ROUND_CHARS} characters")
    home, away = " ".join(cells["home"].split()), " ".join(cells["away"].split())
    if not home or not away:
        raise ValueError(f"{'home' if not home else 'away'} team is missing")
    if name_key(home) == name_key(away):
        raise ValueError(f"{home} cannot play itself")
    played_on = None
    if cells["date"].strip():
        try:
            played_on = date.fromisoformat(cells["date"].strip())
        except ValueError:
            raise ValueError(f"date {cells['date'].strip()!r} is not YYYY-MM-DD") from None
    quarter_cells = [cells[c] for c in QUARTER_COLUMNS]
    et_cells = [cells.get(c, "").strip() for c in EXTRA_TIME_COLUMNS]
    if not any(c.strip() for c in quarter_cells):
        if any(et_cells):
            raise ValueError("extra time given without the quarter scores")
        return MatchRow(line, round_label, played_on, home, away, None, None)
    goals = [_goals(cells[c], c) for c in QUARTER_COLUMNS]
    home_q, away_q = goals[:QUARTERS_PER_MATCH], goals[QUARTERS_PER_MATCH:]
    home_et, away_et = (
        _goals(et_cells[i], EXTRA_TIME_COLUMNS[i]) if et_cells[i] else None for i in range(2)
    )
    try:
        home_et, away_et = check_extra_time(home_q, away_q, home_et, away_et)
    except InvalidArgument as exc:
        raise ValueError(str(exc)) from None
    return MatchRow(line, round_label, played_on, home, away, home_q, away_q, home_et, away_et)


def parse_matches_csv(text: str) -> list[MatchRow]:
    """Every row checked; raises ImportRefused with each bad line's number and reason."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    columns = _check_header(header)
    rows: list[MatchRow] = []
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            problems.append((line, f"expected {len(columns)} values, found {len(cells)}"))
            continue
        try:
            row = _parse_row(line, dict(zip(columns, cells, strict=True)))
        except ValueError as exc:
            problems.append((line, str(exc)))
            continue
        identity = (name_key(row.round), name_key(row.home), name_key(row.away))
        if identity in seen:
            problems.append(
                (
                    line,
                    f"round {row.round} {row.home} v {row.away} is already on line "
                    f"{seen[identity]}",
                )
            )
            continue
        seen[identity] = line
        rows.append(row)
    if problems:
        raise ImportRefused(problems)
    if not rows:
        raise ImportRefused([(1, "the file has a header but no matches")])
    return rows


def read_matches_file(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise InvalidArgument(
                f"{path.name} is {size / 1e6:.1f} MB; a matches CSV over "
                f"{MAX_IMPORT_BYTES // (1024 * 1024)} MB is not a season"
            )
        return decode_matches(path.read_bytes(), path.name)
    except FileNotFoundError:
        raise InvalidArgument(f"matches file not found: {path}") from None
    except IsADirectoryError:
        raise InvalidArgument(f"{path} is a folder; expected a CSV file") from None


def decode_matches(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            [(data[: exc.start].count(b"\n") + 1, f"{name} is not UTF-8 text")]
        ) from None


def import_matches(*, session: Session, competition: Competition, text: str) -> ImportReport:
    """Check the whole CSV, then add or update its matches in one transaction."""
    rows = parse_matches_csv(text)
    report = ImportReport(competition=competition.name, rows=len(rows))
    try:
        for row in rows:
            teams = []
            for name in (row.home, row.away):
                if find_team(session=session, name=name) is None:
                    report.teams_created.append(name)
                teams.append(get_or_create_team(session=session, name=name))
            match = find_match(
                session=session,
                competition=competition,
                round=row.round,
                home=teams[0],
                away=teams[1],
            )
            created = match is None
            if match is None:
                match = get_or_create_match(
                    session=session,
                    competition=competition,
                    round=row.round,
                    home=row.home,
                    away=row.away,
                    played_on=row.played_on,
                )
            dated = row.played_on is not None and match.played_on != row.played_on
            if dated:
                match.played_on = row.played_on
            scored = row.home_quarters is not None and set_score(
                match,
                row.home_quarters,
                row.away_quarters or [],
                row.home_et,
                row.away_et,
                ScoreSource.imported,
            )
            if created:
                report.created += 1
            elif scored or dated:
                report.updated += 1
            else:
                report.unchanged += 1
            session.add(match)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
