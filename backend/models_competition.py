"""Tables of the season: competitions with their points rule, teams, matches, adjustments.

New tables only (no change to `job`), so `SQLModel.metadata.create_all` adds them to databases
made at any schema version. A match may link to the Job whose video it is; deleting the job
only clears the link.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models import utcnow

QUARTERS_PER_MATCH = 4
DEFAULT_WIN_POINTS = 2
DEFAULT_DRAW_POINTS = 1
DEFAULT_LOSS_POINTS = 0
DEFAULT_QUARTER_WIN_POINTS = 0


def name_key(name: str) -> str:
    """How names are compared: 'GIANTS', ' Giants ' and 'giants' are one team."""
    return " ".join(str(name).split()).casefold()


def clean_name(name: str) -> str:
    return " ".join(str(name).split())


class ScoreSource(StrEnum):
    entered = "entered"
    imported = "imported"
    analysed = "analysed"

    @property
    def beats_analysed(self) -> bool:
        """A score a person typed or a league published wins over one counted from video."""
        return self is not ScoreSource.analysed


class Competition(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    key: str = Field(unique=True, index=True)
    win_points: int = DEFAULT_WIN_POINTS
    draw_points: int = DEFAULT_DRAW_POINTS
    loss_points: int = DEFAULT_LOSS_POINTS
    # Bonus for each quarter a team wins outright; a drawn quarter and extra time give none.
    quarter_win_points: int = DEFAULT_QUARTER_WIN_POINTS
    created_at: datetime = Field(default_factory=utcnow)

    def rule_text(self) -> str:
        text = f"{self.win_points} a win, {self.draw_points} a draw, {self.loss_points} a loss"
        if self.quarter_win_points:
            text += f", {self.quarter_win_points} for each quarter won"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "win_points": self.win_points,
            "draw_points": self.draw_points,
            "loss_points": self.loss_points,
            "quarter_win_points": self.quarter_win_points,
            "rule": self.rule_text(),
            "created_at": self.created_at.isoformat(),
        }


class Team(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    # The spelling first seen; `key` is what matching uses.
    name: str
    key: str = Field(unique=True, index=True)


class Match(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("competition_id", "round", "home_id", "away_id"),)

    id: int | None = Field(default=None, primary_key=True)
    competition_id: int = Field(foreign_key="competition.id", index=True, ondelete="CASCADE")
    round: str
    played_on: date | None = None
    home_id: int = Field(foreign_key="team.id", index=True)
    away_id: int = Field(foreign_key="team.id", index=True)
    # The score the ladder uses: four quarter counts per side, extra time apart (result only).
    home_quarters: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    away_quarters: list[int] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    home_et: int | None = None
    away_et: int | None = None
    score_source: str | None = None
    # What the linked analysis counted, kept even while an entered/imported score wins.
    analysed_home_quarters: list[int] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    analysed_away_quarters: list[int] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    analysed_home_et: int | None = None
    analysed_away_et: int | None = None
    job_id: str | None = Field(default=None, foreign_key="job.id", index=True, ondelete="SET NULL")
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def has_score(self) -> bool:
        return self.home_quarters is not None and self.away_quarters is not None

    @property
    def home_total(self) -> int | None:
        return None if self.home_quarters is None else sum(self.home_quarters) + (self.home_et or 0)

    @property
    def away_total(self) -> int | None:
        return None if self.away_quarters is None else sum(self.away_quarters) + (self.away_et or 0)


class PointsAdjustment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    competition_id: int = Field(foreign_key="competition.id", index=True, ondelete="CASCADE")
    team_id: int = Field(foreign_key="team.id", index=True)
    # Negative for a deduction (e.g. a salary-cap breach), positive for points awarded.
    points: int
    reason: str
    created_at: datetime = Field(default_factory=utcnow)
