"""int8 exports of the detector: NNCF's post-training quantisation of a cached fp32 export.

On this project's 2-core CPU (avx512_vnni, AMX) the int8 yolov8n ran a 416x704 input in
12 ms against 26 ms in fp32. On generated clips it found a little more of the players at
720p and 0.5-1 point fewer on wide shots (benchmarks/README.md). The calibration set is
fixed, so an export depends only on the weights, the input shape and the library versions,
like the fp32 one: crops of the photos that ship inside ultralytics, letterboxed exactly as
OpenVinoNet does.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import shutil
from pathlib import Path

import cv2
import numpy as np

from backend.pipeline.errors import ModelError
from backend.pipeline.openvino_net import letterbox

# Bumped when the calibration set or the quantisation options change: exports made with
# another recipe are rebuilt (the manifest records it).
CALIBRATION_RECIPE = 1
CALIBRATION_IMAGES = 64
CALIBRATION_SEED = 0
# Crops cover this share of the photo's side, and their brightness is scaled by this range:
# people near and far, light and dark halls.
CROP_SCALE = (0.4, 1.0)
BRIGHTNESS = (0.7, 1.3)


def calibration_photos() -> list[np.ndarray]:
    """The sample photos inside the installed ultralytics package (no import: that loads
    torch), which every install of this project has."""
    spec = importlib.util.find_spec("ultralytics")
    roots = list(spec.submodule_search_locations or []) if spec else []
    paths = sorted(p for root in roots for p in (Path(root) / "assets").glob("*.jpg"))
    photos = [image for image in (cv2.imread(str(p)) for p in paths) if image is not None]
    if not photos:
        raise ModelError(
            "int8 calibration needs the sample photos of the ultralytics package "
            "(ultralytics/assets/*.jpg); none were found."
        )
    return photos


def calibration_frames(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED):
    """`count` deterministic crops of the sample photos: scaled, mirrored, lit differently."""
    photos = calibration_photos()
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        scale = rng.uniform(*CROP_SCALE)
        ch, cw = int(h * scale), int(w * scale)
        y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        crop = photo[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        lit = crop.astype(np.float32) * rng.uniform(*BRIGHTNESS)
        frames.append(np.ascontiguousarray(np.clip(lit, 0, 255).astype(np.uint8)))
    return frames


def quantize_export(fp32_folder: Path, out_folder: Path, shape: tuple[int, int]) -> None:
    """Write an int8 version of the fp32 export in `fp32_folder` (input `shape`) to
    `out_folder`, with its metadata.yaml (class names) beside it."""
    try:
        import nncf
    except ImportError as exc:
        raise ModelError(
            "detector_precision int8 needs the nncf package (pip install -r requirements.txt)."
        ) from exc
    import openvino as ov

    xml = next(Path(fp32_folder).glob("*.xml"), None)
    if xml is None:
        raise ModelError(f"The OpenVINO export {fp32_folder} has no model file.")
    model = ov.Core().read_model(str(xml))
    blobs = [letterbox(frame, shape)[0] for frame in calibration_frames()]
    # NNCF logs at INFO and draws progress bars (rich, on stdout): a worker's console and
    # the job log want neither; its errors still raise.
    nncf.set_log_level(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        quantized = nncf.quantize(
            model,
            nncf.Dataset(blobs),
            subset_size=len(blobs),
            # Symmetric weights, asymmetric activations: NNCF's advice for YOLO detectors.
            preset=nncf.QuantizationPreset.MIXED,
            ignored_scope=nncf.IgnoredScope(names=_detect_head_ops(model)),
        )
    out_folder = Path(out_folder)
    out_folder.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, str(out_folder / xml.name), compress_to_fp16=False)
    shutil.copyfile(Path(fp32_folder) / "metadata.yaml", out_folder / "metadata.yaml")


def _detect_head_ops(model) -> list[str]:
    """The detect head's box decoding (DFL, anchors, strides) and the class sigmoids, left in
    fp32 as ultralytics' own int8 export does: quantised, every box came out ~0.88 IoU of
    the fp32 one on generated frames, a systematic shrink rather than noise."""
    ops = model.get_ordered_ops()
    sigmoids = [op.get_friendly_name() for op in ops if op.get_type_name() == "Sigmoid"]
    if not sigmoids:
        return []
    head = sigmoids[-1].split("/", 1)[0]
    return [
        op.get_friendly_name()
        for op in ops
        if op.get_type_name() == "Sigmoid"
        or op.get_friendly_name().startswith((f"{head}/", f"{head}.dfl"))
    ]
