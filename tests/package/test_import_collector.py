"""`import emomv_hf` pauses Python's cyclic garbage collector while it imports torch, transformers and the models,
and leaves it as it found it: on, off, or with objects someone else froze (`gc.freeze`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc, json, sys
started = []
gc.callbacks.append(lambda phase, info: phase == "start" and info["generation"] == 2 and started.append(2))
def fresh_import():
    for name in [name for name in sys.modules if name.split(".")[0] == "emomv_hf"]:
        del sys.modules[name]
    started[:] = []
    import emomv_hf
    return {"full collections": len(started), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
results = {"plain": fresh_import()}
gc.freeze()
results["others' objects frozen"] = fresh_import()
gc.unfreeze()
gc.disable()
results["collector off"] = fresh_import()
print(json.dumps(results))
"""


def test_import_pauses_the_collector_and_leaves_it_as_it_was():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-5000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    # Paused: torch, transformers and the models load without a full collection (the import system's own objects
    # may start a young one before the package's code runs); after it, the collector runs again, nothing frozen.
    assert results["plain"] == {"full collections": 0, "enabled": True, "frozen": 0}
    # Objects someone else froze stay frozen (no unfreeze, which would thaw them too): this import is not paused.
    assert results["others' objects frozen"]["enabled"] and results["others' objects frozen"]["frozen"] > 0
    # A collector turned off stays off.
    assert results["collector off"] == {"full collections": 0, "enabled": False, "frozen": 0}
