"""Worker processes that start together share one OpenVINO export and one compiled network:
the first builds, the others wait for it and use what it built."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from backend.pipeline.file_lock import exclusive
from backend.pipeline.inference import (
    OpenVinoCache,
    compile_cache_config,
    export_root,
    openvino_config,
)
from backend.pipeline.model import default_weights_path
from backend.pipeline.openvino_net import COMPILE_LOCK_NAME, OpenVinoNet

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHAPE = (96, 160)
# Both processes are imported and waiting before this many seconds have passed.
START_AFTER_S = 4.0
# Compiling a network this small from its cached blob takes well under this.
COMPILE_WAIT_S = 1.5

EXPORT_ONE_SHAPE = """
import json, sys, time
from pathlib import Path
from backend.pipeline.inference import OpenVinoCache
from backend.pipeline.model import default_weights_path
root, start = Path(sys.argv[1]), float(sys.argv[2])
cache = OpenVinoCache(root, default_weights_path())
while time.time() < start:
    time.sleep(0.001)
folder = cache.model_dir((96, 160))
print(json.dumps({"built": cache.built, "folder": str(folder)}))
"""


def test_two_workers_starting_together_export_once(tmp_path):
    root = tmp_path / "exports"
    start = time.time() + START_AFTER_S
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", EXPORT_ONE_SHAPE, str(root), str(start)],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        results.append(json.loads(out.splitlines()[-1]))
    assert sorted(len(r["built"]) for r in results) == [0, 1]
    assert {r["folder"] for r in results} == {
        str(OpenVinoCache(root, default_weights_path()).folder(SHAPE))
    }
    folder = Path(results[0]["folder"])
    assert OpenVinoCache(root, default_weights_path()).problem(folder, SHAPE) is None
    assert [p.name for p in root.iterdir() if ".tmp-" in p.name] == []


def test_a_network_is_not_compiled_while_another_process_compiles_into_its_cache(
    shared_model_cache,
):
    folder = OpenVinoCache(export_root(shared_model_cache), default_weights_path()).model_dir(SHAPE)
    config = {**openvino_config(1), **compile_cache_config(folder)}
    nets: list[OpenVinoNet] = []
    compiler = threading.Thread(target=lambda: nets.append(OpenVinoNet(folder, config)))
    # A second open of the lock file conflicts like another process's would.
    with exclusive(Path(config["CACHE_DIR"]) / COMPILE_LOCK_NAME):
        compiler.start()
        compiler.join(timeout=COMPILE_WAIT_S)
        assert compiler.is_alive() and nets == []
    compiler.join(timeout=60)
    assert len(nets) == 1
    boxes, confidences, classes = nets[0].detect(np.full((96, 160, 3), 90, np.uint8), 0.3, [0])
    assert len(boxes) == len(confidences) == len(classes) == 0
