"""The detector's input size from how tall the players are in the video.

A wide shot from the back of the stands shows players 60-110 px tall in a 960 px frame; at the
default input of 480 px they are 30-55 px tall where YOLOv8n sees them, and it boxed about two
thirds of them on generated wide shots (nine tenths at 704, benchmarks/README.md). Raising the
input for every video would cost close-up footage time for nothing, so the size follows the
people measured while the team colours are learnt.
"""

from __future__ import annotations

import math

import numpy as np

# Input sizes are multiples of the detector's stride.
INPUT_STEP_PX = 32


def detector_input_size(
    person_heights_px: np.ndarray,
    frame_size: tuple[int, int],
    imgsz: int,
    player_height_min_px: float,
    imgsz_max: int,
) -> int:
    """The smallest input (a multiple of 32, at least `imgsz`) at which the median whole
    person is `player_height_min_px` tall, capped at the frame's long side (more would only
    upscale the same pixels) and `imgsz_max`; `imgsz` when off (0) or when nobody was seen."""
    heights = np.asarray(person_heights_px, dtype=np.float64)
    heights = heights[np.isfinite(heights) & (heights > 0)]
    if player_height_min_px <= 0 or not len(heights):
        return imgsz
    long_side = max(frame_size)
    at_input = float(np.median(heights)) * imgsz / long_side
    if at_input >= player_height_min_px:
        return imgsz
    wanted = imgsz * player_height_min_px / at_input
    cap = min(imgsz_max, math.ceil(long_side / INPUT_STEP_PX) * INPUT_STEP_PX)
    return max(imgsz, min(cap, math.ceil(wanted / INPUT_STEP_PX) * INPUT_STEP_PX))
