"""The analysis settings form shared by browser uploads and the server inbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import streamlit as st

from backend.analytics.court import DEFAULT_COURT
from backend.db import session_scope
from backend.services import competitions as competition_service
from backend.services.errors import InvalidArgument
from backend.services.jobs import check_calibration, default_analysis_settings

IMGSZ_CHOICES_PX = (320, 416, 480, 640, 800, 960)
# Leaving imgsz out of the job's settings lets the pipeline raise it for far-away players.
AUTOMATIC_IMGSZ: Final = 0
PRIORITIES = ("normal", "high", "low")
_DEFAULTS = default_analysis_settings()
# Streamlit forgets a widget's value when a run does not draw it: without this, a half-filled
# form was empty again after a look at the Jobs page.
KEEP_ACROSS_PAGES: Final = "session"
# The pipeline learns the two shirt colours from the video and calls A the one it sees on more
# players (the lighter one on a tie): nobody can know before the run which team that will be.
TEAM_NAME_HELP = (
    "Which shirt colour becomes Team A is only decided during the analysis, so the names may "
    "land on the wrong teams. The Results page shows each team's colour and swaps the names "
    "in one click."
)


# The court corners an analyst reads off a video frame, in the order and court position the
# pipeline's calibration expects: x from the left goal line, y from the far sideline.
COURT_CORNERS_M = tuple(
    zip(
        ("Far left corner", "Far right corner", "Near right corner", "Near left corner"),
        DEFAULT_COURT.corners_m(),
        strict=True,
    )
)


TEAM_A_SIDES = ("Home", "Away")


def _imgsz_label(choice: int) -> str:
    if choice == AUTOMATIC_IMGSZ:
        return f"Automatic ({_DEFAULTS['imgsz']}, larger for distant players)"
    return str(choice)


@dataclass(frozen=True)
class MatchChoices:
    details: dict[str, str]
    team_names: dict[str, str]
    problem: str | None = None


@dataclass(frozen=True)
class AnalysisChoices:
    priority: str
    settings: dict[str, Any]
    problem: str | None = None


def analysis_settings_ui(*, key_prefix: str) -> AnalysisChoices:
    """Stride, input size, priority, team names and optional match details."""
    left, middle, right = st.columns(3)
    frame_stride = left.number_input(
        "Detect on every Nth frame",
        min_value=1,
        max_value=10,
        value=_DEFAULTS["frame_stride"],
        help="Higher is faster; the frames in between get interpolated positions. "
        "1 follows fast movement most closely.",
        key=f"{key_prefix}_stride",
        persist_state=KEEP_ACROSS_PAGES,
    )
    imgsz = middle.selectbox(
        "Detector input size (px)",
        (AUTOMATIC_IMGSZ, *IMGSZ_CHOICES_PX),
        format_func=_imgsz_label,
        help="Larger finds small, distant players better but is slower. Automatic starts at "
        f"{_DEFAULTS['imgsz']} px and goes larger when the players look small (a wide shot "
        "from the stands); a fixed size is kept whatever the video shows.",
        key=f"{key_prefix}_imgsz",
        persist_state=KEEP_ACROSS_PAGES,
    )
    priority = right.selectbox(
        "Priority",
        PRIORITIES,
        help="High-priority jobs start before normal and low ones waiting in the queue.",
        key=f"{key_prefix}_priority",
        persist_state=KEEP_ACROSS_PAGES,
    )
    team_a, team_b = st.columns(2)
    name_a = team_a.text_input(
        "Team A name",
        placeholder="Team A",
        help=TEAM_NAME_HELP,
        key=f"{key_prefix}_team_a",
        persist_state=KEEP_ACROSS_PAGES,
    )
    name_b = team_b.text_input(
        "Team B name",
        placeholder="Team B",
        help=TEAM_NAME_HELP,
        key=f"{key_prefix}_team_b",
        persist_state=KEEP_ACROSS_PAGES,
    )
    settings: dict[str, Any] = {"frame_stride": int(frame_stride)}
    if imgsz != AUTOMATIC_IMGSZ:
        settings["imgsz"] = int(imgsz)
    team_names = {
        label: name.strip() for label, name in (("A", name_a), ("B", name_b)) if name.strip()
    }
    if team_names:
        settings["team_names"] = team_names
    match = match_details_ui(key_prefix=key_prefix)
    if match.details:
        settings["match"] = match.details
    if match.team_names:
        # The match's teams are the names, so an analysed score finds home and away.
        settings["team_names"] = match.team_names
    calibration, problem = calibration_ui(key_prefix=key_prefix)
    if calibration:
        settings["calibration"] = calibration
    return AnalysisChoices(
        priority=str(priority), settings=settings, problem=problem or match.problem
    )


def parse_pixel_point(text: str, label: str) -> list[float]:
    parts = [part.strip() for part in text.replace(";", ",").split(",")]
    try:
        x, y = (float(part) for part in parts)
    except ValueError:
        raise InvalidArgument(
            f"{label}: expected two pixel numbers like 120, 340, got {text!r}."
        ) from None
    if x < 0 or y < 0:
        raise InvalidArgument(f"{label}: pixel positions cannot be negative, got {text!r}.")
    return [x, y]


def build_calibration(texts: list[str]) -> dict | None:
    """Four "x, y" pixel positions of the court corners -> the pipeline's calibration, checked.

    All empty means no calibration; anything else must be complete and a plausible mapping.
    """
    if not any(text.strip() for text in texts):
        return None
    missing = [
        label for (label, _), text in zip(COURT_CORNERS_M, texts, strict=True) if not text.strip()
    ]
    if missing:
        raise InvalidArgument(f"Give all four corners or none; missing: {', '.join(missing)}.")
    image_points = [
        parse_pixel_point(text, label)
        for (label, _), text in zip(COURT_CORNERS_M, texts, strict=True)
    ]
    court_points = [list(point) for _, point in COURT_CORNERS_M]
    return check_calibration({"image_points": image_points, "court_points_m": court_points})


def calibration_ui(*, key_prefix: str) -> tuple[dict | None, str | None]:
    """Optional court corners so positions come out in metres; returns (calibration, problem)."""
    with st.expander("Court calibration (optional)"):
        st.caption(
            "Pause the video on a frame that shows the whole court and note the pixel position "
            "(x, y from the top-left of the frame) of each corner. With a calibration, heatmaps "
            "and tracks are in metres on the court; without, in video pixels."
        )
        columns = st.columns(len(COURT_CORNERS_M))
        texts = [
            column.text_input(
                label,
                placeholder="x, y",
                key=f"{key_prefix}_corner_{index}",
                persist_state=KEEP_ACROSS_PAGES,
            )
            for index, (column, (label, _)) in enumerate(zip(columns, COURT_CORNERS_M, strict=True))
        ]
        try:
            calibration = build_calibration(texts)
        except InvalidArgument as exc:
            st.error(str(exc), icon=":material/straighten:")
            return None, str(exc)
        if calibration:
            st.success("Calibration looks consistent.", icon=":material/straighten:")
        return calibration, None


def _stored_competitions() -> dict[str, list[str]]:
    """Competition name -> its teams (every stored team for a competition without matches)."""
    with session_scope() as session:
        every_team = [team.name for team in competition_service.list_teams(session=session)]
        return {
            competition.name: [
                team.name
                for team in competition_service.competition_teams(
                    session=session, competition=competition
                )
            ]
            or every_team
            for competition in competition_service.list_competitions(session=session)
        }


def match_details_ui(*, key_prefix: str) -> MatchChoices:
    """Optional: date, a stored competition, round, and its home/away teams.

    With both teams picked, Team A/B take their names (the analyst says which side is A), so
    the analysed score can be matched to home and away; empty fields are left out.
    """
    with st.expander("Match details (optional)"):
        competitions = _stored_competitions()
        if not competitions:
            st.caption("Create a competition on the Standings page to link the game to it.")
        top = st.columns([2, 1, 1])
        competition = top[0].selectbox(
            "Competition",
            list(competitions),
            index=None,
            placeholder="No competition",
            key=f"{key_prefix}_competition",
            persist_state=KEEP_ACROSS_PAGES,
        )
        round_label = top[1].text_input(
            "Round", key=f"{key_prefix}_round", persist_state=KEEP_ACROSS_PAGES
        )
        when: date | None = top[2].date_input(
            "Match date", value=None, key=f"{key_prefix}_date", persist_state=KEEP_ACROSS_PAGES
        )
        teams = competitions.get(competition or "", [])
        home_col, away_col, side_col = st.columns([2, 2, 1])
        home = home_col.selectbox(
            "Home team",
            teams,
            index=None,
            accept_new_options=True,
            key=f"{key_prefix}_home",
            persist_state=KEEP_ACROSS_PAGES,
        )
        away = away_col.selectbox(
            "Away team",
            teams,
            index=None,
            accept_new_options=True,
            key=f"{key_prefix}_away",
            persist_state=KEEP_ACROSS_PAGES,
        )
        team_a_side = side_col.radio(
            "Team A is",
            TEAM_A_SIDES,
            horizontal=True,
            help=TEAM_NAME_HELP,
            key=f"{key_prefix}_team_a_side",
            persist_state=KEEP_ACROSS_PAGES,
        )
        team_names: dict[str, str] = {}
        if home and away:
            first, second = (home, away) if team_a_side == TEAM_A_SIDES[0] else (away, home)
            team_names = {"A": first.strip(), "B": second.strip()}
            st.caption(f"Team A: **{team_names['A']}**, Team B: **{team_names['B']}**.")
    details = {
        "date": when.isoformat() if when else "",
        "competition": competition or "",
        "round": round_label.strip(),
        "home": (home or "").strip(),
        "away": (away or "").strip(),
    }
    problem = None
    if home and away and competition_service.name_key(home) == competition_service.name_key(away):
        problem = f"Home and away are both {home.strip()}; pick two different teams."
    elif competition and home and away and not details["round"]:
        problem = "Give the round of the match, so it can count in the standings."
    return MatchChoices(
        details={key: value for key, value in details.items() if value},
        team_names=team_names,
        problem=problem,
    )
