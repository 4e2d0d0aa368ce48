"""`competition ...` and `standings`: the JSON keys of the contract, exit codes, stderr."""

from __future__ import annotations

import json

from backend.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from tests.platform.test_cli import run_cli, run_json
from tests.platform.test_standings import SEASON_CSV, SEASON_LADDER

LADDER_KEYS_CONTRACT = [
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
]


def make_season(tmp_path):
    csv_path = tmp_path / "season.csv"
    csv_path.write_text(SEASON_CSV)
    created = run_json(
        "competition",
        "create",
        "Made-up League",
        "--win-points",
        "4",
        "--draw-points",
        "2",
        "--quarter-win-points",
        "1",
    )
    assert (created["name"], created["win_points"], created["quarter_win_points"]) == (
        "Made-up League",
        4,
        1,
    )
    imported = run_json("competition", "import", "made-up league", str(csv_path))
    assert (imported["rows"], imported["created"], len(imported["teams_created"])) == (12, 12, 8)
    adjusted = run_json(
        "competition",
        "adjust",
        "Made-up League",
        "--team",
        "SWIFTS",
        "--points",
        "-4",
        "--reason",
        "salary cap breach",
    )
    assert {k: adjusted[k] for k in ("competition", "team", "points", "reason")} == {
        "competition": "Made-up League",
        "team": "Swifts",
        "points": -4,
        "reason": "salary cap breach",
    }
    return csv_path


def test_standings_json_is_a_list_of_rows_with_exactly_the_contract_keys(data_dir, tmp_path):
    make_season(tmp_path)
    rows = run_json("standings", "Made-up League")
    assert isinstance(rows, list) and len(rows) == 8
    for row in rows:
        assert list(row) == LADDER_KEYS_CONTRACT
    assert [tuple(row.values()) for row in rows] == SEASON_LADDER


def test_importing_the_same_file_again_changes_nothing(data_dir, tmp_path):
    csv_path = make_season(tmp_path)
    again = run_json("competition", "import", "Made-up League", str(csv_path))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 12)
    shown = run_json("competition", "show", "Made-up League")
    assert (shown["matches"], shown["played"], len(shown["teams"])) == (12, 12, 8)
    assert shown["match_list"][1] == {
        "id": 2,
        "round": "1",
        "date": "2024-04-13",
        "home": "Vixens",
        "away": "Firebirds",
        "home_quarters": [10, 10, 10, 10],
        "away_quarters": [10, 10, 10, 10],
        "home_et": 3,
        "away_et": 2,
        "home_total": 43,
        "away_total": 42,
        "score_source": "imported",
        "job_id": None,
    }
    assert [a["reason"] for a in shown["adjustments"]] == ["salary cap breach"]
    [listed] = run_json("competition", "list")["competitions"]
    assert (listed["name"], listed["teams"], listed["matches"]) == ("Made-up League", 8, 12)


def test_readable_standings_show_the_rule_and_adjustments(data_dir, tmp_path):
    make_season(tmp_path)
    code, out, _ = run_cli("standings", "Made-up League")
    lines = out.splitlines()
    assert code == EXIT_OK
    assert lines[0] == "Made-up League  (4 a win, 2 a draw, 0 a loss, 1 for each quarter won)"
    assert lines[1].split()[:3] == ["POSITION", "TEAM", "PLAYED"]
    assert lines[2].split()[:2] == ["1", "Vixens"] and lines[-2].split()[:2] == ["8", "Giants"]
    assert lines[-1] == "adjustment: Swifts -4 (salary cap breach)"


def test_a_refused_file_lists_each_line_on_stderr_and_stores_nothing(data_dir, tmp_path):
    run_json("competition", "create", "League")
    bad = tmp_path / "bad.csv"
    bad.write_text(
        SEASON_CSV.splitlines()[0] + "\n1,,A,A,1,1,1,1,1,1,1,1,,\n2,,A,B,1,1,1,1,1,1,1,-1,,\n"
    )
    code, out, err = run_cli("competition", "import", "League", str(bad), "--json")
    assert (code, out) == (EXIT_FAILED, "")
    failure = json.loads(err)
    assert failure["type"] == "ImportRefused"
    assert failure["problems"] == [
        {"line": 2, "reason": "A cannot play itself"},
        {"line": 3, "reason": "away_q4 cannot be negative: -1"},
    ]
    code, _, err = run_cli("competition", "import", "League", str(bad))
    assert code == EXIT_FAILED
    assert err.splitlines() == [
        "error: nothing imported; 2 problem(s):",
        "  line 2: A cannot play itself",
        "  line 3: away_q4 cannot be negative: -1",
    ]
    assert run_json("competition", "show", "League")["matches"] == 0


def test_errors_and_usage(data_dir, tmp_path):
    code, _, err = run_cli("standings", "Nowhere")
    assert (code, err.strip()) == (EXIT_FAILED, "error: competition not found: 'Nowhere'")
    code, _, err = run_cli("competition", "import", "Nowhere", str(tmp_path / "x.csv"))
    assert code == EXIT_FAILED
    run_json("competition", "create", "League")
    code, _, err = run_cli("competition", "import", "League", str(tmp_path / "missing.csv"))
    assert (code, err.strip()) == (
        EXIT_FAILED,
        f"error: matches file not found: {tmp_path / 'missing.csv'}",
    )
    code, _, err = run_cli("competition", "create", "league")
    assert (code, err.strip()) == (
        EXIT_FAILED,
        "error: a competition named 'league' already exists",
    )
    code, _, err = run_cli(
        "competition", "adjust", "League", "--team", "X", "--points", "2", "--reason", "r"
    )
    assert code == EXIT_FAILED and "'X' plays no match in League" in err
    assert run_cli("competition", "adjust", "League", "--team", "X")[0] == EXIT_USAGE
    assert run_cli("competition", "create", "L2", "--win-points", "two")[0] == EXIT_USAGE
    assert run_cli("competition")[0] == EXIT_USAGE
