"""ByteTrack: Kalman-predicted tracks matched to detections by IoU, high scores first.

Ported from ultralytics (AGPL-3.0) ByteTrack, numpy only so the analysis does not import torch
(importing anything from ultralytics runs its __init__, which imports torch: ~1.4 s per
analysis). Source: ultralytics 8.4.190 trackers/byte_tracker.py, basetrack.py,
utils/kalman_filter.py (KalmanFilterXYAH), utils/matching.py, utils/stracks.py,
utils/metrics.py bbox_ioa. Same algorithm and the same dtypes step by step, so it gives the
same numbers and IDs as ultralytics' BYTETracker(tracker_type="bytetrack") with
fuse_score=False (tests/pipeline/test_bytetrack.py checks this); GMC, OBB, ReID and score
fusion are left out because PlayerTracker never uses them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import lap
import numpy as np

TRACKED, LOST, REMOVED = 1, 2, 3  # TrackState; New (0) is any state before activate()
# Fixed inside ultralytics' BYTETracker, not settings of ours: IoU distance ceilings of the
# second association (low-score detections) and of confirming a one-frame track, the IoU
# distance under which a tracked and a lost track are the same object, and how many removed
# tracks are remembered.
SECOND_MATCH_THRESH = 0.5
UNCONFIRMED_MATCH_THRESH = 0.7
DUPLICATE_THRESH = 0.15
REMOVED_BUFFER = 1000


@dataclass(frozen=True)
class ByteTrackArgs:
    track_high_thresh: float  # detections at or above this score are matched first
    track_low_thresh: float  # ...and those above this (but below high) second
    new_track_thresh: float  # an unmatched detection starts a track at or above this score
    track_buffer: int  # frames a lost track is kept (ultralytics uses it as is, no frame rate)
    match_thresh: float  # IoU distance ceiling of the first association


class KalmanFilterXYAH:
    """Constant-velocity Kalman filter over (x, y, aspect, height) and their velocities."""

    def __init__(self) -> None:
        self._motion_mat = np.eye(8, 8)
        for i in range(4):
            self._motion_mat[i, 4 + i] = 1.0
        # Motion and observation noise scale with the box height.
        self._std_weight_position = 1.0 / 20
        self._std_weight_velocity = 1.0 / 160

    def initiate(self, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        measurement = np.asarray(measurement, dtype=np.float64)
        mean = np.r_[measurement, np.zeros_like(measurement)]
        h, wp, wv = measurement[3], self._std_weight_position, self._std_weight_velocity
        pos, vel = 2 * wp * h, 10 * wv * h
        std = [pos, pos, 1e-2, pos, vel, vel, 1e-5, vel]
        return mean, np.diag(np.square(std))

    def project(self, mean: np.ndarray, covariance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, wp = mean[3], self._std_weight_position
        innovation_cov = np.diag(np.square([wp * h, wp * h, 1e-1, wp * h]))
        return mean[:4].copy(), covariance[:4, :4] + innovation_cov

    def multi_predict(
        self, mean: np.ndarray, covariance: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        h, ones = mean[:, 3], np.ones_like(mean[:, 3])
        wp, wv = self._std_weight_position, self._std_weight_velocity
        std = [wp * h, wp * h, 1e-2 * ones, wp * h, wv * h, wv * h, 1e-5 * ones, wv * h]
        sqr = np.square(np.asarray(std)).T
        motion_cov = np.zeros((sqr.shape[0], 8, 8))
        motion_cov[:, range(8), range(8)] = sqr
        mean = np.dot(mean, self._motion_mat.T)
        left = np.dot(self._motion_mat, covariance).transpose((1, 0, 2))
        return mean, np.dot(left, self._motion_mat.T) + motion_cov

    def update(
        self, mean: np.ndarray, covariance: np.ndarray, measurement: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        projected_mean, projected_cov = self.project(mean, covariance)
        kalman_gain = np.linalg.solve(projected_cov, covariance[:, :4].T).T
        new_mean = mean + np.dot(measurement - projected_mean, kalman_gain.T)
        new_cov = covariance - np.linalg.multi_dot((kalman_gain, projected_cov, kalman_gain.T))
        return new_mean, new_cov


SHARED_KALMAN = KalmanFilterXYAH()  # stateless: only multi_predict uses it


class STrack:
    """One tracklet: a detection until activate(), then a Kalman-filtered track."""

    def __init__(self, xywh: np.ndarray, score: Any, cls: Any, idx: Any) -> None:
        # float32 like ultralytics' xywh2ltwh -> np.asarray(..., float32): the IoUs depend on it.
        ltwh = np.copy(xywh)
        ltwh[0] = xywh[0] - xywh[2] / 2
        ltwh[1] = xywh[1] - xywh[3] / 2
        self._tlwh = np.asarray(ltwh, dtype=np.float32)
        self.kalman_filter: KalmanFilterXYAH | None = None
        self.mean: np.ndarray | None = None
        self.covariance: np.ndarray | None = None
        self.is_activated = False
        self.state = 0
        self.track_id = 0
        self.score, self.cls, self.idx = score, cls, idx
        self.tracklet_len = 0
        self.start_frame = 0
        self.frame_id = 0

    @staticmethod
    def multi_predict(stracks: list[STrack]) -> None:
        if not stracks:
            return
        multi_mean = np.asarray([st.mean for st in stracks])
        multi_cov = np.asarray([st.covariance for st in stracks])
        for i, st in enumerate(stracks):
            if st.state != TRACKED:
                multi_mean[i][7] = 0  # a lost track's height stops changing
        multi_mean, multi_cov = SHARED_KALMAN.multi_predict(multi_mean, multi_cov)
        for st, mean, cov in zip(stracks, multi_mean, multi_cov, strict=True):
            st.mean, st.covariance = mean, cov

    def activate(self, kalman_filter: KalmanFilterXYAH, frame_id: int, track_id: int) -> None:
        self.kalman_filter = kalman_filter
        self.track_id = track_id
        self.mean, self.covariance = kalman_filter.initiate(self.tlwh_to_xyah(self._tlwh))
        self.tracklet_len = 0
        self.state = TRACKED
        # Only tracks born in the first frame are confirmed at once; later ones need a second hit.
        if frame_id == 1:
            self.is_activated = True
        self.frame_id = frame_id
        self.start_frame = frame_id

    def re_activate(self, new_track: STrack, frame_id: int) -> None:
        self._correct(new_track)
        self.tracklet_len = 0
        self.frame_id = frame_id

    def update(self, new_track: STrack, frame_id: int) -> None:
        self.frame_id = frame_id
        self.tracklet_len += 1
        self._correct(new_track)

    def _correct(self, new_track: STrack) -> None:
        self.mean, self.covariance = self.kalman_filter.update(
            self.mean, self.covariance, self.tlwh_to_xyah(new_track.tlwh)
        )
        self.state = TRACKED
        self.is_activated = True
        self.score, self.cls, self.idx = new_track.score, new_track.cls, new_track.idx

    @property
    def tlwh(self) -> np.ndarray:
        if self.mean is None:
            return self._tlwh.copy()
        ret = self.mean[:4].copy()
        ret[2] *= ret[3]
        ret[:2] -= ret[2:] / 2
        return ret

    @property
    def xyxy(self) -> np.ndarray:
        ret = self.tlwh
        ret[2:] += ret[:2]
        return ret

    @staticmethod
    def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
        ret = np.asarray(tlwh).copy()
        ret[:2] += ret[2:] / 2
        ret[2] /= ret[3]
        return ret

    @property
    def result(self) -> list[float]:
        return [*self.xyxy.tolist(), self.track_id, self.score, self.cls, self.idx]


def iou_distance(atracks: list[STrack], btracks: list[STrack]) -> np.ndarray:
    """1 - IoU of the tracks' boxes (ultralytics' bbox_ioa with iou=True, in float32)."""
    ious = np.zeros((len(atracks), len(btracks)), dtype=np.float32)
    if atracks and btracks:
        a = np.ascontiguousarray([t.xyxy for t in atracks], dtype=np.float32)
        b = np.ascontiguousarray([t.xyxy for t in btracks], dtype=np.float32)
        iw = (np.minimum(a[:, None, 2], b[:, 2]) - np.maximum(a[:, None, 0], b[:, 0])).clip(0)
        ih = (np.minimum(a[:, None, 3], b[:, 3]) - np.maximum(a[:, None, 1], b[:, 1])).clip(0)
        inter = iw * ih
        area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
        ious = inter / (area_b + area_a[:, None] - inter + 1e-7)
    return 1 - ious


def linear_assignment(cost: np.ndarray, thresh: float) -> tuple[list, Any, Any]:
    """Minimum-cost matches with cost at most `thresh`, and the unmatched rows and columns."""
    if cost.size == 0:
        return [], tuple(range(cost.shape[0])), tuple(range(cost.shape[1]))
    _, x, y = lap.lapjv(cost, extend_cost=True, cost_limit=thresh)
    matches = [[ix, mx] for ix, mx in enumerate(x) if mx >= 0]
    return matches, np.where(x < 0)[0], np.where(y < 0)[0]


def joint_stracks(atracks: list[STrack], btracks: list[STrack]) -> list[STrack]:
    a_ids = {t.track_id for t in atracks}
    return atracks + [t for t in btracks if t.track_id not in a_ids]


def sub_stracks(atracks: list[STrack], btracks: list[STrack]) -> list[STrack]:
    b_ids = {t.track_id for t in btracks}
    return [t for t in atracks if t.track_id not in b_ids]


def remove_duplicate_stracks(
    atracks: list[STrack], btracks: list[STrack]
) -> tuple[list[STrack], list[STrack]]:
    """Of a tracked and a lost track on the same object, keep the longer-lived (ties: the lost)."""
    pairs = np.where(iou_distance(atracks, btracks) < DUPLICATE_THRESH)
    dupa, dupb = set(), set()
    for p, q in zip(*pairs, strict=True):
        timep = atracks[p].frame_id - atracks[p].start_frame
        timeq = btracks[q].frame_id - btracks[q].start_frame
        if timep > timeq:
            dupb.add(q)
        else:
            dupa.add(p)
    return (
        [t for i, t in enumerate(atracks) if i not in dupa],
        [t for i, t in enumerate(btracks) if i not in dupb],
    )


class BYTETracker:
    """update(detections) -> (N, 8) float32 rows x1, y1, x2, y2, track_id, score, cls, idx.

    `detections` needs .conf, .cls and .xywh arrays and boolean indexing (our Detections);
    idx is the row in it. Track IDs count from 1 per tracker (and again after reset()), so
    two analyses in one process give the same IDs.
    """

    def __init__(self, args: ByteTrackArgs) -> None:
        self.args = args
        self.max_frames_lost = args.track_buffer
        self.reset()

    def reset(self) -> None:
        self.tracked_stracks: list[STrack] = []
        self.lost_stracks: list[STrack] = []
        self.removed_stracks: list[STrack] = []
        self.frame_id = 0
        self.kalman_filter = KalmanFilterXYAH()
        self._ids = itertools.count(1)

    def _init_tracks(self, results: Any, mask: np.ndarray) -> list[STrack]:
        sub = results[mask]
        if len(sub) == 0:
            return []
        # float64 like ultralytics' parse_bboxes (its appended index column promotes xywh).
        boxes = sub.xywh.astype(np.float64)
        return [
            STrack(b, s, c, i)
            for b, s, c, i in zip(boxes, sub.conf, sub.cls, np.flatnonzero(mask), strict=True)
        ]

    def update(self, results: Any) -> np.ndarray:
        self.frame_id += 1
        activated, refind, lost, removed = [], [], [], []
        scores, wh = results.conf, results.xywh[:, 2:4]
        valid = (wh[:, 0] > 0) & (wh[:, 1] > 0)  # a zero height would give an inf Kalman mean
        high = valid & (scores >= self.args.track_high_thresh)
        low = valid & (scores > self.args.track_low_thresh) & (scores < self.args.track_high_thresh)
        detections = self._init_tracks(results, high)
        detections_second = self._init_tracks(results, low)

        unconfirmed = [t for t in self.tracked_stracks if not t.is_activated]
        tracked = [t for t in self.tracked_stracks if t.is_activated]
        pool = joint_stracks(tracked, self.lost_stracks)
        STrack.multi_predict(pool)

        # First association: confirmed and lost tracks with high-score detections.
        matches, u_track, u_detection = linear_assignment(
            iou_distance(pool, detections), self.args.match_thresh
        )
        for it, idet in matches:
            self._apply_match(pool[it], detections[idet], activated, refind)

        # Second: still-unmatched tracked tracks with low-score detections, IoU only.
        r_tracked = [pool[i] for i in u_track if pool[i].state == TRACKED]
        if r_tracked and detections_second:
            dists = iou_distance(r_tracked, detections_second)
            matches, u_track, _ = linear_assignment(dists, SECOND_MATCH_THRESH)
            for it, idet in matches:
                self._apply_match(r_tracked[it], detections_second[idet], activated, refind)
        else:
            u_track = range(len(r_tracked))
        for it in u_track:
            r_tracked[it].state = LOST
            lost.append(r_tracked[it])

        # Tracks born last frame are confirmed by a leftover high-score detection, else dropped.
        detections = [detections[i] for i in u_detection]
        u_detection = range(len(detections))
        if unconfirmed:
            dists = iou_distance(unconfirmed, detections)
            matches, u_unconfirmed, u_detection = linear_assignment(dists, UNCONFIRMED_MATCH_THRESH)
            for it, idet in matches:
                unconfirmed[it].update(detections[idet], self.frame_id)
                activated.append(unconfirmed[it])
            for it in u_unconfirmed:
                unconfirmed[it].state = REMOVED
                removed.append(unconfirmed[it])

        for inew in u_detection:
            track = detections[inew]
            if track.score >= self.args.new_track_thresh:
                track.activate(self.kalman_filter, self.frame_id, next(self._ids))
                activated.append(track)

        for track in self.lost_stracks:
            if self.frame_id - track.frame_id > self.max_frames_lost:
                track.state = REMOVED
                removed.append(track)

        self._merge_pools(activated, refind, lost, removed)
        return np.asarray(
            [t.result for t in self.tracked_stracks if t.is_activated], dtype=np.float32
        )

    def _apply_match(
        self, track: STrack, det: STrack, activated: list[STrack], refind: list[STrack]
    ) -> None:
        if track.state == TRACKED:
            track.update(det, self.frame_id)
            activated.append(track)
        else:
            track.re_activate(det, self.frame_id)
            refind.append(track)

    def _merge_pools(
        self,
        activated: list[STrack],
        refind: list[STrack],
        lost: list[STrack],
        removed: list[STrack],
    ) -> None:
        tracked = [t for t in self.tracked_stracks if t.state == TRACKED]
        tracked = joint_stracks(joint_stracks(tracked, activated), refind)
        lost_pool = sub_stracks(self.lost_stracks, tracked)
        lost_pool.extend(lost)
        lost_pool = sub_stracks(lost_pool, self.removed_stracks)
        self.tracked_stracks, self.lost_stracks = remove_duplicate_stracks(tracked, lost_pool)
        self.removed_stracks.extend(removed)
        if len(self.removed_stracks) > REMOVED_BUFFER:
            self.removed_stracks = self.removed_stracks[-REMOVED_BUFFER:]
