"""Two teams (plus officials) from shirt colour: fitted once per video, voted per track."""

from __future__ import annotations

from collections import Counter, defaultdict

import cv2
import numpy as np

TEAMS = ("A", "B")
OTHER = "other"
# Torso part of a person box, as fractions of its height and width: the shirt, not the
# face, shorts or floor.
TORSO_ROWS = (0.22, 0.45)
TORSO_COLS = (0.30, 0.70)
# A shirt farther from both team colours than OTHER_RELATIVE_DISTANCE times the distance
# between the two team colours (and at least OTHER_DISTANCE_MIN_LAB) belongs to an official.
OTHER_RELATIVE_DISTANCE = 0.45
OTHER_DISTANCE_MIN_LAB = 25.0
FIT_ROUNDS = 3
# Lightness varies with lighting more than hue does, so it weighs half.
LIGHTNESS_WEIGHT = 0.5


def torso_features(frame: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """(N, 3) weighted-Lab median colour of each box's torso; NaN rows for tiny boxes."""
    out = np.full((len(xyxy), 3), np.nan, dtype=np.float32)
    fh, fw = frame.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(xyxy, dtype=np.float64)):
        w, h = x2 - x1, y2 - y1
        r0, r1 = int(y1 + TORSO_ROWS[0] * h), int(y1 + TORSO_ROWS[1] * h)
        c0, c1 = int(x1 + TORSO_COLS[0] * w), int(x1 + TORSO_COLS[1] * w)
        r0, c0 = max(0, r0), max(0, c0)
        r1, c1 = min(fh, r1), min(fw, c1)
        if r1 - r0 < 2 or c1 - c0 < 2:
            continue
        lab = cv2.cvtColor(frame[r0:r1, c0:c1], cv2.COLOR_BGR2LAB).reshape(-1, 3)
        out[i] = np.median(lab, axis=0)
    out[:, 0] *= LIGHTNESS_WEIGHT
    return out


def lab_to_bgr(feature: np.ndarray) -> tuple[int, int, int]:
    lab = np.asarray(feature, dtype=np.float32).copy()
    lab[0] /= LIGHTNESS_WEIGHT
    pixel = np.clip(lab, 0, 255).astype(np.uint8).reshape(1, 1, 3)
    b, g, r = cv2.cvtColor(pixel, cv2.COLOR_LAB2BGR)[0, 0]
    return int(b), int(g), int(r)


def bgr_to_hex(bgr: tuple[int, int, int]) -> str:
    b, g, r = bgr
    return f"#{r:02x}{g:02x}{b:02x}"


class TeamClassifier:
    """k-means (k=2) on torso colours; far outliers are officials ("other")."""

    def __init__(self) -> None:
        self.centers: np.ndarray | None = None
        self.other_distance = OTHER_DISTANCE_MIN_LAB
        self.other_center: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.centers is not None

    @property
    def colour_distance(self) -> float | None:
        """How far apart the two team colours are (weighted Lab); None before fit."""
        if self.centers is None:
            return None
        return float(np.linalg.norm(self.centers[0] - self.centers[1]))

    def fit(self, features: np.ndarray, frame_ids: np.ndarray | None = None) -> TeamClassifier:
        """Learn the team colours from crops; `frame_ids` says which frame each came from
        (without it, all from different frames), so a kit is counted by how many people wear
        it at once, not by how often the detector boxed them whole."""
        feats = np.asarray(features, dtype=np.float32).reshape(-1, 3)
        frames = np.arange(len(feats)) if frame_ids is None else np.asarray(frame_ids)
        if len(frames) != len(feats):
            raise ValueError(f"Need one frame id per crop: {len(frames)} for {len(feats)}.")
        finite = np.isfinite(feats).all(axis=1)
        feats, frames = feats[finite], frames[finite]
        if len(feats) < 2:
            raise ValueError(
                f"Need at least 2 player crops to learn team colours, got {len(feats)}."
            )
        centers = self._team_centers(feats, frames)
        # Refit without the outliers, so officials do not drag a team's colour towards theirs
        # before being recognised as outliers themselves.
        for _ in range(FIT_ROUNDS):
            limit = self._limit(centers)
            nearest = np.linalg.norm(feats[:, None] - centers[None], axis=2).min(axis=1)
            keep = nearest <= limit
            if keep.sum() < 2 or keep.all():
                break
            centers, _ = self._kmeans(feats[keep], 2)
        labels = np.linalg.norm(feats[:, None] - centers[None], axis=2).argmin(axis=1)
        # Team A is the colour seen more often; ties go to the lighter shirt.
        counts = np.bincount(labels, minlength=2)
        order = sorted(range(2), key=lambda k: (-counts[k], -centers[k][0]))
        self.centers = centers[order]
        self.other_distance = self._limit(self.centers)
        outliers = feats[
            np.linalg.norm(feats[:, None] - self.centers[None], axis=2).min(axis=1)
            > self.other_distance
        ]
        self.other_center = np.median(outliers, axis=0) if len(outliers) else None
        return self

    def _team_centers(self, feats: np.ndarray, frames: np.ndarray) -> np.ndarray:
        """First guess of the two team colours.

        With officials in a third kit, k=2 pairs the three colours by how close they are,
        not by how many wear them, and can make a team the outlier. So look for three kits
        first: when every two of three clusters are as far apart as a team and an official
        must be (see _limit), the teams are the two kits the most people wear in one frame
        (then the most crops); otherwise there are two kits.
        """
        if len(np.unique(feats, axis=0)) >= 3:
            centers, labels = self._kmeans(feats, 3)
            gaps = np.linalg.norm(centers[:, None] - centers[None], axis=2)
            closest = gaps[np.triu_indices(3, 1)].min()
            if closest > max(OTHER_DISTANCE_MIN_LAB, OTHER_RELATIVE_DISTANCE * gaps.max()):
                worn = [
                    (max(Counter(frames[labels == k].tolist()).values()), int(np.sum(labels == k)))
                    for k in range(3)
                ]
                most_worn = sorted(range(3), key=lambda k: worn[k], reverse=True)[:2]
                return centers[most_worn]
        return self._kmeans(feats, 2)[0]

    @staticmethod
    def _limit(centers: np.ndarray) -> float:
        """How far from its team's colour a shirt may be, relative to how different the two
        teams are: lighting spreads both shirts' colours in proportion."""
        gap = float(np.linalg.norm(centers[0] - centers[1]))
        return max(OTHER_DISTANCE_MIN_LAB, OTHER_RELATIVE_DISTANCE * gap)

    @staticmethod
    def _kmeans(feats: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(np.unique(feats, axis=0)) < k:
            centers = np.stack([feats[0] + OTHER_DISTANCE_MIN_LAB * 4 * i for i in range(k)])
            return centers, np.zeros(len(feats), dtype=np.int64)
        cv2.setRNGSeed(0)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.1)
        _, labels, centers = cv2.kmeans(feats, k, None, criteria, 4, cv2.KMEANS_PP_CENTERS)
        return centers, labels.reshape(-1).astype(np.int64)

    def predict(self, features: np.ndarray) -> list[str]:
        if self.centers is None:
            raise RuntimeError("TeamClassifier.predict called before fit")
        feats = np.asarray(features, dtype=np.float32).reshape(-1, 3)
        labels: list[str] = []
        for feat in feats:
            if not np.isfinite(feat).all():
                labels.append("")
                continue
            dist = np.linalg.norm(self.centers - feat, axis=1)
            k = int(dist.argmin())
            labels.append(TEAMS[k] if dist[k] <= self.other_distance else OTHER)
        return labels

    def colors_bgr(self) -> dict[str, tuple[int, int, int]]:
        if self.centers is None:
            return {"A": (60, 60, 230), "B": (230, 120, 40), OTHER: (40, 40, 40)}
        return {
            "A": lab_to_bgr(self.centers[0]),
            "B": lab_to_bgr(self.centers[1]),
            OTHER: lab_to_bgr(self.other_center) if self.other_center is not None else (40, 40, 40),
        }


class TeamVotes:
    """Per-track majority vote, so a player does not flip team on one odd crop."""

    def __init__(self) -> None:
        self._votes: dict[int, Counter] = defaultdict(Counter)

    def add(self, track_id: int, label: str) -> None:
        if label:
            self._votes[track_id][label] += 1

    def team_of(self, track_id: int) -> str:
        votes = self._votes.get(track_id)
        if not votes:
            return ""
        # most_common keeps insertion order on ties; sort for a stable, documented tie-break.
        best = max(sorted(votes), key=lambda label: votes[label])
        return best

    def final(self) -> dict[int, str]:
        return {track_id: self.team_of(track_id) for track_id in self._votes}
