"""The Standings page: ladder with rule and adjustments, results, form, progression, CSV
import with the same refusals as the CLI, and editing behind the admin password.

Each runs the real app under AppTest on competitions made through the services.
"""

from __future__ import annotations

import json

import pytest

from backend.config import get_settings
from backend.db import session_scope
from backend.models import JobStatus
from backend.services import competitions as service
from backend.services import files as file_service
from backend.services.match_import import import_matches
from tests.dashboard.apptest import open_page, texts
from tests.platform.factories import make_job
from tests.platform.test_analysed_scores import analytics_summary
from tests.platform.test_standings import (
    SEASON_ADJUSTMENT,
    SEASON_CSV,
    SEASON_LADDER,
    SEASON_RULE,
)

LEAGUE = "Made-up League"


@pytest.fixture
def season(data_dir):
    with session_scope() as session:
        competition = service.create_competition(session=session, name=LEAGUE, **SEASON_RULE)
        import_matches(session=session, competition=competition, text=SEASON_CSV)
        team, points, reason = SEASON_ADJUSTMENT
        service.add_adjustment(
            session=session, competition=competition, team=team, points=points, reason=reason
        )
    return LEAGUE


def test_the_ladder_shows_every_row_the_rule_and_the_adjustment(season):
    app = open_page("standings.py")
    assert not app.exception
    ladder = app.dataframe[0].value
    assert list(ladder["Team"]) == [row[1] for row in SEASON_LADDER]
    assert list(ladder["Pts"]) == [row[-1] for row in SEASON_LADDER]
    assert list(ladder.loc[ladder["Team"] == "Swifts", "Form"]) == ["L W W"]
    assert any(
        "4 a win, 2 a draw, 0 a loss, 1 for each quarter won" in t for t in texts(app, "caption")
    )
    assert any("**Swifts -4**: salary cap breach" in t for t in texts(app, "markdown"))
    grid = app.dataframe[1].value
    assert grid.loc["Vixens", "Firebirds"] == "43-42 (et) (R1)"
    assert grid.loc["Giants", "Giants"] == "■"
    matches = app.dataframe[2].value
    assert len(matches) == 12 and set(matches["Score from"]) == {"imported"}
    [chart] = app.get("plotly_chart")
    assert "Vixens" in chart.proto.spec


def test_import_refuses_a_bad_file_with_each_line_and_stores_nothing(season):
    app = open_page("standings.py")
    bad = (
        SEASON_CSV.splitlines()[0]
        + "\n9,,Giants,GIANTS,1,1,1,1,1,1,1,1,,\n9,,A,B,1,1,x,1,1,1,1,1,,\n"
    )
    app.file_uploader(key="standings_csv").set_value([("bad.csv", bad.encode(), "text/csv")]).run()
    app.button(key="standings_import").click().run()
    assert any("Nothing was imported from bad.csv: 2 problem(s)" in t for t in texts(app, "error"))
    problems = app.dataframe[-1].value
    assert list(problems["Line"]) == [2, 3]
    assert list(problems["Problem"]) == [
        "Giants cannot play itself",
        "home_q3 is not a whole number: 'x'",
    ]
    with session_scope() as session:
        competition = service.get_competition(session=session, name=LEAGUE)
        assert len(service.list_matches(session=session, competition=competition)) == 12


def test_import_adds_matches_and_says_what_changed(season):
    app = open_page("standings.py")
    extra = SEASON_CSV.splitlines()[0] + "\n4,2024-05-04,Giants,Fever,20,0,0,0,0,0,0,0,,\n"
    app.file_uploader(key="standings_csv").set_value([("r4.csv", extra.encode(), "text/csv")]).run()
    app.button(key="standings_import").click().run()
    assert not app.exception
    assert any(
        "Imported 1 row(s): 1 new, 0 updated, 0 unchanged." in t for t in texts(app, "success")
    )
    ladder = app.dataframe[0].value
    giants = ladder[ladder["Team"] == "Giants"].iloc[0]
    assert (giants["P"], giants["Pts"]) == (4, 6 + 4 + 1)


def test_a_new_competition_is_created_and_chosen(data_dir):
    app = open_page("standings.py")
    assert any("No competition yet" in t for t in texts(app, "info"))
    app.text_input(key="standings_new_name").input("Club League")
    app.number_input(key="standings_new_win_points").set_value(3)
    app.button[0].click().run()
    assert not app.exception
    assert "Created **Club League**: 3 a win, 1 a draw, 0 a loss." in texts(app, "success")
    assert app.selectbox(key="standings_pick").value == "Club League"
    app.text_input(key="standings_new_name").input("club league")
    app.button[-1].click().run()
    assert "a competition named 'club league' already exists" in texts(app, "error")[0]


def test_adjustments_are_added_changed_and_removed(season):
    app = open_page("standings.py")
    app.selectbox(key="standings_adj_team").set_value("Giants")
    app.number_input(key="standings_adj_points").set_value(-2)
    app.text_input(key="standings_adj_reason").input("forfeit fine")
    [add] = [b for b in app.button if b.label == "Add adjustment"]
    add.click().run()
    assert "Giants: -2 (forfeit fine)." in texts(app, "success")
    ladder = app.dataframe[0].value
    assert list(ladder["Team"])[-1] == "Giants"
    assert int(ladder.loc[ladder["Team"] == "Giants", "Pts"].iloc[0]) == 4
    [remove] = [b for b in app.button if b.label == "Remove adjustment"]
    remove.click().run()  # the first listed: Swifts -4
    assert "Adjustment removed." in texts(app, "success")
    ladder = app.dataframe[0].value
    assert list(ladder["Team"])[:2] == ["Swifts", "Vixens"]  # 16 points without the deduction


def test_editing_needs_the_admin_password_when_set(season, monkeypatch):
    monkeypatch.setenv("NETBALL_ADMIN_PASSWORD", "s3cret")
    get_settings.cache_clear()
    app = open_page("standings.py")
    assert app.dataframe[0].value["Team"].iloc[0] == "Vixens"  # reading is open
    assert len(app.tabs) == 0 and not app.get("file_uploader")
    assert any("Editing competitions is protected" in t for t in texts(app, "markdown"))
    app.text_input(key="admin_password").input("s3cret")
    app.button[0].click().run()
    assert [tab.label for tab in app.tabs] == [
        "Import matches",
        "Enter a result",
        "Adjustments",
        "Points rule",
        "New competition",
    ]


def test_an_analysed_game_counts_and_the_match_says_which_score_it_uses(season):
    with session_scope() as session:
        job = make_job(
            session,
            status=JobStatus.completed,
            settings={"team_names": {"A": "Giants", "B": "Fever"}},
        )
        (file_service.job_outputs_dir(job.id)).mkdir(parents=True, exist_ok=True)
        (file_service.job_outputs_dir(job.id) / "summary.json").write_text(
            json.dumps(analytics_summary([12, 12, 12, 12], [10, 10, 10, 10]))
        )
        service.link_job_to_match(
            session=session,
            job_id=job.id,
            competition=LEAGUE,
            round="4",
            home="Fever",
            away="Giants",
        )
    app = open_page("standings.py")
    assert not app.exception
    matches = app.dataframe[2].value
    [row] = matches[matches["Round"] == "4"].to_dict("records")
    assert (row["Score"], row["Score from"], row["Analysis"]) == (
        "40-48",
        "analysed (counted from video)",
        job.id,
    )
    ladder = app.dataframe[0].value
    giants = ladder[ladder["Team"] == "Giants"].iloc[0]
    assert (giants["P"], giants["Pts"]) == (4, 6 + 4 + 4)


def test_an_entered_result_wins_and_shows_as_entered(season):
    app = open_page("standings.py")
    app.text_input(key="standings_result_round").input("4")
    app.selectbox(key="standings_result_home").set_value("Fever")
    app.selectbox(key="standings_result_away").set_value("Giants")
    for quarter in range(1, 5):
        app.number_input(key=f"standings_result_home_q{quarter}").set_value(11)
        app.number_input(key=f"standings_result_away_q{quarter}").set_value(10)
    [save] = [b for b in app.button if b.label == "Save result"]
    save.click().run()
    assert not app.exception
    assert "Saved round 4: Fever 44-40 Giants." in texts(app, "success")
    matches = app.dataframe[2].value
    [row] = matches[matches["Round"] == "4"].to_dict("records")
    assert (row["Home quarters"], row["Score from"]) == ("11 · 11 · 11 · 11", "entered")
