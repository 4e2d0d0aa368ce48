"""Stage 1's per-frame possession counter, kept unchanged while the engine still uses it.

The analytics stage decides the holder itself (`backend.analytics.possession`); this class goes
once the lead moves possession out of `backend/pipeline/engine.py`.
Fed frame by frame with the player holding the ball (or None while it flies or is lost);
teams are only known for sure at the end of a video, so events get their types then.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

# A catch counts once the ball stays with the new player this long, so a ball flying past
# a player's hands is not a possession.
POSSESSION_MIN_HOLD_S = 0.12
EVENT_COLUMNS = ("frame", "time_s", "type", "team", "track_id", "to_track_id", "court_x", "court_y")


@dataclass
class Event:
    frame: int
    time_s: float
    type: str  # possession_start | pass | possession_change
    team: str
    track_id: int | None
    to_track_id: int | None
    court_x: float | None
    court_y: float | None


@dataclass
class _Change:
    frame: int
    from_tid: int | None
    to_tid: int
    court: tuple[float, float] | None


class PossessionTracker:
    def __init__(self, fps: float, min_hold_s: float = POSSESSION_MIN_HOLD_S) -> None:
        self.fps = fps
        self.min_hold_frames = max(1, round(min_hold_s * fps))
        self.current: int | None = None
        self._candidate: int | None = None
        self._candidate_since = 0
        self._candidate_court: tuple[float, float] | None = None
        self._run = 0
        self.changes: list[_Change] = []
        self.held_frames: Counter = Counter()

    def update(self, frame: int, holder: int | None, court_xy: tuple[float, float] | None) -> None:
        if holder is not None:
            self.held_frames[holder] += 1
        if holder is None or holder == self.current:
            self._candidate, self._run = None, 0
            return
        if holder != self._candidate:
            self._candidate, self._candidate_since, self._run = holder, frame, 0
            self._candidate_court = court_xy
        self._run += 1
        if self._run >= self.min_hold_frames:
            self.changes.append(
                _Change(self._candidate_since, self.current, holder, self._candidate_court)
            )
            self.current, self._candidate, self._run = holder, None, 0

    def events(self, teams: dict[int, str]) -> list[Event]:
        out = []
        for ch in self.changes:
            to_team = teams.get(ch.to_tid, "")
            from_team = teams.get(ch.from_tid, "") if ch.from_tid is not None else ""
            if ch.from_tid is None:
                kind = "possession_start"
            elif from_team and from_team == to_team:
                kind = "pass"
            else:
                kind = "possession_change"
            cx, cy = ch.court if ch.court is not None else (None, None)
            out.append(
                Event(ch.frame, round(ch.frame / self.fps, 3), kind,
                      from_team if kind == "pass" else to_team,
                      ch.from_tid if ch.from_tid is not None else ch.to_tid,
                      ch.to_tid if ch.from_tid is not None else None, cx, cy)
            )  # fmt: skip
        return out

    def team_frames(self, teams: dict[int, str]) -> dict[str, int]:
        totals: Counter = Counter()
        for tid, n in self.held_frames.items():
            team = teams.get(tid, "")
            if team in ("A", "B"):
                totals[team] += n
        return dict(totals)

    @staticmethod
    def write(out_dir: Path, events: list[Event], fps: float) -> None:
        with (out_dir / "events.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(EVENT_COLUMNS)
            for e in events:
                writer.writerow([
                    e.frame, f"{e.time_s:.3f}", e.type, e.team,
                    "" if e.track_id is None else e.track_id,
                    "" if e.to_track_id is None else e.to_track_id,
                    "" if e.court_x is None else f"{e.court_x:.2f}",
                    "" if e.court_y is None else f"{e.court_y:.2f}",
                ])  # fmt: skip
        (out_dir / "events.json").write_text(
            json.dumps({"fps": fps, "events": [asdict(e) for e in events]}, indent=2)
        )
