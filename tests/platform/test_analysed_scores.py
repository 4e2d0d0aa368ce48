"""Analysed games count too: a linked job's confirmed score fills its match, never over an
entered or imported one. Each job's summary.json is written here in the stage-2 shape."""

from __future__ import annotations

import json

import pytest

from backend.models import JobStatus
from backend.services import competitions as service
from backend.services.analysed_scores import (
    apply_analysed_score_for_job,
    refresh_analysed_scores,
)
from backend.services.errors import InvalidArgument
from backend.services.files import job_outputs_dir
from backend.services.jobs import delete_job
from backend.services.match_import import import_matches
from backend.services.standings import competition_standings
from tests.platform.factories import make_job

HEADER = "round,date,home,away,home_q1,home_q2,home_q3,home_q4,away_q1,away_q2,away_q3,away_q4"


def analytics_summary(a_periods, b_periods, *, confirmed=True, total_a=None) -> dict:
    return {
        "video": {"fps": 25.0},
        "analytics": {
            "score": {
                "A": {
                    "periods": a_periods,
                    "total": sum(a_periods) if total_a is None else total_a,
                },
                "B": {"periods": b_periods, "total": sum(b_periods)},
            },
            "score_confirmed": confirmed,
        },
    }


def analysed_job(session, summary, *, names=None, status=JobStatus.completed):
    names = names if names is not None else {"A": "Swifts", "B": "giants"}
    return make_job(
        session,
        status=status,
        outputs={"summary.json": json.dumps(summary).encode()},
        settings={"team_names": names},
    )


@pytest.fixture
def league(session):
    return service.create_competition(session=session, name="Super Netball")


def link(session, job, round="1"):
    return service.link_job_to_match(
        session=session,
        job_id=job.id,
        competition="super netball",
        round=round,
        home="Giants",
        away="Swifts",
    )


def test_a_confirmed_analysis_supplies_the_quarters_by_team_name(session, league):
    # Team A is the away side here: the names, not the letters, decide who is home.
    job = analysed_job(session, analytics_summary([10, 11, 9, 12], [13, 9, 10, 11]))
    match = link(session, job)
    assert (match.has_score, match.job_id) == (False, job.id)
    outcome = apply_analysed_score_for_job(session=session, job_id=job.id)
    assert (outcome.used, outcome.score_source) == (True, "analysed")
    session.refresh(match)
    assert (match.home_quarters, match.away_quarters) == ([13, 9, 10, 11], [10, 11, 9, 12])
    assert (match.home_total, match.away_total, match.score_source) == (43, 42, "analysed")
    [giants] = [
        r
        for r in competition_standings(session=session, competition=league).ladder
        if r.team == "Giants"
    ]
    assert (giants.won, giants.points) == (1, 2)


def test_periods_after_the_fourth_are_extra_time(session, league):
    job = analysed_job(session, analytics_summary([10, 10, 10, 10, 2], [10, 10, 10, 10, 5]))
    match = link(session, job)
    apply_analysed_score_for_job(session=session, job_id=job.id)
    session.refresh(match)
    assert (match.home_quarters, match.home_et, match.away_et) == ([10, 10, 10, 10], 5, 2)


@pytest.mark.parametrize(
    ("summary", "names", "status", "reason"),
    [
        (
            analytics_summary([1, 2, 3, 4], [4, 3, 2, 1], confirmed=False),
            None,
            JobStatus.completed,
            "has not confirmed every shot yet",
        ),
        ({"video": {}}, None, JobStatus.completed, "has no analysed score yet"),
        (
            analytics_summary([1, 2], [4, 3]),
            None,
            JobStatus.completed,
            "counted 2 period(s) for team",
        ),
        (
            analytics_summary([1, 2, 3, 4], [4, 3, 2, 1], total_a=99),
            None,
            JobStatus.completed,
            "team A's periods add up to 10, its total says 99",
        ),
        (
            analytics_summary([1, -2, 3, 4], [4, 3, 2, 1]),
            None,
            JobStatus.completed,
            "team A period 2 cannot be negative",
        ),
        (
            analytics_summary([1, 2, 3, 4], [4, 3, 2, 1]),
            {"A": "Swifts", "B": "Vixens"},
            JobStatus.completed,
            "(A: Swifts, B: Vixens) do not name Giants and Swifts",
        ),
        (
            analytics_summary([1, 2, 3, 4], [4, 3, 2, 1]),
            None,
            JobStatus.failed,
            "is failed, not completed",
        ),
        (
            analytics_summary([1, 2, 3, 4, 3], [4, 3, 2, 0, 1]),
            None,
            JobStatus.completed,
            "extra time is only played after a draw",
        ),
    ],
)
def test_an_unusable_analysis_gives_no_score_and_says_why(
    session, league, summary, names, status, reason
):
    job = analysed_job(session, summary, names=names, status=status)
    match = link(session, job)
    outcome = apply_analysed_score_for_job(session=session, job_id=job.id)
    assert not outcome.used and reason in outcome.reason
    session.refresh(match)
    assert (match.has_score, match.score_source, match.analysed_home_quarters) == (
        False,
        None,
        None,
    )


def test_entered_and_imported_scores_win_but_the_count_is_kept(session, league):
    job = analysed_job(session, analytics_summary([10, 10, 10, 10], [12, 12, 12, 12]))
    match = link(session, job)
    import_matches(
        session=session, competition=league, text=f"{HEADER}\n1,,Giants,Swifts,9,9,9,9,8,8,8,8\n"
    )
    [outcome] = refresh_analysed_scores(session=session, competition=league)
    assert (outcome.used, outcome.score_source) == (False, "imported")
    assert "the imported score wins over the one counted by job" in outcome.reason
    session.refresh(match)
    assert (match.home_quarters, match.analysed_home_quarters) == ([9, 9, 9, 9], [12, 12, 12, 12])
    service.enter_score(
        session=session,
        competition=league,
        round="1",
        home="giants",
        away="swifts",
        home_quarters=[7, 7, 7, 7],
        away_quarters=[6, 6, 6, 6],
    )
    apply_analysed_score_for_job(session=session, job_id=job.id)
    session.refresh(match)
    assert (match.home_quarters, match.score_source) == ([7, 7, 7, 7], "entered")


def test_a_score_no_longer_confirmed_leaves_the_ladder(session, league):
    job = analysed_job(session, analytics_summary([10, 10, 10, 10], [12, 12, 12, 12]))
    match = link(session, job)
    apply_analysed_score_for_job(session=session, job_id=job.id)
    # The analyst reopened the shots; stage 2 rewrote summary.json unconfirmed.
    (job_outputs_dir(job.id) / "summary.json").write_text(
        json.dumps(analytics_summary([10, 10, 10, 10], [12, 12, 12, 13], confirmed=False))
    )
    apply_analysed_score_for_job(session=session, job_id=job.id)
    session.refresh(match)
    assert (match.has_score, match.score_source) == (False, None)
    assert all(
        r.played == 0 for r in competition_standings(session=session, competition=league).ladder
    )


def test_linking_needs_a_known_job_and_competition_and_moves_a_relinked_job(session, league):
    job = analysed_job(session, analytics_summary([1, 1, 1, 1], [2, 2, 2, 2]))
    with pytest.raises(InvalidArgument, match="job not found: 'nope'"):
        service.link_job_to_match(
            session=session,
            job_id="nope",
            competition="Super Netball",
            round="1",
            home="Giants",
            away="Swifts",
        )
    with pytest.raises(Exception, match="competition not found: 'Cup'"):
        service.link_job_to_match(
            session=session,
            job_id=job.id,
            competition="Cup",
            round="1",
            home="Giants",
            away="Swifts",
        )
    first = link(session, job, round="1")
    second = link(session, job, round="2")
    session.refresh(first)
    assert (first.job_id, second.job_id) == (None, job.id)


def test_deleting_the_job_keeps_the_match_without_the_link(session, league):
    job = analysed_job(session, analytics_summary([1, 1, 1, 1], [2, 2, 2, 2]))
    match = link(session, job)
    delete_job(session=session, job_id=job.id)
    session.expire_all()
    session.refresh(match)
    assert match.job_id is None and match.round == "1"
