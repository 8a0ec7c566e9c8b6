"""gunicorn server hooks for `gridcare serve` (loaded with `--config python:gridcare.core.gunicorn_hooks`)."""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits leaves its metric files: mark it dead so its live gauges drop out of /metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
