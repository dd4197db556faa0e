"""A web process, once warm, keeps what it loaded out of the garbage collector's way
(city311.lib.memory): the WSGI entry point gunicorn loads does it after building the indexes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WARM_THEN_COUNT = """
import gc, threading
import city311.wsgi
for thread in threading.enumerate():
    if thread.name == "city311-warm-geography":
        thread.join(60)
print(gc.get_freeze_count())
"""


def test_the_web_process_sets_aside_what_it_loaded_once_warm(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", WARM_THEN_COUNT],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "CITY311_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    # Django, the catalog's code and the city's indexes: tens of thousands of objects at least.
    assert int(done.stdout.split()[-1]) > 10_000
