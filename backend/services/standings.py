"""The ladder: each competition's points rule applied to its played matches.

Order: points, then goal percentage (goals for / goals against x 100), then goal difference,
then goals for; teams still level are listed by name so the order never depends on the
database. Extra time counts for the result and the goals, never for quarter bonuses.
The computation is pure (`compute_ladder` over `PlayedMatch` rows); `competition_standings`
reads them from the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select

from backend.models_competition import Competition, Match, PointsAdjustment, Team

FORM_MATCHES = 5
GOAL_PERCENTAGE_DECIMALS = 2
# The keys of one ladder row, in order: the `standings --json` contract.
LADDER_KEYS = (
    "position",
    "team",
    "played",
    "won",
    "drawn",
    "lost",
    "goals_for",
    "goals_against",
    "goal_difference",
    "goal_percentage",
    "quarter_bonus",
    "adjustment",
    "points",
)


@dataclass(frozen=True)
class PointsRule:
    win: int = 2
    draw: int = 1
    loss: int = 0
    quarter_win: int = 0

    @classmethod
    def of(cls, competition: Competition) -> PointsRule:
        return cls(
            win=competition.win_points,
            draw=competition.draw_points,
            loss=competition.loss_points,
            quarter_win=competition.quarter_win_points,
        )


@dataclass(frozen=True)
class PlayedMatch:
    round: str
    home: str
    away: str
    home_quarters: Sequence[int]
    away_quarters: Sequence[int]
    home_et: int = 0
    away_et: int = 0
    played_on: date | None = None
    score_source: str | None = None

    @property
    def home_total(self) -> int:
        return sum(self.home_quarters) + self.home_et

    @property
    def away_total(self) -> int:
        return sum(self.away_quarters) + self.away_et

    def quarters_won(self) -> tuple[int, int]:
        home = sum(h > a for h, a in zip(self.home_quarters, self.away_quarters, strict=True))
        away = sum(a > h for h, a in zip(self.home_quarters, self.away_quarters, strict=True))
        return home, away

    def outcome_for(self, team: str) -> str:
        """'W', 'D' or 'L' from `team`'s side."""
        mine, theirs = (
            (self.home_total, self.away_total)
            if team == self.home
            else (self.away_total, self.home_total)
        )
        return "W" if mine > theirs else "L" if mine < theirs else "D"


@dataclass
class LadderRow:
    team: str
    position: int = 0
    played: int = 0
    won: int = 0
    drawn: int = 0
    lost: int = 0
    goals_for: int = 0
    goals_against: int = 0
    quarter_bonus: int = 0
    adjustment: int = 0
    match_points: int = 0

    @property
    def goal_difference(self) -> int:
        return self.goals_for - self.goals_against

    @property
    def goal_percentage(self) -> float | None:
        """None while no goal has been conceded (the ratio has no value yet)."""
        if self.goals_against == 0:
            return None
        return round(self.goals_for / self.goals_against * 100, GOAL_PERCENTAGE_DECIMALS)

    @property
    def points(self) -> int:
        return self.match_points + self.quarter_bonus + self.adjustment

    def sort_key(self) -> tuple:
        # Exact fractions: 100/80 and 50/40 must tie so goal difference decides them. With
        # nothing conceded the percentage is unbounded (ranks first) or, goalless, undefined
        # (ranks after every real percentage).
        if self.goals_against:
            ratio = (1, Fraction(self.goals_for, self.goals_against))
        else:
            ratio = (2, Fraction(0)) if self.goals_for else (0, Fraction(0))
        return (
            -self.points,
            (-ratio[0], -ratio[1]),
            -self.goal_difference,
            -self.goals_for,
            self.team.casefold(),
        )

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self) | {
            "goal_difference": self.goal_difference,
            "goal_percentage": self.goal_percentage,
            "points": self.points,
        }
        return {key: values[key] for key in LADDER_KEYS}


def round_sort_key(label: str) -> tuple:
    """Round '2' before '10'; named rounds ('Semi final') after the numbered ones."""
    match = re.fullmatch(r"\D*?(\d+)", label.strip())
    return (0, int(match.group(1)), "") if match else (1, 0, label.casefold())


def match_order_key(match: PlayedMatch) -> tuple:
    return (round_sort_key(match.round), match.played_on or date.max, match.home.casefold())


def compute_ladder(
    matches: Iterable[PlayedMatch],
    rule: PointsRule,
    *,
    adjustments: Iterable[tuple[str, int]] = (),
    teams: Iterable[str] = (),
) -> list[LadderRow]:
    """One row per team (every team of `teams`, the matches and the adjustments), ranked."""
    rows: dict[str, LadderRow] = {}

    def row(team: str) -> LadderRow:
        return rows.setdefault(team, LadderRow(team=team))

    for team in teams:
        row(team)
    for match in matches:
        home_quarters, away_quarters = match.quarters_won()
        for team, goals_for, goals_against, quarters in (
            (match.home, match.home_total, match.away_total, home_quarters),
            (match.away, match.away_total, match.home_total, away_quarters),
        ):
            entry = row(team)
            entry.played += 1
            entry.goals_for += goals_for
            entry.goals_against += goals_against
            entry.quarter_bonus += quarters * rule.quarter_win
            outcome = match.outcome_for(team)
            if outcome == "W":
                entry.won += 1
                entry.match_points += rule.win
            elif outcome == "D":
                entry.drawn += 1
                entry.match_points += rule.draw
            else:
                entry.lost += 1
                entry.match_points += rule.loss
    for team, points in adjustments:
        row(team).adjustment += points
    ranked = sorted(rows.values(), key=LadderRow.sort_key)
    for position, entry in enumerate(ranked, start=1):
        entry.position = position
    return ranked


def team_form(matches: Iterable[PlayedMatch], team: str, *, last: int = FORM_MATCHES) -> list[str]:
    """The team's last `last` results, oldest first, as 'W', 'D', 'L'."""
    played = sorted((m for m in matches if team in (m.home, m.away)), key=match_order_key)
    return [m.outcome_for(team) for m in played[-last:]]


def points_progression(
    matches: Sequence[PlayedMatch], rule: PointsRule
) -> tuple[list[str], dict[str, list[int]]]:
    """Rounds in order and each team's running total of match and quarter-bonus points."""
    rounds = sorted({m.round for m in matches}, key=round_sort_key)
    teams = sorted({t for m in matches for t in (m.home, m.away)}, key=str.casefold)
    totals = dict.fromkeys(teams, 0)
    series: dict[str, list[int]] = {team: [] for team in teams}
    for label in rounds:
        in_round = [m for m in matches if m.round == label]
        for row in compute_ladder(in_round, rule):
            totals[row.team] += row.points
        for team in teams:
            series[team].append(totals[team])
    return rounds, series


# --- reading the store --------------------------------------------------------------------
@dataclass
class CompetitionStandings:
    competition: Competition
    rule: PointsRule
    ladder: list[LadderRow]
    played: list[PlayedMatch]
    matches: list[Match]
    teams: dict[int, str]
    adjustments: list[PointsAdjustment] = field(default_factory=list)

    def form(self, team: str) -> list[str]:
        return team_form(self.played, team)

    def progression(self) -> tuple[list[str], dict[str, list[int]]]:
        return points_progression(self.played, self.rule)


def played_match(match: Match, teams: dict[int, str]) -> PlayedMatch | None:
    if not match.has_score:
        return None
    return PlayedMatch(
        round=match.round,
        home=teams[match.home_id],
        away=teams[match.away_id],
        home_quarters=tuple(match.home_quarters or ()),
        away_quarters=tuple(match.away_quarters or ()),
        home_et=match.home_et or 0,
        away_et=match.away_et or 0,
        played_on=match.played_on,
        score_source=match.score_source,
    )


def competition_standings(*, session: Session, competition: Competition) -> CompetitionStandings:
    matches = list(
        session.exec(select(Match).where(Match.competition_id == competition.id).order_by(Match.id))
    )
    adjustments = list(
        session.exec(
            select(PointsAdjustment)
            .where(PointsAdjustment.competition_id == competition.id)
            .order_by(col(PointsAdjustment.created_at), col(PointsAdjustment.id))
        )
    )
    team_ids = {m.home_id for m in matches} | {m.away_id for m in matches}
    team_ids |= {a.team_id for a in adjustments}
    teams = {
        team.id: team.name
        for team in session.exec(select(Team).where(col(Team.id).in_(team_ids)))
        if team.id is not None
    }
    played = [p for m in matches if (p := played_match(m, teams)) is not None]
    rule = PointsRule.of(competition)
    ladder = compute_ladder(
        played,
        rule,
        adjustments=[(teams[a.team_id], a.points) for a in adjustments],
        teams=teams.values(),
    )
    return CompetitionStandings(
        competition=competition,
        rule=rule,
        ladder=ladder,
        played=played,
        matches=matches,
        teams=teams,
        adjustments=adjustments,
    )
