"""gunicorn's hooks for the web server `city311 up` runs (`--config python:...`)."""

from __future__ import annotations

import gc
from typing import Any


def worker_exit(server: Any, worker: Any) -> None:
    """A worker that exits leaves its objects to the end of the process: the interpreter's
    last collections over the whole application took a second or more at each stop."""
    gc.freeze()
