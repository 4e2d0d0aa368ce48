"""Analysed games count too: a linked, confirmed analysis supplies its match's quarter scores.

Stage 2 writes the counted score to the job's `outputs/summary.json` as
`analytics.score = {"A": {"periods": [q1, q2, q3, q4, (extra time...)], "total": n}, "B": ...}`
and `analytics.score_confirmed` once the analyst confirmed every shot (docs/analytics-contract.md).
Team A/B are matched to the match's home and away teams by the job's `team_names`, so a
swap of the names on the Results page is followed. The counted score is always kept on the
match (`analysed_*`); it becomes the match's score only while no entered or imported score
exists. Periods after the fourth are extra time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

from backend.models import Job, JobStatus, utcnow
from backend.models_competition import (
    QUARTERS_PER_MATCH,
    Competition,
    Match,
    ScoreSource,
    Team,
    name_key,
)
from backend.services.competitions import (
    check_extra_time,
    check_goals,
    match_for_job,
    set_score,
)
from backend.services.errors import InvalidArgument
from backend.services.filestore import job_store, read_text

SUMMARY_NAME = "summary.json"


@dataclass(frozen=True)
class AnalysedScoreOutcome:
    match_id: int
    job_id: str | None
    # True when the match's score is now the counted one.
    used: bool
    score_source: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "match_id": self.match_id,
            "job_id": self.job_id,
            "used": self.used,
            "score_source": self.score_source,
            "reason": self.reason,
        }


class _NotUsable(Exception):
    """Why the linked job gives no score yet; shown to the analyst as-is."""


def _read_summary(job_id: str) -> dict[str, Any]:
    try:
        summary = json.loads(read_text(job_store(), job_id, f"outputs/{SUMMARY_NAME}"))
    except FileNotFoundError:
        raise _NotUsable(f"job {job_id} has no {SUMMARY_NAME}") from None
    except (OSError, ValueError) as exc:
        raise _NotUsable(f"job {job_id}: {SUMMARY_NAME} cannot be read ({exc})") from None
    if not isinstance(summary, dict):
        raise _NotUsable(f"job {job_id}: {SUMMARY_NAME} is not a JSON object")
    return summary


def _side_periods(score: dict[str, Any], label: str, job_id: str) -> list[int]:
    side = score.get(label)
    periods = side.get("periods") if isinstance(side, dict) else None
    if not isinstance(periods, list):
        raise _NotUsable(f"job {job_id}: the analysed score has no periods for team {label}")
    if len(periods) < QUARTERS_PER_MATCH:
        raise _NotUsable(
            f"job {job_id} counted {len(periods)} period(s) for team {label}; a match result "
            f"needs all {QUARTERS_PER_MATCH} quarters"
        )
    try:
        goals = [
            check_goals(value, f"team {label} period {i}") for i, value in enumerate(periods, 1)
        ]
    except InvalidArgument as exc:
        raise _NotUsable(f"job {job_id}: {exc}") from None
    total = side.get("total")
    if total is not None and total != sum(goals):
        raise _NotUsable(
            f"job {job_id}: team {label}'s periods add up to {sum(goals)}, its total says {total}"
        )
    return goals


def _home_label(job: Job, home: Team, away: Team) -> str:
    names = job.team_names
    by_key = {name_key(names.get(label, "")): label for label in ("A", "B")}
    home_label, away_label = by_key.get(home.key), by_key.get(away.key)
    if home_label is None or away_label is None or home_label == away_label:
        shown = ", ".join(f"{label}: {names.get(label) or '(unnamed)'}" for label in ("A", "B"))
        raise _NotUsable(
            f"job {job.id}'s team names ({shown}) do not name {home.name} and {away.name}; "
            "set them on the Results page"
        )
    return home_label


def _counted_score(session: Session, match: Match, job: Job) -> tuple[list[int], ...]:
    if job.status != JobStatus.completed.value:
        raise _NotUsable(f"job {job.id} is {job.status}, not completed")
    analytics = _read_summary(job.id).get("analytics")
    if not isinstance(analytics, dict) or not isinstance(analytics.get("score"), dict):
        raise _NotUsable(f"job {job.id} has no analysed score yet (run the analytics stage)")
    if analytics.get("score_confirmed") is not True:
        raise _NotUsable(f"job {job.id}: the analyst has not confirmed every shot yet")
    home, away = session.get(Team, match.home_id), session.get(Team, match.away_id)
    assert home is not None and away is not None
    home_label = _home_label(job, home, away)
    away_label = "B" if home_label == "A" else "A"
    home_periods = _side_periods(analytics["score"], home_label, job.id)
    away_periods = _side_periods(analytics["score"], away_label, job.id)
    if len(home_periods) != len(away_periods):
        raise _NotUsable(f"job {job.id}: the two teams have different numbers of periods")
    return home_periods, away_periods


def apply_analysed_score(*, session: Session, match: Match) -> AnalysedScoreOutcome:
    """Copy the linked job's confirmed score onto the match where no entered/imported one is."""
    job = session.get(Job, match.job_id) if match.job_id else None
    assert match.id is not None
    try:
        if job is None:
            raise _NotUsable("no analysis is linked to this match")
        home_periods, away_periods = _counted_score(session, match, job)
        home_q, away_q = home_periods[:QUARTERS_PER_MATCH], away_periods[:QUARTERS_PER_MATCH]
        extra_home = home_periods[QUARTERS_PER_MATCH:]
        extra_away = away_periods[QUARTERS_PER_MATCH:]
        try:
            home_et, away_et = check_extra_time(
                home_q,
                away_q,
                sum(extra_home) if extra_home else None,
                sum(extra_away) if extra_away else None,
            )
        except InvalidArgument as exc:
            raise _NotUsable(f"job {job.id}: {exc}") from None
    except _NotUsable as exc:
        if match.score_source == ScoreSource.analysed.value:
            # A score counted earlier and no longer confirmed must not stay on the ladder.
            match.home_quarters = match.away_quarters = None
            match.home_et = match.away_et = None
            match.score_source = None
            match.updated_at = utcnow()
        match.analysed_home_quarters = match.analysed_away_quarters = None
        match.analysed_home_et = match.analysed_away_et = None
        session.add(match)
        session.commit()
        return AnalysedScoreOutcome(match.id, match.job_id, False, match.score_source, str(exc))
    match.analysed_home_quarters, match.analysed_away_quarters = home_q, away_q
    match.analysed_home_et, match.analysed_away_et = home_et, away_et
    kept = match.score_source is not None and ScoreSource(match.score_source).beats_analysed
    if kept:
        reason = f"the {match.score_source} score wins over the one counted by job {job.id}"
    else:
        set_score(match, home_q, away_q, home_et, away_et, ScoreSource.analysed)
        reason = f"score counted by job {job.id}"
    session.add(match)
    session.commit()
    return AnalysedScoreOutcome(match.id, job.id, not kept, match.score_source, reason)


def apply_analysed_score_for_job(*, session: Session, job_id: str) -> AnalysedScoreOutcome | None:
    """Call after the analyst confirms (or reanalyses) a job; None when no match links to it."""
    match = match_for_job(session=session, job_id=job_id)
    return None if match is None else apply_analysed_score(session=session, match=match)


def refresh_analysed_scores(
    *, session: Session, competition: Competition
) -> list[AnalysedScoreOutcome]:
    """Bring every linked match of the competition up to date with its analysis."""
    linked = session.exec(
        select(Match).where(Match.competition_id == competition.id, Match.job_id.is_not(None))  # type: ignore[union-attr]
    ).all()
    return [apply_analysed_score(session=session, match=match) for match in linked]
