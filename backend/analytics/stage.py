"""run_analytics: stage 2 over a finished stage-1 folder (see docs/analytics-contract.md)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.analytics import events as ev
from backend.analytics import exports, heatmaps, passnet, periods, positions, stats
from backend.analytics.court import DEFAULT_COURT, ZONES
from backend.analytics.inputs import AnalyticsInputs
from backend.analytics.possession import holder_per_frame, spells_of
from backend.analytics.tables import (
    TEAM_CODES,
    MatchData,
    Tracks,
    court_xy_of,
    read_match,
    rewrite_court_columns,
)

SCHEMA_VERSION = 2
OUT_ZONE = ZONES.index("out")


@dataclass
class AnalyticsResult:
    out_dir: Path
    files: list[Path]
    analytics: dict


def _subset(tracks: Tracks, mask: np.ndarray) -> Tracks:
    return Tracks(
        tracks.frame[mask],
        tracks.track_id[mask],
        tracks.team_code[mask],
        tracks.xyxy[mask],
        tracks.confidence[mask],
        tracks.court_xy[mask],
    )


def _teams(tracks: Tracks, overrides: dict[int, str]) -> dict[int, str]:
    """Each track's team: the label stage 1 gave most of its rows, unless the analyst said."""
    size = int(tracks.track_id.max(initial=0)) + 1
    votes = np.zeros((size, len(TEAM_CODES)), np.int64)
    np.add.at(votes, (tracks.track_id, tracks.team_code), 1)
    out = {int(t): TEAM_CODES[int(votes[t].argmax())] for t in np.flatnonzero(votes.sum(1))}
    out.update({t: team for t, team in overrides.items() if t in out})
    return out


def _write_atomic(folder: Path, name: str, data: str | bytes, written: list[Path]) -> None:
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    with os.fdopen(fd, mode) as handle:
        handle.write(data)
    os.replace(tmp, folder / name)
    written.append(folder / name)


def _via_tmp(folder: Path, name: str, write, written: list[Path]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, folder / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    written.append(folder / name)


def _positions(inputs, tracks, keep, team_of, area_index) -> dict[int, tuple[str, str]]:
    out = {t: (p, "analyst") for t, p in inputs.positions.items() if t in keep}
    if area_index is None:
        return out
    for team in ("A", "B"):
        mine = [t for t in keep if team_of.get(t) == team and t not in out]
        shares, rows = {}, {}
        for t in mine:
            sel = area_index[tracks.track_id == t]
            shares[t], rows[t] = positions.area_shares(sel), len(sel)
        taken = {p for t, (p, _) in out.items() if team_of.get(t) == team}
        for t, p in positions.suggest_positions(shares, rows, taken).items():
            out[t] = (p, "suggested")
    return out


def run_analytics(
    outputs_dir: Path, inputs: AnalyticsInputs, *, logger: logging.Logger | None = None
) -> AnalyticsResult:
    """Events, statistics and exports of one analysed video; see the contract for the files.

    Raises ValueError with the reason for inputs or stage-1 files it cannot use.
    """
    log = logger or logging.getLogger("backend.analytics")
    started = time.perf_counter()
    folder = Path(outputs_dir)
    s = inputs.settings
    court = DEFAULT_COURT
    match = read_match(folder)
    fps, n_frames = match.fps, match.n_frames
    warnings: list[str] = []
    matrix = np.array(inputs.homography, np.float64) if inputs.homography is not None else None
    tracks, match.tracks = match.tracks, None  # the subsets below replace it; free the full one
    if matrix is not None:
        tracks.court_xy = court_xy_of(matrix, tracks.feet_px)
    calibrated = bool(np.isfinite(tracks.court_xy).any())
    if not calibrated:
        warnings.append(
            "not calibrated: calibrate the court to get metres, zones, positions, "
            "feeds, shots and offside"
        )

    seen = np.bincount(tracks.track_id, minlength=int(tracks.track_id.max(initial=0)) + 1)
    keep = sorted(int(t) for t in np.flatnonzero(seen >= max(1, round(s.min_track_s * fps))))
    team_of = {t: team for t, team in _teams(tracks, inputs.team_overrides).items() if t in keep}
    for t in sorted(set(inputs.positions) - set(keep)):
        warnings.append(f"position given for track {t}, which is not a kept player track")
    tracks = _subset(tracks, np.isin(tracks.track_id, keep))
    players = _subset(
        tracks, np.isin(tracks.track_id, [t for t in keep if team_of[t] in ("A", "B")])
    )

    holder = holder_per_frame(players, match.ball_xy, n_frames, fps, s, matrix)
    spells = spells_of(holder, fps, s)
    plist = periods.build_periods(inputs.periods, n_frames, fps)
    period_of_frame = periods.period_of_frames(plist, n_frames)

    zone_index = court.zones_of(tracks.court_xy[:, 0], tracks.court_xy[:, 1])
    held_row = holder[tracks.frame] == tracks.track_id
    holder_zone = np.full(n_frames, OUT_ZONE, np.int8)
    holder_zone[tracks.frame[held_row]] = zone_index[held_row]
    holder_team = np.array([""] * n_frames, dtype="<U5")
    holder_team[tracks.frame[held_row]] = [team_of[int(t)] for t in tracks.track_id[held_row]]

    directions, direction_source = None, "unknown"
    if inputs.team_a_attacks is not None:
        directions = periods.directions_for(plist, inputs.team_a_attacks)
        direction_source = "analyst"
    elif calibrated:
        first = periods.infer_team_a_first(period_of_frame, holder_team, holder_zone)
        if first is not None:
            directions, direction_source = periods.directions_for(plist, first), "inferred"
        else:
            warnings.append(
                "attacking direction unknown: no play in a goal circle to infer it from, so "
                "no position suggestions or offsides; set the end Team A attacks in the first "
                "quarter (Results, Match set-up tab)"
            )

    area_index = None
    if directions is not None and calibrated:
        area_index = positions.areas_of_tracks(
            tracks, team_of, period_of_frame, directions, zone_index
        )
    pos = _positions(inputs, tracks, keep, team_of, area_index)

    post_px = None
    if matrix is not None or calibrated:
        h = matrix if matrix is not None else _fit_homography(tracks)
        if h is not None:
            inv = np.linalg.inv(h)
            post_px = {}
            for end in ("right", "left"):
                p = inv @ np.array([*court.goal_post_m(end), 1.0])
                post_px[end] = (float(p[0] / p[2]), float(p[1] / p[2]))
    ctx = ev.PlayContext(
        fps,
        s,
        team_of,
        {t: p for t, (p, _) in pos.items()},
        period_of_frame,
        directions,
        ev.Locator(tracks, n_frames, matrix),
        match.ball_xy,
        post_px,
        court,
    )
    automatic = ev.detect_events(ctx, spells)
    if area_index is not None:
        tolerance = round(s.offside_tolerance_s * fps)
        for t, (p, _) in sorted(pos.items()):
            rows = tracks.track_id == t
            for o in positions.offside_spells(
                t, p, tracks.frame[rows], area_index[rows], tracks.court_xy[rows], tolerance
            ):
                if period_of_frame[o.start_frame] == 0:
                    continue
                automatic.append(
                    ev.make_event(
                        ctx,
                        o.start_frame,
                        "offside",
                        team_of[t],
                        t,
                        court_xy=o.court_xy,
                        details={
                            "position": p,
                            "area": o.area,
                            "duration_s": round((o.end_frame - o.start_frame + 1) / fps, 3),
                        },
                    )
                )
    automatic = ev.sort_and_number(automatic)
    final, edit_warnings = ev.apply_corrections(automatic, inputs.corrections, fps, period_of_frame)
    warnings.extend(edit_warnings)

    move = stats.movement(
        tracks, set(keep), fps, period_of_frame, s.speed_smoothing_s, s.max_speed_ms
    )
    player_rows = stats.player_rows(
        tracks=tracks,
        keep=keep,
        fps=fps,
        team_of=team_of,
        team_names=inputs.team_names,
        positions=pos,
        spells=spells,
        events=final,
        move=move,
        calibrated=calibrated,
    )
    team_rows = stats.team_rows(
        periods=plist,
        fps=fps,
        team_of=team_of,
        team_names=inputs.team_names,
        spells=spells,
        events=final,
        move=move,
        period_of_frame=period_of_frame,
        calibrated=calibrated,
    )
    network = passnet.pass_network(final, player_rows, calibrated)
    possession = exports.possession_rows(spells, fps, team_of, period_of_frame)

    written: list[Path] = []
    if matrix is not None:
        feet = {}
        for sp in spells:
            for f in range(sp.start_frame, sp.end_frame + 1):
                xy = ctx.locator.court(f, sp.track_id)
                if xy is not None:
                    feet[f] = xy
        rewrite_court_columns(folder, matrix, feet, court)
    events_doc = {
        "schema_version": SCHEMA_VERSION,
        "fps": fps,
        "events": final,
        "automatic": automatic,
        "corrections": inputs.corrections,
    }
    _write_atomic(folder, "events.json", json.dumps(events_doc, indent=2), written)
    _write_atomic(folder, "events.csv", exports.csv_text(exports.EVENT_CSV_COLUMNS, final), written)
    _write_atomic(
        folder, "possession.csv", exports.csv_text(exports.POSSESSION_COLUMNS, possession), written
    )
    _write_atomic(
        folder, "players.csv", exports.csv_text(stats.PLAYER_COLUMNS, player_rows), written
    )
    _write_atomic(folder, "teams.csv", exports.csv_text(stats.TEAM_COLUMNS, team_rows), written)
    _write_atomic(folder, "pass_network.json", json.dumps(network, indent=2), written)
    for team in ("A", "B"):
        _via_tmp(
            folder,
            f"pass_network_{team}.png",
            lambda p, t=team: passnet.render_pass_network(
                p, network[t], t, f"{inputs.team_names[t]}: passes"
            ),
            written,
        )
    instances = exports.timeline_instances(final, possession, inputs.team_names, n_frames / fps)
    rows = exports.timeline_rows(instances, inputs.team_names)
    _write_atomic(folder, "timeline.xml", exports.timeline_xml(instances, rows), written)
    _via_tmp(folder, "tracks_mot.txt", lambda p: exports.write_mot(p, tracks, set(keep)), written)
    # Written in place: a heatmap is a picture of the data above, never read back by stage 2.
    written.extend(
        heatmaps.write_heatmaps(
            folder,
            calibrated=calibrated,
            frame_size=(match.width, match.height),
            team_of=team_of,
            team_names=inputs.team_names,
        )
    )

    analytics = _analytics_summary(
        match,
        inputs,
        plist,
        directions,
        direction_source,
        spells,
        team_of,
        period_of_frame,
        final,
        calibrated,
        warnings,
        written,
    )
    analytics["timings"] = {"total_s": round(time.perf_counter() - started, 3)}
    summary = dict(match.summary)
    summary["analytics"] = analytics
    summary["possession"] = analytics["possession"]
    summary["files"] = sorted(
        {*(summary.get("files") or []), *(p.name for p in written), "summary.json"}
    )
    _write_atomic(folder, "summary.json", json.dumps(summary, indent=2), written)
    log.info(
        "analytics: %d events (%d automatic), %d spells, %d players in %.2f s",
        len(final),
        len(automatic),
        len(spells),
        len(player_rows),
        analytics["timings"]["total_s"],
    )
    return AnalyticsResult(folder, written, analytics)


def _fit_homography(tracks: Tracks) -> np.ndarray | None:
    """Stage 1's own mapping, recovered from its pixel/court pairs (no homography given)."""
    import cv2

    ok = np.isfinite(tracks.court_xy).all(axis=1)
    if ok.sum() < 4:
        return None
    src = tracks.feet_px[ok][:: max(1, int(ok.sum()) // 2000)].astype(np.float64)
    dst = tracks.court_xy[ok][:: max(1, int(ok.sum()) // 2000)].astype(np.float64)
    matrix, _ = cv2.findHomography(src, dst, 0)
    return matrix


def _analytics_summary(
    match: MatchData,
    inputs,
    plist,
    directions,
    direction_source,
    spells,
    team_of,
    period_of_frame,
    final,
    calibrated,
    warnings,
    written,
) -> dict:
    frames = stats.team_possession_frames(spells, team_of, period_of_frame)
    held = {t: sum(n for (team, _), n in frames.items() if team == t) for t in ("A", "B")}
    total = held["A"] + held["B"]
    share = {t: (round(held[t] / total, 4) if total else None) for t in ("A", "B")}
    shots = [e for e in final if e["type"] == "shot"]
    score = {}
    for team in ("A", "B"):
        per = [
            sum(
                1
                for e in shots
                if e["team"] == team and e["outcome"] == "goal" and e["period"] == p.number
            )
            for p in plist
        ]
        score[team] = {"periods": per, "total": sum(per)}
    return {
        "schema_version": SCHEMA_VERSION,
        "calibrated": calibrated,
        "periods": [p.to_dict(match.fps) for p in plist],
        "directions": {str(k): v for k, v in directions.items()} if directions else {},
        "direction_source": direction_source,
        "possession": share,
        "score": score,
        "score_confirmed": bool(shots)
        and all((e["details"] or {}).get("confirmed") for e in shots),
        "counts": dict(sorted(Counter(e["type"] for e in final).items())),
        "settings": inputs.settings.to_dict(),
        "inputs": {k: v for k, v in inputs.to_dict().items() if k != "settings"},
        "warnings": warnings,
        "files": sorted({p.name for p in written} | {"summary.json"}),
    }


__all__ = ["AnalyticsResult", "run_analytics"]
