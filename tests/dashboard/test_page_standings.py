"""The Standings page: ladder with rule and adjustments, results, form, progression, CSV
import with the same refusals as the CLI, and editing behind the admin password.

Each runs the real app under AppTest on competitions made through the services.
"""

from __future__ import annotations

import pytest

from backend.db import session_scope
from backend.services import competitions as service
from backend.services.match_import import import_matches
from tests.dashboard.apptest import open_page, texts
from tests.platform.test_standings import SEASON_ADJUSTMENT, SEASON_CSV, SEASON_LADDER, SEASON_RULE

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


def frame(app, key):
    [found] = [d for d in app.dataframe if d.proto.id and key in d.proto.id] or [None]
    return found


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
