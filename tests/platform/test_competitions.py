"""Competitions, teams, matches, adjustments and the CSV import, through the real services."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.models_competition import Match, PointsAdjustment, Team
from backend.services import competitions as service
from backend.services.errors import InvalidArgument
from backend.services.match_import import ImportRefused, import_matches
from backend.services.standings import competition_standings

HEADER = "round,date,home,away,home_q1,home_q2,home_q3,home_q4,away_q1,away_q2,away_q3,away_q4"
ET_HEADER = HEADER + ",home_et,away_et"
TWO_MATCHES = f"""{HEADER}
1,2024-04-13,Giants,Swifts,15,14,16,13,12,15,14,15
1,2024-04-13,Vixens,Firebirds,12,12,12,12,10,10,10,10
"""

# A good row inside a bad file: it would change a stored score, and must not.
GOOD_ROW = "1,2024-04-13,Giants,Swifts,9,9,9,9,0,0,0,0"


@pytest.fixture
def league(session):
    return service.create_competition(session=session, name="Super Netball")


def stored(session, model) -> list:
    return list(session.exec(select(model)))


def test_create_keeps_the_rule_and_refuses_duplicates_in_any_case(session):
    competition = service.create_competition(
        session=session,
        name="  Super   Netball ",
        win_points=4,
        draw_points=2,
        quarter_win_points=1,
    )
    assert (competition.name, competition.rule_text()) == (
        "Super Netball",
        "4 a win, 2 a draw, 0 a loss, 1 for each quarter won",
    )
    with pytest.raises(InvalidArgument, match="already exists"):
        service.create_competition(session=session, name="SUPER NETBALL")
    assert service.get_competition(session=session, name="super netball").id == competition.id


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"win_points": -1, "draw_points": -1, "loss_points": -1}, "between 0 and 100"),
        ({"win_points": 1, "draw_points": 2}, "must not fall from loss to draw to win"),
        ({"quarter_win_points": 101}, "quarter-win points must be between 0 and 100"),
        ({"name": "   "}, "competition name is empty"),
    ],
)
def test_create_refuses_a_bad_rule(session, rule, message):
    with pytest.raises(InvalidArgument, match=message):
        service.create_competition(session=session, **({"name": "League"} | rule))


def test_import_twice_changes_nothing_and_a_changed_score_updates(session, league):
    first = import_matches(session=session, competition=league, text=TWO_MATCHES)
    assert (first.created, first.updated, first.unchanged) == (2, 0, 0)
    assert first.teams_created == ["Giants", "Swifts", "Vixens", "Firebirds"]
    before = [
        (m.id, m.home_quarters, m.away_quarters, m.updated_at) for m in stored(session, Match)
    ]
    again = import_matches(session=session, competition=league, text=TWO_MATCHES)
    assert (again.created, again.updated, again.unchanged, again.teams_created) == (0, 0, 2, [])
    assert [
        (m.id, m.home_quarters, m.away_quarters, m.updated_at) for m in stored(session, Match)
    ] == before
    # Same match in other spellings; Vixens' last quarter corrected from 12 to 15.
    corrected = (
        f"{HEADER}\n1,2024-04-13, GIANTS ,swifts,15,14,16,13,12,15,14,15\n"
        "1,2024-04-13,vixens,FireBirds,12,12,12,15,10,10,10,10\n"
    )
    report = import_matches(session=session, competition=league, text=corrected)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    assert len(stored(session, Match)) == 2 and len(stored(session, Team)) == 4
    vixens = next(m for m in stored(session, Match) if m.home_quarters[0] == 12)
    assert (vixens.home_quarters, vixens.score_source) == ([12, 12, 12, 15], "imported")


def test_home_and_away_are_different_matches_and_teams_keep_their_first_spelling(session, league):
    text = f"{HEADER}\n1,,Giants,Swifts,1,1,1,1,0,0,0,0\n2,,SWIFTS,giants,1,1,1,1,0,0,0,0\n"
    assert import_matches(session=session, competition=league, text=text).created == 2
    assert [t.name for t in stored(session, Team)] == ["Giants", "Swifts"]


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("", [(1, "the file is empty; expected a header line")]),
        (f"{HEADER}\n", [(1, "the file has a header but no matches")]),
        (
            "round,date,home,away,score\n1,,A,B,3",
            [
                (
                    1,
                    "unknown column layout: missing column(s) home_q1, home_q2, home_q3, "
                    "home_q4, away_q1, away_q2, away_q3, away_q4; unknown column(s) 'score'",
                )
            ],
        ),
        (f"{HEADER},home_et\n", [(1, "unknown column layout: give both home_et and away_et")]),
        (f"{HEADER},venue\n", [(1, "unknown column layout: unknown column(s) 'venue'")]),
        (f"{HEADER},round\n", [(1, "unknown column layout: repeated column(s) round")]),
        (f"{HEADER}\n1,,,Swifts,1,1,1,1,1,1,1,2", [(2, "home team is missing")]),
        (f"{HEADER}\n1,,Giants,  ,1,1,1,1,1,1,1,2", [(2, "away team is missing")]),
        (
            f"{HEADER}\n1,,Giants,Swifts,1,x,1,1,1,1,1,2",
            [(2, "home_q2 is not a whole number: 'x'")],
        ),
        (f"{HEADER}\n1,,Giants,Swifts,1,1,1,1,1,1,1,2.5", [(2, "away_q4 is not a whole number")]),
        (f"{HEADER}\n1,,Giants,Swifts,1,1,1,1,1,,1,2", [(2, "away_q2 is not a whole number: ''")]),
        (f"{HEADER}\n1,,Giants,Swifts,1,1,-3,1,1,1,1,2", [(2, "home_q3 cannot be negative: -3")]),
        (f"{HEADER}\n1,,Giants, giants ,1,1,1,1,1,1,1,2", [(2, "Giants cannot play itself")]),
        (
            f"{HEADER}\n1,13/04/2024,A,B,1,1,1,1,1,1,1,2",
            [(2, "date '13/04/2024' is not YYYY-MM-DD")],
        ),
        (f"{HEADER}\n,,A,B,1,1,1,1,1,1,1,2", [(2, "round is empty")]),
        (f"{HEADER}\n1,,A,B,1,1,1,1", [(2, "expected 12 values, found 8")]),
        (f"{ET_HEADER}\n1,,A,B,1,1,1,1,1,1,1,2,3,", [(2, "extra-time score of both teams")]),
        (
            f"{ET_HEADER}\n1,,A,B,1,1,1,1,1,1,1,2,3,1",
            [(2, "extra time is only played after a draw; the four quarters end 4-5")],
        ),
        (f"{ET_HEADER}\n1,,A,B,1,1,1,1,1,1,1,1,x,1", [(2, "home_et is not a whole number")]),
        (f"{ET_HEADER}\n1,,A,B,,,,,,,,,2,1", [(2, "extra time given without the quarter scores")]),
        (
            f"{HEADER}\n{GOOD_ROW}\n\n1,,giants, swifts,1,1,1,1,1,1,1,3",
            [(4, "round 1 giants v swifts is already on line 2")],
        ),
        (
            f"{HEADER}\n{GOOD_ROW}\n2,,C,C,1,1,1,1,1,1,1,2\n3,,D,E,1,1,1,1,-1,1,1,2",
            [(3, "C cannot play itself"), (4, "away_q1 cannot be negative: -1")],
        ),
    ],
)
def test_every_refused_csv_stores_nothing(session, league, text, problems):
    import_matches(session=session, competition=league, text=TWO_MATCHES)
    before = [(m.id, m.home_quarters, m.away_quarters) for m in stored(session, Match)]
    with pytest.raises(ImportRefused) as refused:
        import_matches(session=session, competition=league, text=text)
    got = refused.value.problems
    assert [line for line, _ in got] == [line for line, _ in problems]
    for (_, reason), (_, expected) in zip(got, problems, strict=True):
        assert expected in reason
    assert [(m.id, m.home_quarters, m.away_quarters) for m in stored(session, Match)] == before
    assert sorted(t.name for t in stored(session, Team)) == [
        "Firebirds",
        "Giants",
        "Swifts",
        "Vixens",
    ]


def test_fixture_rows_create_unplayed_matches_and_never_erase_a_score(session, league):
    import_matches(session=session, competition=league, text=TWO_MATCHES)
    fixtures = f"{HEADER}\n1,,Giants,Swifts,,,,,,,,\n2,2024-04-20,Giants,Vixens,,,,,,,,\n"
    report = import_matches(session=session, competition=league, text=fixtures)
    assert (report.created, report.unchanged) == (1, 1)
    matches = {m.round: m for m in stored(session, Match) if m.home_id == 1}
    assert matches["1"].home_quarters == [15, 14, 16, 13]
    assert (matches["2"].has_score, str(matches["2"].played_on)) == (False, "2024-04-20")
    table = competition_standings(session=session, competition=league)
    assert sum(row.played for row in table.ladder) == 4  # the fixture is not counted


def test_entered_score_with_extra_time(session, league):
    match = service.enter_score(
        session=session,
        competition=league,
        round="Final",
        home="Giants",
        away="Swifts",
        home_quarters=[10, 10, 10, 10],
        away_quarters=[11, 9, 10, 10],
        home_et=6,
        away_et=4,
    )
    assert (match.home_total, match.away_total, match.score_source) == (46, 44, "entered")
    with pytest.raises(InvalidArgument, match="only played after a draw"):
        service.enter_score(
            session=session,
            competition=league,
            round="Final",
            home="Giants",
            away="Swifts",
            home_quarters=[12, 10, 10, 10],
            away_quarters=[11, 9, 10, 10],
            home_et=6,
            away_et=4,
        )
    with pytest.raises(InvalidArgument, match="home needs 4 quarter scores, got 3"):
        service.enter_score(
            session=session,
            competition=league,
            round="1",
            home="Giants",
            away="Swifts",
            home_quarters=[1, 2, 3],
            away_quarters=[1, 2, 3, 4],
        )


def test_adjustments_need_a_playing_team_a_reason_and_points(session, league):
    import_matches(session=session, competition=league, text=TWO_MATCHES)
    adjustment = service.add_adjustment(
        session=session, competition=league, team=" GIANTS", points=-4, reason="salary cap breach"
    )
    with pytest.raises(
        InvalidArgument,
        match="'Lightning' plays no match in Super Netball; "
        "teams: Firebirds, Giants, Swifts, Vixens",
    ):
        service.add_adjustment(
            session=session, competition=league, team="Lightning", points=-2, reason="late"
        )
    with pytest.raises(InvalidArgument, match="other than 0"):
        service.add_adjustment(
            session=session, competition=league, team="Giants", points=0, reason="nothing"
        )
    with pytest.raises(InvalidArgument, match="adjustment reason is empty"):
        service.add_adjustment(
            session=session, competition=league, team="Giants", points=2, reason=" "
        )
    giants = next(
        r
        for r in competition_standings(session=session, competition=league).ladder
        if r.team == "Giants"
    )
    assert (giants.adjustment, giants.points) == (-4, -2)
    service.update_adjustment(
        session=session,
        competition=league,
        adjustment_id=adjustment.id,
        points=-8,
        reason="salary cap breach (appeal lost)",
    )
    [row] = stored(session, PointsAdjustment)
    assert (row.points, row.reason) == (-8, "salary cap breach (appeal lost)")
    service.delete_adjustment(session=session, competition=league, adjustment_id=adjustment.id)
    assert stored(session, PointsAdjustment) == []


def test_a_changed_rule_changes_the_ladder_at_once(session, league):
    import_matches(session=session, competition=league, text=TWO_MATCHES)
    service.update_competition(
        session=session, competition=league, win_points=4, draw_points=2, quarter_win_points=1
    )
    vixens = competition_standings(session=session, competition=league).ladder[0]
    assert (vixens.team, vixens.points) == ("Vixens", 8)
    other = service.create_competition(session=session, name="Other")
    with pytest.raises(InvalidArgument, match="already exists"):
        service.update_competition(session=session, competition=other, name="super netball")
