"""`gridcare serve`: the web app on one port — gunicorn where it is installed, Django's server otherwise."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve GridCare over HTTP (gunicorn with --workers, or Django's development server with --dev)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2)
        parser.add_argument(
            "--threads",
            type=int,
            default=2,
            # Measured (bench/bench_intake.py, 2 workers on 2 cores): 2 threads ≈ 300–370 orders/s, 4 ≈ 270,
            # 8 ≈ 255 — more threads only fight over each process's GIL.
            help="threads per worker (gunicorn gthread): while one request waits for the database, another runs",
        )
        parser.add_argument("--dev", action="store_true", help="Django's auto-reloading development server")
        parser.add_argument(
            "--control-socket",
            default="",
            metavar="PATH",
            # gunicorn ≥ 25 opens a control socket at one fixed per-user path ($XDG_RUNTIME_DIR/gunicorn.ctl or
            # ~/.gunicorn/gunicorn.ctl): two GridCare instances on one host would share it, and `gunicornc`
            # would stop or resize the wrong one. None unless asked for, at a path of this instance's own.
            help="open gunicorn's control socket (for gunicornc) at this path; default: none",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        bind = f"{options['host']}:{options['port']}"
        gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable)) or shutil.which("gunicorn")
        if options["dev"] or gunicorn is None:
            call_command("runserver", bind, use_reloader=settings.DEBUG and options["dev"])
            return
        workers, threads = max(1, options["workers"]), max(1, options["threads"])
        control_socket = (
            ["--control-socket", os.path.abspath(options["control_socket"])]
            if options["control_socket"]
            else ["--no-control-socket"]
        )
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # Each gunicorn worker counts its own requests; /metrics must add them all up, whichever worker the
            # scrape lands on: prometheus_client's multiprocess mode, in a directory emptied at every start.
            shared = Path(settings.VAR_DIR) / "metrics"
            shared.mkdir(parents=True, exist_ok=True)
            for stale in shared.glob("*.db"):
                stale.unlink()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared)
        self.stdout.write(f"GridCare serving on http://{bind}/ (gunicorn, {workers} workers × {threads} threads)")
        sys.stdout.flush()
        os.execv(  # noqa: S606 - replaces this process with the server, arguments are ours
            gunicorn,
            [
                gunicorn,
                "gridcare.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                # gthread whose event loop reads each request before a thread gets it (core.serving): slow or
                # stalled clients cost a socket, not one of the few threads.
                "--worker-class",
                "gridcare.core.serving.GuardedThreadWorker",
                *control_socket,
                "--config",
                "python:gridcare.core.gunicorn_hooks",
                "--access-logfile",
                "-",
                "--timeout",
                "60",
            ],
        )
