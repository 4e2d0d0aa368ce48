"""Competitions, their teams, matches and points adjustments: every change goes through here.

Names are matched by `name_key` (case and surrounding/repeated spaces ignored). A match is
identified by competition, round, home and away. Scores come from three sources: `entered`
(typed by a person), `imported` (a league's CSV, see match_import) and `analysed` (counted from
a linked, confirmed analysis); the first two always win over the third.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from backend.models import Job, utcnow
from backend.models_competition import (
    QUARTERS_PER_MATCH,
    Competition,
    Match,
    PointsAdjustment,
    ScoreSource,
    Team,
    clean_name,
    name_key,
)
from backend.services.errors import InvalidArgument, ServiceError

MAX_NAME_CHARS = 80
MAX_REASON_CHARS = 300
MAX_RULE_POINTS = 100
MAX_ROUND_CHARS = 40


class CompetitionNotFound(ServiceError):
    def __init__(self, name: str) -> None:
        super().__init__(f"competition not found: {name!r}")
        self.name = name


def _clean_label(value: str, what: str, limit: int = MAX_NAME_CHARS) -> str:
    cleaned = clean_name(value or "")
    if not cleaned:
        raise InvalidArgument(f"{what} is empty; give a name")
    if len(cleaned) > limit:
        raise InvalidArgument(f"{what} is longer than {limit} characters: {cleaned[:20]!r}...")
    return cleaned


def _check_rule(win: int, draw: int, loss: int, quarter_win: int) -> None:
    for label, value in (
        ("win", win),
        ("draw", draw),
        ("loss", loss),
        ("quarter-win", quarter_win),
    ):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"{label} points must be a whole number, got {value!r}")
        if not 0 <= value <= MAX_RULE_POINTS:
            raise InvalidArgument(
                f"{label} points must be between 0 and {MAX_RULE_POINTS}, got {value}"
            )
    if not win >= draw >= loss:
        raise InvalidArgument(
            f"points must not fall from loss to draw to win; got win {win}, draw {draw}, "
            f"loss {loss}"
        )


# --- competitions -------------------------------------------------------------------------
def create_competition(
    *,
    session: Session,
    name: str,
    win_points: int = 2,
    draw_points: int = 1,
    loss_points: int = 0,
    quarter_win_points: int = 0,
) -> Competition:
    name = _clean_label(name, "competition name")
    _check_rule(win_points, draw_points, loss_points, quarter_win_points)
    if find_competition(session=session, name=name) is not None:
        raise InvalidArgument(f"a competition named {name!r} already exists")
    competition = Competition(
        name=name,
        key=name_key(name),
        win_points=win_points,
        draw_points=draw_points,
        loss_points=loss_points,
        quarter_win_points=quarter_win_points,
    )
    session.add(competition)
    session.commit()
    session.refresh(competition)
    return competition


def find_competition(*, session: Session, name: str) -> Competition | None:
    return session.exec(select(Competition).where(Competition.key == name_key(name))).first()


def get_competition(*, session: Session, name: str) -> Competition:
    competition = find_competition(session=session, name=name)
    if competition is None:
        raise CompetitionNotFound(name)
    return competition


def list_competitions(*, session: Session) -> list[Competition]:
    return list(session.exec(select(Competition).order_by(col(Competition.key))))


def update_competition(
    *,
    session: Session,
    competition: Competition,
    name: str | None = None,
    win_points: int | None = None,
    draw_points: int | None = None,
    loss_points: int | None = None,
    quarter_win_points: int | None = None,
) -> Competition:
    """Rename or change the points rule; the ladder follows at once (it is never stored)."""
    win = competition.win_points if win_points is None else win_points
    draw = competition.draw_points if draw_points is None else draw_points
    loss = competition.loss_points if loss_points is None else loss_points
    bonus = competition.quarter_win_points if quarter_win_points is None else quarter_win_points
    _check_rule(win, draw, loss, bonus)
    if name is not None:
        name = _clean_label(name, "competition name")
        other = find_competition(session=session, name=name)
        if other is not None and other.id != competition.id:
            raise InvalidArgument(f"a competition named {name!r} already exists")
        competition.name, competition.key = name, name_key(name)
    competition.win_points, competition.draw_points = win, draw
    competition.loss_points, competition.quarter_win_points = loss, bonus
    session.add(competition)
    session.commit()
    session.refresh(competition)
    return competition


# --- teams --------------------------------------------------------------------------------
def find_team(*, session: Session, name: str) -> Team | None:
    return session.exec(select(Team).where(Team.key == name_key(name))).first()


def get_or_create_team(*, session: Session, name: str) -> Team:
    """The stored team of that name (any case or spacing), created on first sight. No commit."""
    name = _clean_label(name, "team name")
    team = find_team(session=session, name=name)
    if team is None:
        team = Team(name=name, key=name_key(name))
        session.add(team)
        session.flush()
    return team


def competition_teams(*, session: Session, competition: Competition) -> list[Team]:
    """Teams that play in the competition (have a match in it), by name."""
    matches = session.exec(select(Match).where(Match.competition_id == competition.id)).all()
    ids = {m.home_id for m in matches} | {m.away_id for m in matches}
    if not ids:
        return []
    return list(session.exec(select(Team).where(col(Team.id).in_(ids)).order_by(col(Team.key))))


def list_teams(*, session: Session) -> list[Team]:
    return list(session.exec(select(Team).order_by(col(Team.key))))


def _competition_team(session: Session, competition: Competition, name: str) -> Team:
    team = find_team(session=session, name=name)
    playing = competition_teams(session=session, competition=competition)
    if team is None or team.id not in {t.id for t in playing}:
        known = ", ".join(t.name for t in playing) or "none yet; import or enter matches first"
        raise InvalidArgument(
            f"{clean_name(name)!r} plays no match in {competition.name}; teams: {known}"
        )
    return team


# --- adjustments --------------------------------------------------------------------------
def _check_adjustment(points: int, reason: str) -> str:
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidArgument(
            f"adjustment points must be a whole number other than 0, got {points!r}"
        )
    return _clean_label(reason, "adjustment reason", MAX_REASON_CHARS)


def add_adjustment(
    *, session: Session, competition: Competition, team: str, points: int, reason: str
) -> PointsAdjustment:
    """Points added to (or, negative, deducted from) a team's total, with the league's reason."""
    reason = _check_adjustment(points, reason)
    stored_team = _competition_team(session, competition, team)
    assert competition.id is not None and stored_team.id is not None
    adjustment = PointsAdjustment(
        competition_id=competition.id, team_id=stored_team.id, points=points, reason=reason
    )
    session.add(adjustment)
    session.commit()
    session.refresh(adjustment)
    return adjustment


def _get_adjustment(session: Session, competition: Competition, adjustment_id: int):
    adjustment = session.get(PointsAdjustment, adjustment_id)
    if adjustment is None or adjustment.competition_id != competition.id:
        raise InvalidArgument(f"adjustment {adjustment_id} not found in {competition.name}")
    return adjustment


def update_adjustment(
    *, session: Session, competition: Competition, adjustment_id: int, points: int, reason: str
) -> PointsAdjustment:
    adjustment = _get_adjustment(session, competition, adjustment_id)
    adjustment.reason = _check_adjustment(points, reason)
    adjustment.points = points
    session.add(adjustment)
    session.commit()
    session.refresh(adjustment)
    return adjustment


def delete_adjustment(*, session: Session, competition: Competition, adjustment_id: int) -> None:
    session.delete(_get_adjustment(session, competition, adjustment_id))
    session.commit()


# --- matches ------------------------------------------------------------------------------
def check_quarters(values: Sequence[Any], side: str) -> list[int]:
    if len(values) != QUARTERS_PER_MATCH:
        raise InvalidArgument(
            f"{side} needs {QUARTERS_PER_MATCH} quarter scores, got {len(values)}"
        )
    return [check_goals(value, f"{side} quarter {i}") for i, value in enumerate(values, 1)]


def check_goals(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{label} must be a whole number of goals, got {value!r}")
    if value < 0:
        raise InvalidArgument(f"{label} cannot be negative, got {value}")
    return value


def check_extra_time(
    home_quarters: Sequence[int], away_quarters: Sequence[int], home_et: Any, away_et: Any
) -> tuple[int | None, int | None]:
    """Both extra-time scores or neither, and only after a draw in normal time."""
    if home_et is None and away_et is None:
        return None, None
    if home_et is None or away_et is None:
        raise InvalidArgument("give the extra-time score of both teams, or of neither")
    home_et, away_et = (
        check_goals(home_et, "home extra time"),
        check_goals(away_et, "away extra time"),
    )
    if sum(home_quarters) != sum(away_quarters):
        raise InvalidArgument(
            f"extra time is only played after a draw; the four quarters end "
            f"{sum(home_quarters)}-{sum(away_quarters)}"
        )
    return home_et, away_et


def find_match(
    *, session: Session, competition: Competition, round: str, home: Team, away: Team
) -> Match | None:
    return session.exec(
        select(Match).where(
            Match.competition_id == competition.id,
            Match.round == round,
            Match.home_id == home.id,
            Match.away_id == away.id,
        )
    ).first()


def get_or_create_match(
    *,
    session: Session,
    competition: Competition,
    round: str,
    home: str,
    away: str,
    played_on: date | None = None,
) -> Match:
    """The match (round, home, away) of the competition, created without a score. No commit."""
    round = _clean_label(round, "round", MAX_ROUND_CHARS)
    home_team = get_or_create_team(session=session, name=home)
    away_team = get_or_create_team(session=session, name=away)
    if home_team.id == away_team.id:
        raise InvalidArgument(f"{home_team.name} cannot play itself")
    match = find_match(
        session=session, competition=competition, round=round, home=home_team, away=away_team
    )
    if match is None:
        assert competition.id is not None and home_team.id is not None
        assert away_team.id is not None
        match = Match(
            competition_id=competition.id,
            round=round,
            home_id=home_team.id,
            away_id=away_team.id,
            played_on=played_on,
        )
        session.add(match)
        session.flush()
    elif played_on is not None:
        match.played_on = played_on
    return match


def enter_score(
    *,
    session: Session,
    competition: Competition,
    round: str,
    home: str,
    away: str,
    home_quarters: Sequence[int],
    away_quarters: Sequence[int],
    home_et: int | None = None,
    away_et: int | None = None,
    played_on: date | None = None,
) -> Match:
    """A score typed by a person: creates the match if needed; wins over an analysed score."""
    home_q = check_quarters(home_quarters, "home")
    away_q = check_quarters(away_quarters, "away")
    home_et, away_et = check_extra_time(home_q, away_q, home_et, away_et)
    match = get_or_create_match(
        session=session,
        competition=competition,
        round=round,
        home=home,
        away=away,
        played_on=played_on,
    )
    set_score(match, home_q, away_q, home_et, away_et, ScoreSource.entered)
    session.add(match)
    session.commit()
    session.refresh(match)
    return match


def set_score(
    match: Match,
    home_quarters: list[int],
    away_quarters: list[int],
    home_et: int | None,
    away_et: int | None,
    source: ScoreSource,
) -> bool:
    """Put a checked score on the match; True when anything changed."""
    before = (match.home_quarters, match.away_quarters, match.home_et, match.away_et)
    after = (home_quarters, away_quarters, home_et, away_et)
    if before == after and match.score_source == source.value:
        return False
    match.home_quarters, match.away_quarters = list(home_quarters), list(away_quarters)
    match.home_et, match.away_et = home_et, away_et
    match.score_source = source.value
    match.updated_at = utcnow()
    return True


def list_matches(*, session: Session, competition: Competition) -> list[Match]:
    return list(
        session.exec(select(Match).where(Match.competition_id == competition.id).order_by(Match.id))
    )


def match_for_job(*, session: Session, job_id: str) -> Match | None:
    return session.exec(select(Match).where(Match.job_id == job_id)).first()


def link_job_to_match(
    *,
    session: Session,
    job_id: str,
    competition: str,
    round: str,
    home: str,
    away: str,
    played_on: date | None = None,
) -> Match:
    """Say which match a job's video is, so its confirmed score can count (see analysed_score).

    The competition must exist; the match is created (without a score) when new. A match
    holds one analysis: linking another job replaces the earlier link.
    """
    if session.get(Job, job_id) is None:
        raise InvalidArgument(f"job not found: {job_id!r}")
    stored = get_competition(session=session, name=competition)
    previous = match_for_job(session=session, job_id=job_id)
    match = get_or_create_match(
        session=session,
        competition=stored,
        round=round,
        home=home,
        away=away,
        played_on=played_on,
    )
    if previous is not None and previous.id != match.id:
        previous.job_id = None
        session.add(previous)
    match.job_id = job_id
    match.updated_at = utcnow()
    session.add(match)
    session.commit()
    session.refresh(match)
    return match


def link_job_from_settings(*, session: Session, job_id: str) -> Match | None:
    """Link a job to the match its settings name (competition, round, home, away), if any.

    The dashboard calls this after queuing; a job without those details stays unlinked.
    """
    job = session.get(Job, job_id)
    if job is None:
        raise InvalidArgument(f"job not found: {job_id!r}")
    details = job.settings.get("match") or {}
    if not all(details.get(key) for key in ("competition", "round", "home", "away")):
        return None
    try:
        played_on = date.fromisoformat(details["date"]) if details.get("date") else None
    except ValueError:
        raise InvalidArgument(f"match date {details['date']!r} is not YYYY-MM-DD") from None
    return link_job_to_match(
        session=session,
        job_id=job_id,
        competition=details["competition"],
        round=details["round"],
        home=details["home"],
        away=details["away"],
        played_on=played_on,
    )
