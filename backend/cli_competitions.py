"""`competition ...` and `standings` commands (design.md section 4), registered from cli.py.

A command returns a dict: the JSON document (keys starting with `_` are left out), or, under
`_json`, a document that is not a dict (`standings --json` prints a bare list of rows).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO


def _competition_summary(session: Any, competition: Any) -> dict[str, Any]:
    from backend.services.competitions import competition_teams, list_matches

    matches = list_matches(session=session, competition=competition)
    return competition.to_dict() | {
        "teams": len(competition_teams(session=session, competition=competition)),
        "matches": len(matches),
        "played": sum(1 for m in matches if m.has_score),
    }


def cmd_competition(args: argparse.Namespace) -> dict[str, Any]:
    from backend.db import session_scope
    from backend.services import competitions as service
    from backend.services.match_import import import_matches, read_matches_file

    with session_scope() as session:
        if args.competition_command == "create":
            competition = service.create_competition(
                session=session,
                name=args.name,
                win_points=args.win_points,
                draw_points=args.draw_points,
                loss_points=args.loss_points,
                quarter_win_points=args.quarter_win_points,
            )
            return competition.to_dict()
        if args.competition_command == "list":
            return {
                "competitions": [
                    _competition_summary(session, c)
                    for c in service.list_competitions(session=session)
                ]
            }
        competition = service.get_competition(session=session, name=args.name)
        if args.competition_command == "import":
            text = read_matches_file(Path(args.matches))
            return import_matches(session=session, competition=competition, text=text).to_dict()
        if args.competition_command == "adjust":
            adjustment = service.add_adjustment(
                session=session,
                competition=competition,
                team=args.team,
                points=args.points,
                reason=args.reason,
            )
            team = service.find_team(session=session, name=args.team)
            assert team is not None and team.id is not None
            return _adjustment_dict(adjustment, {team.id: team.name}) | {
                "competition": competition.name
            }
        return _show(session, competition)


def _adjustment_dict(adjustment: Any, teams: dict[int, str]) -> dict[str, Any]:
    return {
        "id": adjustment.id,
        "team": teams[adjustment.team_id],
        "points": adjustment.points,
        "reason": adjustment.reason,
        "created_at": adjustment.created_at.isoformat(),
    }


def _show(session: Any, competition: Any) -> dict[str, Any]:
    from backend.services.standings import competition_standings

    table = competition_standings(session=session, competition=competition)
    teams = table.teams
    return _competition_summary(session, competition) | {
        "teams": sorted(teams.values(), key=str.casefold),
        "adjustments": [_adjustment_dict(a, teams) for a in table.adjustments],
        "match_list": [
            {
                "id": m.id,
                "round": m.round,
                "date": m.played_on.isoformat() if m.played_on else None,
                "home": teams[m.home_id],
                "away": teams[m.away_id],
                "home_quarters": m.home_quarters,
                "away_quarters": m.away_quarters,
                "home_et": m.home_et,
                "away_et": m.away_et,
                "home_total": m.home_total,
                "away_total": m.away_total,
                "score_source": m.score_source,
                "job_id": m.job_id,
            }
            for m in table.matches
        ],
    }


def cmd_standings(args: argparse.Namespace) -> dict[str, Any]:
    from backend.db import session_scope
    from backend.services.analysed_scores import refresh_analysed_scores
    from backend.services.competitions import get_competition
    from backend.services.standings import competition_standings

    with session_scope() as session:
        competition = get_competition(session=session, name=args.name)
        refresh_analysed_scores(session=session, competition=competition)
        table = competition_standings(session=session, competition=competition)
        rows = [row.to_dict() for row in table.ladder]
        return {
            "_json": rows,
            "_competition": competition.name,
            "_rule": competition.rule_text(),
            "_adjustments": [_adjustment_dict(a, table.teams) for a in table.adjustments],
        }


# --- readable output ----------------------------------------------------------------------
def render(command: str, args: argparse.Namespace, result: dict[str, Any], out: TextIO) -> None:
    from backend.cli import _print_table
    from backend.services.standings import LADDER_KEYS

    sub = getattr(args, "competition_command", None)
    if command == "standings":
        print(f"{result['_competition']}  ({result['_rule']})", file=out)
        rows = [
            row
            | {"goal_percentage": "-" if row["goal_percentage"] is None else row["goal_percentage"]}
            for row in result["_json"]
        ]
        _print_table(rows, LADDER_KEYS, out)
        for adjustment in result["_adjustments"]:
            print(
                f"adjustment: {adjustment['team']} {adjustment['points']:+d} "
                f"({adjustment['reason']})",
                file=out,
            )
    elif sub == "create":
        print(f"created {result['name']}: {result['rule']}", file=out)
    elif sub == "list":
        _print_table(result["competitions"], ["name", "rule", "teams", "matches", "played"], out)
    elif sub == "import":
        print(
            f"{result['rows']} row(s): {result['created']} new, {result['updated']} updated, "
            f"{result['unchanged']} unchanged match(es) in {result['competition']}",
            file=out,
        )
        if result["teams_created"]:
            print(f"new teams: {', '.join(result['teams_created'])}", file=out)
    elif sub == "adjust":
        print(
            f"{result['competition']}: {result['team']} {result['points']:+d} ({result['reason']})",
            file=out,
        )
    elif sub == "show":
        print(f"{result['name']}: {result['rule']}", file=out)
        print(f"teams: {', '.join(result['teams']) or '(none)'}", file=out)
        rows = [
            m
            | {
                "score": "-"
                if m["home_total"] is None
                else f"{m['home_total']}-{m['away_total']}"
                + (" (et)" if m["home_et"] is not None else ""),
                "source": m["score_source"] or "",
            }
            for m in result["match_list"]
        ]
        _print_table(rows, ["round", "date", "home", "away", "score", "source", "job_id"], out)
        for a in result["adjustments"]:
            print(f"adjustment: {a['team']} {a['points']:+d} ({a['reason']})", file=out)


# --- parser -------------------------------------------------------------------------------
NAME_HELP = "the competition's name"


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("competition", parents=[common], help="competitions, matches, adjustments")
    commands = p.add_subparsers(
        dest="competition_command", required=True, metavar="create|import|adjust|list|show"
    )
    c = commands.add_parser("create", parents=[common], help="a competition and its points rule")
    c.add_argument("name", help=NAME_HELP)
    c.add_argument("--win-points", type=int, default=2, help="points for a win (default 2)")
    c.add_argument("--draw-points", type=int, default=1, help="points for a draw (default 1)")
    c.add_argument("--loss-points", type=int, default=0, help="points for a loss (default 0)")
    c.add_argument(
        "--quarter-win-points",
        type=int,
        default=0,
        help="bonus points for each quarter won (default 0; extra time gives none)",
    )
    c = commands.add_parser("import", parents=[common], help="add or update matches from a CSV")
    c.add_argument("name", help=NAME_HELP)
    c.add_argument(
        "matches",
        metavar="MATCHES.csv",
        help="round,date,home,away,home_q1..home_q4,away_q1..away_q4[,home_et,away_et]",
    )
    c = commands.add_parser("adjust", parents=[common], help="add or deduct a team's points")
    c.add_argument("name", help=NAME_HELP)
    c.add_argument("--team", required=True, help="a team of the competition, named as its matches")
    c.add_argument("--points", type=int, required=True, help="negative to deduct")
    c.add_argument("--reason", required=True, help="the league's reason, shown with the ladder")
    commands.add_parser("list", parents=[common], help="every competition")
    commands.add_parser(
        "show", parents=[common], help="rule, teams, matches, adjustments"
    ).add_argument("name", help=NAME_HELP)
    p = sub.add_parser("standings", parents=[common], help="the ladder of a competition")
    p.add_argument("name", help=NAME_HELP)


COMMANDS = {"competition": cmd_competition, "standings": cmd_standings}
