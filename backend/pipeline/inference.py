"""Where the detector runs: the device, the inference backend, and the cached OpenVINO export.

On 2 CPU cores the same yolov8n weights run about 2.5x faster through OpenVINO than through
PyTorch (design.md section 8), so OpenVINO is the CPU default. Its models have a fixed input
shape: one export per weights file, input shape and library versions, kept under the data
dir's model cache, verified by a manifest of file hashes and rebuilt when stale or damaged.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.pipeline.errors import ModelError
from backend.pipeline.file_lock import exclusive
from backend.pipeline.model import sha256_of

BACKENDS = ("auto", "openvino", "pytorch")
# The detector's input is a multiple of the network stride (yolov8: 32 px) on each side.
INPUT_STRIDE_PX = 32
EXPORT_MANIFEST = "courtside-export.json"
# Bumped when the manifest or the export recipe changes, so older caches are rebuilt.
EXPORT_FORMAT_VERSION = 1
_DEVICE_PATTERN = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")
# The detector's precision on OpenVINO (PipelineSettings.detector_precision): "f32" like
# PyTorch, "auto", OpenVINO's own choice for the CPU (bf16 where the CPU computes in it), or
# "int8", a quantised export of its own (quantize.py).
PRECISIONS = ("f32", "auto", "int8")
INT8 = "int8"
# Where exports go when the caller names no model cache: shared by the runs of this user
# and verified like any other (the app always passes <data>/models).
FALLBACK_EXPORT_DIR_NAME = "courtside-openvino-exports"
COMPILE_CACHE_DIR_NAME = "compiled"


def keep_ultralytics_offline() -> None:
    """Whoever calls the stage, ultralytics must never reach the network or pip.

    setdefault, so a caller's own values stand (the app also sets YOLO_CONFIG_DIR under its
    data dir); only effective before ultralytics is first imported, hence called first.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "0")
    os.environ.setdefault("YOLO_VERBOSE", "0")


def export_root(model_cache_dir: Path | None) -> Path:
    """The folder of OpenVINO exports under `model_cache_dir`, or a per-user temp folder."""
    if model_cache_dir is not None:
        return Path(model_cache_dir) / "openvino"
    # Per user: another user's folder in a shared temp dir would not be writable.
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir()) / f"{FALLBACK_EXPORT_DIR_NAME}-{user}"


def openvino_threads(
    torch_threads: int | None, ahead: bool, cores: int | None = None
) -> int | None:
    """OpenVINO's inference threads: the worker's share (`torch_threads`) when set; else,
    with the detector in a thread of its own (`ahead`: detect_ahead_keyframes), every core
    but the one the tracking keeps busy; else None (OpenVINO's default: every core).

    On 2 cores a second inference thread saved no time, since the tracking and the encoder
    already use the other core, and its spin-waits cost ~2-3 CPU-ms per video frame
    (benchmarks/README.md).
    """
    if torch_threads:
        return torch_threads
    if ahead:
        return max(1, (cores or os.cpu_count() or 1) - 1)
    return None


def openvino_config(threads: int | None, precision: str = "f32") -> dict[str, Any]:
    """The `precision` and a worker's share of the cores (`threads`), for every compile.

    "f32" computes as PyTorch does. "auto" leaves the precision to OpenVINO: bf16 on CPUs
    that compute in it (AMX, avx512_bf16), fp32 elsewhere; measured in benchmarks/README.md.
    "int8" runs an int8 export; what it left in floating point stays in fp32.
    OpenVINO also takes every core by default; a worker gets its share (torch_threads) so
    parallel jobs do not fight over the same cores.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
    if precision in ("f32", INT8):
        config["INFERENCE_PRECISION_HINT"] = "f32"
    if threads and threads < (os.cpu_count() or 1):
        config["INFERENCE_NUM_THREADS"] = threads
    return config


def compile_cache_config(export_folder: Path) -> dict[str, Any]:
    """OpenVINO's own cache of compiled networks, inside the export it was compiled from.

    Compiling the two input shapes took ~0.5 s of every run's start (benchmarks/README.md);
    loading the cached blob instead takes a tenth of that. OpenVINO keys each blob by the
    network, the device, its version and the compile options (precision, threads), so a
    changed option compiles anew and a stale blob is never used; the export's manifest
    lists only the export's own files, so the cache does not make it count as damaged.
    """
    return {"CACHE_DIR": str(Path(export_folder) / COMPILE_CACHE_DIR_NAME)}


@dataclass(frozen=True)
class Placement:
    """Where the detector runs. `fallback_reason` says why it is not what was asked for."""

    backend: str  # "openvino", "pytorch", or "onnx" for custom .onnx weights
    device: str
    requested_backend: str
    requested_device: str
    fallback_reason: str | None = None

    def to_dict(self) -> dict:
        return {
            "backend": self.backend,
            "device": self.device,
            "requested_backend": self.requested_backend,
            "requested_device": self.requested_device,
            "fallback_reason": self.fallback_reason,
        }


def resolve_device(requested: str) -> tuple[str, str | None]:
    """(device to use, why it differs from `requested` or None).

    A GPU the machine does not have falls back to the CPU with the reason rather than
    failing the job: the analysis is the same, only slower.
    """
    device = requested.strip().lower()
    if not _DEVICE_PATTERN.match(device):
        raise ModelError(
            f"Unknown detector device {requested!r} (NETBALL_DEVICE): use cpu, cuda or cuda:N."
        )
    if not device.startswith("cuda"):
        return device, None
    import torch

    if not torch.cuda.is_available():
        return "cpu", f"device {requested} was asked for but torch sees no CUDA GPU here"
    index = int(device.partition(":")[2] or 0)
    count = torch.cuda.device_count()
    if index >= count:
        return "cpu", f"device {requested} was asked for but torch sees only {count} CUDA GPU(s)"
    return f"cuda:{index}", None


def choose_placement(requested_backend: str, requested_device: str, weights: Path) -> Placement:
    """OpenVINO on the CPU unless asked otherwise, PyTorch on a GPU; never raises for a
    missing accelerator, only for settings that cannot mean anything."""
    if requested_backend not in BACKENDS:
        raise ModelError(
            f"Unknown inference backend {requested_backend!r}: use one of {', '.join(BACKENDS)}."
        )
    device, reason = resolve_device(requested_device)
    asked = dict(requested_backend=requested_backend, requested_device=requested_device)
    if weights.suffix.lower() == ".onnx":
        why = (
            "custom .onnx weights run through ONNX Runtime"
            if requested_backend == "openvino"
            else None
        )
        return Placement("onnx", "cpu", **asked, fallback_reason=_join(reason, why))
    if requested_backend == "pytorch" or (requested_backend == "auto" and device != "cpu"):
        return Placement("pytorch", device, **asked, fallback_reason=reason)
    if device != "cpu":
        why = f"OpenVINO runs on the CPU here; use backend pytorch for {device}"
        return Placement("openvino", "cpu", **asked, fallback_reason=_join(reason, why))
    try:
        import openvino  # noqa: F401
    except ImportError as exc:
        why = f"OpenVINO is not installed ({exc}); using PyTorch"
        return Placement("pytorch", "cpu", **asked, fallback_reason=_join(reason, why))
    return Placement("openvino", "cpu", **asked, fallback_reason=reason)


def _join(*reasons: str | None) -> str | None:
    return "; ".join(r for r in reasons if r) or None


def input_shape(frame_hw: tuple[int, int], imgsz: int) -> tuple[int, int]:
    """(height, width) the detector sees for a frame: its long side scaled to `imgsz`, each
    side rounded up to the stride. The same shape ultralytics' rectangular letterbox gives
    PyTorch, so both backends see the same pixels and a static export wastes no padding."""
    h, w = frame_hw
    ratio = imgsz / max(h, w)

    def side(px: int) -> int:
        scaled = max(1, round(px * ratio))
        return -(-scaled // INPUT_STRIDE_PX) * INPUT_STRIDE_PX

    return side(h), side(w)


def library_versions() -> dict[str, str]:
    import importlib.metadata

    import openvino

    # ultralytics' version from its metadata: importing it would import torch (~1.4 s),
    # which an analysis from a cached export otherwise never needs.
    return {
        "openvino": openvino.__version__.split("-")[0],
        "ultralytics": importlib.metadata.version("ultralytics"),
    }


class OpenVinoCache:
    """OpenVINO exports of one weights file under `root`, one folder per input shape."""

    def __init__(self, root: Path, weights: Path, logger: logging.Logger | None = None) -> None:
        self.root = Path(root)
        self.weights = weights
        self.log = logger or logging.getLogger(__name__)
        self.weights_sha256 = sha256_of(weights)
        self.built: list[str] = []  # why each export of this cache object was made

    def expected(self, shape: tuple[int, int], int8: bool = False) -> dict:
        expected = {
            "format_version": EXPORT_FORMAT_VERSION,
            "weights_sha256": self.weights_sha256,
            "input_shape": list(shape),
            **library_versions(),
        }
        if int8:
            from backend.pipeline.quantize import CALIBRATION_RECIPE

            expected |= {"precision": INT8, "calibration_recipe": CALIBRATION_RECIPE}
        return expected

    def folder(self, shape: tuple[int, int], int8: bool = False) -> Path:
        v = library_versions()
        # ultralytics recognises an OpenVINO model by the "_openvino_model" folder suffix.
        name = (
            f"{self.weights.stem}-{self.weights_sha256[:12]}-{shape[0]}x{shape[1]}"
            f"-ov{v['openvino']}-ul{v['ultralytics']}{'-int8' if int8 else ''}_openvino_model"
        )
        return self.root / name

    def problem(self, folder: Path, shape: tuple[int, int], int8: bool = False) -> str | None:
        """Why the export in `folder` cannot be used, or None when it is sound."""
        manifest = folder / EXPORT_MANIFEST
        if not manifest.is_file():
            return "no export yet" if not folder.exists() else "export incomplete (no manifest)"
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return f"manifest unreadable ({exc})"
        expected = self.expected(shape, int8)
        for key, value in expected.items():
            if data.get(key) != value:
                return f"stale: {key} is {data.get(key)!r}, now {value!r}"
        for name, digest in (data.get("files") or {}).items():
            path = folder / name
            if not path.is_file():
                return f"file {name} missing"
            if sha256_of(path) != digest:
                return f"file {name} damaged (sha256 differs)"
        if not any(name.endswith(".xml") for name in data.get("files") or {}):
            return "manifest lists no model file"
        return None

    def model_dir(self, shape: tuple[int, int], int8: bool = False) -> Path:
        """A verified export for `shape`, exported now if missing, stale or damaged; `int8`:
        the int8 one, quantised from the fp32 export (made first if need be)."""
        folder = self.folder(shape, int8)
        if self.problem(folder, shape, int8) is None:
            return folder
        with exclusive(self.root / f".{folder.name}.lock"):
            # Another worker may have built it while this one waited.
            problem = self.problem(folder, shape, int8)
            if problem is None:
                return folder
            return self._rebuild(folder, shape, int8, problem)

    def _rebuild(self, folder: Path, shape: tuple[int, int], int8: bool, problem: str) -> Path:
        source = self.model_dir(shape) if int8 else None
        if folder.exists():
            self.log.warning("OpenVINO export %s is rebuilt: %s", folder.name, problem)
            shutil.rmtree(folder, ignore_errors=True)
        self.built.append(f"{problem} (int8)" if int8 else problem)
        self._export(folder, shape, source)
        problem = self.problem(folder, shape, int8)
        if problem is not None:
            raise ModelError(
                f"The OpenVINO export {folder} is unusable right after export: {problem}"
            )
        return folder

    def _export(self, folder: Path, shape: tuple[int, int], fp32: Path | None = None) -> None:
        """Export the weights at `shape` into `folder`; with `fp32` (an fp32 export of the
        same shape), quantise that to int8 instead."""
        self.root.mkdir(parents=True, exist_ok=True)
        work = self.root / f".{folder.name}.tmp-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            if fp32 is not None:
                from backend.pipeline.quantize import quantize_export

                self.log.info("quantising %s to int8 at input %dx%d", self.weights.name, *shape)
                out = work / folder.name
                quantize_export(fp32, out, shape)
            else:
                out = self._export_fp32(work, shape)
            files = {p.name: sha256_of(p) for p in sorted(out.iterdir()) if p.is_file()}
            manifest = {**self.expected(shape, fp32 is not None), "files": files}
            (out / EXPORT_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            try:
                out.rename(folder)
            except OSError:
                # Another worker finished the same export first; theirs is as good.
                if self.problem(folder, shape, fp32 is not None) is not None:
                    raise
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"OpenVINO export of {self.weights.name} failed: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._prune(folder)

    def _export_fp32(self, work: Path, shape: tuple[int, int]) -> Path:
        from ultralytics import YOLO

        # ultralytics writes the export next to the weights: work on a private copy.
        copy = work / f"{self.weights.stem}.pt"
        shutil.copyfile(self.weights, copy)
        self.log.info("exporting %s to OpenVINO at input %dx%d", self.weights.name, *shape)
        return Path(
            YOLO(str(copy), task="detect").export(
                format="openvino", imgsz=list(shape), dynamic=False, half=False, verbose=False
            )
        )

    def _prune(self, keep: Path) -> None:
        """Drop exports of the same weights, shape and precision made by other library
        versions."""
        prefix = keep.name.split("-ov", 1)[0] + "-ov"
        int8 = keep.name.endswith(f"-{INT8}_openvino_model")
        for other in self.root.glob(f"{prefix}*"):
            same_kind = other.name.endswith(f"-{INT8}_openvino_model") == int8
            if other != keep and other.is_dir() and same_kind:
                shutil.rmtree(other, ignore_errors=True)
