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
# A shirt this far (Lab units) from both team colours, and farther than OTHER_SPREAD_FACTOR
# times the usual spread of a team, belongs to an official.
OTHER_DISTANCE_MIN_LAB = 40.0
OTHER_SPREAD_FACTOR = 3.0
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

    @property
    def fitted(self) -> bool:
        return self.centers is not None

    def fit(self, features: np.ndarray) -> TeamClassifier:
        feats = np.asarray(features, dtype=np.float32)
        feats = feats[np.isfinite(feats).all(axis=1)]
        if len(feats) < 2:
            raise ValueError(
                f"Need at least 2 player crops to learn team colours, got {len(feats)}."
            )
        centers = self._kmeans(feats)
        # Refit without the outliers, so a few officials do not drag a team's colour.
        dist = np.linalg.norm(feats[:, None] - centers[None], axis=2).min(axis=1)
        spread = float(np.median(dist)) + 1.0
        inliers = feats[dist <= max(OTHER_DISTANCE_MIN_LAB, OTHER_SPREAD_FACTOR * spread)]
        if len(inliers) >= 2:
            centers = self._kmeans(inliers)
            dist = np.linalg.norm(inliers[:, None] - centers[None], axis=2)
            labels = dist.argmin(axis=1)
            spread = float(np.median(dist.min(axis=1))) + 1.0
        else:
            labels = np.linalg.norm(feats[:, None] - centers[None], axis=2).argmin(axis=1)
        self.other_distance = max(OTHER_DISTANCE_MIN_LAB, OTHER_SPREAD_FACTOR * spread)
        # Team A is the colour seen more often; ties go to the lighter shirt.
        counts = np.bincount(labels, minlength=2)
        order = sorted(range(2), key=lambda k: (-counts[k], -centers[k][0]))
        self.centers = centers[order]
        return self

    @staticmethod
    def _kmeans(feats: np.ndarray) -> np.ndarray:
        if len(np.unique(feats, axis=0)) < 2:
            return np.stack([feats[0], feats[0] + OTHER_DISTANCE_MIN_LAB * 4])
        cv2.setRNGSeed(0)
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.1)
        _, _, centers = cv2.kmeans(feats, 2, None, criteria, 4, cv2.KMEANS_PP_CENTERS)
        return centers

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
            OTHER: (40, 40, 40),
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
